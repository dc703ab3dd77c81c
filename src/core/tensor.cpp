#include "core/tensor.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cmath>
#include <cstdlib>
#include <thread>

#include "core/error.h"

namespace unroll {

torch::Tensor as_image_batch(const torch::Tensor& x) {
  UNROLL_CHECK(x.defined(), "image tensor is undefined");
  switch (x.dim()) {
    case 2: return x.unsqueeze(0).unsqueeze(0);
    case 3: return x.unsqueeze(0);
    case 4: return x;
    default: fail("image must be [H,W], [C,H,W] or [N,C,H,W], got ", x.dim(), " dimensions");
  }
}

torch::Tensor as_kernel_batch(const torch::Tensor& k) {
  UNROLL_CHECK(k.defined(), "kernel tensor is undefined");
  if (k.dim() == 2) return k.unsqueeze(0).unsqueeze(0);
  UNROLL_CHECK(k.dim() == 4 && k.size(1) == 1, "kernel must be [kh,kw] or [N,1,kh,kw], got shape ", k.sizes());
  return k;
}

void check_finite(const torch::Tensor& x, const std::string& who) {
  // Fast path: NaN and Inf propagate through a sum, so a finite sum proves every element finite (one
  // reduction, no boolean temporary). A non-finite sum may also be an overflow of finite values, so
  // only then is the element-wise test run to decide.
  if (x.is_floating_point() && std::isfinite(x.sum().item<double>())) return;
  UNROLL_CHECK(torch::isfinite(x).all().item<bool>(), who, ": input contains NaN or Inf values");
}

void check_image(const torch::Tensor& x, const std::string& who) {
  UNROLL_CHECK(x.defined(), who, ": image is undefined");
  UNROLL_CHECK(x.dim() == 4, who, ": image must be [N,C,H,W], got shape ", x.sizes());
  UNROLL_CHECK(x.is_floating_point(), who, ": image must be floating point, got ", x.scalar_type());
  UNROLL_CHECK(x.numel() > 0, who, ": image is empty, shape ", x.sizes());
  check_finite(x, who + " (image)");
}

void check_kernel(const torch::Tensor& k, int64_t batch, int64_t height, int64_t width, const std::string& who) {
  UNROLL_CHECK(k.defined(), who, ": kernel is undefined");
  UNROLL_CHECK(k.dim() == 4 && k.size(1) == 1, who, ": kernel must be [N,1,kh,kw], got shape ", k.sizes());
  UNROLL_CHECK(k.size(0) == 1 || k.size(0) == batch, who, ": kernel batch ", k.size(0),
               " does not match image batch ", batch);
  UNROLL_CHECK(k.is_floating_point(), who, ": kernel must be floating point");
  UNROLL_CHECK(k.size(2) <= height && k.size(3) <= width, who, ": kernel ", k.size(2), "x", k.size(3),
               " is larger than the image ", height, "x", width);
  check_finite(k, who + " (kernel)");
  UNROLL_CHECK((k.min().item<double>() >= -1e-6), who, ": kernel has negative values (min ", k.min().item<double>(), ")");
  auto sums = k.sum({1, 2, 3});
  UNROLL_CHECK((sums.abs() > 1e-12).all().item<bool>(), who, ": kernel sums to zero");
}

torch::Tensor as_sample_scalar(const torch::Tensor& value, const torch::Tensor& like) {
  auto v = value.to(like.options());
  if (v.dim() == 0 || v.numel() == 1) return v.reshape({1, 1, 1, 1}).expand({like.size(0), 1, 1, 1});
  UNROLL_CHECK(v.numel() == like.size(0), "per-sample value has ", v.numel(), " entries for a batch of ", like.size(0));
  return v.reshape({like.size(0), 1, 1, 1});
}

torch::Tensor as_sample_scalar(double value, const torch::Tensor& like) {
  return torch::full({like.size(0), 1, 1, 1}, value, like.options());
}

void ensure_buffer(torch::Tensor& out, c10::IntArrayRef shape, const torch::Tensor& like) {
  if (!out.defined() || out.sizes() != shape || out.scalar_type() != like.scalar_type() || out.device() != like.device())
    out = torch::empty(shape, like.options());
}

void use_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
}

void use_all_logical_cpus() {
  if (!std::getenv("OMP_NUM_THREADS")) torch::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
}

torch::Device parse_device(const std::string& name) {
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(name);
  } catch (const std::exception&) {
    fail("unknown device '", name, "' (expected cpu or cuda[:N])");
  }
  UNROLL_CHECK(!device.is_cuda() || torch::cuda::is_available(),
               "device '", name, "' requested but this LibTorch build has no usable CUDA device");
  return device;
}

void keep_freed_tensor_memory() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

}  // namespace unroll
