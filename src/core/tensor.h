// Tensor conventions used throughout Unroll (documented here once).
//
//  * Images are `[N,C,H,W]` floating tensors (float32 by default, float64 accepted everywhere),
//    values nominally in [0,1]; C is 1 (grey) or 3 (RGB, in R,G,B order). Public entry points also
//    accept `[H,W]` and `[C,H,W]` and lift them with as_image_batch().
//  * Kernels (PSFs) are `[kh,kw]` (one kernel for the whole batch) or `[N,1,kh,kw]` (one per sample),
//    non-negative, summing to 1. Sizes may be odd or even; the kernel's centre is at index
//    (kh/2, kw/2) with integer division, for every operation in the project (psf2otf, circular and
//    linear convolution), so even-sized kernels behave consistently.
//  * "Convolution" means true convolution (kernel flipped), the same as scipy.ndimage.convolve and
//    MATLAB's imfilter(..., 'conv').
//  * Noise levels sigma are on the [0,1] intensity scale (2.55/255 = 0.01).
//  * Every function allocates with the options (device, dtype) of its input tensors, so the same
//    code runs on CPU and CUDA.
#pragma once

#include <torch/torch.h>

#include <string>

namespace unroll {

/// pi (std::numbers::pi is C++20).
inline constexpr double kPi = 3.14159265358979323846;

/// Lifts `[H,W]` or `[C,H,W]` to `[1,1,H,W]` / `[1,C,H,W]`; `[N,C,H,W]` is returned unchanged.
torch::Tensor as_image_batch(const torch::Tensor& x);

/// Lifts a `[kh,kw]` kernel to `[1,1,kh,kw]`; `[N,1,kh,kw]` is returned unchanged.
torch::Tensor as_kernel_batch(const torch::Tensor& k);

/// Throws unless `x` is a 4-D floating tensor with finite values; `who` prefixes the message.
void check_image(const torch::Tensor& x, const std::string& who);

/// Throws unless `k` is a valid `[N,1,kh,kw]` kernel batch (finite, non-negative, non-zero sum) whose
/// batch size is 1 or `batch`, and which is no larger than `height` x `width`.
void check_kernel(const torch::Tensor& k, int64_t batch, int64_t height, int64_t width, const std::string& who);

/// Throws if `x` contains NaN or Inf.
void check_finite(const torch::Tensor& x, const std::string& who);

/// Noise-level tensor helper: a scalar sigma or a per-sample tensor, returned as `[N,1,1,1]` with the
/// options of `like`.
torch::Tensor as_sample_scalar(const torch::Tensor& value, const torch::Tensor& like);
torch::Tensor as_sample_scalar(double value, const torch::Tensor& like);

/// Stores every 4-D parameter of `module` (convolution weights) in channels-last (NHWC) layout, values
/// unchanged. oneDNN then runs the network's convolutions in NHWC end to end instead of reordering the
/// activations around every call (measured: docs/benchmarks.md, `unroll bench model`). For inference
/// of networks built from convolutions, activations and additions (ResUNet); outputs are channels-last
/// tensors with the same values up to float rounding.
void use_channels_last(torch::nn::Module& module);

/// Makes glibc's allocator keep freed blocks up to 32 MiB for reuse instead of returning them to the
/// system (mallopt M_MMAP_THRESHOLD 32 MiB, M_TRIM_THRESHOLD 256 MiB). LibTorch's CPU allocator does
/// not cache, and every feature map above glibc's default 128 KiB threshold is otherwise a fresh mmap
/// whose pages fault in on first write, serialising the threads on the kernel's page tables: with it
/// the shipped unrolled network runs 256x256 RGB 1.4x faster on two threads (docs/benchmarks.md). The
/// price is up to 256 MiB of freed memory kept by the process. Call once at start-up (the `unroll` and
/// `unroll-bench` programs do); a no-op on other C libraries.
void keep_freed_tensor_memory();

/// LibTorch defaults to one thread per physical core; this uses every logical CPU instead, unless
/// OMP_NUM_THREADS says otherwise. Called at start-up by the programs.
void use_all_logical_cpus();

/// "cpu", "cuda", "cuda:1" as a torch::Device; throws unroll::Error for another name, or when CUDA is
/// requested but this LibTorch has no usable CUDA device.
torch::Device parse_device(const std::string& name);

/// Output buffers of the *_out helpers: keeps `out` when it already has `shape` and the dtype and
/// device of `like`, otherwise replaces it with a new contiguous tensor of that shape and options.
void ensure_buffer(torch::Tensor& out, c10::IntArrayRef shape, const torch::Tensor& like);

}  // namespace unroll
