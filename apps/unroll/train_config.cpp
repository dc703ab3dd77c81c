#include "train_config.h"

#include <filesystem>
#include <iostream>
#include <type_traits>

#include "cli.h"
#include "core/error.h"
#include "datasets/readers.h"
#include "io/image_io.h"
#include "train/training_tasks.h"

namespace po = boost::program_options;

namespace unroll::cli {
namespace {

/// What a data.train / data.val value names: a folder of images, or cifar10:DIR[:train|test] (the
/// CIFAR-10 binary batches; `split` by default).
struct ImageSource {
  bool cifar10 = false;
  std::string dir, split;
};

ImageSource image_source(const std::string& spec, const std::string& split) {
  ImageSource src{false, spec, split};
  if (spec.rfind("cifar10:", 0) == 0) {
    src.cifar10 = true;
    src.dir = spec.substr(8);
    const auto colon = src.dir.rfind(':');
    if (colon != std::string::npos && (src.dir.substr(colon + 1) == "train" || src.dir.substr(colon + 1) == "test")) {
      src.split = src.dir.substr(colon + 1);
      src.dir = src.dir.substr(0, colon);
    }
  }
  return src;
}

/// Clean training / validation images of `spec` (image_source). `limit` > 0 keeps the first N.
std::shared_ptr<const PairDataset> clean_images(const std::string& spec, int64_t limit, const std::string& key,
                                                const std::string& split) {
  UNROLL_CHECK(!spec.empty(), key, " is required");
  const ImageSource src = image_source(spec, split);
  if (src.cifar10) {
    auto all = std::make_shared<Cifar10Dataset>(cifar10_files(src.dir, src.split));
    if (limit <= 0 || limit >= all->size()) return all;
    std::vector<torch::Tensor> images;
    for (int64_t i = 0; i < limit; ++i) images.push_back(all->get(i).sharp[0]);
    return clean_image_dataset(images);
  }
  auto files = list_image_files(src.dir);
  if (limit > 0 && static_cast<int64_t>(files.size()) > limit) files.resize(limit);
  std::vector<torch::Tensor> images;
  for (const auto& f : files) images.push_back(read_image(f, ImageReadOptions{false, true})[0]);
  return clean_image_dataset(images);
}

}  // namespace

void add_train_config_options(po::options_description& desc, TrainConfig& c) {
  auto add = desc.add_options();
  visit_train_config(c, [&](const char* key, auto& field, const char* help) {
    using T = std::decay_t<decltype(field)>;
    if (std::string(key) == "experiment.task") {
      add(key, po::value(&field)->required(), help);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (field.empty())
        add(key, po::value(&field), help);  // no default to show
      else
        add(key, po::value(&field)->default_value(field), help);
    } else {
      add(key, po::value(&field)->default_value(field), help);
    }
  });
}

TrainConfig parse_train_config(std::istream& in, const std::string& source) {
  TrainConfig c;
  c.source = source;
  po::options_description desc("config");
  add_train_config_options(desc, c);
  po::variables_map vm;
  try {
    po::store(po::parse_config_file(in, desc, false), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fail(source, ": ", e.what());
  }
  for (const auto& [key, value] : vm)
    if (!value.defaulted()) c.given.insert(key);
  finish_train_config(c);
  return c;
}

void check_train_inputs(const TrainConfig& c) {
  auto images = [&](const std::string& spec, const char* key, const char* split) {
    try {
      const ImageSource src = image_source(spec, split);
      if (src.cifar10) {
        cifar10_files(src.dir, src.split);
      } else {
        list_image_files(src.dir);
      }
    } catch (const Error& e) {
      fail(c.source, ": ", key, ": ", e.what());
    }
  };
  UNROLL_CHECK(!c.train_dir.empty(), c.source, ": data.train is required");
  images(c.train_dir, "data.train", "train");
  if (!c.val_dir.empty()) images(c.val_dir, "data.val", "test");
  check_init_files(c);
}

std::shared_ptr<const PairDataset> config_images(const TrainConfig& c, bool train) {
  if (train) return clean_images(c.train_dir, c.max_images, "data.train", "train");
  if (c.val_dir.empty()) return nullptr;
  return clean_images(c.val_dir, c.val_images, "data.val", "test");
}

TrainResult run_train_config(const TrainConfig& c, bool resume) {
  return unroll::run_train_config(c, config_images(c, true), config_images(c, false), resume);
}

}  // namespace unroll::cli
