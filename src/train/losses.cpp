#include "train/losses.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "core/metrics.h"
#include "train/perceptual_loss.h"

namespace unroll {

namespace F = torch::nn::functional;

namespace {

void check_pair(const torch::Tensor& pred, const torch::Tensor& target, const char* who) {
  UNROLL_CHECK(pred.defined() && target.defined(), who, ": undefined tensor");
  UNROLL_CHECK(pred.dim() == 4, who, ": expected [N,C,H,W] prediction, got ", pred.sizes());
  UNROLL_CHECK(pred.sizes() == target.sizes(), who, ": prediction ", pred.sizes(), " and target ", target.sizes(),
               " differ in shape");
  UNROLL_CHECK(pred.is_floating_point() && target.is_floating_point(), who, ": expected floating tensors, got ",
               pred.scalar_type(), " and ", target.scalar_type());
}

torch::Tensor fft_parts(const torch::Tensor& x) {
  auto f = torch::fft::fft2(x);
  return torch::stack({torch::real(f), torch::imag(f)}, -1);
}

std::string trim_lower(std::string s) {
  s.erase(std::remove_if(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); }), s.end());
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

PixelLoss named_loss(const std::string& name, const std::string& vgg16_weights) {
  if (name == "perceptual") {
    UNROLL_CHECK(!vgg16_weights.empty(), "make_loss: the perceptual loss needs VGG16 weights (a torchvision "
                                         "vgg16 state dict); none were given");
    PerceptualLossOptions o;
    o.weights = vgg16_weights;
    return PerceptualLoss(o).as_pixel_loss();
  }
  if (name == "l1") return losses::l1;
  if (name == "mse" || name == "l2") return losses::mse;
  if (name == "charbonnier") return [](const torch::Tensor& p, const torch::Tensor& t) { return losses::charbonnier(p, t); };
  if (name == "fft") return losses::fft;
  if (name == "sobel" || name == "gradient") return losses::sobel;
  if (name == "ssim") return losses::ssim;
  std::ostringstream known;
  for (const auto& n : loss_names()) known << (known.tellp() > 0 ? ", " : "") << n;
  fail("make_loss: unknown loss \"", name, "\" (known: ", known.str(), ")");
}

}  // namespace

namespace losses {

torch::Tensor l1(const torch::Tensor& pred, const torch::Tensor& target) {
  check_pair(pred, target, "l1_loss");
  return (pred - target).abs().mean();
}

torch::Tensor mse(const torch::Tensor& pred, const torch::Tensor& target) {
  check_pair(pred, target, "mse_loss");
  return (pred - target).square().mean();
}

torch::Tensor charbonnier(const torch::Tensor& pred, const torch::Tensor& target, double eps) {
  check_pair(pred, target, "charbonnier_loss");
  UNROLL_CHECK(eps > 0, "charbonnier_loss: eps must be > 0, got ", eps);
  return torch::sqrt((pred - target).square() + eps * eps).mean() - eps;
}

torch::Tensor fft(const torch::Tensor& pred, const torch::Tensor& target) {
  check_pair(pred, target, "fft_loss");
  return (fft_parts(pred) - fft_parts(target)).abs().mean();
}

torch::Tensor sobel(const torch::Tensor& pred, const torch::Tensor& target) {
  check_pair(pred, target, "sobel_loss");
  UNROLL_CHECK(pred.size(2) >= 3 && pred.size(3) >= 3, "sobel_loss: image ", pred.size(2), "x", pred.size(3),
               " is smaller than the 3x3 Sobel kernel");
  const int64_t c = pred.size(1);
  auto sx = torch::tensor({-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0}, pred.options()).reshape({1, 1, 3, 3});
  auto kernels = torch::cat({sx, sx.transpose(2, 3)}, 0).repeat({c, 1, 1, 1});  // [2C,1,3,3]: x, y per channel
  const std::vector<int64_t> one{1, 1}, zero{0, 0};
  auto d = pred - target;  // Sobel is linear: S(pred) - S(target) = S(pred - target)
  auto g = torch::conv2d(d, kernels, torch::Tensor(), one, zero, one, c);
  return g.abs().mean() * 2.0;  // mean over x and y maps, summed
}

torch::Tensor ssim(const torch::Tensor& pred, const torch::Tensor& target) {
  check_pair(pred, target, "ssim_loss");
  return 1.0 - ::unroll::ssim(pred, target);
}

}  // namespace losses

