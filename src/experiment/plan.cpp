#include "experiment/plan.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>

#include "core/boundary.h"
#include "core/error.h"
#include "core/ini.h"
#include "core/tensor.h"
#include "eval/methods.h"
#include "eval/protocol.h"
#include "train/train_config_ini.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

// ---- the experiment's own keys -------------------------------------------------------------------------

struct ExperimentKeys {
  std::string name, description, size, out, methods, params, weights, prior, metric, boundary,
                                                                                     device = "cpu";
  std::vector<std::string> test;
  double noise = 2.55;
  int64_t limit = 0, grids = 3;
  bool save_images = false;
};

/// Calls `visit(key, field)` for every key of the experiment itself (the training keys are
/// visit_train_config's). data.test is the one multi-valued key.
template <class Visit>
void visit_experiment_keys(ExperimentKeys& k, Visit&& visit) {
  visit("experiment.name", k.name);
  visit("experiment.description", k.description);
  visit("experiment.size", k.size);
  visit("experiment.out", k.out);
  visit("data.test", k.test);
  visit("data.noise", k.noise);
  visit("eval.methods", k.methods);
  visit("eval.params", k.params);
  visit("eval.weights", k.weights);
  visit("eval.prior", k.prior);
  visit("eval.metric", k.metric);
  visit("eval.limit", k.limit);
  visit("eval.grids", k.grids);
  visit("eval.boundary", k.boundary);
  visit("eval.device", k.device);
  visit("eval.save_images", k.save_images);
}

/// Sets experiment key `key` from `e` (data.test appends); false when `key` is not an experiment key.
bool set_experiment_value(ExperimentKeys& k, const std::string& key, const IniEntry& e) {
  bool found = false;
  visit_experiment_keys(k, [&](const char* name, auto& field) {
    if (found || key != name) return;
    found = true;
    if constexpr (std::is_same_v<std::decay_t<decltype(field)>, std::vector<std::string>>) {
      field.push_back(e.value);
    } else {
      parse_ini_value(e, field);
    }
  });
  return found;
}

bool is_experiment_key(const std::string& key) {
  ExperimentKeys scratch;
  bool found = false;
  visit_experiment_keys(scratch, [&](const char* name, auto&) { found = found || key == name; });
  return found;
}

/// experiment.name is both the experiment's name and (for a variant's config) a training key; in the
/// layers it is the experiment's.
bool is_training_key(const std::string& key) { return key != "experiment.name" && is_train_config_key(key); }

const std::set<std::string> kVariantKeys = {"label", "method", "params", "weights", "prior", "task"};

// ---- entries and layers --------------------------------------------------------------------------------

/// An entry of the file and the key it sets within its layer ("model.iterations" of
/// "variant.K1.model.iterations"); messages name the entry's full key.
struct Setting {
  std::string key;
  IniEntry entry;
};

using Layer = std::vector<Setting>;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

/// The items of a comma-separated list, trimmed; empty items dropped.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

/// ${VAR} -> the environment's value.
std::string expand(const IniEntry& e) {
  const std::string& value = e.value;
  std::string out;
  for (size_t i = 0; i < value.size();) {
    if (value.compare(i, 2, "${") == 0) {
      const auto end = value.find('}', i);
      UNROLL_CHECK(end != std::string::npos, e.where(), ": unterminated ${ in '", value, "'");
      const std::string var = value.substr(i + 2, end - i - 2);
      const char* v = std::getenv(var.c_str());
      UNROLL_CHECK(v && *v, e.where(), ": uses ${", var, "}, which is not set (export ", var,
                   "=... first; the config's comments say what it must point to)");
      out += v;
      i = end + 1;
    } else {
      out += value[i++];
    }
  }
  return out;
}

/// Checks that `e` is a valid value of training key `key` (converting it into a scratch config).
void check_training_value(const std::string& key, const IniEntry& e) {
  TrainConfig scratch;
  set_train_config_value(scratch, key, e);
}

void check_no_duplicates(const Layer& layer) {
  std::map<std::string, int> first;
  for (const auto& s : layer) {
    if (s.key == "data.test") continue;  // multi-valued
    auto [it, inserted] = first.emplace(s.key, s.entry.line);
    UNROLL_CHECK(inserted, s.entry.where(), " is already set on line ", it->second);
  }
}

/// The settings of `layer` that are training keys (`training` true) or experiment keys (false).
Layer only(const Layer& layer, bool training) {
  Layer out;
  for (const auto& s : layer)
    if (is_training_key(s.key) == training) out.push_back(s);
  return out;
}

