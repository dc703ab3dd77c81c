// unroll experiment experiments/X.ini [--size quick|full] [--only-eval] [--resume] [--dry-run] [--out DIR]
//
// An experiment config (INI, Boost.Program_options config-file syntax) holds:
//   [experiment]  name, description, size (default size: quick | full), out (default
//                 runs/experiments/<name>/<size>), task (default task of trained variants)
//   [model] [data] [train]   the base training config of `unroll train` (train_config.h); data.train /
//                 data.val are the training images; train.out is chosen by the experiment
//   [data]        test (repeatable: eval/harness.h --data strings), noise (0-255, DPIR / synthetic)
//   [eval]        methods (baselines, comma-separated), params (method.key=value,...), weights
//                 (method=FILE,...), prior, metric, limit, grids, boundary, device, save_images
//   [variant.NAME] one per variant, in order: label, method, params (key=value,...), weights, prior,
//                 task, and any training key (model.iterations = 4, train.loss = l1+0.1*fft, ...)
//                 overriding the base config. A variant with `method` and no `task` is evaluated as
//                 is; every other variant is trained (task from the variant or [experiment]) and
//                 evaluated with its checkpoint (unrolled -> `unrolled`, denoiser -> `pnp` with the
//                 trained denoiser as its prior, deblur -> the family's method: `convir`, `atrous`, ...; unless
//                 `method` says otherwise).
//   [size.quick] [size.full]  keys (any of the above except variant keys) overriding the rest for
//                 that size; applied last.
//                 `variant.NAME.KEY = value` inside a size section sets a training key of one variant.
// Values may use ${VAR} for environment variables (an unset variable is an error naming it).
// Unknown keys and bad values are errors naming the key and its line.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "cli.h"
#include "core/error.h"
#include "eval/experiment.h"
#include "eval/methods.h"
#include "eval/report.h"
#include "train_config.h"

namespace fs = std::filesystem;

