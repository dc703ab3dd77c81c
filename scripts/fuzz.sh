#!/usr/bin/env bash
# Fuzzes every parser of untrusted input (tests/fuzz/fuzz_<name>.cpp; docs/reliability.md "Fuzzing").
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      e.g.  scripts/fuzz.sh           (60 s per target, all)
#                                                    scripts/fuzz.sh 300 bundle resume
#
# With clang and its libFuzzer runtime: builds the targets with -fsanitize=fuzzer,address,undefined in
# build-fuzz/ (the whole library instrumented; the Debian LibTorch and OpenCV are not), runs each for
# SECONDS on a working copy of its seed corpus, then replays the committed seed corpus
# tests/fuzz/corpus/<name>/. Without clang's fuzzer runtime it builds the plain replay driver with the
# default compiler in the same folder and only replays the corpus. Exits non-zero on any finding.
#   UNROLL_FUZZ_DIR   build folder (default build-fuzz; git-ignored)
#   UNROLL_JOBS       parallel compile jobs (default: number of cores)
# Outputs: build-fuzz/corpus/<name>/ (the working corpus: the seeds plus what libFuzzer found; minimise
# with `fuzz-<name> -merge=1 NEW OLD` before copying an input into tests/fuzz/corpus), build-fuzz/
# findings/<name>/ (crash-*, leak-*, timeout-*, oom-* reproducers), build-fuzz/logs/<name>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=60
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  SECONDS_PER_TARGET=$1
  shift
fi
ALL_TARGETS=(checkpoint resume bundle image kernel_text ini manifest)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  [ -d "tests/fuzz/corpus/$t" ] || { echo "error: unknown fuzz target '$t' (known: ${ALL_TARGETS[*]})" >&2; exit 1; }
done
DIR=${UNROLL_FUZZ_DIR:-build-fuzz}
JOBS=${UNROLL_JOBS:-$(nproc)}

# Does clang link a libFuzzer + ASan + UBSan program here?
engine=replay
CLANGXX=$(command -v clang++ || true)
if [ -n "$CLANGXX" ]; then
  probe=$(mktemp -d)
  printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
    'extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }' > "$probe/probe.cpp"
  if "$CLANGXX" -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" 2>/dev/null; then
    engine=libfuzzer
  fi
  rm -rf "$probe"
fi

if [ "$engine" = libfuzzer ]; then
  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -gline-tables-only"
  cmake -S . -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$CLANGXX" \
    -DCMAKE_CXX_FLAGS="$SAN -fsanitize=fuzzer-no-link" -DCMAKE_EXE_LINKER_FLAGS="$SAN" \
    -DUNROLL_FUZZ_ENGINE=libfuzzer -DUNROLL_BUILD_TESTS=ON -DUNROLL_BUILD_FUZZ=ON -DUNROLL_BUILD_APPS=OFF \
    -DUNROLL_BUILD_BENCH=OFF -DUNROLL_BUILD_TRAINER=OFF -DUNROLL_WITH_OPENMP=OFF >/dev/null
else
  echo "fuzz: clang with libFuzzer, ASan and UBSan not found; building the plain replay driver (no fuzzing)" >&2
  cmake -S . -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DUNROLL_FUZZ_ENGINE=replay -DUNROLL_BUILD_TESTS=ON \
    -DUNROLL_BUILD_FUZZ=ON -DUNROLL_BUILD_APPS=OFF -DUNROLL_BUILD_BENCH=OFF -DUNROLL_BUILD_TRAINER=OFF >/dev/null
fi
cmake --build "$DIR" -j "$JOBS" --target "${TARGETS[@]/#/fuzz-}"

# Leak checking is off: over 300 inputs of the checkpoint target, LeakSanitizer reported allocations made
# inside libtorch_cpu.so (no Unroll frame in their stacks; one of 65,535 bytes) -- LibTorch's own
# process-lifetime state, not a finding about an input. halt_on_error / abort_on_error turn any other
# report into a libFuzzer crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# One thread per target: the fuzzers run one input at a time anyway, and the machine may be shared.
export OMP_NUM_THREADS=1

status=0
summary=()
mkdir -p "$DIR/logs"
for t in "${TARGETS[@]}"; do
  exe="$DIR/tests/fuzz/fuzz-$t"
  if [ "$engine" = libfuzzer ]; then
    mkdir -p "$DIR/corpus/$t" "$DIR/findings/$t"
    echo "fuzz: $t for ${SECONDS_PER_TARGET} s"
    # -timeout: an input taking over 10 s is a hang; -rss_limit_mb / -malloc_limit_mb: a single
    # allocation or a resident size over 2 GB is a finding (what a 1 MB hostile file must not cause).
    if "$exe" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$DIR/findings/$t/" "$DIR/corpus/$t" "tests/fuzz/corpus/$t" \
        >"$DIR/logs/$t.log" 2>&1; then
      result=ok
    else
      result="FINDING (see $DIR/logs/$t.log and $DIR/findings/$t/)"
      status=1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$DIR/logs/$t.log" | grep -o '[0-9]*$' || echo "?")
    secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$DIR/logs/$t.log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || echo "?")
    summary+=("$(printf '%-12s %10s execs %6s s  %s' "$t" "$runs" "$secs" "$result")")
  fi
  # The committed seed corpus, once, as CTest does.
  if [ "$engine" = libfuzzer ]; then
    "$exe" -runs=0 "tests/fuzz/corpus/$t" >"$DIR/logs/$t.replay.log" 2>&1 || { echo "fuzz: $t: the seed corpus fails" >&2; status=1; }
  else
    "$exe" "tests/fuzz/corpus/$t" >"$DIR/logs/$t.replay.log" 2>&1 || { echo "fuzz: $t: the seed corpus fails" >&2; status=1; }
  fi
done
if [ "$engine" = libfuzzer ]; then
  echo "fuzz: summary (engine: libFuzzer + ASan + UBSan, $SECONDS_PER_TARGET s per target)"
  printf '  %s\n' "${summary[@]}"
else
  echo "fuzz: replayed the seed corpus of ${TARGETS[*]} (no fuzzing: no clang fuzzer runtime)"
fi
[ $status -eq 0 ] && echo "fuzz: no findings" || echo "fuzz: FINDINGS, see above" >&2
exit $status
