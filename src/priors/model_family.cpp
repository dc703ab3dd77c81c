#include "priors/model_family.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "core/error.h"
#include "nets/convir.h"
#include "nets/seed_baselines.h"
#include "priors/attention_unet.h"
#include "priors/convir_prior.h"
#include "priors/tv_prox.h"

namespace unroll {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::ostringstream os;
  for (const auto& n : names) os << (os.tellp() > 0 ? ", " : "") << n;
  return os.str();
}

// ---- Denoiser rows

ModelFamily denoiser(std::string name, std::string description, std::function<PriorPtr(const ModelBuild&)> make) {
  ModelFamily f;
  f.name = std::move(name);
  f.role = ModelRole::Denoiser;
  f.description = std::move(description);
  f.make_prior = std::move(make);
  // Weights load by name into the family's default configuration.
  f.load_prior = [make = f.make_prior](const std::string& path) {
    PriorPtr prior = make(ModelBuild{});
    load_into_module(*prior, load_state_dict(path), /*strict=*/true, path);
    prior->eval();
    return prior;
  };
  return f;
}

// A fixed ResUNet configuration (official DRUNet / USRNet priors, fixtures): weights load into it.
ModelFamily resunet_preset(std::string name, std::string description, ResUNetOptions options) {
  return denoiser(std::move(name), std::move(description),
                  [options](const ModelBuild&) { return PriorPtr(std::make_shared<ResUNet>(options)); });
}

// ---- Deblur rows

constexpr const char* kConvIR = "convir";
constexpr const char* kAtrous = "atrous";

ConvIROptions convir_seed_options() {  // seed 000's variant: the MSM removed, six blocks per stage
  ConvIROptions o;
  o.num_res = 6;
  o.use_msm = false;
  return o;
}

// The ConvIR families, one preset each. A checkpoint carries its variant (nets/convir.h load_convir reads
// it); the file's family is the preset with its MSM setting and depth -- without the MSM, any depth
// counts as the seed variant -- and "convir" when none matches.
struct ConvIRVariant {
  const char* family;
  ConvIROptions options;
  const char* description;
};
const std::vector<ConvIRVariant>& convir_variants() {
  static const std::vector<ConvIRVariant> variants = {
      {"convir-s", ConvIROptions::small(), "ConvIR-S (nets/convir.h): num_res 4 with the MSM, 5.5 M parameters"},
      {"convir-b", ConvIROptions::base(), "ConvIR-B: num_res 8 with the MSM, 8.6 M parameters"},
      {"convir-l", ConvIROptions::large(), "ConvIR-L: num_res 16 with the MSM, 14.8 M parameters"},
      {"convir-seed", convir_seed_options(), "seed 000's ConvIR: num_res 6, MSM removed"},
  };
  return variants;
}

std::string convir_family_of(const ConvIROptions& o) {
  for (const auto& v : convir_variants()) {
    if (v.options.use_msm == o.use_msm && (!o.use_msm || v.options.num_res == o.num_res)) return v.family;
  }
  return kConvIR;
}

