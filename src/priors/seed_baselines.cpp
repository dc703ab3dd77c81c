#include "priors/seed_baselines.h"

#include <numeric>

#include "core/error.h"
#include "priors/convir.h"

namespace unroll {

namespace {

void check_input(const torch::Tensor& x, int64_t channels, const char* who) {
  UNROLL_CHECK(x.dim() == 4 && x.size(1) == channels, who, ": input must be [N,", channels, ",H,W], got ", x.sizes());
  UNROLL_CHECK(x.is_floating_point(), who, ": input must be floating point, got ", x.scalar_type());
  UNROLL_CHECK(x.size(2) >= 1 && x.size(3) >= 1, who, ": empty image ", x.sizes());
}

torch::nn::Conv2dOptions conv(int in, int out, int k, int pad = -1) {
  return torch::nn::Conv2dOptions(in, out, k).padding(pad < 0 ? k / 2 : pad);
}

// He (Kaiming) normal initialisation for ReLU networks, zero biases.
void he_init(torch::nn::Module& m) {
  torch::NoGradGuard g;
  for (auto& item : m.named_parameters()) {
    const auto& name = item.key();
    auto& p = item.value();
    if (name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0 && p.dim() == 4)
      torch::nn::init::kaiming_normal_(p, 0.0, torch::kFanIn, torch::kReLU);
    else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0)
      p.zero_();
  }
}

}  // namespace

// ---- ATROUS_NET ----------------------------------------------------------------------------------------

void AtrousNetOptions::validate() const {
  UNROLL_CHECK(channels >= 1, "atrous_net: channels must be >= 1, got ", channels);
  UNROLL_CHECK(num_blocks >= 0, "atrous_net: num_blocks must be >= 0, got ", num_blocks);
  UNROLL_CHECK(!dilations.empty(), "atrous_net: dilations must not be empty");
  for (size_t i = 0; i < dilations.size(); ++i)
    UNROLL_CHECK(dilations[i] >= 1, "atrous_net: dilations[", i, "] must be >= 1, got ", dilations[i]);
  UNROLL_CHECK(image_channels >= 1, "atrous_net: image_channels must be >= 1, got ", image_channels);
}

int AtrousNetOptions::block_receptive_field() const {
  return 1 + 2 * std::accumulate(dilations.begin(), dilations.end(), 0);
}

AtrousNetImpl::AtrousNetImpl(AtrousNetOptions options) : options_(std::move(options)) {
  options_.validate();
  const int c = options_.channels;
  head = register_module("head", torch::nn::Conv2d(conv(options_.image_channels, c, 9)));
  down = register_module("down", torch::nn::Conv2d(conv(c, c, 3).stride(2)));
  blocks = torch::nn::ModuleList();
  for (int b = 0; b < options_.num_blocks; ++b) {
    torch::nn::Sequential block;
    for (size_t i = 0; i < options_.dilations.size(); ++i) {
      const int d = options_.dilations[i];
      if (i > 0) block->push_back(torch::nn::ReLU());
      block->push_back(torch::nn::Conv2d(conv(c, c, 3, d).dilation(d)));
    }
    blocks->push_back(block);
  }
  register_module("blocks", blocks);
  up = register_module("up", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(c, c, 4).stride(2).padding(1)));
  tail = register_module("tail", torch::nn::Conv2d(conv(c, options_.image_channels, 3)));
  he_init(*this);
}

torch::Tensor AtrousNetImpl::forward(const torch::Tensor& x) {
  check_input(x, options_.image_channels, "atrous_net");
  const int64_t h = x.size(2), w = x.size(3);
  auto z = torch::relu(down->forward(torch::relu(head->forward(x))));  // ceil(H/2) x ceil(W/2)
  for (size_t b = 0; b < blocks->size(); ++b) z = torch::relu(z + blocks->ptr<torch::nn::SequentialImpl>(b)->forward(z));
  z = torch::relu(up->forward(z)).narrow(2, 0, h).narrow(3, 0, w);  // 2*ceil(H/2) >= H
  return x + tail->forward(z);
}

// ---- CARLO_NET -----------------------------------------------------------------------------------------

void CarloNetOptions::validate() const {
  UNROLL_CHECK(channels >= 1, "carlo_net: channels must be >= 1, got ", channels);
  UNROLL_CHECK(depth >= 1, "carlo_net: depth must be >= 1, got ", depth);
  UNROLL_CHECK(skip_every >= 1, "carlo_net: skip_every must be >= 1, got ", skip_every);
  UNROLL_CHECK(image_channels >= 1, "carlo_net: image_channels must be >= 1, got ", image_channels);
}