/// The experiment keys of the layers applied in order; data.test takes the values of the last layer
/// that sets it.
ExperimentKeys experiment_keys(const std::vector<Layer>& layers) {
  ExperimentKeys k;
  for (const auto& layer : layers) {
    bool test_seen = false;
    for (const auto& s : layer) {
      if (s.key == "data.test" && !test_seen) {
        k.test.clear();
        test_seen = true;
      }
      set_experiment_value(k, s.key, s.entry);
    }
  }
  return k;
}

// ---- methods -------------------------------------------------------------------------------------------

MethodParams parse_params(const std::string& text, const std::string& method_prefix, const std::string& what) {
  MethodParams p;
  for (const auto& item : split_list(text)) {
    const auto eq = item.find('=');
    UNROLL_CHECK(eq != std::string::npos && eq > 0, what, ": expected key=value, got '", item, "'");
    std::string key = trim(item.substr(0, eq));
    if (!method_prefix.empty()) {
      UNROLL_CHECK(key.rfind(method_prefix + ".", 0) == 0, what, ": '", item, "' is not a parameter of ",
                   method_prefix);
      key = key.substr(method_prefix.size() + 1);
    }
    size_t used = 0;
    double v = 0;
    const std::string value = trim(item.substr(eq + 1));
    try {
      v = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    UNROLL_CHECK(used == value.size() && !value.empty(), what, ": '", item, "': not a number");
    p[key] = v;
  }
  return p;
}

/// The registry's check (names, types, ranges), naming the config and the method.
void check_params(const std::string& method, const MethodParams& params, const std::string& what) {
  check_method_params(find_method(method), params, what + ": " + method);
}

/// The baselines of eval.methods with their eval.params, eval.weights and eval.prior.
std::vector<EvalMethod> baselines(const ExperimentKeys& k, const std::string& path) {
  std::map<std::string, std::string> weights;
  for (const auto& w : split_list(k.weights)) {
    const auto eq = w.find('=');
    UNROLL_CHECK(eq != std::string::npos && eq > 0, path, ": eval.weights expects method=FILE,..., got '", w, "'");
    weights[trim(w.substr(0, eq))] = trim(w.substr(eq + 1));
  }
  std::map<std::string, MethodParams> params;
  for (const auto& item : split_list(k.params)) {
    const auto dot = item.find('.');
    UNROLL_CHECK(dot != std::string::npos, path, ": eval.params expects method.key=value,..., got '", item, "'");
    const std::string m = trim(item.substr(0, dot));
    for (const auto& [pk, pv] : parse_params(item, m, path + ": eval.params")) params[m][pk] = pv;
  }
  std::vector<EvalMethod> out;
  for (const auto& m : split_list(k.methods)) {
    EvalMethod em;
    em.method = find_method(m).name;
    em.label = m;
    em.params = params[m];
    em.weights = weights.count(m) ? weights[m] : "";
    em.prior = m == "pnp" ? k.prior : "";
    check_params(em.method, em.params, path + ": eval.params");
    out.push_back(em);
  }
  auto listed = [&](const std::string& m) {
    return std::any_of(out.begin(), out.end(), [&](const EvalMethod& b) { return b.method == m; });
  };
  for (const auto& [m, _] : params)
    UNROLL_CHECK(listed(m), path, ": eval.params names '", m, "', which is not in eval.methods");
  for (const auto& [m, _] : weights)
    UNROLL_CHECK(listed(m), path, ": eval.weights names '", m, "', which is not in eval.methods");
  return out;
}

}  // namespace

