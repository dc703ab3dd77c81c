// Fuzz target: a blur kernel as text (CSV / whitespace numbers, core/kernel.h parse_kernel_text).
#include "core/kernel.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  unroll::fuzz::expect_errors_only(
      [&] { unroll::parse_kernel_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz"); });
  return 0;
}
