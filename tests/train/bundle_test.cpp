// The training config as data (train/train_config.h) and the training bundle (train/bundle.h): every
// key survives the file, 8-bit images come back exactly and train bit-identically to the originals,
// and a file that is not a bundle, a foreign key or a mistyped value is named in the error.
#include "train/bundle.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/checkpoint.h"
#include "core/error.h"
#include "test_util.h"
#include "train/training_tasks.h"

namespace unroll {
namespace {
namespace fs = std::filesystem;

/// Fields as text, keyed by name: what a comparison of two configs needs.
std::map<std::string, std::string> fields(TrainConfig c) {
  std::map<std::string, std::string> out;
  visit_train_config(c, [&](const char* key, auto& field, const char*) {
    std::ostringstream s;
    s.precision(17);
    s << field;
    out[key] = s.str();
  });
  return out;
}

using test::error_of;

/// 8-bit valued float images [3,h,w] (as an 8-bit file reads).
std::vector<torch::Tensor> eight_bit_images() {
  std::vector<torch::Tensor> images;
  for (int i = 0; i < 3; ++i) {
    torch::Tensor x = test::test_image(3, 40 + 4 * i, 36, i)[0];
    images.push_back((x * 255).round().to(torch::kUInt8).to(torch::kFloat32).mul_(static_cast<float>(1.0 / 255.0)));
  }
  return images;
}

TrainConfig tiny_denoiser_config(const std::string& out) {
  TrainConfig c;
  c.task = "denoiser";
  c.nc_text = "8,16,16,16";
  c.nb = 1;
  c.trainer.steps = 2;
  c.trainer.batch = 2;
  c.trainer.crop = 32;
  c.trainer.checkpoint_every = 0;
  c.trainer.validate_every = 0;
  c.trainer.progress = false;
  c.out_dir = out;
  c.given = {"experiment.task", "model.nc", "model.nb", "train.steps", "train.batch", "train.crop", "train.out"};
  return c;
}

TEST(TrainConfig, EveryKeyHasOneEntryAndTheDefaultsAreTheParsers) {
  TrainConfig c;
  std::set<std::string> keys;
  visit_train_config(c, [&](const char* key, auto&, const char*) { EXPECT_TRUE(keys.insert(key).second) << key; });
  EXPECT_EQ(keys.size(), 49u);
  EXPECT_TRUE(is_train_config_key("train.steps"));
  EXPECT_FALSE(is_train_config_key("train.stepz"));
  // The defaults `unroll train --help` shows (before the table moved into the library).
  const auto f = fields(c);
  EXPECT_EQ(f.at("train.crop"), "64");
  EXPECT_EQ(f.at("model.base_channel"), "32");
  EXPECT_EQ(f.at("train.lr"), "0.00020000000000000001");
  EXPECT_EQ(f.at("train.checkpoint_every"), "200");
  EXPECT_EQ(f.at("train.validate_every"), "500");
  EXPECT_EQ(f.at("train.sigma_max"), "50");
  EXPECT_EQ(f.at("train.out"), "runs/train");
  EXPECT_EQ(f.at("experiment.task"), "");
}

TEST(TrainConfig, FinishNamesTheSourceAndTheKey) {
  TrainConfig c;
  c.source = "x.ini";
  EXPECT_NE(error_of([&] { finish_train_config(c); }).find("x.ini: experiment.task is required"), std::string::npos);
  c.task = "deblur";
  c.given.insert("experiment.task");
  c.family = "convir-s";
  c.given.insert("model.iterations");
  EXPECT_NE(error_of([&] { finish_train_config(c); }).find("x.ini: model.iterations applies to task unrolled"),
            std::string::npos);
  TrainConfig d = tiny_denoiser_config("");
  d.nc_text = "8,16,x";
  EXPECT_NE(error_of([&] { finish_train_config(d); }).find("model.nc: not a comma-separated list of integers"),
            std::string::npos);
  d = tiny_denoiser_config("");
  d.trainer.warmup_steps = 5;
  EXPECT_NE(error_of([&] { finish_train_config(d); }).find("warmup_steps must be in [0, steps = 2)"), std::string::npos);
}

TEST(Bundle, RoundTripsTheConfigAndTheImagesExactly) {
  const std::string dir = test::temp_dir("bundle_round_trip");
  TrainingBundle b;
  b.config = tiny_denoiser_config(dir + "/run");
  b.config.source = "tiny.ini";
  b.config.trainer.seed = 12345678901234ull;
  b.config.sigma_max255 = 12.75;
  b.config.multiscale = false;
  b.train = eight_bit_images();
  b.val = {b.train[1].unsqueeze(0)};
  save_training_bundle(dir + "/b.pt", b);
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos);

  const TrainingBundle r = load_training_bundle(dir + "/b.pt");
  EXPECT_EQ(fields(r.config), fields(b.config));
  EXPECT_EQ(r.config.given, b.config.given);
  EXPECT_EQ(r.config.source, dir + "/b.pt");
  ASSERT_EQ(r.train.size(), 3u);
  ASSERT_EQ(r.val.size(), 1u);
  const auto floats = bundle_dataset(r.train);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.train[i].scalar_type(), torch::kUInt8);
    EXPECT_TRUE(torch::equal(floats->get(static_cast<int64_t>(i)).sharp[0], b.train[i])) << i;
  }
  EXPECT_TRUE(torch::equal(bundle_dataset(r.val)->get(0).sharp, b.val[0]));
  EXPECT_EQ(bundle_dataset({}), nullptr);
}

