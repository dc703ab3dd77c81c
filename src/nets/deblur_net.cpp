#include "nets/deblur_net.h"

#include <functional>
#include <utility>

#include "core/checkpoint.h"
#include "core/unroll_format.h"
#include "core/error.h"

namespace unroll {
namespace {

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

DeblurNet::DeblurNet(std::string family, ConvIR net)
    : family_(std::move(family)), module_(net.ptr()), convir_(std::move(net)) {
  UNROLL_CHECK(convir_, "deblur network: no ConvIR given for ", family_);
}

DeblurNet::DeblurNet(std::string family, std::shared_ptr<torch::nn::Module> module, Forward forward)
    : family_(std::move(family)), module_(std::move(module)), forward_(std::move(forward)) {
  UNROLL_CHECK(module_ != nullptr && forward_, "deblur network: no module or forward pass given for ", family_);
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
  return {forward_(blurred)};
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
  save_state_dict(path, with_unroll_marker(convir_ ? convir_state_dict(convir_) : module_state_dict(*module_)));
}

}  // namespace unroll
