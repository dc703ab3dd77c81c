#include "core/error.h"

#include <c10/util/Exception.h>

#include <iostream>
#include <mutex>

namespace unroll {
namespace {
std::mutex g_warn_mutex;
std::function<void(const std::string&)> g_warn_handler;
}  // namespace

void warn(const std::string& message) {
  std::lock_guard<std::mutex> lock(g_warn_mutex);
  if (g_warn_handler) {
    g_warn_handler(message);
  } else {
    std::cerr << "warning: " << message << std::endl;
  }
}

std::function<void(const std::string&)> set_warning_handler(std::function<void(const std::string&)> handler) {
  std::lock_guard<std::mutex> lock(g_warn_mutex);
  auto previous = std::move(g_warn_handler);
  g_warn_handler = std::move(handler);
  return previous;
}

namespace {
// A library's message (OpenCV's, LibTorch's) can span lines; the error stays one line.
std::string one_line(const std::string& message) {
  std::string out;
  for (char c : message) {
    if (c == '\n' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}
}  // namespace

int report_errors(const std::function<int()>& body) {
  try {
    return body();
  } catch (const c10::Error& e) {
    std::cerr << "error: " << one_line(e.what_without_backtrace()) << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "error: " << one_line(e.what()) << std::endl;
  }
  return 1;
}

}  // namespace unroll
