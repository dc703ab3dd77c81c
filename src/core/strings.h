// Small string helpers shared by every floor.
#pragma once

#include <string>

namespace unroll {

/// True when `s` ends with `suffix`.
inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace unroll
