#!/usr/bin/env bash
# Trains a training bundle (`unroll pack`) on a GPU machine that has a Python PyTorch with CUDA but no
# Boost, OpenCV or FFTW: builds the LibTorch-only programs (unroll-train, unroll-bench) against that
# PyTorch's LibTorch, measures the speed of a few steps, fits the step count to the time left, trains,
# and writes the weights as float16 (small enough to copy back) beside the log.
#
#   bash scripts/gpu_train.sh BUNDLE OUT_DIR [SECONDS]
#
# SECONDS (default 540) is the whole budget of this script, build included; training gets what the
# build and the speed probe leave, less a margin for the last checkpoint. For a dry run of the script
# itself elsewhere: UNROLL_DEVICE=cpu (default cuda), UNROLL_GPU_BUILD=DIR (an existing build with
# unroll-train and unroll-bench: no configure or build), UNROLL_GPU_PYTHON=1 (also build the Python module
# without OpenCV and run scripts/python_nocv_smoke.py on the device). OUT_DIR receives:
#   model_f16.pth   the trained weights (float16; `unroll deblur --weights` and `unroll eval` read it)
#   train_log.csv   the run's log; probe_log.csv the probe's
#   gpu_train.log   everything this script printed (build, the CUDA-vs-CPU tests when GoogleTest was
#                   carried, probe, training, unroll-bench on CUDA)
set -uo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
BUNDLE=${1:?usage: gpu_train.sh BUNDLE OUT_DIR [SECONDS]}
OUT_DIR=${2:?usage: gpu_train.sh BUNDLE OUT_DIR [SECONDS]}
BUDGET=${3:-540}
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/gpu_train.log"
exec > >(tee -a "$LOG") 2>&1
say() { echo "gpu_train [$((SECONDS - START)) s]: $*"; }

DEVICE=${UNROLL_DEVICE:-cuda}
BUILD=${UNROLL_GPU_BUILD:-}
if [ -z "$BUILD" ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)') || { say "no python3 torch"; exit 1; }
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
  BUILD=build-gpu
  GEN=(); command -v ninja >/dev/null && GEN=(-G Ninja)
  say "configuring against $TORCH_PREFIX"
  # The CUDA-vs-CPU tests too when GoogleTest was carried (scripts/gpu_prepare.sh puts it in .gpu/gtest).
  TESTS=OFF; TARGETS=(unroll-train unroll-bench)
  if [ -f .gpu/gtest/lib/libgtest.a ]; then TESTS=ON; TARGETS+=(unroll_core_tests); fi
  # UNROLL_GPU_PYTHON=1: also the Python module (built without OpenCV) and its smoke test on CUDA tensors.
  if [ "${UNROLL_GPU_PYTHON:-0}" = 1 ]; then TARGETS+=(unroll_python); fi
  cmake -S . -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
    -DUNROLL_BUILD_APPS=OFF -DUNROLL_BUILD_TESTS=$TESTS -DGTEST_ROOT="$PWD/.gpu/gtest" -DUNROLL_WITH_OPENCV=OFF \
    -DUNROLL_WITH_FFTW=OFF -DUNROLL_BUILD_BENCH=ON -DUNROLL_BUILD_TRAINER=ON || { say "configure failed"; exit 1; }
  # -k 0: every compile error in one run (a device call is too dear to find them one by one).
  if [ ${#GEN[@]} -gt 0 ]; then KEEP=(-k 0); else KEEP=(-k); fi
  cmake --build "$BUILD" --target "${TARGETS[@]}" -j "$(nproc)" -- "${KEEP[@]}" || { say "build failed"; exit 1; }
  say "built ${TARGETS[*]}"
  if [ "$TESTS" = ON ]; then
    timeout 120 "$BUILD/tests/unroll_core_tests" --gtest_filter='*CudaMatchesCpu*' || say "CUDA tests failed"
    say "CUDA tests done"
  fi
  if [ "${UNROLL_GPU_PYTHON:-0}" = 1 ]; then
    PYTHONPATH="$BUILD/python" timeout 120 python3 scripts/python_nocv_smoke.py --device "$DEVICE" \
      || say "Python module smoke test failed"
  fi
fi

TRAIN="$BUILD/unroll-train"
PROBE_STEPS=60
PROBE_DIR=$(mktemp -d)
"$TRAIN" "$BUNDLE" --device "$DEVICE" --steps $PROBE_STEPS --out "$PROBE_DIR" --restart || { say "probe failed"; exit 1; }
cp "$PROBE_DIR/train_log.csv" "$OUT_DIR/probe_log.csv"
# Seconds per step between the probe's last two log rows (after the warm-up and cuDNN's autotuning).
PER_STEP=$(awk -F, 'NR > 1 { ps = ls; pt = lt; ls = $1; lt = $5 } END {
  if (ls > ps && ps > 0) print (lt - pt) / (ls - ps); else print 0 }' "$PROBE_DIR/train_log.csv")
LEFT=$((BUDGET - (SECONDS - START) - 45))
STEPS=$(awk -v left=$LEFT -v t="$PER_STEP" 'BEGIN { if (t <= 0) { print 0; exit } s = int(0.92 * left / t); print s }')
say "probe: $PER_STEP s per step; $LEFT s left -> $STEPS steps"
if [ "$STEPS" -le 100 ]; then say "no time left to train"; exit 1; fi
# The float32 checkpoints (model.pth 22 MB, resume.pt) stay in RUN_DIR; the float16 weights come back.
RUN_DIR=${RUN_DIR:-$(mktemp -d)}
"$TRAIN" "$BUNDLE" --device "$DEVICE" --steps "$STEPS" --out "$RUN_DIR" --restart --float16 "$OUT_DIR/model_f16.pth" \
  || say "training stopped early (the last checkpoint is in $RUN_DIR)"
cp "$RUN_DIR/train_log.csv" "$OUT_DIR/train_log.csv" 2>/dev/null || true
if [ $((BUDGET - (SECONDS - START))) -gt 25 ]; then
  say "unroll-bench on CUDA"
  timeout 20 "$BUILD/unroll-bench" --device "$DEVICE" --repeat 5 || true
fi
say "done"
