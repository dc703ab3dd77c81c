#include "priors/widen.h"

#include <map>
#include <vector>

#include "core/error.h"
#include "priors/up_conv.h"

namespace unroll {
namespace {

using torch::indexing::Slice;

/// The dimension of a module's weight that holds the input channels: 1 for [out, in, ...] layers, 0
/// for transposed convolutions ([in, out, ...]), -1 for layers whose parameters must keep their shapes.
int input_dim(const torch::nn::Module& m) {
  if (dynamic_cast<const torch::nn::Conv2dImpl*>(&m) || dynamic_cast<const torch::nn::LinearImpl*>(&m)) return 1;
  if (dynamic_cast<const torch::nn::ConvTranspose2dImpl*>(&m) || dynamic_cast<const UpConv2x2Impl*>(&m)) return 0;
  return -1;
}

std::vector<at::indexing::TensorIndex> leading_block(const torch::Tensor& t) {
  std::vector<at::indexing::TensorIndex> index;
  for (int64_t d = 0; d < t.dim(); ++d) index.emplace_back(Slice(0, t.size(d)));
  return index;
}

void embed_tensor(torch::Tensor& wide, const torch::Tensor& narrow, int in_dim, const std::string& name,
                  const std::string& what) {
  bool fits = wide.dim() == narrow.dim();
  bool equal = fits;
  for (int64_t d = 0; fits && d < wide.dim(); ++d) {
    fits = narrow.size(d) <= wide.size(d);
    equal = equal && narrow.size(d) == wide.size(d);
  }
  UNROLL_CHECK(fits, what, ": '", name, "' is ", narrow.sizes(), " in the narrow network, ", wide.sizes(),
               " in the wide one: not wider in every dimension");
  UNROLL_CHECK(equal || in_dim >= 0, what, ": '", name, "' (", narrow.sizes(), " -> ", wide.sizes(),
               ") belongs to a layer that cannot be widened (only convolutions and linear layers can)");
  wide.index(leading_block(narrow)).copy_(narrow);
  if (in_dim < 0 || wide.dim() < 2 || wide.size(in_dim) == narrow.size(in_dim)) return;
  // Extra inputs into the original outputs: zero, so the original channels see only original ones.
  const int out_dim = 1 - in_dim;
  std::vector<at::indexing::TensorIndex> index(wide.dim(), Slice());
  index[out_dim] = Slice(0, narrow.size(out_dim));
  index[in_dim] = Slice(narrow.size(in_dim), torch::indexing::None);
  wide.index(index).zero_();
}

}  // namespace

void embed_narrower(torch::nn::Module& wide, const torch::nn::Module& narrow, const std::string& what) {
  torch::NoGradGuard no_grad;
  // One module's own parameters and buffers (children are visited on their own).
  auto embed_module = [&](const std::string& key, torch::nn::Module& to, const torch::nn::Module& from) {
    auto embed_all = [&](torch::OrderedDict<std::string, torch::Tensor> to_entries,
                         const torch::OrderedDict<std::string, torch::Tensor>& from_entries, int in_dim) {
      UNROLL_CHECK(to_entries.size() == from_entries.size(), what, ": module '", key,
                   "' has different entries in the two networks");
      for (auto& entry : to_entries) {
        const std::string name = key.empty() ? entry.key() : key + "." + entry.key();
        const torch::Tensor* source = from_entries.find(entry.key());
        UNROLL_CHECK(source != nullptr, what, ": the narrow network has no '", name, "'");
        embed_tensor(entry.value(), *source, in_dim, name, what);
      }
    };
    embed_all(to.named_parameters(/*recurse=*/false), from.named_parameters(/*recurse=*/false), input_dim(to));
    embed_all(to.named_buffers(/*recurse=*/false), from.named_buffers(/*recurse=*/false), -1);
  };
  std::map<std::string, std::shared_ptr<torch::nn::Module>> narrow_modules;
  for (const auto& item : narrow.named_modules("", /*include_self=*/false)) narrow_modules.emplace(item.key(), item.value());
  const auto wide_modules = wide.named_modules("", /*include_self=*/false);
  UNROLL_CHECK(wide_modules.size() == narrow_modules.size(), what, ": the networks have ", narrow_modules.size(),
               " and ", wide_modules.size(), " modules (not the same topology)");
  embed_module("", wide, narrow);
  for (const auto& item : wide_modules) {
    auto it = narrow_modules.find(item.key());
    UNROLL_CHECK(it != narrow_modules.end(), what, ": the narrow network has no module '", item.key(), "'");
    embed_module(item.key(), *item.value(), *it->second);
  }
}

}  // namespace unroll
