// The unroll binary as a user runs it: success paths write their outputs, bad input gives one clear
// `error:` line and a non-zero exit, and never a half-written output.
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "blind/kernel_step.h"
#include "core/fft.h"
#include "core/checkpoint.h"
#include "core/kernel.h"
#include "eval/methods.h"
#include "hqs/blind_unrolled_net.h"
#include "io/image_io.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

#ifdef UNROLL_EXE
const std::string kExe = UNROLL_EXE;

struct Run {
  int code;
  std::string output;
};

Run unroll_cli(const std::string& args) {
  Run r;
  // One torch thread per process: CTest runs tests in parallel and OpenMP oversubscription is slow.
  r.code = test::run_command("OMP_NUM_THREADS=1 " + kExe + " " + args, &r.output);
  return r;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(std::string("cli_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    write_image(dir_ + "/blurred.png", test::test_image(3, 40, 44));
    write_kernel_text(dir_ + "/k.csv", test::test_kernel(7));
  }
  void expect_error(const std::string& args, const std::string& needle) {
    auto r = unroll_cli(args);
    EXPECT_NE(r.code, 0) << args << "\n" << r.output;
    EXPECT_NE(r.output.find("error: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << "expected '" << needle << "' in:\n" << r.output;
    EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << r.output;
  }
  std::string dir_;
};

TEST_F(Cli, DeblurEveryClassicalMethod) {
  for (const std::string m : {"wiener", "rl", "admm", "hqs-tv"}) {
    const std::string out = dir_ + "/" + m + ".png";
    auto r = unroll_cli("deblur --input " + dir_ + "/blurred.png --kernel " + dir_ + "/k.csv --method " + m +
                        " --output " + out + " --ref " + dir_ + "/blurred.png --noise 2.55");
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(fs::exists(out)) << m;
    EXPECT_NE(r.output.find("PSNR"), std::string::npos) << r.output;
    EXPECT_EQ(read_image(out).sizes(), (std::vector<int64_t>{1, 3, 40, 44}));
  }
  // 16-bit output, kernel given as an image, explicit parameters.
  write_kernel_image(dir_ + "/k.png", test::test_kernel(7));
  auto r = unroll_cli("deblur -i " + dir_ + "/blurred.png -k " + dir_ + "/k.png -m admm --iters 5 --lambda 0.002 "
                      "--boundary circular --bits 16 -o " + dir_ + "/x16.png");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("5 iteration(s)"), std::string::npos) << r.output;
}

TEST_F(Cli, DeblurRotationalBlur) {
  // A spinning part: synthesise with `unroll synth`, restore with the polar-domain solvers, with the
  // sweep given and estimated.
  fs::create_directories(dir_ + "/sharp");
  write_image(dir_ + "/sharp/part.png", test::test_image(3, 64, 64, 3));
  auto s = unroll_cli("synth --sharp " + dir_ + "/sharp --kernels rotational --angle 12 --noise 1 --bits 16 --out " +
                      dir_ + "/rot");
  ASSERT_EQ(s.code, 0) << s.output;
  const std::string in = " -i " + dir_ + "/rot/blur/part.png --blur rotational --noise 1 --ref " + dir_ +
                         "/rot/sharp/part.png";
  for (const std::string m : {"wiener", "hqs-tv", "pnp"}) {
    const std::string out = dir_ + "/rot_" + m + ".png";
    auto r = unroll_cli("deblur" + in + " --angle 12 --centre 31.5,31.5 -m " + m + " -o " + out);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(fs::exists(out)) << m;
    EXPECT_NE(r.output.find("PSNR"), std::string::npos) << r.output;
  }
  auto r = unroll_cli("deblur" + in + " --rpm 1000 --exposure 0.002 -m hqs-tv -o " + dir_ + "/rot_rpm.png");
  EXPECT_EQ(r.code, 0) << r.output;
  r = unroll_cli("deblur" + in + " -m wiener -o " + dir_ + "/rot_est.png");  // no sweep: estimated
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("estimated sweep angle"), std::string::npos) << r.output;

  const std::string out = " -o " + dir_ + "/never.png";
  expect_error("deblur" + in + " --angle 5 -m admm" + out, "does not solve rotational blur");
  expect_error("deblur" + in + " --angle 5 -k " + dir_ + "/k.csv -m wiener" + out, "--kernel does not apply");
  expect_error("deblur" + in + " --rpm 1000 -m wiener" + out, "--exposure");
  expect_error("deblur" + in + " --angle -3 -m wiener" + out, "--angle must be >= 0");
  expect_error("deblur" + in + " --angle 5 --centre 3 -m wiener" + out, "--centre expects X,Y");
  expect_error("deblur -i " + dir_ + "/blurred.png --blur spiral --angle 5 -m wiener" + out,
               "--blur must be uniform or rotational");
  expect_error("deblur -i " + dir_ + "/blurred.png -k " + dir_ + "/k.csv --angle 5 -m wiener" + out,
               "is for rotational only");
  EXPECT_FALSE(fs::exists(dir_ + "/never.png"));
}

TEST_F(Cli, DeblurRotationalBlurEstimatesAnOffCentreAxis) {
  // Without --centre the axis is estimated (coarsely: hqs/rotational.h estimate_rotation_centre).
  fs::create_directories(dir_ + "/sharp_off");
  auto texture = torch::nn::functional::avg_pool2d(
      torch::rand({1, 3, 132, 132}, torch::TensorOptions().dtype(torch::kFloat64)),
      torch::nn::functional::AvgPool2dFuncOptions({5, 5}).stride({1, 1}));
  write_image(dir_ + "/sharp_off/part.png", (0.5 * test::test_image(3, 128, 128, 11) + 0.5 * texture).clamp(0, 1));
  auto s = unroll_cli("synth --sharp " + dir_ + "/sharp_off --kernels rotational --angle 20 --centre 84,50 --noise 1 "
                      "--bits 16 --out " + dir_ + "/rot_off");
  ASSERT_EQ(s.code, 0) << s.output;
  auto r = unroll_cli("deblur -i " + dir_ + "/rot_off/blur/part.png --blur rotational --angle 20 --noise 1 -m wiener -o " +
                      dir_ + "/rot_off.png");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto at = r.output.find("estimated rotation centre ");
  ASSERT_NE(at, std::string::npos) << r.output;
  double x = 0, y = 0;
  ASSERT_EQ(std::sscanf(r.output.c_str() + at, "estimated rotation centre %lf,%lf", &x, &y), 2) << r.output;
  EXPECT_LT(std::hypot(x - 84, y - 50), 6.0) << r.output;
  // Nothing to locate (a flat image): the image centre, with a warning, not an error.
  write_image(dir_ + "/flat.png", torch::full({1, 1, 48, 48}, 0.5));
  r = unroll_cli("deblur -i " + dir_ + "/flat.png --blur rotational --angle 5 --noise 1 -m wiener -o " + dir_ + "/flat_out.png");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("using the image centre"), std::string::npos) << r.output;
}

