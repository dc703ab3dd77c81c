#include "datasets/readers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include <opencv2/imgcodecs.hpp>

#include "core/error.h"
#include "core/fft.h"
#include "core/kernel.h"
#include "core/zip_directory.h"
#include "io/image_header.h"
#include "datasets/loader.h"
#include "datasets_io/fake_datasets.h"
#include "io/image_io.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

using test::error_of;
using test::FakePair;
using test::put;
using test::tag_of;
using test::tagged_image;

TEST(GoproReader, OfficialLayout) {
  const fs::path root = test::temp_dir("gopro_official");
  test::make_fake_gopro(root, "train", {"GOPR0372_07_00", "GOPR0374_11_01"}, {"000047", "000048"}, [](int64_t i) {
    return FakePair{tagged_image(i + 1), tagged_image(i + 51), tagged_image(i + 101)};
  });
  auto listing = list_gopro(root.string(), {});
  ASSERT_EQ(listing.pairs.size(), 4u);
  EXPECT_EQ(listing.skipped, 0);
  EXPECT_EQ(listing.pairs[0].name, "GOPR0372_07_00/000047");
  EXPECT_EQ(listing.pairs[3].name, "GOPR0374_11_01/000048");
  FilePairDataset ds(listing.pairs);
  auto p = ds.get(2);
  EXPECT_EQ(tag_of(p.blurred), 3);
  EXPECT_EQ(tag_of(p.sharp), 53);
  EXPECT_EQ(p.blurred.sizes(), (std::vector<int64_t>{1, 3, 16, 16}));
  EXPECT_FALSE(p.kernel.defined());
  GoproOptions g;
  g.gamma = true;
  EXPECT_EQ(tag_of(FilePairDataset(list_gopro(root.string(), g).pairs).get(0).blurred), 101);
  // A sharp frame without its blurred twin is counted, not silently dropped.
  put(root / "train" / "GOPR0372_07_00" / "sharp" / "000049.png", tagged_image(9));
  EXPECT_EQ(list_gopro(root.string(), {}).skipped, 1);
  // A blurred frame without its sharp twin is an error naming the file.
  put(root / "train" / "GOPR0372_07_00" / "blur" / "000050.png", tagged_image(9));
  EXPECT_NE(error_of([&] { list_gopro(root.string(), {}); }).find("000050.png"), std::string::npos);
  GoproOptions test_split;
  test_split.split = "test";
  EXPECT_NE(error_of([&] { list_gopro(root.string(), test_split); }).find("test"), std::string::npos);
  GoproOptions bad;
  bad.split = "val";
  EXPECT_THROW(list_gopro(root.string(), bad), Error);
}

