// `unroll synth` end to end: runs the built binary on three tiny sharp PNGs and reads the dataset back
// with the folder-pair reader (datasets/readers.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <cmath>
#include <sstream>

#include "core/fft.h"
#include "core/kernel.h"
#include "datasets/readers.h"
#include "datasets/rotational.h"
#include "io/image_io.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace unroll;

namespace {

#ifdef UNROLL_EXE
const char* kSynthExe = UNROLL_EXE;
#else
const char* kSynthExe = nullptr;
#endif

#define REQUIRE_EXE() \
  if (!kSynthExe) GTEST_SKIP() << "the unroll binary is not built (UNROLL_BUILD_APPS=OFF)"

int synth(const std::string& args, std::string* output) {
  return test::run_command("OMP_NUM_THREADS=1 " + std::string(kSynthExe) + " synth " + args, output);
}

/// Three sharp images, one of a different size, values kept inside [0.15, 0.85] so that AWGN is not clipped.
std::string make_sharp_folder(const std::string& root) {
  const std::string dir = root + "/sharp_in";
  fs::create_directories(dir);
  const int64_t sizes[3][2] = {{32, 40}, {32, 40}, {28, 36}};
  for (int i = 0; i < 3; ++i) {
    auto img = 0.15 + 0.7 * test::test_image(3, sizes[i][0], sizes[i][1], 10 + i);
    write_image(dir + "/img" + std::to_string(i) + ".png", img.to(torch::kFloat32));
  }
  return dir;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Every regular file under `dir` (relative path -> bytes).
std::map<std::string, std::string> tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = slurp(e.path());
  return out;
}

/// No staging folders (".<name>.synth-tmp*") left beside the outputs.
int staging_leftovers(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".synth-tmp") != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST(SynthCli, GaussianDatasetReadsBackWithKernelsAndRecordedNoise) {
  REQUIRE_EXE();
  const std::string root = test::temp_dir("synth_gaussian");
  const std::string sharp = make_sharp_folder(root);
  const std::string out = root + "/ds";
  std::string log;
  ASSERT_EQ(synth("--sharp " + sharp + " --kernels gaussian --size 9 --noise 10 --bits 16 --count-per-image 2 --seed 7 --out " + out,
                  &log), 0) << log;

  const auto listing = list_folder_pairs(out);
  ASSERT_EQ(listing.pairs.size(), 6u);
  ASSERT_TRUE(fs::is_regular_file(out + "/manifest.csv"));
  const auto rows = read_manifest(out + "/manifest.csv");
  ASSERT_EQ(rows.size(), 6u);
  double sq = 0, count = 0, blur_change = 0;
  for (const auto& row : rows) {
    const auto& f = row.files;
    SCOPED_TRACE(f.name);
    EXPECT_EQ(row.parameters.at("kernel_type"), "gaussian");
    EXPECT_EQ(row.parameters.at("seed"), "7");
    EXPECT_EQ(row.parameters.at("blur"), "circular");
    ASSERT_TRUE(f.noise_sigma.has_value());
    EXPECT_NEAR(*f.noise_sigma, 10.0 / 255.0, 1e-12);
    EXPECT_NEAR(std::stod(row.parameters.at("sigma255")), 10.0, 1e-6);
    ASSERT_FALSE(f.kernel.empty());
    auto k = read_kernel_text(f.kernel);
    ASSERT_EQ(k.sizes(), (torch::IntArrayRef{9, 9}));
    EXPECT_NEAR(k.sum().item<double>(), 1.0, 1e-9);
    EXPECT_GE(k.min().item<double>(), 0.0);
    auto y = read_image(f.blurred).to(torch::kFloat64);
    auto x = read_image(f.sharp).to(torch::kFloat64);
    ASSERT_EQ(y.sizes(), x.sizes());
    const auto& src = row.parameters.at("source");
    auto original = read_image(sharp + "/" + src).to(torch::kFloat64);
    EXPECT_EQ(x.sizes(), original.sizes());
    EXPECT_LT(test::max_abs_diff(x, original), 1e-4);  // the sharp image is stored losslessly
    auto r = y - conv_circular(x, k);
    sq += r.pow(2).sum().item<double>();
    count += static_cast<double>(r.numel());
    blur_change += (conv_circular(x, k) - x).abs().mean().item<double>() / rows.size();
  }
  std::cout << "[ synth    ] residual std of blur - k(*)sharp: " << std::sqrt(sq / count) * 255.0 << "/255 (recorded 10/255), "
            << count << " samples\n";
  EXPECT_NEAR(std::sqrt(sq / count), 10.0 / 255.0, 0.08 * 10.0 / 255.0);  // AWGN of the recorded level
  EXPECT_GT(blur_change, 0.002);  // the kernels really blur
  // Copies of one image got different kernels.
  EXPECT_GT(test::max_abs_diff(read_kernel_text(out + "/kernels/img0_0.csv"), read_kernel_text(out + "/kernels/img0_1.csv")),
            1e-6);
}

TEST(SynthCli, SameSeedSameFilesOtherSeedOtherFiles) {
  REQUIRE_EXE();
  const std::string root = test::temp_dir("synth_seed");
  const std::string sharp = make_sharp_folder(root);
  const std::string common = "--sharp " + sharp + " --kernels mixed --size 11 --noise 2 --noise-max 20 --blur same ";
  std::string log;
  ASSERT_EQ(synth(common + "--seed 3 --out " + root + "/a", &log), 0) << log;
  ASSERT_EQ(synth(common + "--seed 3 --out " + root + "/b", &log), 0) << log;
  ASSERT_EQ(synth(common + "--seed 4 --out " + root + "/c", &log), 0) << log;
  const auto a = tree(root + "/a"), b = tree(root + "/b"), c = tree(root + "/c");
  ASSERT_EQ(a.size(), 3u * 3u + 1u);  // blur, sharp, kernels per pair + manifest
  EXPECT_TRUE(a == b) << "same seed must give byte-identical datasets";
  EXPECT_NE(a.at("blur/img0.png"), c.at("blur/img0.png"));
  EXPECT_NE(a.at("manifest.csv"), c.at("manifest.csv"));
  // Random sigma within the range.
  for (const auto& row : read_manifest(root + "/a/manifest.csv")) {
    EXPECT_GE(*row.files.noise_sigma, 2.0 / 255.0);
    EXPECT_LE(*row.files.noise_sigma, 20.0 / 255.0);
  }
}

TEST(SynthCli, RotationalMatchesTheLibraryAndRecordsItsParameters) {
  REQUIRE_EXE();
  const std::string root = test::temp_dir("synth_rot");
  const std::string sharp = make_sharp_folder(root);
  std::string log;
  // 60 rpm for 0.05 s = 18 degrees.
  ASSERT_EQ(synth("--sharp " + sharp + " --kernels rotational --rpm 60 --exposure 0.05 --centre 15,12.5 --noise 0 --limit 2 "
                  "--out " + root + "/rpm", &log), 0) << log;
  ASSERT_EQ(synth("--sharp " + sharp + " --kernels rotational --angle 18 --centre 15,12.5 --noise 0 --limit 2 --out " + root +
                  "/angle", &log), 0) << log;
  const auto listing = list_folder_pairs(root + "/rpm");
  ASSERT_EQ(listing.pairs.size(), 2u);
  EXPECT_FALSE(fs::exists(root + "/rpm/kernels"));
  RotationalBlurOptions o;
  o.angle = 18.0 * M_PI / 180.0;
  o.centre_x = 15;
  o.centre_y = 12.5;
  for (const auto& row : read_manifest(root + "/rpm/manifest.csv")) {
    SCOPED_TRACE(row.files.name);
    EXPECT_TRUE(row.files.kernel.empty());
    const auto& p = row.parameters;
    EXPECT_EQ(p.at("kernel_type"), "rotational");
    EXPECT_DOUBLE_EQ(std::stod(p.at("rpm")), 60.0);
    EXPECT_DOUBLE_EQ(std::stod(p.at("exposure")), 0.05);
    EXPECT_NEAR(std::stod(p.at("angle_deg")), 18.0, 1e-6);
    EXPECT_DOUBLE_EQ(std::stod(p.at("centre_x")), 15.0);
    EXPECT_DOUBLE_EQ(std::stod(p.at("centre_y")), 12.5);
    auto x = read_image(row.files.sharp);
    EXPECT_EQ(std::stoll(p.at("copies")), rotational_copies(o, x.size(2), x.size(3)));
    EXPECT_EQ(*row.files.noise_sigma, 0.0);
    auto y = read_image(row.files.blurred).to(torch::kFloat64);
    auto expected = rotational_blur(x.to(torch::kFloat64), o);
    EXPECT_LE(test::max_abs_diff(y, expected), 0.5 / 255.0 + 1e-4);  // noise-free: the library's blur, 8-bit
    EXPECT_GT(test::max_abs_diff(y, x.to(torch::kFloat64)), 0.02);   // and it does blur
  }
  // --angle 18 is the same sweep as 60 rpm x 0.05 s.
  auto rpm_files = tree(root + "/rpm"), angle_files = tree(root + "/angle");
  EXPECT_EQ(rpm_files.at("blur/img1.png"), angle_files.at("blur/img1.png"));

  // An all-black mask: nothing rotates, the blurred image is the sharp one.
  write_image(root + "/mask.png", torch::zeros({1, 1, 32, 40}));
  ASSERT_EQ(synth("--sharp " + sharp + " --kernels rotational --angle 30 --mask " + root + "/mask.png --noise 0 --limit 2 --out " +
                  root + "/masked", &log), 0) << log;
  for (const auto& row : read_manifest(root + "/masked/manifest.csv"))
    EXPECT_EQ(test::max_abs_diff(read_image(row.files.blurred), read_image(row.files.sharp)), 0.0) << row.files.name;
}

TEST(SynthCli, BadInputsFailCleanlyAndWriteNothing) {
  REQUIRE_EXE();
  const std::string root = test::temp_dir("synth_bad");
  const std::string sharp = make_sharp_folder(root);
  fs::create_directories(root + "/empty");
  const std::string out = root + "/out";
  const std::string ok = "--sharp " + sharp + " --noise 5 --out " + out + " ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--sharp " + root + "/missing --kernels gaussian --noise 5 --out " + out, "missing"},
      {"--sharp " + root + "/empty --kernels gaussian --noise 5 --out " + out, "no images"},
      {ok + "--kernels gauss", "unknown kernel source"},
      {ok + "--kernels levin:" + root + "/nokernels", "nokernels"},
      {ok + "--kernels file:" + root + "/nofile.csv", "nofile.csv"},
      {ok + "--kernels levin:", "missing folder"},
      {ok + "--kernels rotational", "--rpm"},
      {ok + "--kernels rotational --rpm 100", "--exposure"},
      {ok + "--kernels rotational --angle 10 --rpm 5 --exposure 1", "not both"},
      {ok + "--kernels rotational --angle 10 --centre '12;3'", "--centre"},
      {ok + "--kernels rotational --angle 10 --centre a,b", "--centre"},
      {ok + "--kernels rotational --angle 10 --centre 1,2,3", "--centre"},
      {ok + "--kernels rotational --angle 10 --blur same", "--blur"},
      {ok + "--kernels gaussian --rpm 10 --exposure 1", "rotational only"},
      {ok + "--kernels gaussian --blur sideways", "sideways"},
      {ok + "--kernels gaussian --size 1", "--size"},
      {ok + "--kernels gaussian --bits 12", "--bits"},
      {ok + "--kernels gaussian --jpeg 101", "--jpeg"},
      {ok + "--kernels gaussian --count-per-image 0", "--count-per-image"},
      {"--sharp " + sharp + " --kernels gaussian --noise=-3 --out " + out, "--noise"},
      {"--sharp " + sharp + " --kernels gaussian --noise 5 --noise-max 2 --out " + out, "--noise-max"},
      {"--sharp " + sharp + " --kernels gaussian --out " + out, "noise"},
  };
  for (const auto& [args, needle] : cases) {
    std::string log;
    const int rc = synth(args, &log);
    EXPECT_NE(rc, 0) << args;
    EXPECT_NE(log.find("error:"), std::string::npos) << args << "\n" << log;
    EXPECT_NE(log.find(needle), std::string::npos) << args << "\n" << log;
    EXPECT_FALSE(fs::exists(out)) << args;
  }

  // A corrupt image after good ones: the run fails midway and leaves neither --out nor its staging folder.
  const std::string broken = root + "/broken";
  fs::create_directories(broken);
  fs::copy_file(sharp + "/img0.png", broken + "/a.png");
  std::ofstream(broken + "/b.png") << "not a png";
  std::string log;
  EXPECT_NE(synth("--sharp " + broken + " --kernels gaussian --noise 5 --out " + out, &log), 0);
  EXPECT_NE(log.find("error:"), std::string::npos) << log;
  EXPECT_NE(log.find("b.png"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(staging_leftovers(root), 0);

  // An existing, non-empty --out is not clobbered without --force.
  fs::create_directories(out);
  std::ofstream(out + "/keep.txt") << "mine";
  EXPECT_NE(synth(ok + "--kernels gaussian", &log), 0);
  EXPECT_NE(log.find("--force"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(out + "/keep.txt"));
  EXPECT_FALSE(fs::exists(out + "/manifest.csv"));
  ASSERT_EQ(synth(ok + "--kernels gaussian --force", &log), 0) << log;
  EXPECT_FALSE(fs::exists(out + "/keep.txt"));
  EXPECT_EQ(list_folder_pairs(out).pairs.size(), 3u);
}

TEST(SynthCli, ValidBlurWithAKernelFileGreyAndJpeg) {
  REQUIRE_EXE();
  const std::string root = test::temp_dir("synth_valid");
  const std::string sharp = make_sharp_folder(root);
  auto k = test::test_kernel(5, 3);
  k = torch::cat({k, torch::zeros({5, 2}, k.options())}, 1);  // 5x7, not square
  k = k / k.sum();
  write_kernel_text(root + "/k.csv", k.to(torch::kFloat64));
  std::string log;
  ASSERT_EQ(synth("--sharp " + sharp + " --kernels file:" + root + "/k.csv --blur valid --grey --jpeg 95 --noise 0 --limit 1 --out " +
                  root + "/ds", &log), 0) << log;
  const auto rows = read_manifest(root + "/ds/manifest.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].parameters.at("blur"), "valid");
  EXPECT_EQ(rows[0].parameters.at("jpeg"), "95");
  EXPECT_LT(test::max_abs_diff(read_kernel_text(rows[0].files.kernel), k.to(torch::kFloat64)), 1e-6);
  auto y = read_image(rows[0].files.blurred).to(torch::kFloat64);
  auto x = read_image(rows[0].files.sharp).to(torch::kFloat64);
  ASSERT_EQ(y.sizes(), (torch::IntArrayRef{1, 1, 32 - 5 + 1, 40 - 7 + 1}));
  ASSERT_EQ(x.sizes(), y.sizes());
  ImageReadOptions grey;
  grey.grey = true;
  auto full = read_image(sharp + "/img0.png", grey).to(torch::kFloat64);
  auto expected = conv_fft(full, k.to(torch::kFloat64), ConvMode::Valid);
  EXPECT_LT((y - expected).abs().mean().item<double>(), 2.0 / 255.0);  // JPEG q95 + 8 bits
  // The stored sharp image is the window of the original that the valid blur sees (grey rounded to 8 bits).
  EXPECT_LT(test::max_abs_diff(x, full.narrow(2, 5 - 1 - 5 / 2, y.size(2)).narrow(3, 7 - 1 - 7 / 2, y.size(3))),
            0.5 / 255.0 + 1e-6);
  // ... and the blur is the valid convolution of the stored sharp image (up to JPEG).
  auto from_stored = conv_fft(read_image(sharp + "/img0.png", grey).to(torch::kFloat64).mul(255).round().div(255),
                              k.to(torch::kFloat64), ConvMode::Valid);
  EXPECT_LT((y - from_stored).abs().mean().item<double>(), 2.0 / 255.0);
}
