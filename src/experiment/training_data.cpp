#include "experiment/training_data.h"

#include "core/atomic_file.h"
#include "core/error.h"
#include "datasets/readers.h"
#include "eval/sources.h"
#include "io/image_io.h"
#include "train/training_tasks.h"

namespace unroll {
namespace {

/// data.train or data.val of `c` parsed, errors naming the config and the key.
EvalSource image_source(const TrainConfig& c, bool train) {
  const char* key = train ? "data.train" : "data.val";
  try {
    return parse_clean_image_source(train ? c.train_dir : c.val_dir, train ? "train" : "test");
  } catch (const Error& e) {
    fail(c.source, ": ", key, ": ", e.what());
  }
}

}  // namespace

void check_train_inputs(const TrainConfig& c) {
  UNROLL_CHECK(!c.train_dir.empty(), c.source, ": data.train is required");
  for (const bool train : {true, false}) {
    if (!train && c.val_dir.empty()) continue;
    const EvalSource src = image_source(c, train);
    try {
      if (src.kind == EvalSource::Kind::Cifar10) {
        cifar10_files(src.path, src.split);
      } else {
        UNROLL_CHECK(!list_image_files(src.path).empty(), src.path, ": no images in the folder");
      }
    } catch (const Error& e) {
      fail(c.source, ": ", train ? "data.train" : "data.val", ": ", e.what());
    }
  }
  check_init_files(c);
  check_writable_dir(c.out_dir, c.source + ": train.out");
}

std::shared_ptr<const PairDataset> config_images(const TrainConfig& c, bool train) {
  if (!train && c.val_dir.empty()) return nullptr;
  UNROLL_CHECK(!train || !c.train_dir.empty(), c.source, ": data.train is required");
  const EvalSource src = image_source(c, train);
  const int64_t limit = train ? c.max_images : c.val_images;
  if (src.kind == EvalSource::Kind::Cifar10) {
    CifarOptions co;
    co.grey = c.grey;
    auto all = std::make_shared<Cifar10Dataset>(cifar10_files(src.path, src.split), co);
    if (limit <= 0 || limit >= all->size()) return all;
    std::vector<torch::Tensor> images;
    for (int64_t i = 0; i < limit; ++i) images.push_back(all->get(i).sharp[0]);
    return clean_image_dataset(images);
  }
  auto files = list_image_files(src.path);
  if (limit > 0 && static_cast<int64_t>(files.size()) > limit) files.resize(limit);
  std::vector<torch::Tensor> images;
  // data.grey: every image as its luminance; otherwise every image as RGB (grey ones replicated).
  for (const auto& f : files) images.push_back(read_image(f, ImageReadOptions{c.grey, !c.grey})[0]);
  return clean_image_dataset(images);
}

}  // namespace unroll
