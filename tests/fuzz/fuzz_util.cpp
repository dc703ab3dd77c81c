#include "fuzz_util.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/error.h"

namespace unroll::fuzz {

bool verbose() {
  static const bool on = std::getenv("UNROLL_FUZZ_VERBOSE") != nullptr;
  return on;
}

const std::string& scratch_dir() {
  // A pointer (never freed), so the folder's name is still valid whenever the exit handler below runs,
  // whatever the order of static destructors.
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/unroll-fuzz-XXXXXX";
    if (!mkdtemp(pattern.data())) std::abort();
    set_warning_handler([](const std::string&) {});
    // Removed at a normal exit (a -max_total_time run, the replay driver): each process makes one, and
    // hundreds were left behind in /tmp. A crash leaves its folder as it was.
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_dir(), ignored);
    });
    return new std::string(pattern);
  }();
  return *dir;
}

std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) std::abort();  // the scratch folder itself failed: not a finding about the input
  return path;
}

void touch_elements(const torch::Tensor& t) {
  if (!t.defined() || t.numel() == 0 || !t.has_storage() || t.is_sparse()) return;
  const auto* base = static_cast<const volatile uint8_t*>(t.storage().data()) + t.storage_offset() * t.element_size();
  const auto sizes = t.sizes();
  const auto strides = t.strides();
  const int64_t item = static_cast<int64_t>(t.element_size());
  uint8_t sum = 0;
  auto touch = [&](int64_t element) {
    for (int64_t b = 0; b < item; ++b) sum ^= base[element * item + b];
  };
  if (t.numel() > (int64_t(1) << 22)) {
    int64_t last = 0;
    for (size_t d = 0; d < sizes.size(); ++d) last += (sizes[d] - 1) * strides[d];
    touch(0);
    touch(last);
  } else {
    std::vector<int64_t> index(sizes.size(), 0);
    for (int64_t n = 0; n < t.numel(); ++n) {
      int64_t element = 0;
      for (size_t d = 0; d < sizes.size(); ++d) element += index[d] * strides[d];
      touch(element);
      for (size_t d = sizes.size(); d-- > 0;) {
        if (++index[d] < sizes[d]) break;
        index[d] = 0;
      }
    }
  }
  static volatile uint8_t sink;
  sink = sum;
}

}  // namespace unroll::fuzz