TEST_F(Cli, StudyConfigErrorsNameTheKey) {
  const std::string cfg = dir_ + "/study.ini";
  std::ofstream(cfg) << "[study]\nimages = " << dir_ << "\nrpms = 1000\nout = " << dir_ << "/o\n";
  expect_error("study rotational --config " + cfg, "study.rpms");
  std::ofstream(cfg) << "[study]\nimages = " << dir_ << "\nexposure = 1/x\nout = " << dir_ << "/o\n";
  expect_error("study rotational --config " + cfg, "study.exposure: not a number");
  std::ofstream(cfg) << "[study]\nout = " << dir_ << "/o\n";
  expect_error("study rotational --config " + cfg, "study.images is required");
  expect_error("study spiral --config " + cfg, "unknown kind 'spiral'");
  std::ofstream(cfg) << "[study]\nimages = " << dir_ << "\nout = " << dir_ << "/o\n";
  expect_error("study rotational --config " + cfg + " --methods hqs-tv,nosuch", "nosuch");
  expect_error("study rotational --config " + cfg + " --methods convir --convir-weights " + dir_ + "/none.pth",
               "convir_weights: no such file");
  expect_error("study rotational --config " + dir_ + "/none.ini", "cannot open config");
}

// Tiling (issue 28): asked for with --tile, or automatic when the estimate exceeds --max-memory.
TEST_F(Cli, DeblurTilesOnRequestAndWithinTheBudget) {
  write_image(dir_ + "/big.png", test::test_image(3, 600, 600, 4));
  const std::string base = "deblur --input " + dir_ + "/big.png --kernel " + dir_ + "/k.csv -m wiener --output " + dir_;
  auto r = unroll_cli(base + "/tiled.png --tile 200");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("3x3 tiles of about 200x200"), std::string::npos) << r.output;
  // Wiener's model: 196 MB + 186 bytes per RGB pixel, 263 MB for the whole image.
  r = unroll_cli(base + "/budget.png --max-memory 240000000");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("tiles of about"), std::string::npos) << r.output;
  r = unroll_cli(base + "/whole.png");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("tiles of about"), std::string::npos) << r.output;
  expect_error(base + "/none.png --max-memory 100M", "more than the budget");
}