namespace unroll::cli {
namespace {

struct Entry {
  std::string key, value;
  int line = 0;
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}


/// Every `key = value` of the file in order, with its line: Boost parses (and rejects bad syntax),
/// a scan of the file supplies the line numbers Boost does not report.
std::vector<Entry> read_entries(const std::string& path) {
  std::ifstream in(path);
  UNROLL_CHECK(in.good(), path, ": cannot open experiment config");
  po::parsed_options parsed(nullptr);
  try {
    po::options_description none;
    parsed = po::parse_config_file(in, none, /*allow_unregistered=*/true);
  } catch (const po::error& e) {
    fail(path, ": ", e.what());
  }
  std::ifstream scan(path);
  std::multimap<std::string, int> lines;
  std::string section, text;
  for (int n = 1; std::getline(scan, text); ++n) {
    const auto hash = text.find('#');
    const std::string t = trim(hash == std::string::npos ? text : text.substr(0, hash));
    if (t.empty()) continue;
    if (t.front() == '[' && t.back() == ']') {
      section = trim(t.substr(1, t.size() - 2));
    } else if (t.find('=') != std::string::npos) {
      const std::string k = trim(t.substr(0, t.find('=')));
      lines.emplace(section.empty() ? k : section + "." + k, n);
    }
  }
  std::vector<Entry> out;
  for (const auto& o : parsed.options) {
    Entry e;
    e.key = o.string_key;
    e.value = o.value.empty() ? "" : o.value.front();
    auto it = lines.lower_bound(e.key);
    if (it != lines.end() && it->first == e.key) {
      e.line = it->second;
      lines.erase(it);
    }
    out.push_back(e);
  }
  return out;
}

std::string where(const std::string& path, const Entry& e) {
  return path + (e.line > 0 ? ":" + std::to_string(e.line) : "") + ": " + e.key;
}

/// ${VAR} -> the environment's value.
std::string expand(const std::string& value, const std::string& path, const Entry& e) {
  std::string out;
  for (size_t i = 0; i < value.size();) {
    if (value.compare(i, 2, "${") == 0) {
      const auto end = value.find('}', i);
      UNROLL_CHECK(end != std::string::npos, where(path, e), ": unterminated ${ in '", value, "'");
      const std::string var = value.substr(i + 2, end - i - 2);
      const char* v = std::getenv(var.c_str());
      UNROLL_CHECK(v && *v, where(path, e), ": uses ${", var, "}, which is not set (export ", var,
                   "=... first; the config's comments say what it must point to)");
      out += v;
      i = end + 1;
    } else {
      out += value[i++];
    }
  }
  return out;
}

// The experiment's own typed keys.
struct ExperimentKeys {
  std::string name, description, size, out, methods, params, weights, prior, metric, boundary = "circular",
                                                                                     device = "cpu";
  std::vector<std::string> test;
  double noise = 2.55;
  int64_t limit = 0, grids = 3;
  bool save_images = false;
};

void add_experiment_options(po::options_description& d, ExperimentKeys& k) {
  // clang-format off
  d.add_options()
      ("experiment.description", po::value(&k.description), "")
      ("experiment.size", po::value(&k.size), "")
      ("experiment.out", po::value(&k.out), "")
      ("data.test", po::value(&k.test)->composing(), "")
      ("data.noise", po::value(&k.noise), "")
      ("eval.methods", po::value(&k.methods), "")
      ("eval.params", po::value(&k.params), "")
      ("eval.weights", po::value(&k.weights), "")
      ("eval.prior", po::value(&k.prior), "")
      ("eval.metric", po::value(&k.metric), "")
      ("eval.limit", po::value(&k.limit), "")
      ("eval.grids", po::value(&k.grids), "")
      ("eval.boundary", po::value(&k.boundary), "")
      ("eval.device", po::value(&k.device), "")
      ("eval.save_images", po::value(&k.save_images), "");
  // clang-format on
}

bool is_experiment_key(const std::string& key) {
  ExperimentKeys scratch;
  po::options_description d;
  add_experiment_options(d, scratch);
  return key == "experiment.name" || d.find_nothrow(key, false) != nullptr;
}

const std::set<std::string> kVariantKeys = {"label", "method", "params", "weights", "prior", "task"};

/// Checks that `value` is a valid value for `key` of `desc` (Boost's conversion), naming the entry.
void check_value(po::options_description& desc, const std::string& key, const std::string& value,
                 const std::string& path, const Entry& e) {
  const auto dot = key.find('.');
  std::istringstream one("[" + key.substr(0, dot) + "]\n" + key.substr(dot + 1) + " = " + value + "\n");
  po::variables_map vm;
  try {
    po::store(po::parse_config_file(one, desc, false), vm);
  } catch (const po::error& err) {
    fail(where(path, e), ": ", err.what());
  }
}

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

void check_method_params(const std::string& method, const MethodParams& params, const std::string& what) {
  const Method& m = find_method(method);
  for (const auto& [k, _] : params) {
    bool known = false;
    for (const auto& info : m.params) known = known || info.name == k;
    UNROLL_CHECK(known, what, ": ", method, " has no parameter '", k, "'");
  }
}


/// Keys that may repeat (all values kept); every other key may appear once per layer.
bool is_multi_key(const std::string& key) { return key == "data.test"; }

/// Resolves layers (earlier first): a scalar key takes its last value; a multi key takes the values of
/// the last layer that sets it. Returns (key, value) in the order keys first appear.
std::vector<std::pair<std::string, std::string>> resolve(const std::vector<std::vector<Entry>>& layers) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::string>> value;
  for (const auto& layer : layers) {
    std::set<std::string> seen_here;
    for (const auto& e : layer) {
      if (!value.count(e.key)) order.push_back(e.key);
      if (is_multi_key(e.key)) {
        if (!seen_here.count(e.key)) value[e.key].clear();
        value[e.key].push_back(e.value);
      } else {
        value[e.key] = {e.value};
      }
      seen_here.insert(e.key);
    }
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : order)
    for (const auto& v : value[k]) out.push_back({k, v});
  return out;
}

void check_no_duplicates(const std::vector<Entry>& layer, const std::string& path, const std::string& prefix) {
  std::map<std::string, int> first;
  for (const auto& e : layer) {
    if (is_multi_key(e.key)) continue;
    auto [it, inserted] = first.emplace(e.key, e.line);
    UNROLL_CHECK(inserted, path, ":", e.line, ": ", prefix, e.key, " is already set on line ", it->second);
  }
}

/// INI text of (key, value) pairs grouped by section, sections in `order` first.
std::string ini_text(const std::vector<std::pair<std::string, std::string>>& kv,
                     const std::vector<std::string>& order) {
  std::map<std::string, std::vector<std::string>> by_section;
  std::vector<std::string> sections = order;
  for (const auto& [key, value] : kv) {
    const std::string sec = key.substr(0, key.find('.'));
    if (std::find(sections.begin(), sections.end(), sec) == sections.end()) sections.push_back(sec);
    by_section[sec].push_back(key.substr(key.find('.') + 1) + " = " + value);
  }
  std::ostringstream text;
  for (const auto& sec : sections) {
    if (by_section[sec].empty()) continue;
    text << "\n[" << sec << "]\n";
    for (const auto& line : by_section[sec]) text << line << "\n";
  }
  return text.str();
}

ExperimentPlan build_plan(const std::string& path, const std::string& size_flag, const std::string& out_flag) {
  const auto entries = read_entries(path);
  TrainConfig scratch_train;
  po::options_description train_desc;
  add_train_config_options(train_desc, scratch_train);
  ExperimentKeys scratch_exp;
  po::options_description exp_desc;
  add_experiment_options(exp_desc, scratch_exp);

  // Classify and validate every entry: base keys, [size.*] overrides, [variant.*] keys.
  std::vector<Entry> base;
  std::map<std::string, std::vector<Entry>> size_entries;
  std::map<std::string, std::map<std::string, std::vector<Entry>>> size_variant_entries;  // size -> variant -> keys
  std::vector<std::string> variant_order;
  std::map<std::string, std::vector<Entry>> variants;
  auto validate_plain = [&](const std::string& key, const Entry& e) {
    UNROLL_CHECK(key != "train.out", where(path, e),
                 ": the experiment chooses each variant's checkpoint folder (<out>/<variant>); remove train.out");
    if (is_experiment_key(key)) {
      if (key != "experiment.name") check_value(exp_desc, key, e.value, path, e);
    } else if (is_train_config_key(key)) {
      check_value(train_desc, key, e.value, path, e);
    } else {
      fail(where(path, e), ": unknown key");
    }
  };
  for (Entry e : entries) {
    e.value = expand(e.value, path, e);
    if (e.key.rfind("variant.", 0) == 0) {
      const auto dot = e.key.find('.', 8);
      UNROLL_CHECK(dot != std::string::npos && dot > 8, where(path, e), ": expected [variant.NAME] key = value");
      const std::string name = e.key.substr(8, dot - 8), key = e.key.substr(dot + 1);
      if (!kVariantKeys.count(key)) {
        UNROLL_CHECK(
            is_train_config_key(key) && key != "experiment.name", where(path, e),
            ": unknown key (a variant takes label, method, params, weights, prior, task and training keys such "
            "as model.iterations)");
        UNROLL_CHECK(key != "train.out", where(path, e), ": the experiment chooses each variant's checkpoint folder");
        check_value(train_desc, key, e.value, path, e);
      }
      if (!variants.count(name)) variant_order.push_back(name);
      variants[name].push_back(Entry{key, e.value, e.line});
    } else if (e.key.rfind("size.", 0) == 0) {
      const auto dot = e.key.find('.', 5);
      UNROLL_CHECK(dot != std::string::npos, where(path, e), ": expected [size.quick] or [size.full] key = value");
      const std::string size = e.key.substr(5, dot - 5), key = e.key.substr(dot + 1);
      UNROLL_CHECK(size == "quick" || size == "full", where(path, e), ": unknown size '", size, "' (quick, full)");
      UNROLL_CHECK(key != "experiment.size" && key != "experiment.name", where(path, e), ": cannot be set per size");
      if (key.rfind("variant.", 0) == 0) {
        // [size.quick] variant.NAME.train.steps = 8: a training key of one variant at this size.
        const auto vdot = key.find('.', 8);
        UNROLL_CHECK(vdot != std::string::npos && vdot > 8, where(path, e), ": expected variant.NAME.KEY");
        const std::string vname = key.substr(8, vdot - 8), vkey = key.substr(vdot + 1);
        UNROLL_CHECK(
            is_train_config_key(vkey) && vkey != "experiment.name" && vkey != "experiment.task" && vkey != "train.out",
            where(path, e), ": per-size variant keys must be training keys such as train.steps");
        check_value(train_desc, vkey, e.value, path, e);
        size_variant_entries[size][vname].push_back(Entry{vkey, e.value, e.line});
        continue;
      }
      validate_plain(key, e);
      size_entries[size].push_back(Entry{key, e.value, e.line});
    } else {
      validate_plain(e.key, e);
      base.push_back(e);
    }
  }
  check_no_duplicates(base, path, "");
  for (const auto& [sz, layer] : size_entries) check_no_duplicates(layer, path, "size." + sz + ".");
  for (const auto& [vn, layer] : variants) check_no_duplicates(layer, path, "variant." + vn + ".");
  for (const auto& [sz, per_variant] : size_variant_entries) {
    for (const auto& [vn, layer] : per_variant) {
      UNROLL_CHECK(variants.count(vn), path, ":", layer.front().line, ": size.", sz, ".variant.", vn,
                   ": there is no [variant.", vn, "]");
      check_no_duplicates(layer, path, "size." + sz + ".variant." + vn + ".");
    }
  }

  std::string size = size_flag;
  for (const auto& e : base)
    if (e.key == "experiment.size" && size.empty()) size = e.value;
  if (size.empty()) size = "full";
  UNROLL_CHECK(size == "quick" || size == "full", "--size must be quick or full, got '", size, "'");
  const std::vector<Entry>& size_layer = size_entries[size];

  // Experiment settings: base, then the size's overrides.
  auto only = [](const std::vector<Entry>& layer, bool train_keys) {
    std::vector<Entry> out;
    for (const auto& e : layer) {
      const bool is_train = is_train_config_key(e.key) && e.key != "experiment.name";
      if (is_train == train_keys) out.push_back(e);
    }
    return out;
  };
  const auto exp_kv = resolve({only(base, false), only(size_layer, false)});
  ExperimentKeys k;
  std::string name;
  {
    po::options_description d;
    add_experiment_options(d, k);
    std::vector<std::pair<std::string, std::string>> kv;
    for (const auto& p : exp_kv) {
      if (p.first == "experiment.name") {
        name = p.second;
      } else {
        kv.push_back(p);
      }
    }
    std::istringstream in(ini_text(kv, {}));
    po::variables_map vm;
    try {
      po::store(po::parse_config_file(in, d, false), vm);
      po::notify(vm);
    } catch (const po::error& err) {
      fail(path, ": ", err.what());
    }
  }
  UNROLL_CHECK(!name.empty(), path, ": experiment.name is required");
  for (char c : name)
    UNROLL_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-', path,
                 ": experiment.name may hold letters, digits, '_' and '-' only, got '", name, "'");
  std::string base_task;
  for (const auto& [key, value] : resolve({only(base, true), only(size_layer, true)}))
    if (key == "experiment.task") base_task = value;

