// The one table of model families: every model Unroll builds by name, with what it is for, how it is
// built and loaded, and which sizes it takes. A new family is one row in model_family.cpp; make_prior /
// load_prior (priors/prior.h), the training config (train/train_config.h: model.family, which model.*
// keys apply, its help text) and the method registry (eval/methods.h: the prior names of pnp, one blind
// method per architecture) all read it.
//
// Two roles, one table:
//   Denoiser  a Prior (priors/prior.h) conditioned on the noise level: plug-and-play HQS (hqs/pnp.h) and
//             the prior slot of the unrolled network (hqs/unrolled_net.h)
//   Deblur    an end-to-end blind deblurring network behind nets/deblur_net.h
// A name means one model per role: "convir-s" is both ConvIR-S wrapped as a prior (priors/convir_prior.h)
// and ConvIR-S as a blind network, so rows are found by (name, role).
//
// Why here: priors/ is the lowest floor that sees both kinds of model (nets/ <- priors/), so one table
// can hold both and nothing below needs to know a name. The table speaks the model floor's vocabulary
// only: it names no training task and no evaluation method. The training config maps its tasks onto
// roles (denoiser and unrolled train Denoiser families, deblur trains Deblur families) and the method
// registry maps architectures onto its blind methods (eval/methods.h method_for_family).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "nets/deblur_net.h"
#include "priors/prior.h"
#include "priors/resunet.h"

namespace unroll {

enum class ModelRole {
  Denoiser,  ///< a Prior: pnp and the unrolled network's prior
  Deblur,    ///< an end-to-end blind network (DeblurNet)
};

/// "denoiser" | "deblur".
const char* to_string(ModelRole role);

/// What a constructor may be told besides the family's name. A row reads only the fields it declares
/// (ModelFamily::reads_*); the training config refuses the keys of the others.
struct ModelBuild {
  /// ConvIR families: ConvIROptions::zero_init_outputs (true: the output convolutions start at zero, the
  /// untrained network returns its input; false: the official initialisation, as before 2026-12-02).
  bool zero_init_outputs = true;
  /// Deblur ConvIR families: ConvIROptions::base_channel, 0 = the family's (32, as every official
  /// checkpoint). A narrower network keeps the topology and names, so its checkpoints load back.
  int64_t base_channel = 0;
  /// resunet: the architecture (model.nc, model.nb, model.global_residual; a global residual starts with
  /// a zero tail, ResUNet::zero_init_tail).
  ResUNetOptions resunet;
};

struct ModelFamily {
  std::string name;
  ModelRole role = ModelRole::Denoiser;
  std::string description;  ///< one line
  /// `unroll train` may train it (model.family); the others are fixed configurations to load weights into.
  bool trainable = false;
  /// The ModelBuild fields the constructor reads.
  bool reads_resunet = false, reads_zero_init_outputs = false, reads_base_channel = false;

  // ---- Denoiser rows
  std::function<PriorPtr(const ModelBuild&)> make_prior;  ///< untrained (torch's global RNG: seed it first)
  /// A prior with the weights of `path` in eval() mode; errors name the file. Empty: the prior takes no
  /// weights (tv).
  std::function<PriorPtr(const std::string& path)> load_prior;
  /// An entry name that only this family's state dicts hold (after the prefix), by which a checkpoint's
  /// prior is recognised (prior_family_from_state_dict); "" = not recognised from weights.
  std::string state_dict_key;
  /// The architecture stored under `prefix` (options read from the weights), as a builder of untrained
  /// instances; set together with state_dict_key.
  std::function<PriorFactory(const StateDict&, const std::string& prefix)> factory_from_state_dict;

  // ---- Deblur rows
  /// Rows of one architecture load each other's checkpoints: the file says which variant it holds
  /// ("convir": ConvIR-S/B/L and the seed variant; "atrous": 5 or 10 blocks). load_deblur_net accepts
  /// the architecture's name for "whichever variant the file holds".
  std::string architecture;
  /// Input sides the network takes at its default width: multiples of size_multiple, at least min_side
  /// (DeblurNet::size_multiple / min_side; DeblurNet::deblur pads any size to them).
  int64_t size_multiple = 1, min_side = 1;
  std::function<DeblurNet(const ModelBuild&)> make_net;  ///< untrained (torch's global RNG: seed it first)
  /// The network of `path`, strictly, eval mode, CPU, named after the family the file holds;
  /// `requested` is the name load_deblur_net was given (this family or its architecture).
  std::function<DeblurNet(const std::string& requested, const std::string& path)> load_net;
};

/// Every row: the Denoiser families, then the Deblur families, each in display order.
const std::vector<ModelFamily>& model_families();

/// The row `name` of `role`, or nullptr.
const ModelFamily* lookup_model_family(const std::string& name, ModelRole role);

/// The row `name` of `role`; throws unroll::Error listing that role's names otherwise ("unknown prior
/// 'x'; known: ..." / "deblur network: unknown family 'x' (...)").
const ModelFamily& find_model_family(const std::string& name, ModelRole role);

/// The names of `role`, in table order; only the trainable ones when `trainable_only`.
std::vector<std::string> model_family_names(ModelRole role, bool trainable_only = false);

/// A freshly initialised network of Deblur family `family` (find_model_family's error otherwise; a
/// ModelBuild field the family does not read must keep its default).
DeblurNet make_deblur_net(const std::string& family, const ModelBuild& build = {});

/// The network of `path`, strictly: `name` is a Deblur family or an architecture (any of its variants,
/// the one the file holds). A checkpoint of another architecture or size fails naming the first
/// mismatching entry; a ConvIR checkpoint of another variant than a named ConvIR family fails naming
/// both. For atrous* the number of blocks is read from the file whichever of the two is named. Eval
/// mode, CPU.
DeblurNet load_deblur_net(const std::string& name, const std::string& path);

}  // namespace unroll