TEST_F(Cli, MetricsTable) {
  auto r = unroll_cli("metrics --ref " + dir_ + "/blurred.png " + dir_ + "/blurred.png");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("| inf |"), std::string::npos) << r.output;
}

TEST_F(Cli, BadInputsGiveOneClearError) {
  const std::string in = " --input " + dir_ + "/blurred.png", k = " --kernel " + dir_ + "/k.csv",
                    out = " --output " + dir_ + "/out.png";
  expect_error("deblur --input " + dir_ + "/missing.png" + k + out, "missing.png: no such file");
  expect_error("deblur" + in + k + " -m wiener --output " + dir_ + "/./blurred.png", "is the input");
  expect_error("estimate-kernel" + in + " -o " + dir_ + "/blurred.png", "--output " + dir_ + "/blurred.png is the input");
  // Extreme flags (issue 28): a noise level beyond the 0-255 scale, an axis far outside the image.
  expect_error("deblur" + in + k + out + " --noise 1e30", "--noise must be a noise sigma in [0, 255]");
  expect_error("deblur" + in + out + " --blur rotational --angle 2 --centre 1e300,1e300 -m hqs-tv", "too far from the");
  expect_error("deblur" + in + k + out + " --max-memory lots", "--max-memory expects a size such as 4G");
  expect_error("deblur" + in + k + out + " --tile 3", "--tile must be >= 16");
  {
    std::ofstream(dir_ + "/corrupt.png") << "this is not a png";
    expect_error("deblur --input " + dir_ + "/corrupt.png" + k + out, "corrupt.png: cannot decode");
  }
  {
    // A real PNG cut in half.
    std::ifstream src(dir_ + "/blurred.png", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(src)), std::istreambuf_iterator<char>());
    std::ofstream(dir_ + "/truncated.png", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    expect_error("deblur --input " + dir_ + "/truncated.png" + k + out, "truncated.png");
  }
  std::ofstream(dir_ + "/nan.csv") << "1,nan\n1,1\n";
  expect_error("deblur" + in + " --kernel " + dir_ + "/nan.csv" + out, "nan.csv: kernel contains NaN");
  std::ofstream(dir_ + "/zero.csv") << "0,0\n0,0\n";
  expect_error("deblur" + in + " --kernel " + dir_ + "/zero.csv" + out, "zero.csv");
  write_kernel_text(dir_ + "/big.csv", test::test_kernel(51));
  expect_error("deblur" + in + " --kernel " + dir_ + "/big.csv" + out, "larger than the image");
  expect_error("deblur" + in + k + out + " --method magic", "unknown method 'magic'");
  expect_error("deblur" + in + out + " --method admm", "needs a kernel");
  expect_error("deblur" + in + k + out + " --method rl --nsr 0.1", "unknown parameter 'nsr' (accepted: iters, tv, damping, accelerate, zero_boundary)");
  expect_error("deblur" + in + k + out + " --iters many", "iters");
  expect_error("deblur" + in + k + out + " --boundary wobbly", "unknown boundary 'wobbly'");
  expect_error("deblur" + in + k + out + " --device tpu", "device");
  expect_error("deblur" + in + k, "output");
  expect_error("deblur" + in + k + " --output " + dir_ + "/out.xyz", "out.xyz");
  expect_error("frobnicate", "unknown command");
  // Found by tests/probe/probe.py (issue 28): each used to pass silently or print a second, unnamed line.
  expect_error("", "error: no command given");
  expect_error("deblur" + in + k + out + " -m wiener stray", "unexpected argument 'stray'");
  expect_error("deblur" + in + k + out + " -m wiener --tile -5", "--tile must be >= 16");
  expect_error("deblur" + in + out + " -m wiener --blur rotational --rpm 1e30 --exposure 0.004",
               "more than a full turn");
  expect_error("estimate-kernel" + in + " -o " + dir_ + "/k_est.csv --overlap -1", "--overlap must be in [0, 2]");
  expect_error("deblur" + in + k + " -m wiener -o " + dir_, "is a folder");
  expect_error("deblur" + in + k + " -m wiener -o " + dir_ + "/no_extension", "no image format for the extension ''");
  {
    const auto r = unroll_cli("deblur" + in + k + " -m wiener -o " + dir_ + "/x.xyz");
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;  // one line, no OpenCV dump
  }
  {
    // A shipped network (they carry Unroll's format marker) with its global-residual flag removed: it
    // used to load as the official architecture and restore near-black images (issue 28).
    const std::string shipped = std::string(UNROLL_SOURCE_DIR) + "/models/denoiser_small.pth";
    StateDict stripped;
    for (const auto& e : load_state_dict(shipped))
      if (e.first != "global_residual") stripped.push_back(e);
    save_state_dict(dir_ + "/stripped.pth", stripped);
    expect_error("deblur" + in + k + out + " -m pnp --weights " + dir_ + "/stripped.pth",
                 dir_ + "/stripped.pth: resunet checkpoint: missing key 'global_residual'");
  }
  // The FFT environment (core/fft.h) is checked like any other input.
  {
    unroll::Run r;
    r.code = test::run_command("UNROLL_FFT=bogus " + kExe + " deblur" + in + k + out, &r.output);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("error: UNROLL_FFT must be torch or fftw"), std::string::npos) << r.output;
    // (A build without FFTW ignores the planner and deblurs: into another file than out.png.)
    r.code = test::run_command("UNROLL_FFTW_PLANNER=fast " + kExe + " deblur" + in + k + " -o " + dir_ + "/env.png", &r.output);
    if (fftw_available()) {
      EXPECT_NE(r.code, 0);
      EXPECT_NE(r.output.find("error: UNROLL_FFTW_PLANNER"), std::string::npos) << r.output;
    }
  }
  // Nothing half-written: no output and no temporary files were left behind.
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
    EXPECT_NE(e.path().filename().string(), "out.png");
  }
}