  ExperimentPlan plan;
  plan.name = name;
  plan.description = k.description;
  plan.size = size;
  plan.config_path = path;
  plan.out_dir = !out_flag.empty() ? out_flag : !k.out.empty() ? k.out : "runs/experiments/" + name + "/" + size;
  plan.test_sources = k.test;
  UNROLL_CHECK(!plan.test_sources.empty(), path, ": data.test is required (one or more --data strings of unroll eval)");
  for (const auto& s : plan.test_sources) parse_eval_source(s);  // syntax now, files in run_experiment
  plan.sources.noise255 = k.noise;
  if (!k.metric.empty()) plan.sources.metric = parse_metric(k.metric);
  UNROLL_CHECK(k.limit >= 0, path, ": eval.limit must be >= 0, got ", k.limit);
  UNROLL_CHECK(k.grids >= 0, path, ": eval.grids must be >= 0, got ", k.grids);
  plan.eval.limit = k.limit;
  plan.eval.grids = k.grids;
  plan.eval.boundary = parse_boundary(k.boundary);
  plan.eval.device = parse_device(k.device);
  plan.eval.save_images = k.save_images;
  std::ostringstream flags;
  if (k.limit > 0) flags << " --limit " << k.limit;
  if (!k.metric.empty()) flags << " --metric " << k.metric;
  if (k.boundary != "circular") flags << " --boundary " << k.boundary;
  if (k.grids != 3) flags << " --grids " << k.grids;
  plan.eval_flags = flags.str();

