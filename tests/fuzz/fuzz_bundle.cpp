// Fuzz target: a training bundle (train/bundle.h load_training_bundle, through a file). After a
// successful load every image is read element by element (fuzz_util.h).
#include "fuzz_util.h"
#include "train/bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = unroll::fuzz::write_scratch("bundle.pt", data, size);
  unroll::fuzz::expect_errors_only([&] {
    const unroll::TrainingBundle bundle = unroll::load_training_bundle(path);
    for (const auto& x : bundle.train) unroll::fuzz::touch_elements(x);
    for (const auto& x : bundle.val) unroll::fuzz::touch_elements(x);
  });
  return 0;
}
