// The training config as an INI file (core/ini.h syntax): `unroll train --config`, `unroll pack` and
// experiments read one with read_train_config / parse_train_config, and an experiment writes each
// variant's <out>/<variant>/train.ini with write_train_config. Both go through the key table of
// train/train_config.h (visit_train_config), so a key added there is read, written, packed and
// documented at once. Unknown keys, a key set twice and mistyped values are errors naming
// FILE:LINE: key. LibTorch only.
#pragma once

#include <string>
#include <vector>

#include "core/ini.h"
#include "train/train_config.h"

namespace unroll {

/// Sets the field of `key` ("train.steps") from `entry`'s value and adds the key to c.given. Throws
/// unroll::Error "FILE:LINE: <entry.key>: ..." when `key` is not a key of the config or the value is
/// not of the field's type. `key` is entry.key except where the entry sits in a prefixed section (an
/// experiment's [variant.NAME] sets "model.iterations" from "variant.NAME.model.iterations").
void set_train_config_value(TrainConfig& c, const std::string& key, const IniEntry& entry);

/// The config of `entries` (each key at most once), checked as a whole (finish_train_config) with
/// `source` as c.source. Throws unroll::Error naming FILE:LINE and the key.
TrainConfig parse_train_config(const std::vector<IniEntry>& entries, const std::string& source);

/// parse_train_config of the file at `path` (read_ini_file).
TrainConfig read_train_config(const std::string& path);

/// The keys `c` was given (c.given), in the table's order under [experiment], [model], [data],
/// [train], values in the form parse_ini_value reads back exactly; keys left at their defaults are not
/// written, so that parse_train_config(write_train_config(c)) sets the same fields to the same values
/// with the same c.given. Throws unroll::Error when a string value cannot be written to INI (holds '#'
/// or a line break).
std::string write_train_config(const TrainConfig& c);

/// True when `a` and `b` give the same keys the same values (c.source aside): equal
/// write_train_config texts, which hold exactly the given keys in canonical form. How an experiment
/// decides that a finished training is the one its config asks for, however the train.ini was spelt.
bool same_train_config(const TrainConfig& a, const TrainConfig& b);

}  // namespace unroll
