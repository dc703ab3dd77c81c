#!/usr/bin/env bash
# Set up (packages + build), then run every test (GoogleTest through CTest, incl. the scikit-image
# cross-checks; tests that need ../shared skip cleanly without it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd "${UNROLL_BUILD_DIR:-build}"
# Tests run two at a time, each with the machine's threads. With GNU OpenMP's default (spin before
# sleeping), a kernel estimate beside a second busy job took 70.9 s instead of 15.2 s passive
# (docs/benchmarks.md); on a subset of the heaviest tests, -j2, passive measured the same as the default
# (71.1 vs 70.7 s), so this is a guard against that case, not a speed-up.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
ctest --output-on-failure -j "${UNROLL_JOBS:-$(nproc)}" "$@"
