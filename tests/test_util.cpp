#include "test_util.h"

#include "core/error.h"

#include <fstream>
#include <iterator>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

namespace fs = std::filesystem;

namespace unroll::test {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string shared_dir() {
  if (const char* env = std::getenv("UNROLL_SHARED")) return fs::exists(env) ? env : "";
  fs::path p = fs::path(UNROLL_SOURCE_DIR).parent_path() / "shared";
  return fs::exists(p / "data") ? p.string() : "";
}

std::string temp_dir(const std::string& name) {
  // One folder per process: CTest runs tests of the same suite in parallel processes.
  fs::path p = fs::path(UNROLL_BINARY_DIR) / "test_tmp" / (name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

int run_command(const std::string& command, std::string* output) {
  std::string cmd = command + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  std::string out;
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  int status = pclose(pipe);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string python_with_skimage() {
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    if (run_command(std::string(py) + " -c 'import skimage, scipy'") == 0) return py;
  }
  return "";
}

torch::Tensor test_image(int64_t channels, int64_t height, int64_t width, uint64_t seed) {
  torch::manual_seed(seed);
  auto yy = torch::linspace(0, 1, height, torch::kFloat64).reshape({1, 1, height, 1});
  auto xx = torch::linspace(0, 1, width, torch::kFloat64).reshape({1, 1, 1, width});
  auto img = torch::zeros({1, channels, height, width}, torch::kFloat64);
  for (int64_t c = 0; c < channels; ++c) {
    auto r = torch::rand({6}, torch::kFloat64);
    auto ch = 0.5 + 0.2 * torch::sin(2 * M_PI * (1 + 4 * r[0]) * xx + 6 * r[1]) *
                        torch::cos(2 * M_PI * (1 + 3 * r[2]) * yy) +
              0.15 * ((xx + 0.3 * yy) > (0.3 + 0.4 * r[3])).to(torch::kFloat64) -
              0.1 * ((xx - 0.5).pow(2) + (yy - 0.5).pow(2) < 0.05 + 0.05 * r[4]).to(torch::kFloat64);
    img.select(1, c).copy_(ch.squeeze(1));
  }
  return img.clamp(0.0, 1.0).to(torch::kFloat32);
}

torch::Tensor test_kernel(int64_t size, uint64_t seed) {
  torch::manual_seed(seed + 1000);
  auto k = torch::zeros({size, size}, torch::kFloat64);
  double y = size / 2.0, x = size / 2.0, vy = 0, vx = 0;
  auto steps = torch::randn({4 * size, 2}, torch::kFloat64);
  for (int64_t i = 0; i < 4 * size; ++i) {
    vy = 0.7 * vy + 0.5 * steps[i][0].item<double>();
    vx = 0.7 * vx + 0.5 * steps[i][1].item<double>();
    y = std::clamp(y + vy, 0.0, size - 1.0);
    x = std::clamp(x + vx, 0.0, size - 1.0);
    k[static_cast<int64_t>(y)][static_cast<int64_t>(x)] += 1.0;
  }
  k = k + 1e-3 * torch::rand({size, size}, torch::kFloat64);
  return (k / k.sum()).to(torch::kFloat32);
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace unroll::test
