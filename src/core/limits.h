// Resource limits on untrusted input (issue 28): one table, so that the documentation, the error
// messages and the code agree. Every limit has a default meant to pass any real input and to stop a
// hostile or broken file before it allocates gigabytes or runs for minutes; an environment variable
// raises (or lowers) it. Exceeding a limit is one unroll::Error that names the file or flag, the value
// found, the limit and the variable that changes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace unroll {

enum class LimitId {
  ImagePixels,          ///< pixels (width x height) of one input image
  CheckpointExpansion,  ///< decompressed bytes of a checkpoint archive per byte of file
  RotationalSamples,    ///< copies x pixels of a synthetic rotational / linear motion blur
  TrainBatchPixels,     ///< batch x crop x crop of one training step
};

struct LimitInfo {
  LimitId id;
  const char* env;        ///< environment variable that overrides the default
  int64_t default_value;
  const char* unit;       ///< what the number counts
  const char* why;        ///< one line for the documentation
};

/// Every limit, in documentation order.
const std::vector<LimitInfo>& limit_table();

/// The limit's value: the environment variable when set (a positive integer; anything else is an
/// unroll::Error naming the variable), else the default.
int64_t limit_value(LimitId id);

/// The variable that overrides `id`, for error messages ("raise it with UNROLL_MAX_IMAGE_PIXELS=N").
std::string limit_hint(LimitId id);

}  // namespace unroll
