#include "core/atomic_file.h"

#include <unistd.h>

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>

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

void check_writable_dir(const std::string& dir, const std::string& what) {
  std::error_code ec;
  fs::path p = fs::absolute(dir.empty() ? "." : dir, ec);
  while (!fs::exists(p, ec) && p.has_parent_path() && p.parent_path() != p) p = p.parent_path();
  UNROLL_CHECK(fs::is_directory(p, ec), what, ": ", p.string(), " is not a directory, so ", dir, " cannot be created");
  UNROLL_CHECK(::access(p.c_str(), W_OK | X_OK) == 0, what, ": cannot write in ", p.string(),
               " (permission denied or read-only file system)");
  // access() says yes to root everywhere (and /proc, sysfs refuse new entries to anyone): try it.
  std::string probe = (p / ".unroll_write_check_XXXXXX").string();
  UNROLL_CHECK(::mkdtemp(probe.data()) != nullptr, what, ": cannot create anything in ", p.string(), " (",
               std::strerror(errno), "), so ", dir, " cannot be created");
  fs::remove(probe, ec);
}

int remove_stale_temp_files(const std::string& dir, double min_age_s) {
  static const std::regex temp_name(R"(\..+\.tmp([0-9]+)_[0-9]+(\.[^.]*)?)");
  std::error_code ec;
  int removed = 0;
  const auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(dir.empty() ? "." : dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::smatch m;
    if (name.empty() || name[0] != '.' || !std::regex_match(name, m, temp_name)) continue;
    const long pid = std::strtol(m[1].str().c_str(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still running (or not ours to ask)
    std::error_code e2;
    const auto mtime = fs::last_write_time(it->path(), e2);
    if (e2 || std::chrono::duration<double>(now - mtime).count() < min_age_s) continue;
    if (fs::is_regular_file(it->path(), e2) && fs::remove(it->path(), e2)) ++removed;
  }
  return removed;
}

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) {
    fs::create_directories(p.parent_path(), ec);
    UNROLL_CHECK(!ec, "cannot create directory ", p.parent_path().string(), ": ", ec.message());
  }
  {
    // Orphans of killed writers (issue 28): swept once per directory and process.
    static std::mutex mutex;
    static std::set<std::string> swept;
    const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
    std::lock_guard<std::mutex> lock(mutex);
    if (swept.insert(dir).second) remove_stale_temp_files(dir);
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
