// Fuzz target: a folder dataset's manifest.csv (datasets/readers.h read_manifest). The files b.png and
// s.png exist (empty) beside it, so rows naming them get past the existence checks.
#include "datasets/readers.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool made = [] {
    for (const char* name : {"b.png", "s.png"}) unroll::fuzz::write_scratch(name, nullptr, 0);
    return true;
  }();
  (void)made;
  const std::string path = unroll::fuzz::write_scratch("manifest.csv", data, size);
  unroll::fuzz::expect_errors_only([&] { unroll::read_manifest(path); });
  return 0;
}
