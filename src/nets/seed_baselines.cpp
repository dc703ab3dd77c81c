#include "nets/seed_baselines.h"

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "nets/convir.h"

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
  if (options_.zero_init_tail) {
    torch::NoGradGuard no_grad;
    tail->weight.zero_();
    tail->bias.zero_();
  }
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

// ---- KAIST_NET -----------------------------------------------------------------------------------------

void KaistNetOptions::validate() const {
  UNROLL_CHECK(channels >= 1, "kaist_net: channels must be >= 1, got ", channels);
  UNROLL_CHECK(levels >= 0 && levels <= 8, "kaist_net: levels must be in [0, 8], got ", levels);
  UNROLL_CHECK(kernel_size >= 1 && kernel_size % 2 == 1, "kaist_net: kernel_size must be odd and >= 1, got ",
               kernel_size);
  UNROLL_CHECK(negative_slope >= 0 && negative_slope < 1, "kaist_net: negative_slope must be in [0, 1), got ",
               negative_slope);
}

torch::Tensor apply_per_pixel_kernels(const torch::Tensor& b, const torch::Tensor& k) {
  UNROLL_CHECK(b.dim() == 4 && k.dim() == 4 && b.size(0) == k.size(0) && b.size(2) == k.size(2) &&
                   b.size(3) == k.size(3),
               "apply_per_pixel_kernels: expected B [N,C,H,W] and K [N,k*k,H,W], got ", b.sizes(), " and ", k.sizes());
  const int64_t side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(k.size(1)))));
  UNROLL_CHECK(side * side == k.size(1) && side % 2 == 1, "apply_per_pixel_kernels: K has ", k.size(1),
               " channels, expected an odd square (9, 25, ...)");
  const int64_t n = b.size(0), c = b.size(1), h = b.size(2), w = b.size(3), r = side / 2;
  auto padded = r > 0 ? torch::replication_pad2d(b, {r, r, r, r}) : b;
  auto cols = torch::nn::functional::unfold(padded, torch::nn::functional::UnfoldFuncOptions({side, side}));
  cols = cols.view({n, c, side * side, h, w});  // [N, C, k*k, H, W], taps in row-major order
  return (cols * k.unsqueeze(1)).sum(2);
}

ProjectionBlockImpl::ProjectionBlockImpl(int c_in, int c_out, bool down_, double negative_slope)
    : down(down_), slope(negative_slope) {
  auto conv5 = [](int i, int o) { return torch::nn::Conv2d(torch::nn::Conv2dOptions(i, o, 5).stride(2).padding(2)); };
  auto deconv4 = [](int i, int o) {
    return torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(i, o, 4).stride(2).padding(1));
  };
  if (down) {
    conv_a = register_module("conv_a", conv5(c_in, c_out));
    back_deconv = register_module("back_deconv", deconv4(c_out, c_in));
    conv_c = register_module("conv_c", conv5(c_in, c_out));
  } else {
    deconv_a = register_module("deconv_a", deconv4(c_in, c_out));
    back_conv = register_module("back_conv", conv5(c_out, c_in));
    deconv_c = register_module("deconv_c", deconv4(c_in, c_out));
  }
}

torch::Tensor ProjectionBlockImpl::forward(const torch::Tensor& x) {
  auto act = [this](const torch::Tensor& t) { return torch::leaky_relu(t, slope); };
  if (down) {
    auto l0 = act(conv_a->forward(x));
    auto h0 = act(back_deconv->forward(l0));  // back to the input resolution
    return l0 + act(conv_c->forward(h0 - x));  // project the back-projection error down again
  }
  auto h0 = act(deconv_a->forward(x));
  auto l0 = act(back_conv->forward(h0));
  return h0 + act(deconv_c->forward(l0 - x));
}

KaistNetImpl::KaistNetImpl(KaistNetOptions options) : options_(std::move(options)) {
  options_.validate();
  const int c = options_.channels, kk = options_.kernel_size * options_.kernel_size;
  head = register_module("head", torch::nn::Conv2d(conv(3, c, 3)));
  encoder = torch::nn::ModuleList();
  decoder = torch::nn::ModuleList();
  for (int l = 0; l < options_.levels; ++l)
    encoder->push_back(ProjectionBlock(c << l, c << (l + 1), true, options_.negative_slope));
  for (int l = options_.levels - 1; l >= 0; --l)
    decoder->push_back(ProjectionBlock(c << (l + 1), c << l, false, options_.negative_slope));
  register_module("encoder", encoder);
  register_module("decoder", decoder);
  kernel_head = register_module("kernel_head", torch::nn::Conv2d(conv(c, kk, 3)));
  weight_head = register_module("weight_head", torch::nn::Conv2d(conv(c, 1, 3)));
  residual_head = register_module("residual_head", torch::nn::Conv2d(conv(c, 3, 3)));
}

