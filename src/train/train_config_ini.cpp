#include "train/train_config_ini.h"

#include <map>

#include "core/error.h"

namespace unroll {

void set_train_config_value(TrainConfig& c, const std::string& key, const IniEntry& entry) {
  bool found = false;
  visit_train_config(c, [&](const char* k, auto& field, const char*) {
    if (found || key != k) return;
    parse_ini_value(entry, field);
    found = true;
  });
  UNROLL_CHECK(found, entry.where(), ": unknown key");
  c.given.insert(key);
}

TrainConfig parse_train_config(const std::vector<IniEntry>& entries, const std::string& source) {
  TrainConfig c;
  c.source = source;
  std::map<std::string, int> first_line;
  for (const auto& e : entries) {
    auto [it, inserted] = first_line.emplace(e.key, e.line);
    UNROLL_CHECK(inserted, e.where(), " is already set on line ", it->second);
    set_train_config_value(c, e.key, e);
  }
  finish_train_config(c);
  return c;
}

TrainConfig read_train_config(const std::string& path) { return parse_train_config(read_ini_file(path), path); }

std::string write_train_config(const TrainConfig& c) {
  TrainConfig copy = c;
  std::vector<std::pair<std::string, std::string>> entries;
  visit_train_config(copy, [&](const char* key, auto& field, const char*) {
    if (c.is_given(key)) entries.emplace_back(key, ini_value_text(field));
  });
  return format_ini(entries);
}

bool same_train_config(const TrainConfig& a, const TrainConfig& b) {
  return write_train_config(a) == write_train_config(b);
}

}  // namespace unroll