TEST(GoproReader, FlatLayoutAndSizeMismatch) {
  const fs::path root = test::temp_dir("gopro_flat");
  put(root / "test" / "blur" / "GOPR0384_11_00_000001.png", tagged_image(7));
  put(root / "test" / "sharp" / "GOPR0384_11_00_000001.png", tagged_image(8));
  put(root / "test" / "blur" / "GOPR0384_11_00_000002.png", tagged_image(9, 16, 16));
  put(root / "test" / "sharp" / "GOPR0384_11_00_000002.png", tagged_image(10, 16, 12));
  GoproOptions o;
  o.split = "test";
  auto listing = list_gopro(root.string(), o);
  ASSERT_EQ(listing.pairs.size(), 2u);
  EXPECT_EQ(listing.pairs[0].name, "GOPR0384_11_00_000001");
  FilePairDataset ds(listing.pairs);
  EXPECT_EQ(tag_of(ds.get(0).sharp), 8);
  const auto msg = error_of([&] { ds.get(1); });
  EXPECT_NE(msg.find("GOPR0384_11_00_000002.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("differs"), std::string::npos) << msg;
  EXPECT_THROW(ds.get(2), Error);
}

TEST(RedsReader, LayoutReds4AndNeighbours) {
  const fs::path root = test::temp_dir("reds");
  test::make_fake_reds(root, "train", {"000", "001", "011"}, 3,
                       [](int64_t i) { return FakePair{tagged_image(i + 1), tagged_image(i + 101), {}}; }, true);
  auto all = list_reds(root.string(), {});
  ASSERT_EQ(all.pairs.size(), 9u);
  EXPECT_EQ(all.pairs[4].name, "001/00000001");
  RedsOptions only;
  only.reds4 = RedsOptions::Reds4::Only;
  auto r4 = list_reds(root.string(), only);
  ASSERT_EQ(r4.pairs.size(), 6u);
  EXPECT_EQ(r4.pairs[3].name, "011/00000000");
  RedsOptions excl;
  excl.reds4 = RedsOptions::Reds4::Exclude;
  auto rest = list_reds(root.string(), excl);
  ASSERT_EQ(rest.pairs.size(), 3u);
  EXPECT_EQ(rest.pairs[0].name, "001/00000000");
  RedsOptions jpeg;
  jpeg.blur_type = "blur_jpeg";
  auto lj = list_reds(root.string(), jpeg);
  ASSERT_EQ(lj.pairs.size(), 9u);
  EXPECT_EQ(fs::path(lj.pairs[0].blurred).extension(), ".jpg");
  EXPECT_EQ(tag_of(FilePairDataset(lj.pairs).get(0).sharp), 101);
  RedsOptions nb;
  nb.neighbours = 1;
  FilePairDataset ds(list_reds(root.string(), nb).pairs);
  auto first = ds.get(0);  // frame 0 of clip 000: previous frame clamped to itself
  ASSERT_EQ(first.blurred.size(1), 9);
  EXPECT_EQ(tag_of(first.blurred.narrow(1, 0, 3)), 1);
  EXPECT_EQ(tag_of(first.blurred.narrow(1, 3, 3)), 1);
  EXPECT_EQ(tag_of(first.blurred.narrow(1, 6, 3)), 2);
  EXPECT_EQ(tag_of(ds.get(4).blurred.narrow(1, 0, 3)), 4);  // clip 001 frame 1: previous = frame 0 (id 4)
  RedsOptions val;
  val.split = "val";
  EXPECT_NE(error_of([&] { list_reds(root.string(), val); }).find("val_blur"), std::string::npos);
  fs::remove(root / "train" / "train_sharp" / "001" / "00000002.png");
  EXPECT_NE(error_of([&] { list_reds(root.string(), {}); }).find("00000002.png"), std::string::npos);
}

TEST(RsblurReader, ListFileParsing) {
  const fs::path root = test::temp_dir("rsblur");
  put(root / "RSBlur/0001/000022/gt/gt_sharp.png", tagged_image(1));
  put(root / "RSBlur/0001/000022/real_blur/real_blur.png", tagged_image(2, 20, 12));
  put(root / "RSBlur/0002/000010/gt/gt_sharp.png", tagged_image(3, 20, 12));
  put(root / "RSBlur/0002/000010/real_blur/real_blur.png", tagged_image(4, 20, 12));
  const fs::path list = root / "datalist/RSBlur/RSBlur_real_train.txt";
  fs::create_directories(list.parent_path());
  std::ofstream(list) << "RSBlur/0002/000010/gt/gt_sharp.png RSBlur/0002/000010/real_blur/real_blur.png   \n\n"
                      << "RSBlur/0001/000022/gt/gt_sharp.png RSBlur/0001/000022/real_blur/real_blur.png\n";
  auto listing = list_rsblur(root.string(), list.string());
  ASSERT_EQ(listing.pairs.size(), 2u);
  EXPECT_EQ(listing.pairs[0].name, "RSBlur/0002/000010/real_blur/real_blur.png");
  FilePairDataset ds(listing.pairs);
  auto p = ds.get(0);  // sharp first on the line
  EXPECT_EQ(tag_of(p.sharp), 3);
  EXPECT_EQ(tag_of(p.blurred), 4);
  EXPECT_EQ(p.blurred.size(2), 20);  // sizes are not assumed
  EXPECT_NE(error_of([&] { ds.get(1); }).find("differs"), std::string::npos);
  std::ofstream(list, std::ios::app) << "RSBlur/0001/000022/gt/gt_sharp.png\n";
  EXPECT_NE(error_of([&] { list_rsblur(root.string(), list.string()); }).find("RSBlur_real_train.txt:4"), std::string::npos);
  const fs::path list2 = root / "missing.txt";
  std::ofstream(list2) << "RSBlur/a.png RSBlur/b.png\n";
  EXPECT_NE(error_of([&] { list_rsblur(root.string(), list2.string()); }).find("missing.txt:1"), std::string::npos);
}

TEST(FolderReader, PairsManifestAndCorruptFiles) {
  const fs::path root = test::temp_dir("folder_pairs");
  put(root / "blur" / "a.png", tagged_image(1));
  put(root / "sharp" / "a.png", tagged_image(2));
  put(root / "blur" / "b.png", tagged_image(3));
  put(root / "sharp" / "b.png", tagged_image(4));
  auto listing = list_folder_pairs(root.string());
  ASSERT_EQ(listing.pairs.size(), 2u);
  EXPECT_EQ(listing.pairs[1].name, "b");
  // Manifest round trip with parameters, kernel and sigma.
  fs::create_directories(root / "kernels");
  write_kernel_text((root / "kernels" / "a.csv").string(), gaussian_kernel(1.0, 5));
  ManifestRow r;
  r.files.name = "a";
  r.files.blurred = "blur/a.png";
  r.files.sharp = "sharp/a.png";
  r.files.kernel = "kernels/a.csv";
  r.files.noise_sigma = 0.01;
  r.parameters["kernel_type"] = "gaussian";
  r.parameters["seed"] = "7";
  ManifestRow r2;
  r2.files.name = "b";
  r2.files.blurred = "blur/b.png";
  r2.files.sharp = "sharp/b.png";
  r2.parameters["rpm"] = "300";
  write_manifest((root / "manifest.csv").string(), {r, r2});
  auto rows = read_manifest((root / "manifest.csv").string());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].parameters.at("kernel_type"), "gaussian");
  EXPECT_EQ(rows[1].parameters.at("rpm"), "300");
  EXPECT_EQ(rows[1].parameters.at("seed"), "");
  auto from_manifest = list_folder_pairs(root.string());
  FilePairDataset ds(from_manifest.pairs);
  auto p = ds.get(0);
  EXPECT_EQ(tag_of(p.blurred), 1);
  ASSERT_TRUE(p.kernel.defined());
  EXPECT_LT(test::max_abs_diff(p.kernel, gaussian_kernel(1.0, 5)), 1e-15);
  ASSERT_TRUE(p.noise_sigma.has_value());
  EXPECT_DOUBLE_EQ(*p.noise_sigma, 0.01);
  EXPECT_FALSE(ds.get(1).noise_sigma.has_value());
  // A malformed manifest line names the file and line.
  std::ofstream(root / "manifest.csv", std::ios::app) << "c,blur/c.png\n";
  EXPECT_NE(error_of([&] { read_manifest((root / "manifest.csv").string()); }).find("manifest.csv:4"), std::string::npos);
  // A corrupt image names the file.
  const fs::path root2 = test::temp_dir("folder_corrupt");
  put(root2 / "sharp" / "x.png", tagged_image(1));
  fs::create_directories(root2 / "blur");
  std::ofstream(root2 / "blur" / "x.png") << "not a png";
  FilePairDataset bad(list_folder_pairs(root2.string()).pairs);
  EXPECT_NE(error_of([&] { bad.get(0); }).find("x.png"), std::string::npos);
  EXPECT_NE(error_of([&] { list_folder_pairs((root / "nope").string()); }).find("nope"), std::string::npos);
}

