#include "priors/prior.h"

#include "core/checkpoint.h"
#include "core/error.h"
#include "priors/convir_prior.h"
#include "priors/attention_unet.h"
#include "priors/resunet.h"
#include "priors/tv_prox.h"

namespace unroll {

PriorPtr make_prior(const std::string& name, bool zero_init_outputs) {
  if (name == "tv") return std::make_shared<TvPrior>();
  if (name == "drunet-color") return std::make_shared<ResUNet>(ResUNetOptions::drunet(3));
  if (name == "drunet-gray") return std::make_shared<ResUNet>(ResUNetOptions::drunet(1));
  if (name == "drunet-small") return std::make_shared<ResUNet>(ResUNetOptions::drunet_small());
  if (name == "usrnet-prior") return std::make_shared<ResUNet>(ResUNetOptions::usrnet());
  if (name == "usrnet-tiny-prior") return std::make_shared<ResUNet>(ResUNetOptions::usrnet_tiny());
  if (name == "attention-unet") return std::make_shared<AttentionUNet>();
  if (name == "convir-s") {
    ConvIRPriorOptions o;
    o.net = ConvIROptions::small();
    o.net.zero_init_outputs = zero_init_outputs;
    return std::make_shared<ConvIRPrior>(o);
  }
  fail("unknown prior '", name,
       "'; known: tv, drunet-color, drunet-gray, drunet-small, usrnet-prior, usrnet-tiny-prior, attention-unet, "
       "convir-s");
}

PriorPtr load_prior(const std::string& name, const std::string& path) {
  auto prior = make_prior(name);
  load_into_module(*prior, load_state_dict(path), /*strict=*/true, path);
  prior->eval();
  return prior;
}

std::string prior_family_from_state_dict(const StateDict& state, const std::string& prefix) {
  auto has = [&](const std::string& key) {
    for (const auto& kv : state)
      if (kv.first == prefix + key) return true;
    return false;
  };
  if (has("m_down1.0.res.0.weight")) return "resunet";
  if (has("adapter.weight")) return "convir";
  if (has("m_body.0.conv1.weight")) return "attention-unet";
  fail("not a prior state dict: no ResUNet, ConvIR-prior or AttentionUNet entries under '", prefix, "' (",
       state.size(), " entries)");
}

PriorFactory prior_factory_from_state_dict(const StateDict& state, const std::string& prefix) {
  const std::string family = prior_family_from_state_dict(state, prefix);
  if (family == "resunet") {
    const auto o = resunet_options_from_state_dict(state, prefix);
    return [o] { return PriorPtr(std::make_shared<ResUNet>(o)); };
  }
  if (family == "convir") {
    const auto o = convir_prior_options_from_state_dict(state, prefix);
    return [o] { return PriorPtr(std::make_shared<ConvIRPrior>(o)); };
  }
  const auto o = attention_unet_options_from_state_dict(state, prefix);
  return [o] { return PriorPtr(std::make_shared<AttentionUNet>(o)); };
}

}  // namespace unroll
