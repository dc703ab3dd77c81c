#include "hqs/hyper_net.h"

#include "core/error.h"

namespace unroll {

void HyperNetOptions::validate() const {
  UNROLL_CHECK(in_nc >= 1, "hyper net: in_nc must be >= 1, got ", in_nc);
  UNROLL_CHECK(out_nc >= 1, "hyper net: out_nc must be >= 1, got ", out_nc);
  UNROLL_CHECK(channels >= 1, "hyper net: channels must be >= 1, got ", channels);
}

HyperNetImpl::HyperNetImpl(const HyperNetOptions& options) : options_(options) {
  options_.validate();
  auto conv1x1 = [](int64_t in, int64_t out) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).padding(0).bias(true));
  };
  mlp = torch::nn::Sequential(conv1x1(options_.in_nc, options_.channels), torch::nn::ReLU(),
                              conv1x1(options_.channels, options_.channels), torch::nn::ReLU(),
                              conv1x1(options_.channels, options_.out_nc), torch::nn::Softplus());
  register_module("mlp", mlp);
}

torch::Tensor HyperNetImpl::forward(const torch::Tensor& x) {
  UNROLL_CHECK(x.dim() == 4 && x.size(1) == options_.in_nc, "hyper net: input must be [N,", options_.in_nc,
               ",1,1], got ", x.sizes());
  return mlp->forward(x) + 1e-6;
}

}  // namespace unroll