  // Baselines.
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
  for (const auto& m : split_list(k.methods)) {
    EvalMethod em;
    em.method = find_method(m).name;
    em.label = m;
    em.params = params[m];
    em.weights = weights.count(m) ? weights[m] : "";
    em.prior = m == "pnp" ? k.prior : "";
    check_method_params(em.method, em.params, path + ": eval.params");
    plan.baselines.push_back(em);
  }
  for (const auto& [m, _] : params)
    UNROLL_CHECK(
        std::any_of(plan.baselines.begin(), plan.baselines.end(), [&](const EvalMethod& b) { return b.method == m; }),
        path, ": eval.params names '", m, "', which is not in eval.methods");
  for (const auto& [m, _] : weights)
    UNROLL_CHECK(
        std::any_of(plan.baselines.begin(), plan.baselines.end(), [&](const EvalMethod& b) { return b.method == m; }),
        path, ": eval.weights names '", m, "', which is not in eval.methods");

  // Variants.
  for (const auto& vname : variant_order) {
    const auto& ves = variants[vname];
    const std::string what = path + " [variant." + vname + "]";
    UNROLL_CHECK(vname.find_first_of("/\\ ") == std::string::npos, what,
                 ": a variant name must not contain '/', '\\' or spaces");
    ExperimentVariant v;
    v.name = vname;
    std::map<std::string, std::string> own;
    std::vector<Entry> vtrain;
    for (const auto& e : ves) {
      v.settings.push_back({e.key, e.value});
      if (kVariantKeys.count(e.key)) {
        own[e.key] = e.value;
      } else {
        vtrain.push_back(e);
      }
    }
    v.label = own.count("label") ? own["label"] : vname;
    const std::string task = own.count("task") ? own["task"] : (own.count("method") ? "" : base_task);
    v.trained = !task.empty();
    UNROLL_CHECK(v.trained || own.count("method"), what, ": give a method to evaluate, or a task to train");
    UNROLL_CHECK(v.trained || size_variant_entries[size][vname].empty(), what,
                 ": per-size training keys need a task (task = unrolled | denoiser | deblur)");
    UNROLL_CHECK(v.trained || vtrain.empty(), what, ": training keys (", vtrain.empty() ? "" : vtrain.front().key,
                 ") need a task (task = unrolled | denoiser | deblur)");
    UNROLL_CHECK(task.empty() || task == "unrolled" || task == "denoiser" || task == "deblur", what,
                 ": task must be unrolled, denoiser or deblur, got '", task, "'");
    v.method.method = own.count("method") ? own["method"] : task == "unrolled" ? "unrolled" : "pnp";
    v.method.params = parse_params(own["params"], "", what + " params");
    v.method.prior = own["prior"];
    v.method.weights = own["weights"];
    if (v.trained) {
      UNROLL_CHECK(v.method.weights.empty(), what,
                   ": a trained variant is evaluated with its own checkpoint; remove weights");
      v.task = task;
      v.dir = (fs::path(plan.out_dir) / vname).string();
      // The variant's `unroll train` config: base training keys, the variant's, then the size's.
      auto kv = resolve({only(base, true),
                         vtrain,
                         only(size_layer, true),
                         size_variant_entries[size][vname],
                         {Entry{"experiment.task", task, 0}}});
      kv.insert(kv.begin(), {"experiment.name", name + "_" + vname});
      kv.push_back({"train.out", v.dir});
      v.train_config = "# Written by `unroll experiment " + path + "` (size " + size + ") for variant " + vname +
                       ".\n# Reproduce this training alone: build/unroll train --config " + v.dir + "/train.ini\n" +
                       ini_text(kv, {"experiment", "model", "data", "train"});
      std::istringstream check(v.train_config);
      const auto parsed = parse_train_config(check, what);  // the complete config must be valid before anything runs
      if (task == "deblur" && !own.count("method")) v.method.method = method_for_family(parsed.family);
      // A trained denoiser is the PnP prior of its own architecture (resunet, attention-unet, convir-s).
      if (task == "denoiser" && v.method.method == "pnp" && v.method.prior.empty()) v.method.prior = parsed.family;
    }
    find_method(v.method.method);
    check_method_params(v.method.method, v.method.params, what + " params");
    plan.variants.push_back(v);
  }
  return plan;
}

}  // namespace

