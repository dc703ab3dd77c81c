// Reading small untrusted text files (kernels, configs, manifests): bounded in size, so an endless or
// huge input (/dev/zero, a 10 GB file named k.csv) is one error instead of a read until memory runs out.
#pragma once

#include <cstdint>
#include <istream>
#include <string>

namespace unroll {

/// All of `in`, or an unroll::Error naming `source` when it holds more than `max_bytes` (only
/// max_bytes + 1 bytes are read) or cannot be read. `kind` names the file type in the error
/// ("a config file"). A leading UTF-8 byte-order mark is dropped.
std::string read_bounded_text(std::istream& in, int64_t max_bytes, const std::string& source, const char* kind);

/// read_bounded_text of the regular file `path` (a folder, a device or a missing file is an error).
std::string read_text_file(const std::string& path, int64_t max_bytes, const char* kind);

/// `s` for an error message: at most `max_chars` characters, bytes outside printable ASCII as \xNN,
/// so a binary file's bytes cannot break the message's one line.
std::string printable(const std::string& s, size_t max_chars = 40);

}  // namespace unroll
