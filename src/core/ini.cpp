#include "core/ini.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <type_traits>

#include "core/error.h"
#include "core/text_input.h"

namespace unroll {
namespace {

constexpr const char* kSpace = " \t\r\n\f\v";

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

std::string at_line(const std::string& source, int line) { return source + ":" + std::to_string(line); }

/// The line shown in a syntax error: long lines are cut (the limit allows thousands of characters).
std::string shown(const std::string& text) { return text.size() <= 80 ? text : text.substr(0, 77) + "..."; }

[[noreturn]] void bad_value(const IniEntry& e, const char* expected) {
  fail(e.where(), ": expected ", expected, ", got '", e.value, "'");
}

/// strtoll / strtoull over the whole value; false when it is not one integer in range.
template <class T>
bool parse_integer(const std::string& text, T& out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  if constexpr (std::is_unsigned_v<T>) {
    if (text[0] == '-') return false;  // strtoull would wrap "-1" round to 2^64 - 1
  }
  errno = 0;
  char* end = nullptr;
  if constexpr (std::is_unsigned_v<T>) {
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    out = static_cast<T>(v);
  } else {
    const long long v = std::strtoll(text.c_str(), &end, 10);
    out = static_cast<T>(v);
  }
  return errno == 0 && end == text.c_str() + text.size();
}

}  // namespace

std::string IniEntry::where() const {
  return (line > 0 ? at_line(file, line) : file) + ": " + key;
}

std::vector<IniEntry> parse_ini(std::istream& in, const std::string& source, const IniLimits& limits) {
  const std::string text = read_bounded_text(in, limits.max_bytes, source, "a config file");

  std::vector<IniEntry> entries;
  std::string section;
  size_t begin = 0;
  for (int n = 1; begin < text.size(); ++n) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    UNROLL_CHECK(static_cast<int64_t>(line.size()) <= limits.max_line_length, at_line(source, n),
                 ": line longer than ", limits.max_line_length, " characters");
    UNROLL_CHECK(line.find('\0') == std::string::npos, at_line(source, n), ": NUL byte (not a text file?)");
    const auto hash = line.find('#');
    const std::string t = trim(hash == std::string::npos ? line : line.substr(0, hash));
    if (t.empty() || t.front() == ';') continue;  // '#' anywhere, or ';' opening the line (Python's configparser)
    if (t.front() == '[') {
      UNROLL_CHECK(t.back() == ']', at_line(source, n), ": expected [section], got '", shown(t), "'");
      section = trim(t.substr(1, t.size() - 2));
      UNROLL_CHECK(!section.empty(), at_line(source, n), ": empty section name");
      continue;
    }
    const auto eq = t.find('=');
    UNROLL_CHECK(eq != std::string::npos, at_line(source, n), ": expected key = value or [section], got '", shown(t),
                 "'");
    const std::string name = trim(t.substr(0, eq));
    UNROLL_CHECK(!name.empty(), at_line(source, n), ": expected key = value, the key is missing in '", shown(t), "'");
    UNROLL_CHECK(static_cast<int64_t>(entries.size()) < limits.max_entries, at_line(source, n), ": more than ",
                 limits.max_entries, " entries, too many for a config file");
    IniEntry e;
    e.key = section.empty() ? name : section + "." + name;
    e.value = trim(t.substr(eq + 1));
    e.file = source;
    e.line = n;
    entries.push_back(std::move(e));
  }
  return entries;
}

std::vector<IniEntry> read_ini_file(const std::string& path, const IniLimits& limits) {
  std::error_code ec;
  UNROLL_CHECK(std::filesystem::is_regular_file(path, ec), path, ": cannot open (no such file)");
  std::ifstream in(path, std::ios::binary);
  UNROLL_CHECK(in.good(), path, ": cannot open");
  return parse_ini(in, path, limits);
}

// ---- typed values ------------------------------------------------------------------------------------

void parse_ini_value(const IniEntry& entry, std::string& out) { out = entry.value; }

void parse_ini_value(const IniEntry& entry, bool& out) {
  std::string v = entry.value;
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v.empty() || v == "1" || v == "true" || v == "yes" || v == "on") {
    out = true;
  } else if (v == "0" || v == "false" || v == "no" || v == "off") {
    out = false;
  } else {
    bad_value(entry, "a boolean (1 or 0, true or false, yes or no, on or off)");
  }
}

void parse_ini_value(const IniEntry& entry, int64_t& out) {
  if (!parse_integer(entry.value, out)) bad_value(entry, "an integer");
}

void parse_ini_value(const IniEntry& entry, uint64_t& out) {
  if (!parse_integer(entry.value, out)) bad_value(entry, "a non-negative integer");
}

void parse_ini_value(const IniEntry& entry, double& out) {
  const std::string& t = entry.value;
  errno = 0;
  char* end = nullptr;
  const double v = t.empty() || std::isspace(static_cast<unsigned char>(t[0])) ? 0 : std::strtod(t.c_str(), &end);
  // ERANGE also flags underflow to a subnormal, which is still a fine value; overflow gives inf.
  if (end != t.c_str() + t.size() || t.empty() || !std::isfinite(v)) bad_value(entry, "a finite number");
  out = v;
}

std::string ini_value_text(const std::string& value) { return value; }
std::string ini_value_text(bool value) { return value ? "1" : "0"; }
std::string ini_value_text(int64_t value) { return std::to_string(value); }
std::string ini_value_text(uint64_t value) { return std::to_string(value); }

std::string ini_value_text(double value) {
  char buf[40];
  // Whole numbers as integers ("50", not %g's "5e+01"); the rest in the fewest digits that read back.
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
    return buf;
  }
  for (int digits = 1; digits <= std::numeric_limits<double>::max_digits10; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

std::string format_ini(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::vector<std::string> sections;
  std::vector<std::vector<std::string>> lines;
  for (const auto& [key, value] : entries) {
    UNROLL_CHECK(value.find_first_of("#\r\n") == std::string::npos && trim(value) == value, key, " = '", value,
                 "' cannot be written to an INI file (a '#', a line break or white space at either end)");
    const auto dot = key.find('.');
    const std::string section = dot == std::string::npos ? "" : key.substr(0, dot);
    const std::string name = dot == std::string::npos ? key : key.substr(dot + 1);
    UNROLL_CHECK(!name.empty() && trim(name) == name && name.find_first_of("#=[\r\n") == std::string::npos, "'", key,
                 "' cannot be written as an INI key");
    size_t s = 0;
    while (s < sections.size() && sections[s] != section) ++s;
    if (s == sections.size()) {
      // Keys without a section must precede the first [section] header.
      if (section.empty()) {
        sections.insert(sections.begin(), section);
        lines.insert(lines.begin(), std::vector<std::string>());
        s = 0;
      } else {
        sections.push_back(section);
        lines.emplace_back();
      }
    }
    lines[s].push_back(value.empty() ? name + " =" : name + " = " + value);
  }
  std::string text;
  for (size_t s = 0; s < sections.size(); ++s) {
    if (!sections[s].empty()) text += (text.empty() ? "[" : "\n[") + sections[s] + "]\n";
    for (const auto& line : lines[s]) text += line + "\n";
  }
  return text;
}

}  // namespace unroll
