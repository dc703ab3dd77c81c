// Helpers shared by the test binaries.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

namespace unroll::test {

/// The project's ../shared folder (or $UNROLL_SHARED), or "" when it is absent.
std::string shared_dir();

/// A fresh empty directory under the build tree for this test.
std::string temp_dir(const std::string& name);

/// Debian's python3 with scikit-image, or "" if unavailable.
std::string python_with_skimage();

/// Runs a shell command, returns its exit status; stdout+stderr are captured into `output`.
int run_command(const std::string& command, std::string* output = nullptr);

/// A smooth deterministic test image [1,C,H,W] in [0,1] (sums of sinusoids and edges).
torch::Tensor test_image(int64_t channels, int64_t height, int64_t width, uint64_t seed = 0);

/// A deterministic random motion-like kernel [k,k] (non-negative, sum 1).
torch::Tensor test_kernel(int64_t size, uint64_t seed = 0);

/// The bytes of a file ("" when it cannot be read).
std::string read_file(const std::string& path);

/// The message of the unroll::Error `f` throws, "" when it throws none.
std::string error_of(const std::function<void()>& f);

/// The number of parameters (elements) of a module.
int64_t count_parameters(const torch::nn::Module& module);

/// Max |a - b|.
double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace unroll::test
