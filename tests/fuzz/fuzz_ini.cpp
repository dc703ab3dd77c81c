// Fuzz target: INI configs (core/ini.h parse_ini), then the two readers of their entries: the training
// config (train/train_config_ini.h) and the experiment plan (experiment/plan.h, from a file).
#include <sstream>

#include "core/ini.h"
#include "experiment/plan.h"
#include "fuzz_util.h"
#include "train/train_config_ini.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  unroll::fuzz::scratch_dir();  // silences warnings
  std::vector<unroll::IniEntry> entries;
  unroll::fuzz::expect_errors_only([&] {
    std::istringstream in(text);
    entries = unroll::parse_ini(in, "fuzz.ini");
  });
  if (entries.empty()) return 0;
  unroll::fuzz::expect_errors_only([&] { unroll::parse_train_config(entries, "fuzz.ini"); });
  const std::string path = unroll::fuzz::write_scratch("plan.ini", data, size);
  unroll::fuzz::expect_errors_only([&] { unroll::plan_experiment(path); });
  return 0;
}
