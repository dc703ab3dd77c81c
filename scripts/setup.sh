#!/usr/bin/env bash
# Installs the Debian packages Unroll needs (if missing) and builds it into ./build, the Python module
# (`import unroll`, docs/python.md) into ./build/python.
# Idempotent: a second run only rebuilds what changed.
#   UNROLL_BUILD_DIR   build folder (default: build)
#   UNROLL_JOBS        parallel compile jobs (default: number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(g++ cmake ninja-build ccache pkg-config libtorch-dev libgloo-dev libopencv-dev libboost-program-options-dev
          nlohmann-json3-dev libgtest-dev python3-skimage python3-scipy python3-torch python3-opencv
          python3-dev pybind11-dev python3-matplotlib)
# Speed only, so a failed install warns instead of stopping the set-up. libopenblas0-openmp: Debian's
# LibTorch calls the system BLAS (libblas.so.3) for its non-oneDNN kernels (transposed and 1x1
# convolutions, matmul, attention); without it that is the netlib reference BLAS, 7x slower on the
# unrolled network's transposed convolutions (docs/benchmarks.md). libfftw3-dev: CPU 2-D FFTs on FFTW
# instead of LibTorch's pocketfft (core/fft.h; CMake finds it at configure time).
OPTIONAL_PACKAGES=(libopenblas0-openmp libfftw3-dev)

not_installed() {
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
mapfile -t missing < <(not_installed "${PACKAGES[@]}")
mapfile -t missing_optional < <(not_installed "${OPTIONAL_PACKAGES[@]}")
if ((${#missing[@]} + ${#missing_optional[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
      SUDO=sudo
    elif ((${#missing[@]})); then
      echo "error: need root (or sudo) to install: ${missing[*]}" >&2
      exit 1
    fi
  fi
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  if ((${#missing_optional[@]})); then
    echo "setup: installing ${missing_optional[*]} (speed only)"
    if ! { { ((${#missing[@]})) || $SUDO apt-get update -qq; } &&
           DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing_optional[@]}"; }; then
      echo "setup: warning: could not install ${missing_optional[*]}; Unroll works without it, slower" >&2
    fi
  fi
fi

BUILD_DIR=${UNROLL_BUILD_DIR:-build}
JOBS=${UNROLL_JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$PWD
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