CarloNetImpl::CarloNetImpl(CarloNetOptions options) : options_(std::move(options)) {
  options_.validate();
  const int c = options_.channels, ic = options_.image_channels, n = options_.depth;
  encoder = torch::nn::ModuleList();
  decoder = torch::nn::ModuleList();
  for (int i = 0; i < n; ++i) encoder->push_back(torch::nn::Conv2d(conv(i == 0 ? ic : c, c, 3, 0)));
  for (int i = 0; i < n; ++i)
    decoder->push_back(torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(c, i == n - 1 ? ic : c, 3)));
  register_module("encoder", encoder);
  register_module("decoder", decoder);
  he_init(*this);
}

torch::Tensor CarloNetImpl::forward(const torch::Tensor& x_in) {
  check_input(x_in, options_.image_channels, "carlo_net");
  const int64_t n = options_.depth, h = x_in.size(2), w = x_in.size(3);
  const int64_t need = 2 * n + 1;  // every valid conv removes a 1-pixel ring
  auto x = reflect_pad_to(x_in, std::max(h, need), std::max(w, need));
  // Encoder features after layer i (1-based) are kept for the decoder layer that restores their size.
  std::vector<torch::Tensor> feats;
  auto z = x;
  for (int64_t i = 0; i < n; ++i) {
    z = torch::relu(encoder->ptr<torch::nn::Conv2dImpl>(i)->forward(z));
    feats.push_back(z);
  }
  for (int64_t i = 0; i < n; ++i) {
    z = decoder->ptr<torch::nn::ConvTranspose2dImpl>(i)->forward(z);
    // After decoder layer i the size equals that of encoder layer n-1-i's output (or of x for the last).
    const int64_t mirror = n - 2 - i;  // index into feats; -1 = the input image
    const bool last = i == n - 1;
    if (last) {
      z = z + x;  // outermost skip: the network predicts a residual
    } else {
      if ((i + 1) % options_.skip_every == 0) z = z + feats[mirror];
      z = torch::relu(z);
    }
  }
  return z.narrow(2, 0, h).narrow(3, 0, w);
}

// ---- U-Net + ResNet ------------------------------------------------------------------------------------

SeedResBlockImpl::SeedResBlockImpl(int in_channels, int out_channels) {
  conv1 = register_module("conv1", torch::nn::Conv2d(conv(in_channels, out_channels, 3)));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(out_channels));
  conv2 = register_module("conv2", torch::nn::Conv2d(conv(out_channels, out_channels, 3)));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(out_channels));
  shortcut = register_module("shortcut", torch::nn::Conv2d(conv(in_channels, out_channels, 1)));
}

torch::Tensor SeedResBlockImpl::forward(const torch::Tensor& x) {
  auto y = torch::relu(bn1->forward(conv1->forward(x)));
  y = bn2->forward(conv2->forward(y));
  return torch::relu(y + shortcut->forward(x));
}

UNetResNetImpl::UNetResNetImpl() {
  conv1 = register_module("conv1", torch::nn::Conv2d(conv(3, 16, 3)));
  conv2 = register_module("conv2", torch::nn::Conv2d(conv(19, 64, 3)));
  conv3 = register_module("conv3", torch::nn::Conv2d(conv(80, 128, 3)));
  res1 = register_module("res1", SeedResBlock(144, 128));
  res2 = register_module("res2", SeedResBlock(128, 128));
  up1 = register_module("up1", torch::nn::ConvTranspose2d(
                                   torch::nn::ConvTranspose2dOptions(128, 128, 3).stride(2).padding(1).output_padding(1)));
  up2 = register_module("up2", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(128, 64, 3).padding(1)));
  out = register_module("out", torch::nn::Conv2d(conv(64, 3, 3)));
  he_init(*this);
}

torch::Tensor UNetResNetImpl::forward(const torch::Tensor& x_in) {
  check_input(x_in, 3, "unet_resnet");
  const int64_t h = x_in.size(2), w = x_in.size(3);
  auto x = reflect_pad_to(x_in, h + h % 2, w + w % 2);
  auto e1 = torch::relu(conv1->forward(x));
  auto e2 = torch::relu(conv2->forward(torch::cat({x, e1}, 1)));
  auto p1 = torch::max_pool2d(e1, {2, 2});
  auto p2 = torch::max_pool2d(e2, {2, 2});
  auto e3 = torch::relu(conv3->forward(torch::cat({p1, p2}, 1)));
  auto r = res2->forward(res1->forward(torch::cat({e3, p1}, 1)));
  auto u = torch::relu(up1->forward(r));
  u = torch::relu(up2->forward(u)) + e2;
  return (x + out->forward(u)).narrow(2, 0, h).narrow(3, 0, w);
}

int64_t keras_parameter_count(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  for (const auto& b : module.named_buffers()) {
    const auto& name = b.key();
    if (name.find("running_mean") != std::string::npos || name.find("running_var") != std::string::npos)
      n += b.value().numel();
  }
  return n;
}

}  // namespace unroll