TEST_F(Cli, DemoWritesComparisonAndTable) {
  auto r = unroll_cli("demo --out " + dir_ + "/demo");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* f : {"comparison.png", "results.md", "blurred.png", "sharp.png", "admm.png", "wiener.png", "rl.png", "hqs-tv.png"})
    EXPECT_TRUE(fs::exists(dir_ + "/demo/" + f)) << f;
  std::ifstream md(dir_ + "/demo/results.md");
  std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("| admm |"), std::string::npos);
  // The shipped learned models join the table (models/ is part of the repository).
  for (const char* m : {"pnp", "unrolled"}) {
    if (!shipped_model(std::string(m) == "pnp" ? "denoiser_small.pth" : "unrolled_small.pth").empty()) {
      EXPECT_NE(text.find("| " + std::string(m) + " |"), std::string::npos) << m;
    }
  }
}

TEST_F(Cli, EvalOnASynthesisedFolderAndOnPairsWithoutKernels) {
  fs::create_directories(dir_ + "/sharp_in");
  for (int i = 0; i < 2; ++i) write_image(dir_ + "/sharp_in/img" + std::to_string(i) + ".png", test::test_image(3, 40, 44, i));
  auto r = unroll_cli("synth --sharp " + dir_ + "/sharp_in --kernels gaussian --size 9 --noise 2.55 --out " + dir_ + "/pairs");
  ASSERT_EQ(r.code, 0) << r.output;
  // Two datasets in one run: the synthesised folder and the same sharp images degraded on the fly.
  r = unroll_cli("eval --data folder:" + dir_ + "/pairs --data synthetic:" + dir_ +
                 "/sharp_in,kernels=gaussian,size=9 --methods wiener,admm --param admm.iters=10 --grids 1 --save-images --out " +
                 dir_ + "/report");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("folder:pairs: 2 cases"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("synthetic:sharp_in: 2 cases"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("| admm |"), std::string::npos) << r.output;
  for (const char* f : {"results.csv", "summary.md", "summary.json", "grids/folder_pairs_0_img0.png",
                        "grids/synthetic_sharp_in_0_img0_0.png", "images/folder_pairs/admm/img1.png"})
    EXPECT_TRUE(fs::exists(dir_ + "/report/" + f)) << f;
  std::ifstream json(dir_ + "/report/summary.json");
  std::string js((std::istreambuf_iterator<char>(json)), std::istreambuf_iterator<char>());
  EXPECT_NE(js.find("\"command\": \"unroll eval --data folder:"), std::string::npos) << js;
  // Plain blur/ + sharp/ folders carry no kernel: non-blind methods are listed as "needs kernel".
  fs::create_directories(dir_ + "/plain/blur");
  fs::create_directories(dir_ + "/plain/sharp");
  write_image(dir_ + "/plain/blur/a.png", test::test_image(3, 40, 44, 1));
  write_image(dir_ + "/plain/sharp/a.png", test::test_image(3, 40, 44, 2));
  r = unroll_cli("eval --data folder:" + dir_ + "/plain --methods admm --out " + dir_ + "/report2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("| admm | - | - | - | 0 | 0 | 1 |"), std::string::npos) << r.output;
  std::ifstream csv(dir_ + "/report2/results.csv");
  std::string text((std::istreambuf_iterator<char>(csv)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("needs kernel"), std::string::npos) << text;
  expect_error("eval --data gopro_typo:" + dir_, "unsupported dataset 'gopro_typo'");
  expect_error("eval --data gopro:" + dir_ + "/nowhere", "nowhere");
  expect_error("eval --data gopro:" + dir_ + ":valid", "unknown gopro split 'valid'");
  expect_error("eval --data synthetic:" + dir_ + "/sharp_in,noise=loud", "noise must be a number");
  expect_error("eval --data folder:" + dir_ + "/pairs --methods admm --param wiener.nsr=1", "not in --methods");
  expect_error("eval --data folder:" + dir_ + "/pairs --metric lpips", "unknown metric 'lpips'");
  expect_error("eval --data folder:" + dir_ + "/pairs --save-images", "--save-images needs --out");
  expect_error("eval --data folder:" + dir_ + "/pairs --methods usrnet", "needs a checkpoint");
}

// The shipped unrolled network exported at float16: half the file, and the restoration it gives on the
// bundled sample measured against the float32 one. Bad requests are one error line and write nothing.
TEST_F(Cli, ExportHalvesTheShippedNetworkAndChecksTheCost) {
  const std::string shipped = shipped_model("unrolled_small.pth");
  if (shipped.empty()) GTEST_SKIP() << "models/unrolled_small.pth not found";
  const std::string out = dir_ + "/unrolled_fp16.pth";
  auto r = unroll_cli("export --weights " + shipped + " --dtype float16 --output " + out + " --check unrolled");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("tensors as float16"), std::string::npos) << r.output;
  EXPECT_LT(fs::file_size(out), 0.52 * fs::file_size(shipped));
  const auto at = r.output.find("converted vs original restoration PSNR ");
  ASSERT_NE(at, std::string::npos) << r.output;
  EXPECT_GT(std::stod(r.output.substr(at + 39)), 50.0) << r.output;
  // The exported file is a checkpoint like any other: deblur runs from it.
  write_image(dir_ + "/b.png", test::test_image(3, 40, 44));
  r = unroll_cli("deblur -i " + dir_ + "/b.png -k " + dir_ + "/k.csv -m unrolled --weights " + out + " -o " + dir_ + "/u.png");
  EXPECT_EQ(r.code, 0) << r.output;

  expect_error("export --weights " + shipped + " --dtype int8 --output " + dir_ + "/x.pth", "unknown type 'int8'");
  expect_error("export --weights " + dir_ + "/none.pth --output " + dir_ + "/x.pth", "none.pth");
  expect_error("export --weights " + shipped + " --output " + dir_ + "/x.pth --check wiener", "classical method");
  expect_error("export --weights " + out + " --output " + out + " --check unrolled", "--output other than --weights");
  expect_error("export --weights " + dir_ + "/k.csv --output " + dir_ + "/x.pth", "k.csv");
  EXPECT_FALSE(fs::exists(dir_ + "/x.pth"));
}

// Blind: estimate-kernel writes the kernel as a picture and exact values; deblur --kernel estimate runs
// any non-blind method with it (and saves it); estimate-local a grid; bad requests fail cleanly.
TEST_F(Cli, EstimateKernelAndDeblurWithIt) {
  torch::manual_seed(4);
  auto small = torch::rand({1, 3, 12, 12}, torch::kFloat64);
  auto sharp = torch::nn::functional::interpolate(
      small, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{96, 96}).mode(torch::kNearest));
  write_kernel_text(dir_ + "/true.csv", test::test_kernel(9, 3));
  const auto k = read_kernel(dir_ + "/true.csv");
  write_image(dir_ + "/shake.png", conv_circular(sharp, k).clamp(0, 1));
  write_image(dir_ + "/flat.png", torch::full({1, 3, 64, 64}, 0.5));
  const std::string in = " -i " + dir_ + "/shake.png";

  auto r = unroll_cli("estimate-kernel" + in + " -o " + dir_ + "/k.png --kernel-size 9");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("estimated 9x9 kernel"), std::string::npos) << r.output;
  ASSERT_TRUE(fs::exists(dir_ + "/k.png"));
  const auto est = read_kernel(dir_ + "/k.csv");
  EXPECT_EQ(est.sizes(), (std::vector<int64_t>{9, 9}));
  EXPECT_NEAR(est.sum().item<double>(), 1.0, 1e-9);
  EXPECT_GE(est.min().item<double>(), 0.0);

  r = unroll_cli("deblur" + in + " --kernel estimate --kernel-size 9 -m admm -o " + dir_ + "/x.png --save-kernel " +
                 dir_ + "/kk.png");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_ + "/x.png") && fs::exists(dir_ + "/kk.png") && fs::exists(dir_ + "/kk.csv")) << r.output;
  r = unroll_cli("deblur" + in + " --kernel estimate-local --grid 2x2 -m wiener -o " + dir_ + "/xl.png --save-kernel " +
                 dir_ + "/grid.png");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_ + "/grid.png") && fs::exists(dir_ + "/grid_r1c1.csv")) << r.output;
  EXPECT_EQ(read_image(dir_ + "/grid.png").sizes(), (std::vector<int64_t>{1, 3, 96, 96}));

  // A flat image: nothing to estimate from, a warning and a delta kernel (documented fallback).
  r = unroll_cli("estimate-kernel -i " + dir_ + "/flat.png -o " + dir_ + "/flat_k.csv");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("warning: "), std::string::npos) << r.output;

  expect_error("deblur" + in + " --kernel estimate -m convir -o " + dir_ + "/bad.png", "is blind and takes none");
  expect_error("estimate-kernel" + in + " -o " + dir_ + "/bad.png --kernel-size 8", "--kernel-size must be odd");
  expect_error("estimate-kernel" + in + " -o " + dir_ + "/bad.png --kernel-size 301", "301");
  expect_error("estimate-kernel" + in + " -o " + dir_ + "/bad.png --grid 9x9", "too fine");
  expect_error("deblur" + in + " --kernel estimate --grid 2x2 -m admm -o " + dir_ + "/bad.png",
               "--grid needs --kernel estimate-local");
  expect_error("deblur" + in + " -k " + dir_ + "/true.csv --save-kernel " + dir_ + "/s.png -m admm -o " + dir_ +
                   "/bad.png",
               "--save-kernel needs --kernel estimate");
  EXPECT_FALSE(fs::exists(dir_ + "/bad.png"));
}

