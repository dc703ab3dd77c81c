#include "datasets/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/fft.h"
#include "datasets/kernels.h"
#include "test_util.h"

namespace unroll {
namespace {

// Pairs whose blurred image is a circular blur of the sharp one, with known kernels.
std::shared_ptr<TensorPairDataset> make_dataset(int64_t count, int64_t channels, int64_t size) {
  std::vector<ImagePair> pairs;
  for (int64_t i = 0; i < count; ++i) {
    ImagePair p;
    p.sharp = test::test_image(channels, size, size, i).to(torch::kFloat32);
    MotionKernelOptions mk;
    mk.length = 4 + i % 3;
    mk.angle_deg = 17.0 * i;
    mk.size = 9;
    p.kernel = motion_kernel(mk);
    p.blurred = conv_circular(p.sharp, p.kernel.to(torch::kFloat32));
    p.noise_sigma = 0.01 * i;
    p.name = "pair" + std::to_string(i);
    pairs.push_back(p);
  }
  return std::make_shared<TensorPairDataset>(pairs);
}

TEST(PairLoader, BatchesAreAlignedCropsAndDeterministic) {
  auto ds = make_dataset(7, 3, 24);
  LoaderOptions o;
  o.crop_size = 12;
  o.batch_size = 3;
  o.seed = 5;
  PairLoader loader(ds, o);
  EXPECT_EQ(loader.batches_per_epoch(), 2);
  auto b = loader.batch(0, 1);
  ASSERT_EQ(b.blurred.sizes(), (std::vector<int64_t>{3, 3, 12, 12}));
  ASSERT_EQ(b.sharp.sizes(), b.blurred.sizes());
  ASSERT_TRUE(b.kernel.defined());
  ASSERT_EQ(b.kernel.sizes(), (std::vector<int64_t>{3, 1, 9, 9}));
  for (int64_t s = 0; s < 3; ++s) {
    const int64_t i = b.indices[s];
    EXPECT_EQ(b.names[s], "pair" + std::to_string(i));
    EXPECT_NEAR(b.sigma[s].item<double>(), 0.01 * i, 1e-15);
    // The crop is aligned and the kernel transformed along with the images: away from the crop's
    // border, the blurred crop is the transformed kernel applied to the sharp crop.
    auto ref = conv_circular(b.sharp.narrow(0, s, 1).to(torch::kFloat64), b.kernel[s][0]);
    EXPECT_LT(test::max_abs_diff(ref.narrow(2, 4, 4).narrow(3, 4, 4),
                                 b.blurred.narrow(0, s, 1).to(torch::kFloat64).narrow(2, 4, 4).narrow(3, 4, 4)),
              1e-5)
        << "sample " << s;
  }
  // Same (seed, epoch, batch) -> identical; another epoch -> another order or crops.
  auto again = loader.batch(0, 1);
  EXPECT_TRUE(torch::equal(b.blurred, again.blurred));
  EXPECT_EQ(b.indices, again.indices);
  auto other = loader.batch(1, 1);
  EXPECT_FALSE(torch::equal(b.blurred, other.blurred));
  LoaderOptions o2 = o;
  o2.seed = 6;
  PairLoader loader2(ds, o2);
  EXPECT_FALSE(torch::equal(b.blurred, loader2.batch(0, 1).blurred));
}

TEST(PairLoader, EpochVisitsEveryPairOnceAndWorkersDoNotChangeResults) {
  auto ds = make_dataset(10, 1, 16);
  LoaderOptions o;
  o.crop_size = 8;
  o.batch_size = 4;
  o.drop_last = false;
  o.seed = 2;
  PairLoader sync_loader(ds, o);
  LoaderOptions ow = o;
  ow.workers = 2;
  PairLoader async_loader(ds, ow);
  for (int64_t epoch : {0, 3}) {
    sync_loader.start_epoch(epoch);
    async_loader.start_epoch(epoch);
    std::vector<int64_t> seen;
    int64_t batches = 0;
    while (auto b = sync_loader.next()) {
      auto a = async_loader.next();
      ASSERT_TRUE(a.has_value());
      EXPECT_TRUE(torch::equal(a->blurred, b->blurred));
      EXPECT_TRUE(torch::equal(a->sharp, b->sharp));
      seen.insert(seen.end(), b->indices.begin(), b->indices.end());
      ++batches;
    }
    EXPECT_FALSE(async_loader.next().has_value());
    EXPECT_EQ(batches, 3);  // 4 + 4 + 2
    std::sort(seen.begin(), seen.end());
    for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(seen[i], i);
  }
}

TEST(PairLoader, AugmentationCoversFlipsAndRotations) {
  // A crop-free 2x2 ramp shows every one of the 8 dihedral transforms over enough seeds.
  ImagePair p;
  p.sharp = torch::tensor({0.f, 1.f, 2.f, 3.f}).view({1, 1, 2, 2});
  p.blurred = p.sharp.clone();
  p.name = "ramp";
  LoaderOptions o;
  o.crop_size = 0;
  std::set<std::vector<float>> variants;
  for (uint64_t s = 0; s < 200; ++s) {
    auto a = augment_pair(p, o, s);
    EXPECT_TRUE(torch::equal(a.blurred, a.sharp));
    auto v = a.sharp.flatten();
    variants.insert(std::vector<float>(v.data_ptr<float>(), v.data_ptr<float>() + 4));
  }
  EXPECT_EQ(variants.size(), 8u);
  LoaderOptions none = o;
  none.flips = false;
  none.rot90 = false;
  EXPECT_TRUE(torch::equal(augment_pair(p, none, 3).sharp, p.sharp));
}

TEST(PairLoader, GreyRgbConversionAndErrors) {
  auto ds = make_dataset(4, 3, 16);
  LoaderOptions o;
  o.crop_size = 8;
  o.batch_size = 2;
  o.color = LoaderOptions::Color::Grey;
  EXPECT_EQ(PairLoader(ds, o).batch(0, 0).blurred.size(1), 1);
  auto grey = make_dataset(4, 1, 16);
  o.color = LoaderOptions::Color::Rgb;
  EXPECT_EQ(PairLoader(grey, o).batch(0, 0).sharp.size(1), 3);
  LoaderOptions big;
  big.crop_size = 32;
  big.batch_size = 2;
  PairLoader too_small(ds, big);
  try {
    too_small.batch(0, 0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("crop size"), std::string::npos) << e.what();
  }
  LoaderOptions many;
  many.batch_size = 5;
  EXPECT_THROW(PairLoader(ds, many), Error);  // fewer pairs than one batch with drop_last
  LoaderOptions bad;
  bad.batch_size = 0;
  EXPECT_THROW(PairLoader(ds, bad), Error);
  // Worker errors surface in next().
  LoaderOptions w = big;
  w.workers = 1;
  PairLoader failing(ds, w);
  EXPECT_THROW(failing.next(), Error);
  // A mismatched pair is rejected when the dataset is built.
  ImagePair bad_pair;
  bad_pair.blurred = torch::zeros({1, 1, 8, 8});
  bad_pair.sharp = torch::zeros({1, 1, 8, 9});
  bad_pair.name = "odd";
  EXPECT_THROW(TensorPairDataset({bad_pair}), Error);
}

}  // namespace
}  // namespace unroll
