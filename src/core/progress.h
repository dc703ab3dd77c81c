// A terminal progress line with rate and ETA, for long loops (iterative solvers on large images,
// evaluation over a dataset, training). On a terminal it redraws one line; otherwise it prints a line
// about every 10% so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace unroll {

/// Seconds elapsed since `t0` (steady clock).
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class ProgressLine {
 public:
  /// `label` is printed first; `total` units of work; `min_seconds`: stay silent for runs shorter than this.
  ProgressLine(std::string label, int64_t total, double min_seconds = 1.0);
  ~ProgressLine();
  /// Reports `done` units finished, with an optional trailing status text (e.g. "loss 0.012").
  void update(int64_t done, const std::string& status = "");
  void finish();

 private:
  std::string label_;
  int64_t total_;
  double min_seconds_;
  bool tty_, printed_ = false, finished_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
};

/// "1h02m", "3m05s", "12.3s".
std::string format_duration(double seconds);

}  // namespace unroll
