#!/usr/bin/env bash
# Set up (packages + build), then run every test (GoogleTest through CTest, incl. the scikit-image
# cross-checks; tests that need ../shared skip cleanly without it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd "${UNROLL_BUILD_DIR:-build}"
# Tests run two at a time, each with the machine's threads: with GNU OpenMP's default (spin before
# sleeping) a process's threads burn their time slices waiting for threads that are descheduled, which
# made a kernel estimate 4.7x slower beside a second job (70.9 s vs 15.2 s passive; docs/benchmarks.md).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
ctest --output-on-failure -j "${UNROLL_JOBS:-$(nproc)}" "$@"