TEST_F(Cli, RefineAGivenKernel) {
  torch::manual_seed(5);
  auto small = torch::rand({1, 3, 12, 12}, torch::kFloat64);
  auto sharp = torch::nn::functional::interpolate(
      small, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{96, 96}).mode(torch::kNearest));
  const auto k = test::test_kernel(9, 3);
  write_kernel_text(dir_ + "/rough.csv", resample_kernel(k, 11, 1.2));
  write_image(dir_ + "/shake.png", conv_circular(sharp, k).clamp(0, 1));
  const std::string in = " -i " + dir_ + "/shake.png";
  auto r = unroll_cli("deblur" + in + " -k " + dir_ + "/rough.csv --refine-kernel 2 -m hqs-tv -o " + dir_ +
                      "/x.png --save-kernel " + dir_ + "/refined.png");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("refined 15x15 kernel (refined from the given kernel"), std::string::npos) << r.output;
  const auto refined = read_kernel(dir_ + "/refined.csv");
  EXPECT_EQ(refined.sizes(), (std::vector<int64_t>{15, 15}));
  EXPECT_NEAR(refined.sum().item<double>(), 1.0, 1e-9);
  EXPECT_TRUE(fs::exists(dir_ + "/x.png"));
  r = unroll_cli("estimate-kernel" + in + " --init " + dir_ + "/rough.csv -o " + dir_ + "/k2.csv");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_kernel(dir_ + "/k2.csv").size(0), 15);

  expect_error("deblur" + in + " --kernel estimate --refine-kernel 2 -m admm -o " + dir_ + "/bad.png",
               "--refine-kernel refines a given kernel");
  expect_error("deblur" + in + " --refine-kernel 2 -m convir -o " + dir_ + "/bad.png", "--refine-kernel needs a kernel file");
  expect_error("deblur" + in + " -k " + dir_ + "/rough.csv --refine-kernel -1 -m admm -o " + dir_ + "/bad.png",
               "--refine-kernel must be in [0, 1000]");
  expect_error("estimate-kernel" + in + " --refine-kernel 2 -o " + dir_ + "/bad.csv", "--refine-kernel needs --init");
  expect_error("estimate-kernel" + in + " --init " + dir_ + "/rough.csv --grid 2x2 -o " + dir_ + "/bad.png",
               "--init refines one given kernel");
  expect_error("eval --data dpir:" + dir_ + ":" + dir_ + " --kernel estimate --refine-kernel 2 --methods admm",
               "--refine-kernel needs --kernel given or perturbed");
  EXPECT_FALSE(fs::exists(dir_ + "/bad.png") || fs::exists(dir_ + "/bad.csv"));
}

