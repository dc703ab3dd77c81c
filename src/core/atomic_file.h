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

/// Checks that files can be created in directory `dir` (created later if missing): the first existing
/// folder on its path must be a writable directory. Throws unroll::Error "<what>: ..." otherwise, so a
/// run fails before its work rather than when it saves.
void check_writable_dir(const std::string& dir, const std::string& what);

/// Removes the temporary files that write_atomically() left in `dir` when its process was killed
/// mid-write (".NAME.tmpPID_N.EXT" whose process PID no longer runs and that are older than
/// `min_age_s` seconds). Returns how many were removed. write_atomically() calls it once per directory
/// and process.
int remove_stale_temp_files(const std::string& dir, double min_age_s = 300);

/// Writes `contents` to `path` atomically.
void write_text_atomically(const std::string& path, const std::string& contents);

}  // namespace unroll
