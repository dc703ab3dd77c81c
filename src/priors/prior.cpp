#include "priors/prior.h"

#include "core/error.h"
#include "priors/attention_unet.h"
#include "priors/resunet.h"
#include "priors/tv_prox.h"

namespace unroll {

PriorPtr make_prior(const std::string& name) {
  if (name == "tv") return std::make_shared<TvPrior>();
  if (name == "drunet-color") return std::make_shared<ResUNet>(ResUNetOptions::drunet(3));
  if (name == "drunet-gray") return std::make_shared<ResUNet>(ResUNetOptions::drunet(1));
  if (name == "drunet-small") return std::make_shared<ResUNet>(ResUNetOptions::drunet_small());
  if (name == "usrnet-prior") return std::make_shared<ResUNet>(ResUNetOptions::usrnet());
  if (name == "usrnet-tiny-prior") return std::make_shared<ResUNet>(ResUNetOptions::usrnet_tiny());
  if (name == "attention-unet") return std::make_shared<AttentionUNet>();
  fail("unknown prior '", name,
       "'; known: tv, drunet-color, drunet-gray, drunet-small, usrnet-prior, usrnet-tiny-prior, attention-unet");
}

}  // namespace unroll
