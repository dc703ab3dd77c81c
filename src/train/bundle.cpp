#include "train/bundle.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <type_traits>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/tensor_geometry.h"
#include "datasets/kernels.h"
#include "train/training_tasks.h"

namespace unroll {
namespace {

constexpr const char* kFormat = "unroll-training-bundle";
constexpr int64_t kVersion = 1;

torch::Tensor as_uint8_chw(const torch::Tensor& image, const std::string& what) {
  UNROLL_CHECK(image.defined() && (image.dim() == 3 || (image.dim() == 4 && image.size(0) == 1)), what,
               " must be [C,H,W] or [1,C,H,W], got ", image.defined() ? image.sizes() : c10::IntArrayRef{});
  torch::Tensor x = image.dim() == 4 ? image[0] : image;
  x = x.cpu();
  if (x.scalar_type() != torch::kUInt8) x = (x.to(torch::kFloat64).clamp(0, 1) * 255).round().to(torch::kUInt8);
  return x.contiguous();
}

c10::List<at::Tensor> image_list(const std::vector<torch::Tensor>& images, const char* which, int64_t channels) {
  c10::List<at::Tensor> list;
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string what = std::string(which) + " image " + std::to_string(i);
    torch::Tensor x = as_uint8_chw(images[i], what);
    UNROLL_CHECK(x.size(0) == channels, what, " has ", x.size(0), " channels, the first training image ", channels);
    list.push_back(x);
  }
  return list;
}

std::vector<torch::Tensor> images_of(const c10::IValue& value, const std::string& path, const char* which) {
  UNROLL_CHECK(value.isList(), path, ": '", which, "' is not a list of images");
  std::vector<torch::Tensor> out;
  for (const c10::IValue& item : value.toListRef()) {
    UNROLL_CHECK(item.isTensor(), path, ": '", which, "' holds something that is not an image tensor");
    torch::Tensor x = item.toTensor();
    UNROLL_CHECK(x.scalar_type() == torch::kUInt8 && x.dim() == 3, path, ": ", which, " image ", out.size(),
                 " is not a uint8 [C,H,W] tensor");
    out.push_back(x);
  }
  return out;
}

c10::IValue value_of(const std::string& v) { return c10::IValue(v); }
c10::IValue value_of(int64_t v) { return c10::IValue(v); }
c10::IValue value_of(uint64_t v) { return c10::IValue(static_cast<int64_t>(v)); }
c10::IValue value_of(double v) { return c10::IValue(v); }
c10::IValue value_of(bool v) { return c10::IValue(v); }

/// Assigns `value` to `field` when its type fits; false otherwise.
template <class T>
bool assign(T& field, const c10::IValue& value) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!value.isString()) return false;
    field = value.toStringRef();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!value.isBool()) return false;
    field = value.toBool();
  } else if constexpr (std::is_same_v<T, double>) {
    if (!value.isDouble() && !value.isInt()) return false;
    field = value.isDouble() ? value.toDouble() : static_cast<double>(value.toInt());
  } else {
    static_assert(std::is_integral_v<T>, "config fields are strings, booleans, integers or doubles");
    if (!value.isInt()) return false;
    field = static_cast<T>(value.toInt());
  }
  return true;
}

}  // namespace

void save_training_bundle(const std::string& path, const TrainingBundle& bundle) {
  UNROLL_CHECK(!bundle.train.empty(), path, ": a training bundle needs at least one training image");
  const int64_t channels = as_uint8_chw(bundle.train[0], "training image 0").size(0);
  c10::impl::GenericDict config(c10::StringType::get(), c10::AnyType::get());
  TrainConfig c = bundle.config;
  visit_train_config(c, [&](const char* key, auto& field, const char*) { config.insert(key, value_of(field)); });
  c10::List<std::string> given;
  for (const auto& key : bundle.config.given) given.push_back(key);

  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert("format", kFormat);
  root.insert("version", kVersion);
  root.insert("source", bundle.config.source);
  root.insert("config", config);
  root.insert("given", given);
  root.insert("train", image_list(bundle.train, "training", channels));
  root.insert("val", image_list(bundle.val, "validation", channels));
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(root));
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    UNROLL_CHECK(out.good(), "cannot write ", tmp, " (disk full?)");
  });
}

