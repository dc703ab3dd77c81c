// Error reporting shared by every layer.
//
// Input errors are exceptions carrying a specific message ("admm: rho must be > 0, got 0"); the apps
// catch them once and print `error: <message>`. Warnings (recoverable oddities in the input, such as a
// dropped alpha channel) go through warn(), which by default prints `warning: <message>` to stderr.
#pragma once

#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace unroll {

/// The exception type thrown for invalid input anywhere in Unroll.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

/// Throws unroll::Error with the concatenation of `args`.
template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(detail::concat(args...));
}

/// Checks an input condition; on failure throws unroll::Error with the concatenated message.
#define UNROLL_CHECK(cond, ...)                \
  do {                                         \
    if (!(cond)) ::unroll::fail(__VA_ARGS__);  \
  } while (0)

/// Emits a warning through the installed handler (stderr by default).
void warn(const std::string& message);

/// Replaces the warning handler; returns the previous one. Pass nullptr to restore the default.
std::function<void(const std::string&)> set_warning_handler(std::function<void(const std::string&)> handler);

/// A program's main: returns body(), or, when it throws, prints the one line `error: <message>` to
/// stderr (LibTorch's own errors without their C++ backtrace) and returns 1.
int report_errors(const std::function<int()>& body);

}  // namespace unroll
