#include "core/limits.h"

#include <cerrno>
#include <cstdlib>

#include "core/error.h"

namespace unroll {

const std::vector<LimitInfo>& limit_table() {
  static const std::vector<LimitInfo> table = {
      {LimitId::ImagePixels, "UNROLL_MAX_IMAGE_PIXELS", 100'000'000, "pixels",
       "one input image (width x height); checked from the file header before decoding where the format allows "
       "(PNG, JPEG, BMP, TIFF, PNM, WebP), after decoding otherwise"},
      {LimitId::CheckpointExpansion, "UNROLL_MAX_CHECKPOINT_EXPANSION", 16, "bytes per byte of file",
       "decompressed size of a checkpoint's zip records against the archive's size (torch.save stores records "
       "uncompressed, so real files are about 1)"},
      {LimitId::RotationalSamples, "UNROLL_MAX_BLUR_SAMPLES", int64_t{1} << 36, "copies x pixels",
       "work of one synthetic rotational or linear motion blur (`unroll synth`, eval sources)"},
      {LimitId::TrainBatchPixels, "UNROLL_MAX_TRAIN_BATCH_PIXELS", int64_t{1} << 24, "batch x crop x crop",
       "pixels of one training batch (e.g. 16 x 1024 x 1024 or 64 x 512 x 512), checked by `train --dry-run` and "
       "before the first step, so a typo (batch 1e9) is an error instead of an allocation until the process is killed"},
  };
  return table;
}

namespace {
const LimitInfo& info(LimitId id) {
  for (const auto& l : limit_table())
    if (l.id == id) return l;
  fail("internal: unknown limit");
}
}  // namespace

int64_t limit_value(LimitId id) {
  const LimitInfo& l = info(id);
  const char* text = std::getenv(l.env);
  if (text == nullptr || *text == '\0') return l.default_value;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  UNROLL_CHECK(errno == 0 && end != text && *end == '\0' && v > 0, "environment variable ", l.env,
               " must be a positive integer (", l.unit, "), got '", text, "'");
  return static_cast<int64_t>(v);
}

std::string limit_hint(LimitId id) {
  return detail::concat("raise it with ", info(id).env, "=N");
}

}  // namespace unroll