ModelFamily convir_family(const ConvIRVariant& v) {
  ModelFamily f;
  f.name = v.family;
  f.role = ModelRole::Deblur;
  f.description = v.description;
  f.trainable = true;
  f.reads_zero_init_outputs = f.reads_base_channel = true;
  f.architecture = kConvIR;
  f.size_multiple = convir_size_multiple(v.options);
  f.min_side = convir_min_side(v.options);
  f.make_net = [name = f.name, preset = v.options](const ModelBuild& b) {
    ConvIROptions o = preset;
    o.zero_init_outputs = b.zero_init_outputs;
    if (b.base_channel != 0) o.base_channel = b.base_channel;
    return DeblurNet(name, ConvIR(o));
  };
  f.load_net = [](const std::string& requested, const std::string& path) {
    ConvIR m = load_convir(path);  // the variant and width come from the file
    const auto& o = m->options();
    const std::string found = convir_family_of(o);
    UNROLL_CHECK(requested == kConvIR || requested == found, path, ": a ", found, " checkpoint (num_res ", o.num_res,
                 o.use_msm ? "" : ", no MSM", "), not ", requested);
    return DeblurNet(found, m);
  };
  return f;
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

// ATROUS_NET for CIFAR-10 (5 blocks) and REDS (10): one network whose depth a checkpoint carries, so
// either name loads either file.
ModelFamily atrous_family(const char* name, AtrousNetOptions preset, const char* description) {
  ModelFamily f;
  f.name = name;
  f.role = ModelRole::Deblur;
  f.description = description;
  f.trainable = true;
  f.architecture = kAtrous;
  f.make_net = [name, preset](const ModelBuild&) { return DeblurNet::wrap(name, AtrousNet(preset)); };
  f.load_net = [](const std::string& requested, const std::string& path) {
    const StateDict state = load_state_dict(path);
    AtrousNetOptions o = AtrousNetOptions::cifar10();
    o.num_blocks = std::max(1, atrous_blocks_in(state));
    DeblurNet net =
        DeblurNet::wrap(o.num_blocks == AtrousNetOptions::reds().num_blocks ? "atrous-reds" : "atrous", AtrousNet(o));
    load_into_module(*net.module(), state, /*strict=*/true, path + " (" + requested + ")");
    net.module()->eval();
    return net;
  };
  return f;
}

// A one-output network of fixed architecture, its own architecture: weights load by name.
template <class Holder>
ModelFamily fixed_net(const char* name, const char* description, std::function<Holder()> make) {
  ModelFamily f;
  f.name = name;
  f.role = ModelRole::Deblur;
  f.description = description;
  f.trainable = true;
  f.architecture = name;
  f.make_net = [name, make](const ModelBuild&) { return DeblurNet::wrap(name, make()); };
  f.load_net = [make_net = f.make_net](const std::string& requested, const std::string& path) {
    const StateDict state = load_state_dict(path);
    DeblurNet net = make_net(ModelBuild{});
    load_into_module(*net.module(), state, /*strict=*/true, path + " (" + requested + ")");
    net.module()->eval();
    return net;
  };
  return f;
}

std::vector<ModelFamily> build_table() {
  std::vector<ModelFamily> t;
  // ---- Denoisers (priors/prior.h), for pnp and the unrolled network's prior slot.
  ModelFamily tv = denoiser("tv", "total-variation proximal step (priors/tv_prox.h), any channel count, no weights",
                            [](const ModelBuild&) { return PriorPtr(std::make_shared<TvPrior>()); });
  tv.load_prior = nullptr;
  t.push_back(tv);

  ModelFamily resunet = denoiser(
      "resunet", "USRNet / DRUNet ResUNet with a noise-level map (priors/resunet.h), widths from model.nc, model.nb",
      [](const ModelBuild& b) {
        auto prior = std::make_shared<ResUNet>(b.resunet);
        if (b.resunet.global_residual) prior->zero_init_tail();  // the untrained network is the identity
        return PriorPtr(prior);
      });
  resunet.trainable = resunet.reads_resunet = true;
  resunet.load_prior = [](const std::string& path) {  // any widths: the architecture comes from the file
    PriorPtr prior = load_resunet(path, ResUNetPadding::Replicate);
    prior->eval();
    return prior;
  };
  resunet.state_dict_key = "m_down1.0.res.0.weight";
  resunet.factory_from_state_dict = [](const StateDict& state, const std::string& prefix) {
    const auto o = resunet_options_from_state_dict(state, prefix);
    return PriorFactory([o] { return PriorPtr(std::make_shared<ResUNet>(o)); });
  };
  t.push_back(resunet);

  t.push_back(resunet_preset("drunet-color", "the official DRUNet, colour", ResUNetOptions::drunet(3)));
  t.push_back(resunet_preset("drunet-gray", "the official DRUNet, grey", ResUNetOptions::drunet(1)));
  t.push_back(resunet_preset("drunet-small", "the drunet_small fixture configuration", ResUNetOptions::drunet_small()));
  t.push_back(resunet_preset("usrnet-prior", "USRNet's ResUNet prior, colour", ResUNetOptions::usrnet()));
  t.push_back(
      resunet_preset("usrnet-tiny-prior", "USRNet-tiny's ResUNet prior, colour", ResUNetOptions::usrnet_tiny()));

  ModelFamily attention = denoiser("attention-unet", "attention U-Net (priors/attention_unet.h), default options",
                                   [](const ModelBuild&) { return PriorPtr(std::make_shared<AttentionUNet>()); });
  attention.trainable = true;
  attention.state_dict_key = "m_body.0.conv1.weight";
  attention.factory_from_state_dict = [](const StateDict& state, const std::string& prefix) {
    const auto o = attention_unet_options_from_state_dict(state, prefix);
    return PriorFactory([o] { return PriorPtr(std::make_shared<AttentionUNet>(o)); });
  };
  t.push_back(attention);

  ModelFamily convir_prior = denoiser("convir-s", "ConvIR-S behind a noise-level adapter (priors/convir_prior.h), RGB",
                                      [](const ModelBuild& b) {
                                        ConvIRPriorOptions o;
                                        o.net = ConvIROptions::small();
                                        o.net.zero_init_outputs = b.zero_init_outputs;
                                        return PriorPtr(std::make_shared<ConvIRPrior>(o));
                                      });
  convir_prior.trainable = convir_prior.reads_zero_init_outputs = true;
  convir_prior.state_dict_key = "adapter.weight";
  convir_prior.factory_from_state_dict = [](const StateDict& state, const std::string& prefix) {
    const auto o = convir_prior_options_from_state_dict(state, prefix);  // any ConvIR variant inside
    return PriorFactory([o] { return PriorPtr(std::make_shared<ConvIRPrior>(o)); });
  };
  t.push_back(convir_prior);

  // ---- End-to-end blind networks (nets/deblur_net.h).
  for (const auto& v : convir_variants()) t.push_back(convir_family(v));
  t.push_back(atrous_family("atrous", AtrousNetOptions::cifar10(),
                            "ATROUS_NET (seed 001; nets/seed_baselines.h) with 5 residual blocks (CIFAR-10)"));
  t.push_back(atrous_family("atrous-reds", AtrousNetOptions::reds(), "ATROUS_NET with 10 residual blocks (REDS)"));
  t.push_back(fixed_net<KaistNet>("kaist",
                                  "KAIST_NET (seed 001): U-Net with back-projection blocks and adaptive kernels",
                                  [] { return KaistNet(KaistNetOptions{}); }));
  t.push_back(fixed_net<CarloNet>("carlo", "CARLO_NET (seed 001): RED-Net style auto-encoder with symmetric skips",
                                  [] { return CarloNet(CarloNetOptions{}); }));
  t.push_back(
      fixed_net<UNetResNet>("unet-resnet", "U-Net with residual blocks (seed 002)", [] { return UNetResNet(); }));
  t.push_back(fixed_net<UNetAutoencoder>("unet-ae", "U-Net auto-encoder for 32x32 CIFAR-10 (seed 003)",
                                         [] { return UNetAutoencoder(UNetAutoencoderOptions{}); }));
  return t;
}

}  // namespace

