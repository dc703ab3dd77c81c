#include "core/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace fs = std::filesystem;

namespace unroll {

std::string temp_path_beside(const std::string& path) {
  static std::atomic<int> counter{0};
  fs::path p(path);
  std::string name = "." + p.stem().string() + ".tmp" + std::to_string(::getpid()) + "_" +
                     std::to_string(counter++) + p.extension().string();
  return (p.parent_path() / name).string();
}

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) {
    fs::create_directories(p.parent_path(), ec);
    UNROLL_CHECK(!ec, "cannot create directory ", p.parent_path().string(), ": ", ec.message());
  }
  const std::string tmp = temp_path_beside(path);
  try {
    write(tmp);
    UNROLL_CHECK(fs::exists(tmp), "failed to write ", path);
    fs::rename(tmp, p, ec);
    UNROLL_CHECK(!ec, "cannot move ", tmp, " to ", path, ": ", ec.message());
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

void write_text_atomically(const std::string& path, const std::string& contents) {
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    UNROLL_CHECK(out.good(), "cannot open ", tmp, " for writing");
    out << contents;
    out.flush();
    UNROLL_CHECK(out.good(), "failed writing ", path, " (disk full?)");
  });
}

}  // namespace unroll