TEST(Cifar10Reader, RecordsAndBlurProtocol) {
  const fs::path root = test::temp_dir("cifar");
  for (int b = 1; b <= 5; ++b) test::write_fake_cifar_batch(root / ("data_batch_" + std::to_string(b) + ".bin"), 3, 4);
  test::write_fake_cifar_batch(root / "test_batch.bin", 1, 4);
  Cifar10Dataset train(cifar10_files(root.string(), "train"));
  ASSERT_EQ(train.size(), 15);
  EXPECT_EQ(train.labels()[1].item<int64_t>(), 5);
  auto p = train.get(1);
  ASSERT_EQ(p.sharp.sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
  // Planes are R, G, B of 32x32, row-major: green (plane 1) at row 2, column 3 is (80 + 67 + 7) % 256.
  EXPECT_NEAR(p.sharp[0][1][2][3].item<double>(), ((80 + 67 + 7) % 256) / 255.0, 1e-6);
  ASSERT_TRUE(p.kernel.defined());
  EXPECT_LT(test::max_abs_diff(p.blurred.to(torch::kFloat64), conv_circular(p.sharp.to(torch::kFloat64), p.kernel)), 1e-5);
  EXPECT_EQ(p.name, "data_batch_1/1");
  // Deterministic sigma per record, drawn in [0,3]; different records differ.
  EXPECT_TRUE(torch::equal(p.blurred, train.get(1).blurred));
  EXPECT_FALSE(torch::equal(train.get(0).kernel, train.get(1).kernel));
  EXPECT_EQ(Cifar10Dataset(cifar10_files(root.string(), "test")).size(), 1);
  // Wrong length.
  std::ofstream(root / "test_batch.bin", std::ios::binary) << std::string(3000, 'x');
  EXPECT_NE(error_of([&] { Cifar10Dataset(cifar10_files(root.string(), "test")); }).find("test_batch.bin"), std::string::npos);
  EXPECT_THROW(cifar10_files((root / "none").string(), "train"), Error);
}

TEST(SyntheticReader, DeterministicPairsFromSharpFolder) {
  const fs::path root = test::temp_dir("synthetic");
  put(root / "s1.png", tagged_image(1, 40, 36));
  put(root / "s2.png", tagged_image(2, 30, 44));
  SyntheticOptions o;
  o.kernels.size = 9;
  o.kernels.length_max = 7;
  o.kernels.radius_max = 3;
  o.degrade.sigma_min = 0.0;
  o.degrade.sigma_max = 0.02;
  o.repeats = 2;
  o.crop_size = 24;
  o.seed = 3;
  SyntheticPairDataset ds(list_image_files(root.string()), o);
  ASSERT_EQ(ds.size(), 4);
  auto p = ds.get(3);
  EXPECT_EQ(p.name, "s2_1");
  ASSERT_EQ(p.sharp.sizes(), (std::vector<int64_t>{1, 3, 24, 24}));
  ASSERT_TRUE(p.noise_sigma.has_value());
  const double s = *p.noise_sigma;
  EXPECT_LE(s, 0.02);
  auto residual = p.blurred.to(torch::kFloat64) - conv_circular(p.sharp.to(torch::kFloat64), p.kernel);
  EXPECT_NEAR(residual.std().item<double>(), s, 0.25 * s + 1e-4);
  auto again = ds.get(3);
  EXPECT_TRUE(torch::equal(p.blurred, again.blurred));
  EXPECT_FALSE(torch::equal(ds.get(1).kernel, p.kernel));
  // A kernel bank (e.g. Levin's kernels) replaces the generator.
  SyntheticOptions bank = o;
  bank.kernel_bank = {gaussian_kernel(1.0, 5)};
  EXPECT_TRUE(torch::equal(SyntheticPairDataset(list_image_files(root.string()), bank).get(0).kernel, gaussian_kernel(1.0, 5)));
  // Through the loader: batches of aligned crops.
  LoaderOptions lo;
  lo.crop_size = 16;
  lo.batch_size = 2;
  lo.workers = 1;
  PairLoader loader(std::make_shared<SyntheticPairDataset>(list_image_files(root.string()), o), lo);
  auto b = loader.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->blurred.sizes(), (std::vector<int64_t>{2, 3, 16, 16}));
}

