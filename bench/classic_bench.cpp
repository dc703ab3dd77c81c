// Classical-solver benchmark (LibTorch only, so it also builds where OpenCV/Boost are missing).
//
//   unroll bench classic [--inputs DIR] [--repeat N] [--threads N] [--device cpu|cuda] [--size S]
//
// With --inputs DIR it reads the raw float32 inputs written by bench/classic_vs_skimage.py (so that
// Unroll and scikit-image see identical data), times each solver (best of --repeat, solver only, no
// I/O), writes the outputs back as DIR/unroll_<case>.f32 and prints one
// `RESULT <case> <wall seconds> s cpu <process CPU seconds> s PSNR <dB> dB` line per case for the
// driver (CPU time counts every thread, so it equals wall time only with one thread on an idle core).
// Without --inputs it makes synthetic inputs of --size x --size.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <cstdlib>

#include "classic/admm_tv.h"
#include "classic/richardson_lucy.h"
#include "classic/wiener.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/kernel.h"
#include "core/metrics.h"
#include "core/noise.h"

namespace {

using unroll::fail;

torch::Tensor read_raw(const std::string& path, std::vector<int64_t> shape) {
  std::ifstream in(path, std::ios::binary);
  UNROLL_CHECK(in.good(), path, ": cannot open");
  auto t = torch::empty(shape, torch::kFloat32);
  in.read(reinterpret_cast<char*>(t.data_ptr<float>()), static_cast<std::streamsize>(t.numel() * sizeof(float)));
  UNROLL_CHECK(in.gcount() == static_cast<std::streamsize>(t.numel() * sizeof(float)), path, ": file too short for shape");
  return t;
}

void write_raw(const std::string& path, const torch::Tensor& t) {
  auto c = t.detach().to(torch::kFloat32).cpu().contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(c.data_ptr<float>()), static_cast<std::streamsize>(c.numel() * sizeof(float)));
  UNROLL_CHECK(out.good(), path, ": write failed");
}

struct Timing {
  double wall = 1e30, cpu = 1e30;  ///< best (smallest) wall-clock and process CPU seconds over the repeats
};

