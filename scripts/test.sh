#!/usr/bin/env bash
# Set up (packages + build), then run every test (GoogleTest through CTest, incl. the scikit-image
# cross-checks; tests that need ../shared skip cleanly without it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd "${UNROLL_BUILD_DIR:-build}"
ctest --output-on-failure -j "${UNROLL_JOBS:-$(nproc)}" "$@"