ExperimentPlan plan_experiment(const std::string& path, const std::string& size_flag, const std::string& out_flag) {
  std::vector<IniEntry> entries = read_ini_file(path);

  // Classify and check every entry, in file order: base keys, [size.*] overrides, [variant.*] keys.
  Layer base;
  std::map<std::string, Layer> size_layers;
  std::map<std::string, std::map<std::string, Layer>> size_variant_layers;  // size -> variant -> keys
  std::vector<std::string> variant_order;
  std::map<std::string, Layer> variant_layers;
  ExperimentKeys scratch;
  auto check_plain = [&](const std::string& key, const IniEntry& e) {
    UNROLL_CHECK(key != "train.out", e.where(),
                 ": the experiment chooses each variant's checkpoint folder (<out>/<variant>); remove train.out");
    if (is_experiment_key(key)) {
      set_experiment_value(scratch, key, e);
    } else if (is_train_config_key(key)) {
      check_training_value(key, e);
    } else {
      fail(e.where(), ": unknown key");
    }
  };
  for (IniEntry& e : entries) {
    e.value = expand(e);
    if (e.key.rfind("variant.", 0) == 0) {
      const auto dot = e.key.find('.', 8);
      UNROLL_CHECK(dot != std::string::npos && dot > 8, e.where(), ": expected [variant.NAME] key = value");
      const std::string name = e.key.substr(8, dot - 8), key = e.key.substr(dot + 1);
      if (!kVariantKeys.count(key)) {
        UNROLL_CHECK(is_training_key(key), e.where(),
                     ": unknown key (a variant takes label, method, params, weights, prior, task and training keys "
                     "such as model.iterations)");
        UNROLL_CHECK(key != "train.out", e.where(), ": the experiment chooses each variant's checkpoint folder");
        check_training_value(key, e);
      }
      if (!variant_layers.count(name)) variant_order.push_back(name);
      variant_layers[name].push_back({key, e});
    } else if (e.key.rfind("size.", 0) == 0) {
      const auto dot = e.key.find('.', 5);
      UNROLL_CHECK(dot != std::string::npos, e.where(), ": expected [size.quick] or [size.full] key = value");
      const std::string size = e.key.substr(5, dot - 5), key = e.key.substr(dot + 1);
      UNROLL_CHECK(size == "quick" || size == "full", e.where(), ": unknown size '", size, "' (quick, full)");
      UNROLL_CHECK(key != "experiment.size" && key != "experiment.name", e.where(), ": cannot be set per size");
      if (key.rfind("variant.", 0) == 0) {
        // [size.quick] variant.NAME.train.steps = 8: a training key of one variant at this size.
        const auto vdot = key.find('.', 8);
        UNROLL_CHECK(vdot != std::string::npos && vdot > 8, e.where(), ": expected variant.NAME.KEY");
        const std::string vname = key.substr(8, vdot - 8), vkey = key.substr(vdot + 1);
        UNROLL_CHECK(is_training_key(vkey) && vkey != "experiment.task" && vkey != "train.out", e.where(),
                     ": per-size variant keys must be training keys such as train.steps");
        check_training_value(vkey, e);
        size_variant_layers[size][vname].push_back({vkey, e});
        continue;
      }
      check_plain(key, e);
      size_layers[size].push_back({key, e});
    } else {
      check_plain(e.key, e);
      base.push_back({e.key, e});
    }
  }
  check_no_duplicates(base);
  for (const auto& [sz, layer] : size_layers) check_no_duplicates(layer);
  for (const auto& [vn, layer] : variant_layers) check_no_duplicates(layer);
  for (const auto& [sz, per_variant] : size_variant_layers) {
    for (const auto& [vn, layer] : per_variant) {
      UNROLL_CHECK(variant_layers.count(vn), path, ":", layer.front().entry.line, ": size.", sz, ".variant.", vn,
                   ": there is no [variant.", vn, "]");
      check_no_duplicates(layer);
    }
  }

  std::string size = size_flag;
  if (size.empty()) size = experiment_keys({only(base, false)}).size;
  if (size.empty()) size = "full";
  UNROLL_CHECK(size == "quick" || size == "full", "--size must be quick or full, got '", size, "'");
  const Layer& size_layer = size_layers[size];

  // The experiment's settings: base, then the size's overrides.
  const ExperimentKeys k = experiment_keys({only(base, false), only(size_layer, false)});
  UNROLL_CHECK(!k.name.empty(), path, ": experiment.name is required");
  for (char c : k.name)
    UNROLL_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-', path,
                 ": experiment.name may hold letters, digits, '_' and '-' only, got '", k.name, "'");
  // The default task of trained variants (a training key: the base's, or the size's).
  TrainConfig base_train;
  for (const Layer& layer : {only(base, true), only(size_layer, true)})
    for (const auto& s : layer) set_train_config_value(base_train, s.key, s.entry);
  const std::string base_task = base_train.is_given("experiment.task") ? base_train.task : "";

  ExperimentPlan plan;
  plan.name = k.name;
  plan.description = k.description;
  plan.size = size;
  plan.config_path = path;
  plan.out_dir = !out_flag.empty() ? out_flag : !k.out.empty() ? k.out : "runs/experiments/" + k.name + "/" + size;
  UNROLL_CHECK(!k.test.empty(), path, ": data.test is required (one or more --data strings of unroll eval)");
  for (const auto& s : k.test) plan.test_sources.push_back(parse_eval_source(s));  // syntax now, files when run
  plan.sources.noise255 = k.noise;
  if (!k.metric.empty()) plan.sources.metric = parse_metric(k.metric);
  UNROLL_CHECK(k.limit >= 0, path, ": eval.limit must be >= 0, got ", k.limit);
  UNROLL_CHECK(k.grids >= 0, path, ": eval.grids must be >= 0, got ", k.grids);
  plan.eval.limit = k.limit;
  plan.eval.grids = k.grids;
  if (!k.boundary.empty()) plan.eval.boundary = parse_boundary(k.boundary);
  plan.eval.device = parse_device(k.device);
  plan.eval.save_images = k.save_images;
  std::ostringstream flags;
  if (k.limit > 0) flags << " --limit " << k.limit;
  if (!k.metric.empty()) flags << " --metric " << k.metric;
  if (!k.boundary.empty()) flags << " --boundary " << k.boundary;
  if (k.grids != 3) flags << " --grids " << k.grids;
  plan.eval_flags = flags.str();
  plan.baselines = baselines(k, path);

  for (const auto& vname : variant_order) {
    const Layer& layer = variant_layers[vname];
    const std::string what = path + " [variant." + vname + "]";
    UNROLL_CHECK(vname.find_first_of("/\\ ") == std::string::npos, what,
                 ": a variant name must not contain '/', '\\' or spaces");
    ExperimentVariant v;
    v.name = vname;
    std::map<std::string, std::string> own;
    Layer vtrain;
    for (const auto& s : layer) {
      v.settings.push_back({s.key, s.entry.value});
      if (kVariantKeys.count(s.key)) {
        own[s.key] = s.entry.value;
      } else {
        vtrain.push_back(s);
      }
    }
    v.label = own.count("label") ? own["label"] : vname;
    const std::string task = own.count("task") ? own["task"] : (own.count("method") ? "" : base_task);
    const Layer& size_variant = size_variant_layers[size][vname];
    v.trained = !task.empty();
    UNROLL_CHECK(v.trained || own.count("method"), what, ": give a method to evaluate, or a task to train");
    UNROLL_CHECK(v.trained || size_variant.empty(), what,
                 ": per-size training keys need a task (task = unrolled | blind-unrolled | denoiser | deblur)");
    UNROLL_CHECK(v.trained || vtrain.empty(), what, ": training keys (", vtrain.empty() ? "" : vtrain.front().key,
                 ") need a task (task = unrolled | blind-unrolled | denoiser | deblur)");
    UNROLL_CHECK(task.empty() || task == "unrolled" || task == "blind-unrolled" || task == "denoiser" || task == "deblur",
                 what, ": task must be unrolled, blind-unrolled, denoiser or deblur, got '", task, "'");
    v.method.method = own.count("method")        ? own["method"]
                      : task == "unrolled"       ? "unrolled"
                      : task == "blind-unrolled" ? "unrolled-blind"
                                                 : "pnp";
    v.method.params = parse_params(own["params"], "", what + " params");
    v.method.prior = own["prior"];
    v.method.weights = own["weights"];
    if (v.trained) {
      UNROLL_CHECK(v.method.weights.empty(), what,
                   ": a trained variant is evaluated with its own checkpoint; remove weights");
      v.dir = (fs::path(plan.out_dir) / vname).string();
      // The variant's `unroll train` config: base training keys, the variant's, the size's, the size's
      // for this variant, then what the experiment decides.
      TrainConfig& c = v.train;
      c.source = what;
      for (const Layer& l : {only(base, true), vtrain, only(size_layer, true), size_variant})
        for (const auto& s : l) set_train_config_value(c, s.key, s.entry);
      c.task = task;
      c.name = k.name + "_" + vname;
      c.out_dir = v.dir;
      c.given.insert({"experiment.task", "experiment.name", "train.out"});
      finish_train_config(c);  // the complete config must be valid before anything runs
      if (task == "deblur" && !own.count("method")) v.method.method = method_for_family(c.family);
      // A trained denoiser is the PnP prior of its own architecture (resunet, attention-unet, convir-s).
      if (task == "denoiser" && v.method.method == "pnp" && v.method.prior.empty()) v.method.prior = c.family;
    }
    find_method(v.method.method);
    check_params(v.method.method, v.method.params, what + " params");
    plan.variants.push_back(v);
  }
  return plan;
}

}  // namespace unroll
