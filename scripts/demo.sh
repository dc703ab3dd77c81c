#!/usr/bin/env bash
# Set up (packages + build), then deblur the bundled sample with every classical method:
# writes out/demo/{comparison.png,results.md,...}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
./"${UNROLL_BUILD_DIR:-build}"/unroll demo --out out/demo "$@"