// A float TIFF with a NaN or an Inf pixel is an error naming the file, not a silently spoiled image.
std::pair<int64_t, int64_t> parse_image_header_of(const std::string& path) {
  const ImageHeader h = read_image_header(path);
  return {h.width, h.height};
}

TEST(ImageFiles, NonFinitePixelsAreAnError) {
  const std::string dir = test::temp_dir("image_nonfinite");
  cv::Mat m(8, 8, CV_32FC1, cv::Scalar(0.5));
  ASSERT_TRUE(cv::imwrite(dir + "/ok.tif", m));
  EXPECT_NEAR(read_image(dir + "/ok.tif").mean().item<double>(), 0.5, 1e-6);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    m.at<float>(3, 4) = bad;
    ASSERT_TRUE(cv::imwrite(dir + "/bad.tif", m));
    EXPECT_EQ(error_of([&] { read_image(dir + "/bad.tif"); }), dir + "/bad.tif: image holds NaN or Inf pixels");
  }
}

// Issue 28: a small file declaring a huge image is refused from its header, before any decoding.
TEST(ImageFiles, DeclaredSizeIsCheckedBeforeDecoding) {
  const std::string dir = test::temp_dir("image_bomb");
  // A PNG signature and an IHDR chunk declaring 60000 x 60000 (3.6 gigapixels), nothing more.
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\xea\x60\0\0\xea\x60\x08\x02\0\0\0\0\0\0\0", 33);
  std::ofstream(dir + "/bomb.png", std::ios::binary) << png;
  std::string msg = error_of([&] { read_image(dir + "/bomb.png"); });
  EXPECT_NE(msg.find("60000x60000 (3600 megapixels), above the limit of 100 megapixels"), std::string::npos) << msg;
  EXPECT_NE(msg.find("UNROLL_MAX_IMAGE_PIXELS"), std::string::npos) << msg;
  // The limit applies to real images of every format the header reader knows, and to the rest after decoding.
  const auto x = test::test_image(3, 40, 50);
  ::setenv("UNROLL_MAX_IMAGE_PIXELS", "1999", 1);
  for (const char* ext : {".png", ".jpg", ".bmp", ".tif", ".ppm", ".webp"}) {
    const std::string f = dir + "/small" + ext;
    write_image(f, x);
    EXPECT_EQ(parse_image_header_of(f), std::make_pair(int64_t{50}, int64_t{40})) << ext;
    msg = error_of([&] { read_image(f); });
    EXPECT_NE(msg.find("50x40"), std::string::npos) << ext << ": " << msg;
  }
  ::setenv("UNROLL_MAX_IMAGE_PIXELS", "2000", 1);
  EXPECT_NO_THROW(read_image(dir + "/small.png"));
  ::unsetenv("UNROLL_MAX_IMAGE_PIXELS");
}