Timing best_time(int repeat, const torch::Device& device, const std::function<torch::Tensor()>& run, torch::Tensor* out) {
  Timing best;
  for (int i = 0; i < repeat; ++i) {
    if (device.is_cuda()) torch::cuda::synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    auto r = run();
    if (device.is_cuda()) torch::cuda::synchronize();
    best.cpu = std::min(best.cpu, static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    best.wall = std::min(best.wall, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (out) *out = r;
  }
  return best;
}

}  // namespace

int run_classic_bench(int argc, char** argv) {
  std::string inputs, device_name = "cpu", only;
  int repeat = 3, threads = 0;
  int64_t size = 1024;
  double nsr = 1e-2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      UNROLL_CHECK(i + 1 < argc, a, " needs a value");
      return argv[++i];
    };
    if (a == "--inputs") inputs = next();
    else if (a == "--repeat") repeat = std::stoi(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--device") device_name = next();
    else if (a == "--size") size = std::stoll(next());
    else if (a == "--nsr") nsr = std::stod(next());
    else if (a == "--cases") only = "," + next() + ",";
    else if (a == "--help" || a == "-h") {
      std::cout << "usage: unroll bench classic [--inputs DIR] [--repeat N] [--threads N] [--device cpu|cuda] "
                   "[--size S] [--nsr X] [--cases A,B]\n"
                   "Times Wiener (1 MP grey), Richardson-Lucy 30 it (1 MP grey, 25x25 kernel) and ADMM-TV 100 it\n"
                   "(1 MP RGB). bench/classic_vs_skimage.py runs it beside scikit-image on identical inputs.\n"
                   "--cases runs only the named cases (wiener_grey, rl30_grey_zero, rl30_grey_normalized, admm100_rgb).\n";
      return 0;
    } else fail("unknown option '", a, "' (see --help)");
  }
  UNROLL_CHECK(repeat >= 1, "--repeat must be >= 1");
  for (size_t start = 1; start < only.size();) {  // every name in ",a,b," is a case
    const size_t end = only.find(',', start);
    const std::string name = only.substr(start, end - start);
    UNROLL_CHECK(name == "wiener_grey" || name == "rl30_grey_zero" || name == "rl30_grey_normalized" ||
                     name == "admm100_rgb",
                 "--cases: unknown case '", name, "' (wiener_grey, rl30_grey_zero, rl30_grey_normalized, admm100_rgb)");
    start = end + 1;
  }
  // LibTorch defaults to the number of physical cores; use every logical CPU unless told otherwise.
  if (threads <= 0 && !std::getenv("OMP_NUM_THREADS")) threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads > 0) torch::set_num_threads(threads);
  torch::Device device(device_name);
  UNROLL_CHECK(!device.is_cuda() || torch::cuda::is_available(), "CUDA requested but not available");

  torch::Tensor grey, grey_sharp, rgb, rgb_sharp, kernel;
  if (!inputs.empty()) {
    std::ifstream meta(inputs + "/shape.txt");
    UNROLL_CHECK(meta.good(), inputs, "/shape.txt: missing (run bench/classic_vs_skimage.py)");
    int64_t h = 0, w = 0;
    meta >> h >> w >> nsr;
    UNROLL_CHECK(h > 0 && w > 0, inputs, "/shape.txt: bad shape");
    grey = read_raw(inputs + "/grey_blurred.f32", {1, 1, h, w});
    grey_sharp = read_raw(inputs + "/grey_sharp.f32", {1, 1, h, w});
    rgb = read_raw(inputs + "/rgb_blurred.f32", {1, 3, h, w});
    rgb_sharp = read_raw(inputs + "/rgb_sharp.f32", {1, 3, h, w});
    kernel = unroll::read_kernel_text(inputs + "/kernel.csv").to(torch::kFloat32);
  } else {
    torch::manual_seed(0);
    rgb_sharp = torch::nn::functional::interpolate(
        torch::rand({1, 3, size / 16, size / 16}),
        torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{size, size}).mode(torch::kBicubic).align_corners(false)).clamp(0, 1);
    grey_sharp = rgb_sharp.mean(1, true);
    auto g = torch::arange(-12, 13, torch::kFloat64);
    kernel = torch::exp(-(g.reshape({25, 1}).pow(2) / 18.0 + g.reshape({1, 25}).pow(2) / 50.0)).to(torch::kFloat32);
    kernel = kernel / kernel.sum();
    grey = unroll::add_gaussian_noise(unroll::conv_circular(grey_sharp, kernel), 0.01, 1);
    rgb = unroll::add_gaussian_noise(unroll::conv_circular(rgb_sharp, kernel), 0.01, 2);
  }
  // Richardson-Lucy needs non-negative data; scikit-image gets the same clipped array.
  auto grey_pos = grey.clamp_min(0.0).to(device);
  grey = grey.to(device);
  rgb = rgb.to(device);
  kernel = kernel.to(device);

  std::printf("unroll bench classic: %lldx%lld, kernel %lldx%lld, %d thread(s), device %s, CPU FFT %s, best of %d\n",
              static_cast<long long>(grey.size(2)), static_cast<long long>(grey.size(3)),
              static_cast<long long>(kernel.size(0)), static_cast<long long>(kernel.size(1)), torch::get_num_threads(),
              device.str().c_str(), unroll::fft_backend() == unroll::FftBackend::Fftw ? "fftw" : "torch", repeat);
  struct Case {
    std::string name;
    torch::Tensor sharp;
    std::function<torch::Tensor()> run;
  };
  std::vector<Case> cases;
  cases.push_back({"wiener_grey", grey_sharp, [&] {
                     unroll::WienerOptions o;
                     o.nsr = nsr;
                     return unroll::wiener(grey, kernel, o);
                   }});
  cases.push_back({"rl30_grey_zero", grey_sharp, [&] {
                     unroll::RichardsonLucyOptions o;
                     o.iterations = 30;
                     o.boundary = unroll::RichardsonLucyOptions::BoundaryModel::Zero;
                     o.initial_value = 0.5;
                     return unroll::richardson_lucy(grey_pos, kernel, o).image;
                   }});
  cases.push_back({"rl30_grey_normalized", grey_sharp, [&] {
                     unroll::RichardsonLucyOptions o;
                     o.iterations = 30;
                     return unroll::richardson_lucy(grey_pos, kernel, o).image;
                   }});
  cases.push_back({"admm100_rgb", rgb_sharp, [&] {
                     unroll::AdmmTvOptions o;
                     o.iterations = 100;
                     o.tolerance = 0.0;
                     o.lambda = unroll::default_tv_lambda(0.01);
                     o.rho = 10.0 * o.lambda;
                     return unroll::admm_tv(rgb, kernel, o).image;
                   }});
  for (auto& c : cases) {
    if (!only.empty() && only.find("," + c.name + ",") == std::string::npos) continue;
    torch::Tensor out;
    const Timing tm = best_time(repeat, device, c.run, &out);
    unroll::PsnrOptions p;
    const double db = unroll::psnr(out.cpu().clamp(0, 1), c.sharp.cpu(), p);
    std::printf("RESULT %-22s %9.4f s   cpu %9.4f s   PSNR %.3f dB\n", c.name.c_str(), tm.wall, tm.cpu, db);
    if (!inputs.empty()) write_raw(inputs + "/unroll_" + c.name + ".f32", out);
  }
  return 0;
}
