#include "train/perceptual_loss.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "core/checkpoint.h"
#include "core/error.h"

namespace unroll {

namespace {

// torchvision vgg16 "D" configuration; 'M' = max-pool.
const std::vector<int> kVgg16 = {64, 64, -1, 128, 128, -1, 256, 256, 256, -1, 512, 512, 512, -1, 512, 512, 512, -1};

// Layer kinds of vgg16().features by index: 'c' conv, 'r' ReLU, 'p' pool.
std::vector<char> vgg16_kinds() {
  std::vector<char> k;
  for (int v : kVgg16) {
    if (v < 0) {
      k.push_back('p');
    } else {
      k.push_back('c');
      k.push_back('r');
    }
  }
  return k;
}

}  // namespace

void PerceptualLossOptions::validate() const {
  UNROLL_CHECK(!weights.empty(), "perceptual loss: no VGG16 weights given (options.weights / --vgg-weights); "
                                 "download torchvision's vgg16-397923af.pth and pass its path");
  UNROLL_CHECK(!layers.empty(), "perceptual loss: layers must not be empty");
  const auto kinds = vgg16_kinds();
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto l = layers[i];
    UNROLL_CHECK(l >= 0 && l < static_cast<int64_t>(kinds.size()) && kinds[l] == 'r', "perceptual loss: layers[", i,
                 "] = ", l, " is not a ReLU index of vgg16().features (1, 3, 6, 8, 11, 13, 15, 18, ...)");
  }
  for (size_t i = 1; i < layers.size(); ++i)
    UNROLL_CHECK(layers[i] > layers[i - 1], "perceptual loss: layers must be increasing, got ", layers[i - 1],
                 " then ", layers[i]);
  UNROLL_CHECK(layer_weights.empty() || layer_weights.size() == layers.size(), "perceptual loss: layer_weights has ",
               layer_weights.size(), " entries for ", layers.size(), " layers");
}

PerceptualLoss::PerceptualLoss(PerceptualLossOptions options) : options_(std::move(options)) {
  options_.validate();
  UNROLL_CHECK(std::filesystem::exists(options_.weights), "perceptual loss: VGG16 weights file '", options_.weights,
               "' does not exist");
  const auto state = load_state_dict(options_.weights);
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());

  const int64_t last = options_.layers.back();
  features_ = std::make_shared<torch::nn::SequentialImpl>();
  int64_t index = 0, in = 3;
  torch::NoGradGuard g;
  for (int v : kVgg16) {
    if (index > last) break;
    if (v < 0) {
      features_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
      ++index;
      continue;
    }
    torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, v, 3).padding(1));
    for (const char* part : {"weight", "bias"}) {
      const std::string key = "features." + std::to_string(index) + "." + part;
      auto it = by_name.find(key);
      auto& target = std::string(part) == "weight" ? conv->weight : conv->bias;
      UNROLL_CHECK(it != by_name.end(), "perceptual loss: '", options_.weights, "' has no entry '", key,
                   "' (expected a torchvision VGG16 state dict)");
      UNROLL_CHECK(it->second.sizes() == target.sizes(), "perceptual loss: '", options_.weights, "': entry '", key,
                   "' has shape ", it->second.sizes(), ", VGG16 expects ", target.sizes());
      target.copy_(it->second);
    }
    features_->push_back(conv);
    features_->push_back(torch::nn::ReLU());
    index += 2;
    in = v;
  }
  for (auto& p : features_->parameters()) p.set_requires_grad(false);
  features_->eval();
}

torch::Tensor PerceptualLoss::operator()(const torch::Tensor& pred, const torch::Tensor& target) const {
  UNROLL_CHECK(pred.dim() == 4 && pred.sizes() == target.sizes(), "perceptual loss: prediction ", pred.sizes(),
               " and target ", target.sizes(), " must be equal [N,C,H,W] shapes");
  UNROLL_CHECK(pred.size(1) == 1 || pred.size(1) == 3, "perceptual loss: expected 1 or 3 channels, got ",
               pred.size(1));
  // The network follows the data's device and dtype (moved once, on first use).
  const auto w0 = features_->parameters().front();
  if (w0.device() != pred.device() || w0.scalar_type() != pred.scalar_type())
    features_->to(pred.device(), pred.scalar_type());

  auto prep = [&](const torch::Tensor& x) {
    auto rgb = x.size(1) == 1 ? x.expand({-1, 3, -1, -1}) : x;
    if (!options_.imagenet_normalize) return rgb;
    auto mean = torch::tensor({0.485, 0.456, 0.406}, x.options()).reshape({1, 3, 1, 1});
    auto sd = torch::tensor({0.229, 0.224, 0.225}, x.options()).reshape({1, 3, 1, 1});
    return (rgb - mean) / sd;
  };
  auto a = prep(pred), b = prep(target.detach());
  torch::Tensor total;
  size_t next = 0;
  int64_t i = 0;
  for (auto& layer : *features_) {  // AnyModule: forward(Tensor) -> Tensor
    if (next >= options_.layers.size()) break;
    a = layer.forward(a);
    {
      torch::NoGradGuard g;
      b = layer.forward(b);
    }
    if (i == options_.layers[next]) {
      const double w = options_.layer_weights.empty() ? 1.0 : options_.layer_weights[next];
      auto term = w * (a - b).abs().mean();
      total = total.defined() ? total + term : term;
      ++next;
    }
    ++i;
  }
  return total;
}

PixelLoss PerceptualLoss::as_pixel_loss() const {
  auto self = std::make_shared<PerceptualLoss>(*this);
  return [self](const torch::Tensor& p, const torch::Tensor& t) { return (*self)(p, t); };
}

}  // namespace unroll
