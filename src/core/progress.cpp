#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace unroll {

std::string format_duration(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
  }
  return buf;
}

ProgressLine::ProgressLine(std::string label, int64_t total, double min_seconds)
    : label_(std::move(label)), total_(total), min_seconds_(min_seconds), tty_(::isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::update(int64_t done, const std::string& status) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (elapsed < min_seconds_ && done < total_) return;
  if (elapsed < min_seconds_ && !printed_) return;
  const double frac = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  const int decile = static_cast<int>(frac * 10);
  if (!tty_ && decile == last_decile_ && done < total_) return;
  last_decile_ = decile;
  std::fprintf(stderr, "%s%s %3d%% %lld/%lld  %.2f it/s  elapsed %s  ETA %s%s%s", tty_ ? "\r\033[K" : "",
               label_.c_str(), static_cast<int>(frac * 100), static_cast<long long>(done),
               static_cast<long long>(total_), rate, format_duration(elapsed).c_str(), format_duration(eta).c_str(),
               status.empty() ? "" : "  ", status.c_str());
  if (!tty_) std::fprintf(stderr, "\n");
  std::fflush(stderr);
  printed_ = true;
}

void ProgressLine::finish() {
  if (finished_) return;
  finished_ = true;
  if (printed_ && tty_) std::fprintf(stderr, "\n");
}

}  // namespace unroll