TEST(Bundle, TrainsBitIdenticallyToTheImagesItHolds) {
  const std::string dir = test::temp_dir("bundle_trains");
  const auto images = eight_bit_images();
  TrainingBundle b;
  b.config = tiny_denoiser_config(dir + "/from_bundle");
  b.train = images;
  save_training_bundle(dir + "/b.pt", b);
  TrainingBundle r = load_training_bundle(dir + "/b.pt");
  finish_train_config(r.config);
  run_train_config(r.config, bundle_dataset(r.train), nullptr, false);

  TrainConfig direct = tiny_denoiser_config(dir + "/direct");
  finish_train_config(direct);
  run_train_config(direct, clean_image_dataset(images), nullptr, false);
  const auto x = load_state_dict(dir + "/from_bundle/model.pth");
  const auto y = load_state_dict(dir + "/direct/model.pth");
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_TRUE(torch::equal(x[i].second, y[i].second)) << x[i].first;
}

TEST(Bundle, NamesTheFileAndWhatIsWrong) {
  const std::string dir = test::temp_dir("bundle_errors");
  EXPECT_NE(error_of([&] { load_training_bundle(dir + "/none.pt"); }).find("none.pt: no such training bundle"),
            std::string::npos);
  std::ofstream(dir + "/junk.pt") << "not a zip";
  EXPECT_NE(error_of([&] { load_training_bundle(dir + "/junk.pt"); }).find("junk.pt: not a training bundle"),
            std::string::npos);
  save_state_dict(dir + "/weights.pth", {{"w", torch::ones({2})}});
  EXPECT_NE(error_of([&] { load_training_bundle(dir + "/weights.pth"); }).find("weights.pth: not a training bundle"),
            std::string::npos);

  // A bundle whose config was edited: a mistyped value, then a key this version does not know.
  TrainingBundle b;
  b.config = tiny_denoiser_config("");
  b.train = eight_bit_images();
  save_training_bundle(dir + "/b.pt", b);
  auto rewrite = [&](const std::string& key, const c10::IValue& value, const std::string& name) {
    std::ifstream in(dir + "/b.pt", std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto root = torch::pickle_load(bytes).toGenericDict();
    auto config = root.at("config").toGenericDict();
    config.insert_or_assign(key, value);
    const auto out = torch::pickle_save(c10::IValue(root));
    std::ofstream(dir + "/" + name, std::ios::binary).write(out.data(), static_cast<std::streamsize>(out.size()));
    return dir + "/" + name;
  };
  const std::string typed = rewrite("train.steps", c10::IValue("many"), "typed.pt");
  EXPECT_NE(error_of([&] { load_training_bundle(typed); }).find("typed.pt: config key train.steps has a value of the wrong type"),
            std::string::npos);
  const std::string unknown = rewrite("train.turbo", c10::IValue(true), "unknown.pt");
  EXPECT_NE(error_of([&] { load_training_bundle(unknown); }).find("unknown.pt: unknown config key 'train.turbo'"),
            std::string::npos);

  b.train = {torch::zeros({3, 8, 8}), torch::zeros({1, 8, 8})};
  EXPECT_NE(error_of([&] { save_training_bundle(dir + "/mixed.pt", b); }).find("training image 1 has 1 channels"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir + "/mixed.pt"));
}

// Issue 28: bundles are read by torch::pickle_load, whose unpickler builds every tensor's view from the
// file without comparing it with the storage: an image whose height was enlarged in the file was read
// past its storage by the trainer. Now it is an error naming the file and the image.
TEST(Bundle, RefusesAnImageOutsideItsStorage) {
  const std::string dir = test::temp_dir("bundle_geometry");
  TrainingBundle b;
  b.config = tiny_denoiser_config("");
  b.train = eight_bit_images();
  save_training_bundle(dir + "/b.pt", b);
  std::ifstream in(dir + "/b.pt", std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto root = torch::pickle_load(bytes).toGenericDict();
  torch::Tensor image = root.at("train").toListRef()[1].toTensor();
  std::vector<int64_t> sizes = image.sizes().vec();
  sizes[1] *= 50;  // the same strides: rows 44..2199 lie past the storage
  image.unsafeGetTensorImpl()->set_sizes_and_strides(sizes, image.strides());
  const auto out = torch::pickle_save(c10::IValue(root));
  std::ofstream(dir + "/tall.pt", std::ios::binary).write(out.data(), static_cast<std::streamsize>(out.size()));
  const std::string error = error_of([&] { load_training_bundle(dir + "/tall.pt"); });
  EXPECT_NE(error.find("tall.pt: train.1: tensor"), std::string::npos) << error;
  EXPECT_NE(error.find("exceeds its storage"), std::string::npos) << error;
}

TEST(Bundle, RandomCropsAreSeededAndKeepSmallImagesWhole) {
  const std::vector<torch::Tensor> images = {torch::rand({3, 50, 70}), torch::rand({3, 20, 20}), torch::rand({3, 30, 90})};
  const auto a = random_crops(images, 24, 7);
  const auto b = random_crops(images, 24, 7);
  const auto c = random_crops(images, 24, 8);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].sizes(), (std::vector<int64_t>{3, 24, 24}));
  EXPECT_TRUE(torch::equal(a[1], images[1]));
  EXPECT_EQ(a[2].sizes(), (std::vector<int64_t>{3, 24, 24}));
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::equal(a[i], b[i]));
  EXPECT_FALSE(torch::equal(a[0], c[0]) && torch::equal(a[2], c[2]));
  // A crop is a window of its image.
  bool found = false;
  for (int64_t top = 0; top + 24 <= 50 && !found; ++top)
    for (int64_t left = 0; left + 24 <= 70 && !found; ++left)
      found = torch::equal(images[0].slice(1, top, top + 24).slice(2, left, left + 24), a[0]);
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace unroll
