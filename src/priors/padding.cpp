#include "priors/padding.h"

namespace unroll {

torch::Tensor pad_to_multiple(const torch::Tensor& x, int64_t m) {
  namespace F = torch::nn::functional;
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t pb = (m - h % m) % m, pr = (m - w % m) % m;
  if (pb == 0 && pr == 0) return x;
  return F::pad(x, F::PadFuncOptions({0, pr, 0, pb}).mode(torch::kReplicate));
}

}  // namespace unroll
