// Atomic file output: write to a temporary file beside the target, then rename over it, so a crash
// or a full disk never leaves a half-written output or checkpoint behind.
#pragma once

#include <functional>
#include <string>

namespace unroll {

/// A unique temporary path in the same directory as `path`, keeping its extension (codecs choose the
/// format from it): "dir/name.png" -> "dir/.name.tmp12345.png".
std::string temp_path_beside(const std::string& path);

/// Calls `write(temp_path)`, then renames the temporary file to `path`. On any failure the temporary
/// file is removed and unroll::Error is thrown naming `path`. Creates missing parent directories.
void write_atomically(const std::string& path, const std::function<void(const std::string& temp_path)>& write);

/// Writes `contents` to `path` atomically.
void write_text_atomically(const std::string& path, const std::string& contents);

}  // namespace unroll