int cmd_experiment(const std::vector<std::string>& args) {
  std::string config, size, out;
  po::options_description opts("experiment options");
  // clang-format off
  opts.add_options()
      ("config", po::value(&config)->required(), "experiment config (INI), e.g. experiments/a_classical_vs_learned.ini")
      ("size", po::value(&size), "quick | full (default: experiment.size, else full)")
      ("only-eval", po::bool_switch(), "do not train: evaluate the finished checkpoints")
      ("resume", po::bool_switch(), "continue unfinished training runs from their checkpoints")
      ("dry-run", po::bool_switch(), "check the config and print the plan; train and evaluate nothing")
      ("out", po::value(&out), "output folder (default: experiment.out, else runs/experiments/<name>/<size>)");
  // clang-format on
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  if (!parse("usage: unroll experiment experiments/X.ini [--size quick|full] [--only-eval] [--resume] [--dry-run]",
             opts, args, vm, &pos))
    return 0;
  ExperimentPlan plan = build_plan(config, size, out);
  plan.command = command_line("build/unroll experiment", args);
  plan.reproduce = "build/unroll experiment " + config + " --size " + plan.size + (out.empty() ? "" : " --out " + out);
  if (vm["dry-run"].as<bool>()) {
    for (const auto& s : plan.test_sources) open_eval_source(parse_eval_source(s), plan.sources);
    std::cout << "experiment " << plan.name << " (size " << plan.size << ") -> " << plan.out_dir << "\n";
    for (const auto& s : plan.test_sources) std::cout << "  data: " << s << "\n";
    for (const auto& b : plan.baselines) std::cout << "  method: " << b.label << "\n";
    for (const auto& v : plan.variants)
      std::cout << "  variant " << v.name << " (" << v.label
                << "): " << (v.trained ? "train " + v.task + " -> " + v.dir + ", " : std::string()) << "evaluate with "
                << v.method.method << "\n";
    return 0;
  }
  ExperimentRunOptions ro;
  ro.only_eval = vm["only-eval"].as<bool>();
  ro.resume = vm["resume"].as<bool>();
  auto train = [](const ExperimentVariant& v, bool resume) {
    const std::string ini = (fs::path(v.dir) / "train.ini").string();
    std::istringstream in(v.train_config);
    TrainConfig c = parse_train_config(in, ini);
    const TrainResult r = run_train_config(c, resume);
    TrainingOutcome o;
    o.first_step = r.first_step;
    o.steps = r.step;
    o.seconds = r.seconds;
    o.val_psnr = r.last_val_psnr;
    std::cout << "  " << v.name << ": steps " << r.first_step << ".." << r.step << ", " << fixed(r.seconds, 1)
              << " s, validation PSNR " << fixed(r.last_val_psnr, 2) << " dB\n";
    return o;
  };
  const ExperimentResult result = run_experiment(plan, train, ro);
  write_experiment_report(plan, result);
  std::cout << "wrote " << plan.out_dir << "/report.md, psnr.png and eval/\n";
  return 0;
}

}  // namespace unroll::cli
