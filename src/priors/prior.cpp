#include "priors/prior.h"

#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/error.h"
#include "priors/model_family.h"

namespace unroll {

PriorPtr make_prior(const std::string& name, bool zero_init_outputs) {
  ModelBuild build;
  build.zero_init_outputs = zero_init_outputs;
  return find_model_family(name, ModelRole::Denoiser).make_prior(build);
}

PriorPtr load_prior(const std::string& name, const std::string& path) {
  const ModelFamily& f = find_model_family(name, ModelRole::Denoiser);
  UNROLL_CHECK(f.load_prior, "the ", name, " prior takes no weights (", path, ")");
  return f.load_prior(path);
}

namespace {

const ModelFamily& recognised_family(const StateDict& state, const std::string& prefix) {
  std::vector<std::string> known;
  for (const auto& f : model_families()) {
    if (f.role != ModelRole::Denoiser || f.state_dict_key.empty()) continue;
    for (const auto& kv : state)
      if (kv.first == prefix + f.state_dict_key) return f;
    known.push_back(f.name);
  }
  std::string names;
  for (size_t i = 0; i < known.size(); ++i) names += (i == 0 ? "" : i + 1 == known.size() ? " or " : ", ") + known[i];
  fail("not a prior state dict: no ", names, " entries under '", prefix, "' (", state.size(), " entries)");
}

}  // namespace

std::string prior_family_from_state_dict(const StateDict& state, const std::string& prefix) {
  return recognised_family(state, prefix).name;
}

PriorFactory prior_factory_from_state_dict(const StateDict& state, const std::string& prefix) {
  return recognised_family(state, prefix).factory_from_state_dict(state, prefix);
}

}  // namespace unroll