TEST(ImageFiles, TruncatedJpegWarnsNamingTheFile) {
  const std::string dir = test::temp_dir("image_truncated");
  write_image(dir + "/full.jpg", test::test_image(3, 64, 64));
  const std::string bytes = test::read_file(dir + "/full.jpg");
  std::ofstream(dir + "/cut.jpg", std::ios::binary) << bytes.substr(0, bytes.size() * 2 / 3);
  std::vector<std::string> warnings;
  auto previous = set_warning_handler([&](const std::string& w) { warnings.push_back(w); });
  read_image(dir + "/full.jpg");
  EXPECT_TRUE(warnings.empty());
  read_image(dir + "/cut.jpg");
  set_warning_handler(previous);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(dir + "/cut.jpg: the JPEG data ends before"), std::string::npos) << warnings[0];
}

// A PNG cut short or with a damaged byte is refused by its chunk CRCs, in one line naming the chunk
// (libpng would print its own message and OpenCV return an empty picture).
TEST(ImageFiles, DamagedPngIsOneErrorNamingTheChunk) {
  const std::string dir = test::temp_dir("image_png_damage");
  write_image(dir + "/ok.png", test::test_image(3, 24, 32));
  const std::string bytes = test::read_file(dir + "/ok.png");
  EXPECT_NO_THROW(read_image(dir + "/ok.png"));
  const size_t idat = bytes.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  std::string flipped = bytes;
  flipped[idat + 20] = static_cast<char>(flipped[idat + 20] ^ 0x10);
  std::ofstream(dir + "/flipped.png", std::ios::binary) << flipped;
  EXPECT_EQ(error_of([&] { read_image(dir + "/flipped.png"); }),
            dir + "/flipped.png: chunk 'IDAT' at byte " + std::to_string(idat - 4) +
                " fails its CRC-32 check (damaged file)");
  std::ofstream(dir + "/cut.png", std::ios::binary) << bytes.substr(0, idat + 30);
  EXPECT_EQ(error_of([&] { read_image(dir + "/cut.png"); }),
            dir + "/cut.png: chunk 'IDAT' at byte " + std::to_string(idat - 4) + " is cut short (truncated file)");
  std::ofstream(dir + "/no_end.png", std::ios::binary) << bytes.substr(0, bytes.size() - 12);
  EXPECT_EQ(error_of([&] { read_image(dir + "/no_end.png"); }),
            dir + "/no_end.png: the file ends before its IEND chunk (truncated)");
  // An IHDR rewritten with its CRC recomputed: a zero width, or 6000x6000 over this file's few bytes of
  // image data (no deflate stream expands that far).
  auto with_size = [&](uint32_t w, uint32_t h) {
    std::string b = bytes;
    for (int i = 0; i < 4; ++i) {
      b[16 + i] = static_cast<char>((w >> (24 - 8 * i)) & 0xFF);
      b[20 + i] = static_cast<char>((h >> (24 - 8 * i)) & 0xFF);
    }
    const uint32_t crc = crc32_of(b.data() + 12, 17);
    for (int i = 0; i < 4; ++i) b[29 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xFF);
    return b;
  };
  std::ofstream(dir + "/zero.png", std::ios::binary) << with_size(0, 24);
  EXPECT_EQ(error_of([&] { read_image(dir + "/zero.png"); }), dir + "/zero.png: IHDR declares a 0x24 image");
  std::ofstream(dir + "/claims.png", std::ios::binary) << with_size(6000, 6000);
  EXPECT_NE(error_of([&] { read_image(dir + "/claims.png"); }).find("is too short for the 6000x6000 pixels IHDR declares"),
            std::string::npos);
  // A JPEG cut before its first scan holds no picture at all: an error (after the scan began: a warning).
  write_image(dir + "/ok.jpg", test::test_image(3, 24, 32));
  const std::string jpg = test::read_file(dir + "/ok.jpg");
  std::ofstream(dir + "/head.jpg", std::ios::binary) << jpg.substr(0, 100);
  EXPECT_EQ(error_of([&] { read_image(dir + "/head.jpg"); }),
            dir + "/head.jpg: the file ends before its image data (truncated JPEG)");
}