TEST_F(Cli, BlindUnrolledNetworkNeedsNoKernelAndSavesItsOwn) {
  // A toy blind network (untrained, 9x9 kernels) from --weights: the CLI path, not the quality.
  UnrolledNetOptions u;
  u.iterations = 2;
  u.hyper_channels = 8;
  u.prior.in_nc = 4;
  u.prior.out_nc = 3;
  u.prior.nc = {8, 8, 16, 16};
  u.prior.nb = 1;
  BlindUnrolledNetOptions o;
  o.unrolled = u;
  o.kernel_size = 9;
  o.head_channels = 8;
  save_blind_unrolled_net(BlindUnrolledNet(o), dir_ + "/blind.pth");
  const std::string run = "deblur -i " + dir_ + "/blurred.png -m unrolled-blind --weights " + dir_ + "/blind.pth ";
  auto r = unroll_cli(run + "-o " + dir_ + "/x.png --save-kernel " + dir_ + "/k.png --noise 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_image(dir_ + "/x.png").sizes(), (std::vector<int64_t>{1, 3, 40, 44}));
  const auto k = read_kernel(dir_ + "/k.csv");
  EXPECT_EQ(k.sizes(), (std::vector<int64_t>{9, 9}));
  EXPECT_NEAR(k.sum().item<double>(), 1.0, 1e-5);
  EXPECT_TRUE(fs::exists(dir_ + "/k.png"));
  // Grey input through the colour model, and the classical initial kernel.
  write_image(dir_ + "/grey.png", test::test_image(1, 40, 40));
  r = unroll_cli("deblur -i " + dir_ + "/grey.png -m unrolled-blind --weights " + dir_ + "/blind.pth -o " + dir_ +
                 "/g.png --param classical_init=1");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_image(dir_ + "/g.png").sizes(), (std::vector<int64_t>{1, 1, 40, 40}));

  // In the harness, on data with true kernels: the error ratio of its own kernel (against the same
  // network run with the true kernel and no kernel steps).
  fs::create_directories(dir_ + "/sharp_in");
  write_image(dir_ + "/sharp_in/a.png", test::test_image(3, 40, 44, 1));
  r = unroll_cli("eval --data synthetic:" + dir_ + "/sharp_in,kernels=gaussian,size=9 --methods unrolled-blind "
                 "--weights unrolled-blind=" + dir_ + "/blind.pth --grids 0 --out " + dir_ + "/report");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string csv = test::read_file(dir_ + "/report/results.csv");
  const auto row = csv.find(",unrolled-blind,ok,");
  ASSERT_NE(row, std::string::npos) << csv;
  const std::string line = csv.substr(row, csv.find('\n', row) - row);
  // ...,kernel_seconds,error_ratio,error (empty): the field before the last.
  const std::string upto = line.substr(0, line.rfind(','));
  const std::string ratio_text = upto.substr(upto.rfind(',') + 1);
  ASSERT_FALSE(ratio_text.empty()) << line;
  const double ratio = std::stod(ratio_text);
  EXPECT_GT(ratio, 0.0) << line;
  expect_error(run + "-k " + dir_ + "/k.csv -o " + dir_ + "/bad.png", "is blind: it finds the kernel itself");
  expect_error(run + "-o " + dir_ + "/bad.png --param kernel_steps=5", "kernel_steps must be in 0..1");
  // Checkpoints of the other unrolled network, both ways round.
  UnrolledNet nonblind(u);
  save_state_dict(dir_ + "/nonblind.pth", module_state_dict(*nonblind));
  expect_error("deblur -i " + dir_ + "/blurred.png -m unrolled-blind --weights " + dir_ + "/nonblind.pth -o " + dir_ +
                   "/bad.png",
               "not a blind unrolled network");
  expect_error("deblur -i " + dir_ + "/blurred.png -k " + dir_ + "/k.csv -m unrolled --weights " + dir_ +
                   "/blind.pth -o " + dir_ + "/bad.png",
               "--method unrolled-blind");
  expect_error("deblur -i " + dir_ + "/blurred.png -m convir -k " + dir_ + "/k.csv -o " + dir_ + "/bad.png",
               "is blind");
  EXPECT_FALSE(fs::exists(dir_ + "/bad.png"));
}

