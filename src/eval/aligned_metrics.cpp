#include "eval/aligned_metrics.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "core/error.h"
#include "core/metrics.h"
#include "core/noise.h"
#include "core/tensor.h"

namespace unroll {
namespace {

constexpr int64_t kSsimWindow = 11;  // core/metrics.h SsimOptions default = skimage's truncate 3.5 * sigma 1.5

// [1,C,H,W] float -> H x W x C CV_32F (R,G,B channel order kept: the scripts hand RGB arrays to OpenCV).
cv::Mat to_mat(const torch::Tensor& x) {
  auto hwc = x[0].permute({1, 2, 0}).to(torch::kFloat32).contiguous();
  const int c = static_cast<int>(x.size(1));
  cv::Mat m(static_cast<int>(x.size(2)), static_cast<int>(x.size(3)), CV_32FC(c), hwc.data_ptr<float>());
  return m.clone();
}

torch::Tensor from_mat(const cv::Mat& m) {
  cv::Mat c = m.isContinuous() ? m : m.clone();
  auto t = torch::from_blob(c.data, {c.rows, c.cols, c.channels()}, torch::kFloat32).clone();
  return t.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat64).contiguous();
}

cv::Mat grey(const cv::Mat& m) {
  if (m.channels() == 1) return m;
  cv::Mat g;
  cv::cvtColor(m, g, cv::COLOR_RGB2GRAY);
  return g;
}

}  // namespace

void AlignedMetricOptions::validate() const {
  UNROLL_CHECK(iterations > 0, "aligned metric: iterations must be > 0, got ", iterations);
  UNROLL_CHECK(gauss_filter_size >= 1 && gauss_filter_size % 2 == 1,
               "aligned metric: gauss_filter_size must be odd and >= 1, got ", gauss_filter_size);
}

double masked_psnr(const torch::Tensor& x_in, const torch::Tensor& ref_in, const torch::Tensor& mask_in) {
  auto x = as_image_batch(x_in).to(torch::kFloat64), ref = as_image_batch(ref_in).to(torch::kFloat64);
  auto mask = as_image_batch(mask_in).to(torch::kFloat64);
  UNROLL_CHECK(x.sizes() == ref.sizes() && x.sizes() == mask.sizes(), "masked psnr: sizes differ: ", x.sizes(), ", ",
               ref.sizes(), ", mask ", mask.sizes());
  const double count = mask.sum().item<double>();
  UNROLL_CHECK(count > 0, "masked psnr: the validity mask is empty (the alignment moved the image out of the frame)");
  const double err = ((x - ref).pow(2) * mask).sum().item<double>() / count;
  return 10.0 * std::log10(1.0 / err);
}

double masked_ssim(const torch::Tensor& x_in, const torch::Tensor& ref_in, const torch::Tensor& mask_in) {
  auto x = as_image_batch(x_in).to(torch::kFloat64), ref = as_image_batch(ref_in).to(torch::kFloat64);
  auto mask = as_image_batch(mask_in).to(torch::kFloat64);
  UNROLL_CHECK(x.sizes() == ref.sizes() && x.sizes() == mask.sizes(), "masked ssim: sizes differ: ", x.sizes(), ", ",
               ref.sizes(), ", mask ", mask.sizes());
  SsimOptions o;
  o.window = kSsimWindow;
  auto map = ssim_map(x, ref, o);  // [1,C,H-10,W-10]
  const int64_t pad = kSsimWindow / 2;
  auto m = mask.narrow(2, pad, map.size(2)).narrow(3, pad, map.size(3));
  auto per_channel_weight = m.sum({0, 2, 3});
  UNROLL_CHECK((per_channel_weight > 0).all().item<bool>(), "masked ssim: the validity mask is empty inside the ", pad,
               "-pixel crop");
  return ((map * m).sum({0, 2, 3}) / per_channel_weight).mean().item<double>();
}

AlignedScores aligned_scores(const torch::Tensor& restored, const torch::Tensor& sharp, const AlignedMetricOptions& o) {
  o.validate();
  auto z = as_image_batch(restored).detach().to(torch::kCPU, torch::kFloat64);
  auto x = as_image_batch(sharp).detach().to(torch::kCPU, torch::kFloat64);
  UNROLL_CHECK(z.sizes() == x.sizes(), "aligned metric: image sizes differ: ", z.sizes(), " vs ", x.sizes());
  UNROLL_CHECK(z.size(0) == 1 && (z.size(1) == 1 || z.size(1) == 3),
               "aligned metric: expected one grey or RGB image, got ", z.sizes());
  UNROLL_CHECK(z.size(2) >= kSsimWindow && z.size(3) >= kSsimWindow, "aligned metric: image ", z.size(3), "x",
               z.size(2), " is smaller than the ", kSsimWindow, "x", kSsimWindow, " SSIM window");
  check_finite(z, "aligned metric (restored image)");
  if (o.quantize_input) {
    z = quantize_8bit(z);
    x = quantize_8bit(x);
  }
  // Float32 like the scripts' arrays (images read as uint8 / 255 in float32).
  z = z.to(torch::kFloat32).to(torch::kFloat64);
  x = x.to(torch::kFloat32).to(torch::kFloat64);

  AlignedScores s;
  const double zz = (z * z).sum().item<double>();
  UNROLL_CHECK(zz > 0, "aligned metric: the restored image is all zeros");
  s.intensity_scale = (x * z).sum().item<double>() / zz;
  const cv::Mat zs = to_mat(z * s.intensity_scale);
  const cv::Mat xm = to_mat(x);

  cv::Mat warp = cv::Mat::eye(3, 3, CV_32F);
  const cv::TermCriteria criteria(cv::TermCriteria::COUNT | cv::TermCriteria::EPS, o.iterations, 0.0);
  try {
    s.ecc = cv::findTransformECC(grey(xm), grey(zs), warp, cv::MOTION_HOMOGRAPHY, criteria, cv::noArray(),
                                 o.gauss_filter_size);
  } catch (const cv::Exception& e) {
    fail("aligned metric: ECC alignment failed (", e.err, ")");
  }
  const cv::Size size(xm.cols, xm.rows);
  cv::Mat zr, cr;
  cv::warpPerspective(zs, zr, warp, size, cv::INTER_CUBIC | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT);
  // (cv::Mat::ones would set only the first channel of a multi-channel image.)
  cv::warpPerspective(cv::Mat(xm.rows, xm.cols, xm.type(), cv::Scalar::all(1.0)), cr, warp, size,
                      cv::INTER_NEAREST | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  auto mask = from_mat(cr);
  if (mask.size(1) != x.size(1)) mask = mask.expand_as(x).contiguous();  // 1-channel Mat of a grey image
  auto zt = from_mat(zr).reshape_as(x) * mask;
  auto xt = x * mask;
  if (o.variant == AlignedMetricOptions::Variant::RSBlur) {
    zt = zt.clamp(0.0, 1.0);
    xt = xt.clamp(0.0, 1.0);
  }
  s.psnr = masked_psnr(zt, xt, mask);
  s.ssim = masked_ssim(xt, zt, mask);
  s.valid_fraction = mask.mean().item<double>();
  cv::Mat w64;
  warp.convertTo(w64, CV_64F);
  s.warp = torch::from_blob(w64.ptr<double>(), {3, 3}, torch::kFloat64).clone();
  return s;
}

}  // namespace unroll
