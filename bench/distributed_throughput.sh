#!/usr/bin/env bash
# One process on one thread, one process on all threads, and R ranks of one thread each (Gloo over
# 127.0.0.1), for training and for evaluation, on the same global work: docs/distributed.md, "Measured".
#   bash bench/distributed_throughput.sh [STEPS] [RANKS] [REPEATS]    (repository root, after the build)
# Training: the denoiser of experiments/denoiser_small.ini (ResUNet 16,32,64,64, nb 2) on 64x64 crops of
# the bundled sample, global batch 8 (1 x 8 vs RANKS x 8/RANKS), STEPS steps (default 30), no validation.
# Evaluation: wiener, rl, admm on 8 synthetic 128x128 cases of the sample. Each setting runs REPEATS
# times (default 3), interleaved; the wall times of the whole commands are printed as min / median / max.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-30}
RANKS=${2:-2}
REPEATS=${3:-3}
THREADS=$(nproc)
EXE=${UNROLL_EXE:-build/unroll}
DIR=$(mktemp -d /tmp/unroll-dist-bench.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
PORT=$((29500 + RANDOM % 1000))

config() {  # NAME BATCH
  cat > "$DIR/$1.ini" <<INI
[experiment]
task = denoiser
[model]
nc = 16,32,64,64
nb = 2
[data]
train = data/sample
[train]
steps = $STEPS
batch = $2
crop = 64
lr = 2e-4
log_every = 1000
seed = 1
out = $DIR/$1
INI
}

ranks() {  # run "$@" as RANKS ranks of one thread each
  local pids=()
  for ((r = 0; r < RANKS; r++)); do
    RANK=$r WORLD_SIZE=$RANKS LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$PORT OMP_NUM_THREADS=1 \
      "$@" > "$DIR/rank$r.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  PORT=$((PORT + 1))
}

timed() {  # NAME COMMAND...: appends the command's wall time to $DIR/NAME.times
  local name=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }' >> "$DIR/$name.times"
}

stats() { sort -n "$DIR/$1.times" | awk '{ v[NR] = $1 } END { printf "%.2f / %.2f / %.2f", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
median() { sort -n "$DIR/$1.times" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
config one 8
config many $((8 / RANKS))
EVAL=(eval --data synthetic:data/sample,count=8,size=128 --methods wiener,rl,admm --grids 0)
for ((i = 0; i < REPEATS; i++)); do
  rm -rf "$DIR/one" "$DIR/many"
  timed train_1x1 env OMP_NUM_THREADS=1 "$EXE" train --config "$DIR/one.ini" > /dev/null 2>&1
  rm -rf "$DIR/one"
  timed train_1xN env OMP_NUM_THREADS="$THREADS" "$EXE" train --config "$DIR/one.ini" > /dev/null 2>&1
  timed train_Rx1 ranks "$EXE" train --config "$DIR/many.ini"
  timed eval_1x1 env OMP_NUM_THREADS=1 "$EXE" "${EVAL[@]}" --out "$DIR/eval0" > /dev/null 2>&1
  timed eval_1xN env OMP_NUM_THREADS="$THREADS" "$EXE" "${EVAL[@]}" --out "$DIR/eval1" > /dev/null 2>&1
  timed eval_Rx1 ranks "$EXE" "${EVAL[@]}" --out "$DIR/eval2"
done
cmp -s <(cut -d, -f1-7 "$DIR/eval1/results.csv") <(cut -d, -f1-7 "$DIR/eval2/results.csv") && same=yes || same=NO
echo "wall seconds, min / median / max of $REPEATS:"
echo "train $STEPS steps x global batch 8 x 64^2:  1 x 1 thread $(stats train_1x1);  1 x $THREADS threads $(stats train_1xN);  $RANKS ranks x 1 thread $(stats train_Rx1)"
echo "eval 8 cases x wiener,rl,admm:            1 x 1 thread $(stats eval_1x1);  1 x $THREADS threads $(stats eval_1xN);  $RANKS ranks x 1 thread $(stats eval_Rx1)"
awk -v a="$(median train_1xN)" -v b="$(median train_Rx1)" -v c="$(median eval_1xN)" -v d="$(median eval_Rx1)" -v s="$STEPS" \
  'BEGIN { printf "medians: training %.1f vs %.1f samples/s (ranks / threads x%.2f); eval ranks / threads x%.2f\n", s * 8 / a, s * 8 / b, a / b, c / d }'
echo "same results.csv scores (2 ranks vs 1 process): $same; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