TEST(ImageFiles, NonFiniteResultsAreNeverWritten) {
  const std::string dir = test::temp_dir("image_write_nan");
  auto x = test::test_image(1, 8, 8);
  x[0][0][2][3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error_of([&] { write_image(dir + "/x.png", x); }).find("NaN or Inf values"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.png"));
}

// write_image converts a large image in bands of rows (1 MP each): every band lands in its place, at
// every bit depth, and a NaN in the last band still stops the write before any file exists.
TEST(ImageFiles, LargeImagesAreWrittenBandByBand) {
  const std::string dir = test::temp_dir("image_bands");
  const int64_t h = 1100, w = 2048;  // 512 rows per band: three bands, the last one short
  auto x = (torch::rand({1, 3, h, w}, torch::TensorOptions().dtype(torch::kFloat32)) * 1.2 - 0.1);
  x[0][1][h - 1][w - 1] = 0.5f;
  for (int bits : {8, 16}) {
    write_image(dir + "/x.png", x, bits);
    const double peak = bits == 8 ? 255.0 : 65535.0;
    auto expected = torch::round(x.to(torch::kFloat64).clamp(0.0, 1.0) * peak) / peak;
    EXPECT_LT((read_image(dir + "/x.png").to(torch::kFloat64) - expected).abs().max().item<double>(), 1e-6) << bits;
  }
  write_image(dir + "/x.tif", x, 32);
  EXPECT_TRUE(torch::equal(read_image(dir + "/x.tif"), x));
  x[0][2][h - 3][5] = std::numeric_limits<float>::infinity();
  EXPECT_NE(error_of([&] { write_image(dir + "/nan.png", x); }).find("NaN or Inf values"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir + "/nan.png"));
}

// --bits 32: float TIFF holding the values as computed (outside [0,1] too), read back unchanged.
TEST(ImageFiles, FloatTiffKeepsTheValues) {
  const std::string dir = test::temp_dir("image_float");
  for (int64_t c : {1, 3}) {
    auto x = (test::test_image(c, 9, 7) * 1.5 - 0.2).to(torch::kFloat32);
    write_image(dir + "/x.tif", x, 32);
    EXPECT_TRUE(torch::equal(read_image(dir + "/x.tif"), x)) << c;
  }
  EXPECT_NE(error_of([&] { write_image(dir + "/x.png", test::test_image(1, 4, 4), 32); }).find("needs .tif"),
            std::string::npos);
  EXPECT_NE(error_of([&] { write_image(dir + "/x.tif", test::test_image(1, 4, 4), 12); }).find("8, 16 or 32"),
            std::string::npos);
}

TEST(JpegHook, OpenCvRoundTrip) {
  auto x = test::test_image(3, 32, 32);
  auto codec = opencv_jpeg_codec();
  auto hi = codec(x, 95), lo = codec(x, 10);
  ASSERT_EQ(hi.sizes(), x.sizes());
  const double e_hi = (hi - x).abs().mean().item<double>(), e_lo = (lo - x).abs().mean().item<double>();
  EXPECT_LT(e_hi, 0.04);  // 4:2:0 chroma subsampling of a 32x32 colour test image
  EXPECT_GT(e_lo, e_hi);
  // Channel order survives the BGR codec: a flat colour comes back as itself.
  auto flat = torch::tensor({0.9f, 0.1f, 0.5f}).view({1, 3, 1, 1}).expand({1, 3, 16, 16}).contiguous();
  EXPECT_LT((codec(flat, 95) - flat).abs().max().item<double>(), 0.02);
  DegradeOptions o;
  o.jpeg_quality = 50;
  o.jpeg_codec = codec;
  auto y = degrade(x, gaussian_kernel(1.0, 5), o, 0).blurred;
  EXPECT_LT((y * 255 - (y * 255).round()).abs().max().item<double>(), 1e-4);  // decoded 8-bit values
  auto grey = codec(test::test_image(1, 16, 24), 90);
  EXPECT_EQ(grey.size(1), 1);
}

}  // namespace
}  // namespace unroll
