// The registry's machinery: lookup, parameter checks, help text. The methods themselves are declared in
// method_table.cpp.
#include "eval/methods.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/noise.h"
#include "core/tensor.h"
#include "priors/model_family.h"

namespace unroll {

std::vector<Method> build_method_table();  // method_table.cpp

namespace {

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

const char* kind_name(MethodKind kind) {
  switch (kind) {
    case MethodKind::Classical: return "classical";
    case MethodKind::Learned: return "learned, non-blind";
    case MethodKind::Blind: return "blind (no kernel)";
  }
  return "?";
}

std::string joined(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace

std::string ParamInfo::default_text() const {
  if (default_value) return "default " + number(*default_value);
  return derived.empty() ? "" : "default: " + derived;
}

std::string ParamInfo::range_text() const {
  if (type == ParamType::Switch) return "0 or 1";
  const bool lo = std::isfinite(min), hi = std::isfinite(max);
  const std::string integer = type == ParamType::Integer ? "an integer " : "";
  if (lo && hi) {
    return integer + "in " + (min_exclusive ? "(" : "[") + number(min) + ", " + number(max) + (max_exclusive ? ")" : "]");
  }
  if (lo) return integer + (min_exclusive ? "> " : ">= ") + number(min);
  if (hi) return integer + (max_exclusive ? "< " : "<= ") + number(max);
  return type == ParamType::Integer ? "an integer" : "";
}

const ParamInfo& MethodArgs::info(const std::string& name) const {
  for (const auto& p : declared_)
    if (p.name == name) return p;
  fail("internal: parameter '", name, "' is not declared");
}

std::optional<double> MethodArgs::given(const std::string& name) const {
  info(name);  // a typo in a run function is a bug, not a missing value
  auto it = given_.find(name);
  if (it == given_.end()) return std::nullopt;
  return it->second;
}

double MethodArgs::real(const std::string& name) const {
  if (auto v = given(name)) return *v;
  const ParamInfo& p = info(name);
  UNROLL_CHECK(p.default_value.has_value(), "internal: parameter '", name, "' has no fixed default");
  return *p.default_value;
}

int MethodArgs::integer(const std::string& name) const { return static_cast<int>(real(name)); }

bool MethodArgs::on(const std::string& name) const { return real(name) != 0.0; }

bool Method::needs_weights() const {
  if (weights_required) return true;
  // A blind network has nothing to run without a checkpoint; the non-blind learned methods fall back
  // (pnp to the TV prior) or say at run time that their shipped model is missing.
  return kind == MethodKind::Blind && (shipped_model.empty() || unroll::shipped_model(shipped_model).empty());
}

const ParamInfo* Method::param(const std::string& name) const {
  for (const auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

const std::vector<Method>& all_methods() {
  static const std::vector<Method> registry = build_method_table();
  return registry;
}

const Method& find_method(const std::string& name) {
  for (const auto& m : all_methods()) {
    if (m.name == name) return m;
  }
  std::vector<std::string> known;
  for (const auto& m : all_methods()) known.push_back(m.name);
  fail("unknown method '", name, "' (known: ", joined(known), ")");
}

std::string method_for_family(const std::string& family) {
  for (const auto& m : all_methods()) {
    if (m.kind == MethodKind::Blind && std::find(m.families.begin(), m.families.end(), family) != m.families.end())
      return m.name;
  }
  fail("no evaluation method runs model family '", family, "' (deblur families: ",
       joined(model_family_names(ModelRole::Deblur)), ")");
}

std::vector<std::string> method_names(MethodKind kind) {
  std::vector<std::string> out;
  for (const auto& m : all_methods())
    if (m.kind == kind) out.push_back(m.name);
  return out;
}

std::vector<std::string> classical_method_names() { return method_names(MethodKind::Classical); }

void check_method_params(const Method& m, const MethodParams& params, const std::string& what_in) {
  const std::string what = what_in.empty() ? m.name : what_in;
  for (const auto& [key, value] : params) {
    const ParamInfo* p = m.param(key);
    if (!p) {
      std::vector<std::string> accepted;
      for (const auto& q : m.params) accepted.push_back(q.name);
      fail(what, ": unknown parameter '", key, "' (accepted: ", accepted.empty() ? "none" : joined(accepted), ")");
    }
    UNROLL_CHECK(std::isfinite(value), what, ": parameter '", key, "' is not finite");
    const bool integral = value == std::floor(value);
    const bool in_range = (p->min_exclusive ? value > p->min : value >= p->min) &&
                          (p->max_exclusive ? value < p->max : value <= p->max);
    const bool ok = p->type == ParamType::Switch    ? (value == 0.0 || value == 1.0)
                    : p->type == ParamType::Integer ? integral && in_range
                                                    : in_range;
    UNROLL_CHECK(ok, what, ": parameter '", key, "' must be ", p->range_text(), ", got ", value);
  }
}

SolverResult run_method(const std::string& name, const DeblurRequest& request, const MethodParams& params) {
  const Method& m = find_method(name);
  check_method_params(m, params);
  if (request.rotation) {
    std::vector<std::string> supported;
    for (const auto& x : all_methods())
      if (x.rotational) supported.push_back(x.name);
    UNROLL_CHECK(m.rotational, name, " does not solve rotational blur (methods that do: ", joined(supported), ")");
  } else {
    UNROLL_CHECK(!m.needs_kernel || request.kernel.defined(), name, " is non-blind and needs a kernel (--kernel)");
  }
  UNROLL_CHECK(request.blurred.defined(), name, ": no input image");
  UNROLL_CHECK(!m.needs_weights() || !request.weights.empty(), name, " needs a checkpoint (--weights FILE)");
  const MethodArgs args(m.params, params);
  const TilePlan plan = plan_tiles(m, request);
  if (plan.tiled()) return run_tiled(m, request, args, plan);
  return m.run(request, args);
}

void load_method_model(const std::string& name, const DeblurRequest& request) {
  const Method& m = find_method(name);
  UNROLL_CHECK(!m.needs_weights() || !request.weights.empty(), name, " needs a checkpoint (--weights FILE)");
  if (m.load) {
    m.load(request);
  } else {
    UNROLL_CHECK(request.weights.empty(), name, " takes no weights (it has no learned model)");
  }
}

std::string shipped_model(const std::string& file) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("UNROLL_MODELS")) dirs.push_back(env);
#ifdef UNROLL_MODELS_DIR
  dirs.push_back(UNROLL_MODELS_DIR);
#endif
  dirs.push_back("models");
  for (const auto& d : dirs) {
    const std::string p = d + "/" + file;
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

double effective_sigma(const DeblurRequest& request) {
  if (request.sigma >= 0.0) return request.sigma;
  return estimate_noise_sigma(as_image_batch(request.blurred).to(torch::kFloat64)).mean().item<double>();
}

double pixel_noise_sigma(const DeblurRequest& request) {
  return request.pixel_sigma >= 0.0 ? request.pixel_sigma : effective_sigma(request);
}

// ---- text generated from the registry ---------------------------------------------------------------

namespace {

std::string needs_text(const Method& m) {
  std::vector<std::string> needs;
  needs.push_back(m.needs_kernel ? "needs --kernel" : "no kernel");
  if (m.rotational) needs.push_back("also --blur rotational");
  if (m.weights_required) {
    needs.push_back("needs --weights");
  } else if (!m.shipped_model.empty()) {
    needs.push_back("default weights models/" + m.shipped_model);
  } else if (m.kind == MethodKind::Blind) {
    needs.push_back("needs --weights");
  }
  if (!m.families.empty()) needs.push_back("families " + joined(m.families, " | "));
  return joined(needs, "; ");
}

std::string param_line(const ParamInfo& p) {
  std::string s = p.help;
  const std::string d = p.default_text(), r = p.range_text();
  if (!d.empty()) s += " (" + d + ")";
  if (!r.empty()) s += "; " + r;
  return s;
}

}  // namespace

std::string method_help() {
  std::ostringstream out;
  out << "methods (--method NAME; parameters as --param NAME=VALUE):\n";
  for (const auto& m : all_methods()) {
    out << "  " << m.name << "  [" << kind_name(m.kind) << "] " << m.summary << "\n      " << needs_text(m) << "\n";
    for (const auto& p : m.params) out << "      " << p.name << ": " << param_line(p) << "\n";
  }
  return out.str();
}

std::string methods_markdown() {
  std::ostringstream out;
  for (const auto& m : all_methods()) {
    out << "* `" << m.name << "` (" << kind_name(m.kind) << "): " << m.summary << ". " << needs_text(m) << ".";
    if (!m.params.empty()) {
      out << " Parameters:";
      for (size_t i = 0; i < m.params.size(); ++i)
        out << (i ? ";" : "") << " `" << m.params[i].name << "` " << param_line(m.params[i]);
      out << ".";
    }
    out << "\n";
  }
  return out.str();
}

std::vector<std::string> flag_param_names() {
  std::set<std::string> names;
  for (const auto& m : all_methods())
    for (const auto& p : m.params)
      if (p.flag) names.insert(p.name);
  return {names.begin(), names.end()};
}

std::string flag_help(const std::string& name) {
  std::vector<std::string> uses;
  for (const auto& m : all_methods()) {
    const ParamInfo* p = m.param(name);
    if (p && p->flag) uses.push_back(m.name + ": " + p->help);
  }
  return "= --param " + name + "=VALUE; " + joined(uses, "; ");
}

}  // namespace unroll