std::vector<torch::Tensor> KaistNetImpl::heads(const torch::Tensor& b) {
  const int64_t m = int64_t{1} << options_.levels;
  UNROLL_CHECK(b.size(2) % m == 0 && b.size(3) % m == 0, "kaist_net: heads() needs sides that are multiples of ", m,
               ", got ", b.size(2), "x", b.size(3));
  auto f = torch::leaky_relu(head->forward(b), options_.negative_slope);
  std::vector<torch::Tensor> skips{f};
  for (size_t l = 0; l < encoder->size(); ++l) {
    f = encoder->ptr<ProjectionBlockImpl>(l)->forward(f);
    skips.push_back(f);
  }
  for (size_t i = 0; i < decoder->size(); ++i)
    f = decoder->ptr<ProjectionBlockImpl>(i)->forward(f) + skips[skips.size() - 2 - i];
  auto k = torch::softmax(kernel_head->forward(f), 1);
  auto w = torch::sigmoid(weight_head->forward(f));
  auto r = b + residual_head->forward(f);
  return {k, w, r};
}

torch::Tensor KaistNetImpl::forward(const torch::Tensor& b_in) {
  check_input(b_in, 3, "kaist_net");
  const int64_t h = b_in.size(2), w = b_in.size(3), m = int64_t{1} << options_.levels;
  auto b = reflect_pad_to(b_in, (h + m - 1) / m * m, (w + m - 1) / m * m);
  const auto hd = heads(b);
  auto out = hd[1] * apply_per_pixel_kernels(b, hd[0]) + (1.0 - hd[1]) * hd[2];
  return out.narrow(2, 0, h).narrow(3, 0, w);
}

// ---- U-Net autoencoder ---------------------------------------------------------------------------------

namespace {
torch::nn::Sequential double_conv(int in, int out) {
  return torch::nn::Sequential(torch::nn::Conv2d(conv(in, out, 3).bias(false)), torch::nn::BatchNorm2d(out),
                               torch::nn::ReLU(), torch::nn::Conv2d(conv(out, out, 3).bias(false)),
                               torch::nn::BatchNorm2d(out), torch::nn::ReLU());
}
}  // namespace

void UNetAutoencoderOptions::validate() const {
  UNROLL_CHECK(channels >= 1, "unet_autoencoder: channels must be >= 1, got ", channels);
  UNROLL_CHECK(depth >= 1 && depth <= 6, "unet_autoencoder: depth must be in [1, 6], got ", depth);
  UNROLL_CHECK(image_channels >= 1, "unet_autoencoder: image_channels must be >= 1, got ", image_channels);
}

UNetAutoencoderImpl::UNetAutoencoderImpl(UNetAutoencoderOptions options) : options_(std::move(options)) {
  options_.validate();
  const int c = options_.channels, d = options_.depth;
  down = torch::nn::ModuleList();
  up = torch::nn::ModuleList();
  up_conv = torch::nn::ModuleList();
  for (int l = 0; l < d; ++l) down->push_back(double_conv(l == 0 ? options_.image_channels : c << (l - 1), c << l));
  bottom = double_conv(c << (d - 1), c << d);
  for (int l = d - 1; l >= 0; --l) {  // up[i] / up_conv[i] serve level d-1-i
    up->push_back(torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(c << (l + 1), c << l, 2).stride(2)));
    up_conv->push_back(double_conv(c << (l + 1), c << l));
  }
  register_module("down", down);
  register_module("bottom", bottom);
  register_module("up", up);
  register_module("up_conv", up_conv);
  out = register_module("out", torch::nn::Conv2d(conv(c, options_.image_channels, 1)));
}

torch::Tensor UNetAutoencoderImpl::forward(const torch::Tensor& x_in) {
  check_input(x_in, options_.image_channels, "unet_autoencoder");
  const int64_t h = x_in.size(2), w = x_in.size(3), m = int64_t{1} << options_.depth;
  auto x = reflect_pad_to(x_in, (h + m - 1) / m * m, (w + m - 1) / m * m);
  std::vector<torch::Tensor> skips;
  auto z = x;
  for (size_t l = 0; l < down->size(); ++l) {
    z = down->ptr<torch::nn::SequentialImpl>(l)->forward(l == 0 ? z : torch::max_pool2d(z, {2, 2}));
    skips.push_back(z);
  }
  z = bottom->forward(torch::max_pool2d(z, {2, 2}));
  for (size_t i = 0; i < up->size(); ++i) {
    z = up->ptr<torch::nn::ConvTranspose2dImpl>(i)->forward(z);
    z = up_conv->ptr<torch::nn::SequentialImpl>(i)->forward(torch::cat({skips[skips.size() - 1 - i], z}, 1));
  }
  return out->forward(z).narrow(2, 0, h).narrow(3, 0, w);
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