TrainingBundle load_training_bundle(const std::string& path) {
  UNROLL_CHECK(std::filesystem::is_regular_file(path), path, ": no such training bundle");
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  UNROLL_CHECK(in.good() || in.eof(), path, ": cannot read");
  UNROLL_CHECK(bytes.size() >= 4 && std::equal(bytes.begin(), bytes.begin() + 4, "PK\x03\x04"), path,
               ": not a training bundle (not a zip archive)");
  // LibTorch's unpickler trusts the file (a tensor view past its storage is read past the allocation,
  // issue 28): Unroll's own reads it first, and what LibTorch builds is checked again.
  check_torch_archive(path, path);
  c10::IValue root_value;
  try {
    root_value = torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    fail(path, ": not a training bundle (unreadable archive: ", e.what(), ")");
  }
  check_tensors_in_storage(root_value, path);
  UNROLL_CHECK(root_value.isGenericDict(), path, ": not a training bundle (no dict at the top)");
  const auto root = root_value.toGenericDict();
  auto entry = [&](const char* key) {
    auto it = root.find(key);
    UNROLL_CHECK(it != root.end(), path, ": not a training bundle (no '", key, "' entry)");
    return it->value();
  };
  const c10::IValue format = entry("format");
  UNROLL_CHECK(format.isString() && format.toStringRef() == kFormat, path, ": not a training bundle");
  const c10::IValue version = entry("version");
  UNROLL_CHECK(version.isInt() && version.toInt() == kVersion, path, ": training bundle version ",
               version.isInt() ? std::to_string(version.toInt()) : std::string("?"), ", this Unroll reads version ",
               kVersion);

  TrainingBundle bundle;
  TrainConfig& c = bundle.config;
  const c10::IValue config_value = entry("config");
  UNROLL_CHECK(config_value.isGenericDict(), path, ": 'config' is not a dict");
  const auto config = config_value.toGenericDict();
  size_t known = 0;
  visit_train_config(c, [&](const char* key, auto& field, const char*) {
    auto it = config.find(key);
    if (it == config.end()) return;  // a key newer than the bundle: its default
    ++known;
    UNROLL_CHECK(assign(field, it->value()), path, ": config key ", key, " has a value of the wrong type (",
                 it->value().tagKind(), ")");
  });
  if (known != config.size()) {
    for (const auto& item : config) {
      const std::string key = item.key().isString() ? item.key().toStringRef() : "?";
      UNROLL_CHECK(is_train_config_key(key), path, ": unknown config key '", key, "' (made by a newer Unroll?)");
    }
  }
  const c10::IValue given = entry("given");
  UNROLL_CHECK(given.isList(), path, ": 'given' is not a list");
  for (const c10::IValue& key : given.toListRef()) {
    UNROLL_CHECK(key.isString() && is_train_config_key(key.toStringRef()), path, ": 'given' names an unknown key");
    c.given.insert(key.toStringRef());
  }
  c.source = path;
  bundle.train = images_of(entry("train"), path, "train");
  bundle.val = images_of(entry("val"), path, "val");
  UNROLL_CHECK(!bundle.train.empty(), path, ": the bundle has no training images");
  return bundle;
}

std::shared_ptr<const PairDataset> bundle_dataset(const std::vector<torch::Tensor>& images) {
  if (images.empty()) return nullptr;
  std::vector<torch::Tensor> floats;
  floats.reserve(images.size());
  for (const auto& x : images)
    // x * float(1/255), as io/image_io.h's reader (OpenCV convertTo) scales 8-bit pixels: a packed image
    // trains bit-identically to the file it came from.
    floats.push_back(x.scalar_type() == torch::kUInt8 ? x.to(torch::kFloat32).mul_(static_cast<float>(1.0 / 255.0))
                                                      : x.to(torch::kFloat32));
  return clean_image_dataset(floats);
}

std::vector<torch::Tensor> random_crops(const std::vector<torch::Tensor>& images, int64_t crop, uint64_t seed) {
  UNROLL_CHECK(crop >= 1, "random_crops: crop must be >= 1, got ", crop);
  std::vector<torch::Tensor> out;
  out.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    torch::Tensor x = images[i].dim() == 4 ? images[i][0] : images[i];
    const int64_t h = x.size(-2), w = x.size(-1);
    if (h <= crop && w <= crop) {
      out.push_back(x);
      continue;
    }
    SeededRng rng(mix_seed(seed ^ mix_seed(i + 1)));
    const int64_t top = h > crop ? rng.integer(0, h - crop) : 0;
    const int64_t left = w > crop ? rng.integer(0, w - crop) : 0;
    out.push_back(x.slice(-2, top, top + std::min(h, crop)).slice(-1, left, left + std::min(w, crop)).contiguous());
  }
  return out;
}

}  // namespace unroll
