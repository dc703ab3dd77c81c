#!/usr/bin/env bash
# Installs the Debian packages Unroll needs (if missing) and builds it into ./build.
# Idempotent: a second run only rebuilds what changed.
#   UNROLL_BUILD_DIR   build folder (default: build)
#   UNROLL_JOBS        parallel compile jobs (default: number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."

# libopenblas0-openmp: Debian's LibTorch calls the system BLAS (libblas.so.3) for its non-oneDNN
# kernels (transposed and 1x1 convolutions, matmul, attention); without it that is the netlib reference
# BLAS, 7x slower on the unrolled network's transposed convolutions (docs/benchmarks.md).
PACKAGES=(g++ cmake ninja-build ccache pkg-config libtorch-dev libopencv-dev libboost-program-options-dev
          libopenblas0-openmp nlohmann-json3-dev libgtest-dev python3-skimage python3-scipy python3-torch
          python3-opencv)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

BUILD_DIR=${UNROLL_BUILD_DIR:-build}
JOBS=${UNROLL_JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$PWD
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