const char* to_string(ModelRole role) { return role == ModelRole::Denoiser ? "denoiser" : "deblur"; }

const std::vector<ModelFamily>& model_families() {
  static const std::vector<ModelFamily> table = build_table();
  return table;
}

const ModelFamily* lookup_model_family(const std::string& name, ModelRole role) {
  for (const auto& f : model_families()) {
    if (f.role == role && f.name == name) return &f;
  }
  return nullptr;
}

const ModelFamily& find_model_family(const std::string& name, ModelRole role) {
  if (const ModelFamily* f = lookup_model_family(name, role)) return *f;
  const std::string known = join(model_family_names(role));
  if (role == ModelRole::Denoiser) fail("unknown prior '", name, "'; known: ", known);
  fail("deblur network: unknown family '", name, "' (", known, ")");
}

std::vector<std::string> model_family_names(ModelRole role, bool trainable_only) {
  std::vector<std::string> names;
  for (const auto& f : model_families()) {
    if (f.role == role && (f.trainable || !trainable_only)) names.push_back(f.name);
  }
  return names;
}

DeblurNet make_deblur_net(const std::string& family, const ModelBuild& build) {
  const ModelFamily& f = find_model_family(family, ModelRole::Deblur);
  UNROLL_CHECK(build.base_channel == 0 || f.reads_base_channel,
               "deblur network: a base channel applies to the ConvIR "
               "families, not ",
               family);
  return f.make_net(build);
}

DeblurNet load_deblur_net(const std::string& name, const std::string& path) {
  const ModelFamily* f = lookup_model_family(name, ModelRole::Deblur);
  for (const auto& row : model_families()) {
    if (!f && row.role == ModelRole::Deblur && row.architecture == name) f = &row;
  }
  if (!f) f = &find_model_family(name, ModelRole::Deblur);  // throws, listing the families
  return f->load_net(name, path);
}

}  // namespace unroll
