// One way to give an enum's values their names, read both ways: a table of (value, name) rows per
// enum, with aliases accepted when parsing. Every enum a user types or reads back (boundary, blur mode,
// kernel type, metric, a solver's stop reason) is named through one of these tables, so the words a
// command accepts, the words it prints and the list in its error message cannot drift apart.
//
//   const EnumNames<Boundary> kNames("boundary", {{Boundary::Circular, "circular"},
//                                                 {Boundary::Circular, "periodic", EnumNames<Boundary>::kAlias}});
//   kNames.parse("periodic") -> Boundary::Circular;  kNames.name(Boundary::Circular) -> "circular"
//   kNames.parse("wobbly")   -> unroll::Error "unknown boundary 'wobbly' (expected circular, ...)"
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "core/error.h"

namespace unroll {

template <class E>
class EnumNames {
 public:
  static constexpr bool kAlias = true;
  struct Row {
    E value;
    const char* name;
    bool alias = false;  ///< accepted by parse(), never printed
  };

  /// `what` names the enum in error messages ("boundary"). Each value needs exactly one canonical row.
  EnumNames(const char* what, std::initializer_list<Row> rows) : what_(what), rows_(rows) {}

  /// The value called `text` (canonical name or alias); throws unroll::Error listing the names otherwise.
  E parse(const std::string& text) const {
    for (const auto& r : rows_)
      if (text == r.name) return r.value;
    fail("unknown ", what_, " '", text, "' (expected ", list(), ")");
  }

  /// The canonical name of `value`.
  const char* name(E value) const {
    for (const auto& r : rows_)
      if (!r.alias && r.value == value) return r.name;
    fail("internal: ", what_, " value ", static_cast<long long>(value), " has no name");
  }

  /// The canonical names, "a, b or c".
  std::string list() const {
    std::vector<std::string> names;
    for (const auto& r : rows_)
      if (!r.alias) names.push_back(r.name);
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    return out;
  }

  /// The canonical names in table order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& r : rows_)
      if (!r.alias) out.push_back(r.name);
    return out;
  }

 private:
  const char* what_;
  std::vector<Row> rows_;
};

}  // namespace unroll
