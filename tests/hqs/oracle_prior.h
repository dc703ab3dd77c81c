// A test prior that answers every call with the ground truth, in the orientation the x8 transform
// alternation (hqs/pnp.h augment, mode k mod 8 for call k when `alternating`) puts call k's input into;
// it checks the input has that orientation's shape and records the noise levels it was given. A solver
// that transforms correctly and undoes every transform returns the truth exactly.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "hqs/pnp.h"
#include "priors/prior.h"

namespace unroll::test {

class OraclePrior : public Prior {
 public:
  OraclePrior(torch::Tensor truth, bool alternating) : truth_(std::move(truth)), alternating_(alternating) {}
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma) override {
    const int mode = alternating_ ? static_cast<int>(levels.size() % 8) : 0;
    levels.push_back(sigma.item<double>());
    auto t = augment(truth_, mode);
    EXPECT_EQ(t.sizes(), x.sizes()) << "call " << levels.size();
    return t;
  }
  std::string kind() const override { return "oracle"; }
  std::vector<double> levels;  ///< the noise level of every call so far

 private:
  torch::Tensor truth_;
  bool alternating_;
};

}  // namespace unroll::test
