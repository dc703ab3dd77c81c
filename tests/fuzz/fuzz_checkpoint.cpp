// Fuzz target: a PyTorch checkpoint (zip archive + pickle) read by core/checkpoint.h's own unpickler.
#include "core/checkpoint.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  unroll::fuzz::scratch_dir();  // silences warnings
  unroll::fuzz::expect_errors_only([&] {
    const auto state = unroll::load_state_dict_from_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    for (const auto& [name, t] : state) unroll::fuzz::touch_elements(t);
  });
  return 0;
}
