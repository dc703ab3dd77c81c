#include "nets/deblur_net.h"

#include <functional>
#include <set>
#include <sstream>

#include "core/checkpoint.h"
#include "core/error.h"
#include "nets/seed_baselines.h"

namespace unroll {
namespace {

using Outputs = std::vector<torch::Tensor>;

std::string family_list() {
  std::ostringstream os;
  for (const auto& f : DeblurNet::families()) os << (os.tellp() > 0 ? ", " : "") << f;
  return os.str();
}

bool is_convir(const std::string& family) { return family.rfind("convir", 0) == 0; }

ConvIROptions convir_family_options(const std::string& family) {
  if (family == "convir-s") return ConvIROptions::small();
  if (family == "convir-b") return ConvIROptions::base();
  if (family == "convir-l") return ConvIROptions::large();
  ConvIROptions o;  // convir-seed: seed 000's variant
  o.num_res = 6;
  o.use_msm = false;
  return o;
}

// Number of residual blocks in an ATROUS_NET state dict ("blocks.<i>." entries).
int atrous_blocks_in(const StateDict& state) {
  std::set<int> blocks;
  const std::string prefix = "blocks.";
  for (const auto& kv : state) {
    if (kv.first.compare(0, prefix.size(), prefix) != 0) continue;
    try {
      blocks.insert(std::stoi(kv.first.substr(prefix.size())));
    } catch (const std::exception&) {
    }
  }
  return static_cast<int>(blocks.size());
}

// Runs `fn` with gradients off and the module in eval mode, restoring its training flag.
torch::Tensor run_eval(torch::nn::Module& m, const std::function<torch::Tensor()>& fn) {
  torch::NoGradGuard no_grad;
  const bool was_training = m.is_training();
  m.eval();
  torch::Tensor out;
  try {
    out = fn();
  } catch (...) {
    m.train(was_training);
    throw;
  }
  m.train(was_training);
  return out;
}

}  // namespace

const std::vector<std::string>& DeblurNet::families() {
  static const std::vector<std::string> names = {"convir-s", "convir-b", "convir-l", "convir-seed", "atrous",
                                                 "atrous-reds", "kaist", "carlo", "unet-resnet", "unet-ae"};
  return names;
}

DeblurNet DeblurNet::create(const std::string& family, bool zero_init_outputs, int convir_base_channel) {
  UNROLL_CHECK(convir_base_channel == 0 || is_convir(family), "deblur network: a base channel applies to the ConvIR "
               "families, not ", family);
  DeblurNet net;
  net.family_ = family;
  if (family == "convir-s" || family == "convir-b" || family == "convir-l" || family == "convir-seed") {
    ConvIROptions o = convir_family_options(family);
    o.zero_init_outputs = zero_init_outputs;
    if (convir_base_channel != 0) o.base_channel = convir_base_channel;
    net.convir_ = ConvIR(o);
    net.module_ = net.convir_.ptr();
  } else if (family == "atrous") {
    net.module_ = AtrousNet(AtrousNetOptions::cifar10()).ptr();
  } else if (family == "atrous-reds") {
    net.module_ = AtrousNet(AtrousNetOptions::reds()).ptr();
  } else if (family == "kaist") {
    net.module_ = KaistNet(KaistNetOptions{}).ptr();
  } else if (family == "carlo") {
    net.module_ = CarloNet(CarloNetOptions{}).ptr();
  } else if (family == "unet-resnet") {
    net.module_ = UNetResNet().ptr();
  } else if (family == "unet-ae") {
    net.module_ = UNetAutoencoder(UNetAutoencoderOptions{}).ptr();
  } else {
    fail("deblur network: unknown family '", family, "' (", family_list(), ")");
  }
  return net;
}

DeblurNet DeblurNet::load(const std::string& family, const std::string& path) {
  DeblurNet net;
  if (is_convir(family)) {
    // The variant comes from the file; a family that names one must match it.
    ConvIR m = load_convir(path);
    const auto& o = m->options();
    const std::string found = !o.use_msm ? "convir-seed"
                              : o.num_res == 4 ? "convir-s"
                              : o.num_res == 8 ? "convir-b"
                              : o.num_res == 16 ? "convir-l"
                                                : "convir";
    UNROLL_CHECK(family == "convir" || family == found, path, ": a ", found, " checkpoint (num_res ", o.num_res,
                 o.use_msm ? "" : ", no MSM", "), not ", family);
    net.family_ = found;
    net.convir_ = m;
    net.module_ = m.ptr();
    return net;
  }
  const StateDict state = load_state_dict(path);
  if (family == "atrous" || family == "atrous-reds") {
    AtrousNetOptions o = AtrousNetOptions::cifar10();
    o.num_blocks = std::max(1, atrous_blocks_in(state));
    net.family_ = o.num_blocks == AtrousNetOptions::reds().num_blocks ? "atrous-reds" : "atrous";
    net.module_ = AtrousNet(o).ptr();
  } else {
    net = create(family);
  }
  load_into_module(*net.module_, state, true, path + " (" + family + ")");
  net.module_->eval();
  return net;
}

int64_t DeblurNet::parameter_count() const {
  UNROLL_CHECK(defined(), "deblur network: not created");
  return module_parameter_count(*module_);
}

int64_t DeblurNet::size_multiple() const { return convir_ ? convir_size_multiple(convir_->options()) : 1; }

int64_t DeblurNet::min_side() const { return convir_ ? convir_min_side(convir_->options()) : 1; }

int64_t DeblurNet::min_train_batch() const { return convir_ && convir_->options().use_msm ? 2 : 1; }

void DeblurNet::check_size(int64_t h, int64_t w, const std::string& what) const {
  const int64_t m = size_multiple(), s = min_side();
  UNROLL_CHECK(h % m == 0 && w % m == 0 && h >= s && w >= s, what, ": ", family_, " takes sides that are multiples of ",
               m, " and at least ", s, ", got ", h, "x", w);
}

std::vector<torch::Tensor> DeblurNet::outputs(const torch::Tensor& blurred) const {
  UNROLL_CHECK(defined(), "deblur network: not created");
  UNROLL_CHECK(blurred.dim() == 4 && blurred.size(1) == 3, family_, ": input must be [N,3,H,W], got ", blurred.sizes());
  check_size(blurred.size(2), blurred.size(3), family_);
  if (convir_) {
    ConvIR m = convir_;  // the holder is const here; the module is shared
    return m->forward(blurred);
  }
  if (auto m = std::dynamic_pointer_cast<AtrousNetImpl>(module_)) return {m->forward(blurred)};
  if (auto m = std::dynamic_pointer_cast<KaistNetImpl>(module_)) return {m->forward(blurred)};
  if (auto m = std::dynamic_pointer_cast<CarloNetImpl>(module_)) return {m->forward(blurred)};
  if (auto m = std::dynamic_pointer_cast<UNetResNetImpl>(module_)) return {m->forward(blurred)};
  if (auto m = std::dynamic_pointer_cast<UNetAutoencoderImpl>(module_)) return {m->forward(blurred)};
  fail("deblur network: no forward for family '", family_, "'");
}

torch::Tensor DeblurNet::deblur(const torch::Tensor& y) const {
  UNROLL_CHECK(defined(), "deblur network: not created");
  if (convir_) {
    ConvIR m = convir_;
    return convir_deblur(m, y);
  }
  UNROLL_CHECK(y.dim() == 4 && (y.size(1) == 3 || y.size(1) == 1), family_, ": input must be [N,3,H,W] or [N,1,H,W], got ",
               y.sizes());
  if (y.size(1) == 1) {  // grey: run as RGB and average back, as convir_deblur does
    auto rgb = y.expand({y.size(0), 3, y.size(2), y.size(3)}).contiguous();
    return run_eval(*module_, [&] { return outputs(rgb).back().clamp(0, 1).mean(1, true); });
  }
  return run_eval(*module_, [&] { return outputs(y).back().clamp(0, 1); });
}

void DeblurNet::save(const std::string& path) const {
  UNROLL_CHECK(defined(), "deblur network: not created");
  save_state_dict(path, convir_ ? convir_state_dict(convir_) : module_state_dict(*module_));
}

std::string deblur_method_for_family(const std::string& family) {
  if (is_convir(family)) return "convir";
  if (family == "atrous-reds") return "atrous";
  return family;
}

}  // namespace unroll