TEST_F(Cli, HelpForEverything) {
  for (const std::string c : {"", "deblur ", "metrics ", "demo ", "eval ", "experiment ", "train ", "bench classic ",
                              "export ", "pack ", "methods ", "estimate-kernel "}) {
    auto r = unroll_cli(c + "--help");
    EXPECT_EQ(r.code, 0) << c;
    EXPECT_NE(r.output.find("usage"), std::string::npos) << c << r.output;
  }
  // deblur and eval list every registered method with its parameters (generated from the registry), and
  // deblur's dedicated flags are the registry's.
  for (const std::string c : {"deblur ", "eval ", "methods "}) {
    const auto r = unroll_cli(c + "--help");
    for (const auto& m : all_methods()) {
      EXPECT_NE(r.output.find("  " + m.name + "  ["), std::string::npos) << c << "lacks " << m.name;
      for (const auto& p : m.params) EXPECT_NE(r.output.find("      " + p.name + ": "), std::string::npos) << c << p.name;
    }
  }
  const auto deblur = unroll_cli("deblur --help");
  for (const auto& f : flag_param_names()) EXPECT_NE(deblur.output.find("--" + f + " arg"), std::string::npos) << f;
}

TEST_F(Cli, DedicatedFlagsAreRegistryParameters) {
  const std::string in = " -i " + dir_ + "/blurred.png -k " + dir_ + "/k.csv -o " + dir_ + "/x.png";
  expect_error("deblur" + in + " -m rl --iters 2.5", "rl: parameter 'iters' must be an integer >= 1, got 2.5");
  expect_error("deblur" + in + " -m admm --rho 0", "admm: parameter 'rho' must be > 0, got 0");
  expect_error("deblur" + in + " -m wiener --iters 3", "wiener: unknown parameter 'iters' (accepted: nsr, laplacian)");
  EXPECT_FALSE(fs::exists(dir_ + "/x.png"));
  // --iters 3 and --param iters=3 are one parameter.
  ASSERT_EQ(unroll_cli("deblur" + in + " -m rl --iters 3 --bits 16").code, 0);
  const auto a = read_image(dir_ + "/x.png");
  ASSERT_EQ(unroll_cli("deblur" + in + " -m rl --param iters=3 --bits 16").code, 0);
  EXPECT_EQ(test::max_abs_diff(a, read_image(dir_ + "/x.png")), 0.0);
}
#endif

}  // namespace
}  // namespace unroll
