// INI files, the syntax of every Unroll config (training configs, experiments): the config-file syntax
// of Boost.Program_options, which read them before this reader existed.
//
//   # a comment (from '#' to the end of the line, also after a value)
//   [section]            every key below is "section.key"; a key before any section has no prefix
//   key = value          name and value trimmed of white space; the value may be empty or hold '='
//
// A key may appear several times (multi-valued keys such as an experiment's data.test); whether a
// repeated key is an error is the reader of the entries' business. Every entry keeps its file and line,
// so any message about it can name both ("b.ini:12: train.steps: expected an integer, got 'x'").
// Input is untrusted: the file size, the line length and the number of entries are bounded
// (IniLimits), NUL bytes are refused, and every error is an unroll::Error "FILE:LINE: ...".
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <utility>
#include <vector>

namespace unroll {

/// One `key = value` line.
struct IniEntry {
  std::string key;    ///< "section.name" (just "name" before the first [section])
  std::string value;  ///< trimmed; "" for `key =`
  std::string file;   ///< the file (or source name) it was read from
  int line = 0;       ///< 1-based line number; 0 for an entry made by a program rather than read

  /// "FILE:LINE: key" ("FILE: key" when line is 0): the start of every message about this entry.
  std::string where() const;
};

struct IniLimits {
  int64_t max_bytes = 1 << 20;     ///< whole file (configs are a few KB)
  int64_t max_line_length = 4096;  ///< characters per line, line break excluded
  int64_t max_entries = 10000;
};

/// Parses INI text read from `in`; `source` names it in the entries and in errors. Throws
/// unroll::Error "SOURCE:LINE: ..." for a line that is neither a comment, a [section] nor key = value,
/// an empty section or key name, a NUL byte, or a limit exceeded.
std::vector<IniEntry> parse_ini(std::istream& in, const std::string& source, const IniLimits& limits = {});

/// parse_ini of the file at `path` (named by `path`); "PATH: cannot open" when it is not a readable file.
std::vector<IniEntry> read_ini_file(const std::string& path, const IniLimits& limits = {});

// ---- typed values ------------------------------------------------------------------------------------
// The conversions Boost.Program_options applied: integers in decimal (an optional sign; uint64_t
// refuses '-'), finite decimal numbers, booleans as 1/0, true/false, yes/no, on/off in any case (and
// an empty value as true, Boost's reading of a bare `key =`), strings as written. A bad value throws
// unroll::Error "FILE:LINE: key: expected ..., got 'VALUE'".

void parse_ini_value(const IniEntry& entry, std::string& out);
void parse_ini_value(const IniEntry& entry, bool& out);
void parse_ini_value(const IniEntry& entry, int64_t& out);
void parse_ini_value(const IniEntry& entry, uint64_t& out);
void parse_ini_value(const IniEntry& entry, double& out);

/// The INI text of a value that parse_ini_value reads back exactly: booleans as 1 / 0, doubles in the
/// shortest decimal form that round-trips, strings as they are.
std::string ini_value_text(const std::string& value);
std::string ini_value_text(bool value);
std::string ini_value_text(int64_t value);
std::string ini_value_text(uint64_t value);
std::string ini_value_text(double value);

/// INI text of (key, value) pairs: one [section] block per section ("model" of "model.nc") in the
/// order sections first appear, keys in their given order; keys without a section come first. Throws
/// unroll::Error naming the key when a value would not read back as written (a line break or '#', or
/// white space at either end).
std::string format_ini(const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace unroll
