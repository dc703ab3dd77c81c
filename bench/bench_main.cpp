// unroll-bench: the classical benchmark as a LibTorch-only executable (no OpenCV/Boost needed).
#include <iostream>

#include "core/error.h"
#include "core/tensor.h"

int run_classic_bench(int argc, char** argv);

int main(int argc, char** argv) {
  unroll::keep_freed_tensor_memory();  // as the unroll program does
  return unroll::report_errors([&] { return run_classic_bench(argc, argv); });
}
