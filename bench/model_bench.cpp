// unroll bench model: the shipped unrolled network's inference time on 256x256 RGB, its peak memory
// on a 1-megapixel RGB image, and training throughput (samples / s) at 96x96 crops (issue 4's
// benchmarks). A synthetic smooth image with a 25x25 motion kernel and noise 2.55/255 is used, so the
// benchmark needs no data folder.
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/noise.h"
#include "datasets/kernels.h"
#include "eval/methods.h"
#include "eval/report.h"
#include "hqs/unrolled_net.h"

namespace unroll::cli {
namespace {

/// The process's peak resident set (VmHWM) in MiB, from /proc/self/status (-1 if unavailable).
double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

torch::Tensor scene(int64_t h, int64_t w) {
  auto yy = torch::linspace(0, 1, h).view({1, 1, h, 1});
  auto xx = torch::linspace(0, 1, w).view({1, 1, 1, w});
  auto r = 0.5 + 0.4 * torch::sin(23 * xx + 7 * yy) * torch::cos(11 * yy);
  auto g = 0.5 + 0.3 * torch::cos(17 * xx * yy + 3);
  auto b = (((xx * 9).floor() + (yy * 7).floor()).remainder(2)) * 0.6 + 0.2;
  return torch::cat({r, g, b.expand({1, 1, h, w})}, 1).clamp(0, 1);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int cmd_bench_model(const std::vector<std::string>& args) {
  std::string weights;
  int64_t size = 256, big = 1000, repeats = 5, train_crop = 96, train_batch = 16, train_steps = 3;
  po::options_description opts("bench model options");
  opts.add_options()
      ("weights", po::value(&weights), "unrolled checkpoint (default: the shipped models/unrolled_small.pth)")
      ("size", po::value(&size)->default_value(256), "side of the timed RGB image")
      ("repeats", po::value(&repeats)->default_value(5), "timed runs (median reported)")
      ("big", po::value(&big)->default_value(1000), "side of the peak-memory image (0 = skip)")
      ("train-crop", po::value(&train_crop)->default_value(96), "training crop side")
      ("train-batch", po::value(&train_batch)->default_value(16), "training batch")
      ("train-steps", po::value(&train_steps)->default_value(3), "timed training steps (0 = skip)");
  po::variables_map vm;
  if (!parse("usage: unroll bench model [--weights W] [--size 256] [--big 1000] [--train-steps 3]", opts, args, vm))
    return 0;
  UNROLL_CHECK(size >= 32 && repeats >= 1 && big >= 0 && train_crop >= 32 && train_batch >= 1 && train_steps >= 0,
               "bench model: size >= 32, repeats >= 1, big >= 0, train-crop >= 32, train-batch >= 1, train-steps >= 0");
  if (weights.empty()) weights = shipped_model("unrolled_small.pth");
  UNROLL_CHECK(!weights.empty(), "bench model: no shipped models/unrolled_small.pth; pass --weights");
  std::vector<std::vector<std::string>> rows;
  KernelSpec spec;
  spec.type = KernelType::Motion;
  const auto kernel = random_kernel(spec, 7).to(torch::kFloat32);  // 25x25 camera shake

  auto deblur_request = [&](int64_t h, int64_t w) {
    DeblurRequest r;
    r.blurred = add_gaussian_noise(conv_circular(scene(h, w), kernel), 2.55 / 255.0, 1);
    r.kernel = kernel;
    r.sigma = 2.55 / 255.0;
    r.boundary = Boundary::Circular;
    r.weights = weights;
    return r;
  };
  {
    const auto req = deblur_request(size, size);
    run_method("unrolled", req);  // load + warm up
    std::vector<double> t;
    for (int64_t i = 0; i < repeats; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      run_method("unrolled", req);
      t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    rows.push_back({"inference " + std::to_string(size) + "x" + std::to_string(size) + " RGB", fixed(median(t), 3) + " s",
                    "median of " + std::to_string(repeats)});
  }
  if (big > 0) {
    const auto req = deblur_request(big, big);
    const auto t0 = std::chrono::steady_clock::now();
    run_method("unrolled", req);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rows.push_back({"inference " + std::to_string(big) + "x" + std::to_string(big) + " RGB", fixed(secs, 2) + " s",
                    "process peak RSS " + fixed(peak_rss_mib(), 0) + " MiB"});
  }
  if (train_steps > 0) {
    auto net = load_unrolled_net(weights);
    net->train();
    torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-5));
    auto x = scene(train_crop, train_crop).expand({train_batch, 3, train_crop, train_crop}).contiguous();
    auto k = kernel.view({1, 1, kernel.size(0), kernel.size(1)}).expand({train_batch, 1, kernel.size(0), kernel.size(1)});
    auto y = add_gaussian_noise(conv_circular(x, k), 2.55 / 255.0, 2);
    auto sigma = torch::full({train_batch, 1, 1, 1}, 2.55 / 255.0);
    auto step = [&] {
      adam.zero_grad();
      auto loss = torch::l1_loss(net->forward(y, k, sigma), x);
      loss.backward();
      adam.step();
    };
    step();  // warm up
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < train_steps; ++i) step();
    const double per_step = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / train_steps;
    rows.push_back({"training step " + std::to_string(train_batch) + " x " + std::to_string(train_crop) + "^2",
                    fixed(per_step, 2) + " s", fixed(train_batch / per_step, 2) + " samples / s"});
  }
  std::cout << "model " << weights << ", " << torch::get_num_threads() << " thread(s)\n"
            << markdown_table({"case", "time", "note"}, rows);
  return 0;
}

}  // namespace unroll::cli