void ConvIRLossOptions::validate() const {
  UNROLL_CHECK(fft_weight >= 0 && std::isfinite(fft_weight), "convir_loss: fft_weight must be >= 0, got ", fft_weight);
}

torch::Tensor resize_target(const torch::Tensor& target, int64_t h, int64_t w, TargetResize mode) {
  UNROLL_CHECK(target.dim() == 4, "resize_target: expected [N,C,H,W], got ", target.sizes());
  UNROLL_CHECK(h >= 1 && w >= 1 && h <= target.size(2) && w <= target.size(3), "resize_target: cannot resize ",
               target.size(2), "x", target.size(3), " to ", h, "x", w);
  if (h == target.size(2) && w == target.size(3)) return target;
  auto opts = F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w});
  if (mode == TargetResize::Bilinear)
    opts.mode(torch::kBilinear).align_corners(false);
  else
    opts.mode(torch::kNearest);
  return F::interpolate(target, opts);
}

torch::Tensor multiscale_loss(const std::vector<torch::Tensor>& outputs, const torch::Tensor& target,
                              const PixelLoss& loss, TargetResize mode) {
  UNROLL_CHECK(!outputs.empty(), "multiscale_loss: no outputs");
  UNROLL_CHECK(target.dim() == 4, "multiscale_loss: expected [N,C,H,W] target, got ", target.sizes());
  torch::Tensor total;
  for (const auto& out : outputs) {
    UNROLL_CHECK(out.dim() == 4, "multiscale_loss: expected [N,C,h,w] outputs, got ", out.sizes());
    auto term = loss(out, resize_target(target, out.size(2), out.size(3), mode));
    total = total.defined() ? total + term : term;
  }
  return total;
}

torch::Tensor convir_loss(const std::vector<torch::Tensor>& outputs, const torch::Tensor& target,
                          const ConvIRLossOptions& options) {
  options.validate();
  auto content = multiscale_loss(outputs, target, losses::l1, options.target_resize);
  if (options.fft_weight == 0) return content;
  return content + options.fft_weight * multiscale_loss(outputs, target, losses::fft, options.target_resize);
}

std::vector<std::string> loss_names() { return {"l1", "mse", "l2", "charbonnier", "fft", "sobel", "gradient", "ssim", "perceptual"}; }

PixelLoss make_loss(const std::string& spec) { return make_loss(spec, std::string()); }

namespace {
// "w1*name1+name2" -> (weight, name) pairs; names checked against loss_names().
std::vector<std::pair<double, std::string>> parse_loss_terms(const std::string& spec_in) {
  const std::string spec = trim_lower(spec_in);
  UNROLL_CHECK(!spec.empty(), "make_loss: empty loss name");
  std::vector<std::pair<double, std::string>> terms;
  std::stringstream ss(spec);
  std::string term;
  while (std::getline(ss, term, '+')) {
    UNROLL_CHECK(!term.empty(), "make_loss: empty term in \"", spec_in, "\"");
    double weight = 1.0;
    std::string name = term;
    const auto star = term.find('*');
    if (star != std::string::npos) {
      const std::string w = term.substr(0, star);
      name = term.substr(star + 1);
      size_t used = 0;
      try {
        weight = std::stod(w, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      UNROLL_CHECK(used == w.size() && !w.empty() && std::isfinite(weight) && weight >= 0,
                   "make_loss: bad weight \"", w, "\" in \"", spec_in, "\" (expected a number >= 0)");
    }
    const auto names = loss_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::ostringstream known;
      for (const auto& n : names) known << (known.tellp() > 0 ? ", " : "") << n;
      fail("make_loss: unknown loss \"", name, "\" (known: ", known.str(), ")");
    }
    terms.emplace_back(weight, name);
  }
  return terms;
}
}  // namespace

void check_loss_spec(const std::string& spec) { parse_loss_terms(spec); }

PixelLoss make_loss(const std::string& spec_in, const std::string& vgg16_weights) {
  std::vector<std::pair<double, PixelLoss>> terms;
  for (const auto& [weight, name] : parse_loss_terms(spec_in)) terms.emplace_back(weight, named_loss(name, vgg16_weights));
  if (terms.size() == 1 && terms[0].first == 1.0) return terms[0].second;
  return [terms](const torch::Tensor& pred, const torch::Tensor& target) {
    torch::Tensor total;
    for (const auto& t : terms) {
      auto v = t.first * t.second(pred, target);
      total = total.defined() ? total + v : v;
    }
    return total;
  };
}

}  // namespace unroll
