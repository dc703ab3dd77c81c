#!/usr/bin/env bash
# Prepares .gpu/ (ignored by git) for a GPU machine that has only a Python PyTorch: the training bundle
# of experiments/convir_small_gpu.ini (or CONFIG) and GoogleTest's headers and static libraries, so that
# scripts/gpu_train.sh there can also build and run the CUDA-vs-CPU tests. Run here, after setup.sh.
#   bash scripts/gpu_prepare.sh [CONFIG] [CROP]
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-experiments/convir_small_gpu.ini}
CROP=${2:-272}
mkdir -p .gpu/gtest/include .gpu/gtest/lib
build/unroll pack --config "$CONFIG" --crop "$CROP" --device cuda --output ".gpu/$(basename "$CONFIG" .ini).pt"
if [ -d /usr/include/gtest ]; then
  cp -r /usr/include/gtest .gpu/gtest/include/
  cp /usr/lib/x86_64-linux-gnu/libgtest.a /usr/lib/x86_64-linux-gnu/libgtest_main.a .gpu/gtest/lib/
fi
du -sh .gpu
