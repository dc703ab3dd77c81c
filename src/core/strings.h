// Small string helpers shared by every floor.
#pragma once

#include <cmath>
#include <exception>
#include <optional>
#include <string>

namespace unroll {

/// True when `s` ends with `suffix`.
inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The whole of `text` as a finite number; nullopt when it is empty, has trailing characters, is NaN or
/// infinite, or is out of range.
inline std::optional<double> parse_finite_number(const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used != text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace unroll
