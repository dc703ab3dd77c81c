#include "experiment/experiment.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/distributed.h"
#include "core/error.h"
#include "eval/outputs.h"
#include "eval/report.h"
#include "experiment/training_data.h"
#include "train/train_config_ini.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string maybe(double v, int decimals) { return std::isfinite(v) ? fixed(v, decimals) : "-"; }

std::string quoted(const std::string& s) {
  return s.find_first_of(" \t'\"$;&|<>()") == std::string::npos ? s : "'" + s + "'";
}

/// The `unroll eval` flags of one method (its name, weights, prior, parameters).
std::string method_flags(const EvalMethod& m) {
  std::string s = " --methods " + m.method;
  if (!m.weights.empty()) s += " --weights " + quoted(m.method + "=" + m.weights);
  if (!m.prior.empty()) s += " --prior " + m.prior;
  for (const auto& [k, v] : m.params) s += " --param " + m.method + "." + k + "=" + number(v);
  return s;
}

TrainingOutcome read_done(const fs::path& file) {
  TrainingOutcome o;
  try {
    auto j = nlohmann::json::parse(read_file(file));
    o.first_step = j.at("first_step").get<int64_t>();
    o.steps = j.at("steps").get<int64_t>();
    o.seconds = j.at("seconds").get<double>();
    o.val_psnr = j.at("val_psnr").is_null() ? kNaN : j.at("val_psnr").get<double>();
  } catch (const std::exception& e) {
    fail(file.string(), ": unreadable training record (", e.what(), "); delete it to retrain");
  }
  o.reused = true;
  return o;
}

void write_done(const fs::path& file, const TrainingOutcome& o) {
  nlohmann::ordered_json j;
  j["first_step"] = o.first_step;
  j["steps"] = o.steps;
  j["seconds"] = o.seconds;
  j["val_psnr"] = std::isfinite(o.val_psnr) ? nlohmann::ordered_json(o.val_psnr) : nlohmann::ordered_json(nullptr);
  write_text_atomically(file.string(), j.dump(2) + "\n");
}

/// The methods evaluated: baselines first, then the variants (trained ones with their checkpoint).
std::vector<EvalMethod> evaluated_methods(const ExperimentPlan& plan) {
  std::vector<EvalMethod> methods = plan.baselines;
  for (auto& m : methods) {
    if (m.label.empty()) m.label = m.method;
  }
  for (const auto& v : plan.variants) {
    EvalMethod m = v.method;
    m.label = v.label.empty() ? v.name : v.label;
    if (v.trained) m.weights = (fs::path(v.dir) / "model.pth").string();
    methods.push_back(m);
  }
  return methods;
}

/// The plot's x labels (variants, or the baselines when there are none) and one PSNR series per
/// dataset; empty when no value is finite.
std::vector<PlotSeries> plot_series(const ExperimentPlan& plan, const ExperimentResult& result,
                                    std::vector<std::string>* x) {
  x->clear();
  for (const auto& v : plan.variants) x->push_back(v.label.empty() ? v.name : v.label);
  if (x->empty()) {
    for (const auto& m : evaluated_methods(plan)) x->push_back(m.label);
  }
  std::vector<PlotSeries> series;
  bool any = false;
  for (const auto& d : result.eval.datasets) {
    PlotSeries s{d.label + " (" + d.metric + ")", {}};
    for (const auto& label : *x) {
      double v = kNaN;
      for (const auto& m : d.methods) {
        if (m.method == label) v = m.psnr;
      }
      any = any || std::isfinite(v);
      s.values.push_back(v);
    }
    series.push_back(s);
  }
  if (!any) series.clear();
  return series;
}

}  // namespace

std::string variant_train_ini(const ExperimentPlan& plan, const ExperimentVariant& v) {
  const std::string ini = (fs::path(v.dir) / "train.ini").string();
  return "# Written by `unroll experiment " + plan.config_path + "` (size " + plan.size + ") for variant " + v.name +
         ".\n# Reproduce this training alone: build/unroll train --config " + ini + "\n\n" +
         write_train_config(v.train);
}

ExperimentResult run_experiment(const ExperimentPlan& plan, const ExperimentRunOptions& options) {
  UNROLL_CHECK(!plan.out_dir.empty(), "experiment ", plan.name, ": no output folder");
  UNROLL_CHECK(!plan.test_sources.empty(), "experiment ", plan.name, ": no test data (data.test)");
  UNROLL_CHECK(!plan.variants.empty() || !plan.baselines.empty(), "experiment ", plan.name,
               ": nothing to evaluate (no variants and no eval.methods)");
  // Everything that can be checked is checked before the first (long) training starts.
  std::vector<EvalSet> sets;
  for (const auto& s : plan.test_sources) sets.push_back(open_eval_source(s, plan.sources));
  const auto methods = evaluated_methods(plan);
  std::set<std::string> labels, names;
  for (const auto& m : methods) {
    find_method(m.method);
    UNROLL_CHECK(labels.insert(m.label).second, "experiment ", plan.name, ": the label '", m.label,
                 "' is used twice (variants and eval.methods need distinct labels)");
  }
  for (const auto& v : plan.variants) {
    UNROLL_CHECK(names.insert(v.name).second, "experiment ", plan.name, ": variant '", v.name, "' appears twice");
    UNROLL_CHECK(!v.trained || (v.train.is_given("experiment.task") && !v.dir.empty()), "variant ", v.name,
                 ": a trained variant needs a train config and a folder");
  }
  EvalOptions eval = plan.eval;
  eval.out_dir = (fs::path(plan.out_dir) / "eval").string();
  eval.validate();

  ExperimentResult result;
  // Decide for every trained variant first, so that an --only-eval or config mismatch fails before any
  // training time is spent.
  std::vector<const ExperimentVariant*> to_train;
  for (const auto& v : plan.variants) {
    if (!v.trained) continue;
    const fs::path dir = v.dir, ini = dir / "train.ini", done = dir / "done.json";
    const bool has_ini = fs::exists(ini);
    if (has_ini) {
      // Compared as configs, not as text: the file may come from an earlier version that spelt values
      // and ordered keys differently.
      std::string unreadable;
      bool same = false;
      try {
        same = same_train_config(read_train_config(ini.string()), v.train);
      } catch (const Error& e) {
        unreadable = e.what();
      }
      UNROLL_CHECK(same, "variant ", v.name, ": ", ini.string(), " differs from the experiment's config for this variant ",
                   unreadable.empty() ? "(the config changed since it was trained)" : "(it does not read: " + unreadable + ")",
                   "; delete ", dir.string(), " to retrain it");
    }
    if (fs::exists(done) && has_ini) {
      result.training[v.name] = read_done(done);
      continue;
    }
    UNROLL_CHECK(!options.only_eval, "variant ", v.name, ": not trained yet (", done.string(),
                 " is missing); run without --only-eval");
    UNROLL_CHECK(!fs::exists(dir / "resume.pt") || options.resume, "variant ", v.name, ": ", dir.string(),
                 " holds an unfinished training run; pass --resume to continue it, or delete the folder");
    to_train.push_back(&v);
  }
  for (const auto* v : to_train) check_train_inputs(v->train);
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto* v : to_train) {
    const fs::path dir = v->dir;
    fs::create_directories(dir);
    if (dist_rank() == 0) write_text_atomically((dir / "train.ini").string(), variant_train_ini(plan, *v));
    std::cout << "experiment " << plan.name << ": training " << v->name << " (" << v->train.task << ") -> "
              << dir.string() << "\n";
    TrainConfig c = v->train;
    c.source = (dir / "train.ini").string();  // messages name the file that reproduces the run
    const TrainResult r = run_train_config(c, config_images(c, true), config_images(c, false), options.resume);
    TrainingOutcome o;
    o.first_step = r.first_step;
    o.steps = r.step;
    o.seconds = r.seconds;
    o.val_psnr = r.last_val_psnr;
    std::cout << "  " << v->name << ": steps " << r.first_step << ".." << r.step << ", " << fixed(r.seconds, 1)
              << " s, validation PSNR " << fixed(r.last_val_psnr, 2) << " dB\n";
    if (dist_rank() == 0) write_done(dir / "done.json", o);
    result.training[v->name] = o;
  }
  result.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.eval = run_evaluation(sets, methods, eval);
  return result;
}

std::string experiment_report_markdown(const ExperimentPlan& plan, const ExperimentResult& result) {
  std::ostringstream os;
  os << "# Experiment " << plan.name << " (size " << plan.size << ")\n\n";
  if (!plan.description.empty()) os << plan.description << "\n\n";
  os << "Config `" << plan.config_path << "`, run with\n\n    " << plan.command << "\n\n";
  const auto methods = evaluated_methods(plan);
  std::map<std::string, const ExperimentVariant*> by_label;
  for (const auto& v : plan.variants) by_label[v.label.empty() ? v.name : v.label] = &v;

  os << "## Results\n\n";
  for (const auto& d : result.eval.datasets) {
    os << "### " << d.label << "\n\n"
       << d.protocol << "; metric `" << d.metric << "`, " << d.cases << " of " << d.available << " cases.\n\n";
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"blurred input", "-", maybe(d.input.psnr, 2), maybe(d.input.ssim, 4), maybe(d.input.score, 2), "-",
                    "-", "-", "-"});
    for (const auto& m : d.methods) {
      std::string kind = "method", steps = "-", time = "-", val = "-";
      auto it = by_label.find(m.method);
      if (it != by_label.end() && it->second->trained) {
        kind = "trained " + it->second->train.task;
        auto t = result.training.find(it->second->name);
        if (t != result.training.end()) {
          steps = std::to_string(t->second.steps);
          time = fixed(t->second.seconds / 60.0, 1) + " min";
          val = maybe(t->second.val_psnr, 2);
        }
      } else if (it != by_label.end()) {
        kind = "variant";
      }
      std::string note;
      if (m.failed) note += " (" + std::to_string(m.failed) + " failed)";
      if (m.needs_kernel) note += " (needs kernel: " + std::to_string(m.needs_kernel) + ")";
      rows.push_back({m.method + note, kind, maybe(m.psnr, 2), maybe(m.ssim, 4), maybe(m.score, 2),
                      maybe(m.seconds_per_image, 3), steps, time, val});
    }
    os << markdown_table({"method / variant", "kind", "PSNR (dB)", "SSIM", "score", "s / image", "train steps",
                          "train time", "val PSNR (dB)"},
                         rows)
       << "\n";
  }
  std::vector<std::string> x;
  if (!plot_series(plan, result, &x).empty()) os << "![PSNR per variant](psnr.png)\n\n";
  if (!plan.variants.empty()) {
    os << "## Variants\n\n";
    for (const auto& v : plan.variants) {
      os << "* **" << (v.label.empty() ? v.name : v.label) << "** (`" << v.name << "`): ";
      if (v.trained) {
        os << "trained " << v.train.task << " in `" << v.dir << "`, evaluated with `" << v.method.method << "`";
      } else {
        os << "method `" << v.method.method << "`";
        if (!v.method.weights.empty()) os << " with `" << v.method.weights << "`";
      }
      if (!v.settings.empty()) {
        os << "; settings:";
        for (const auto& [k, val] : v.settings) os << " `" << k << " = " << val << "`";
      }
      os << "\n";
    }
    os << "\n";
  }
  os << "## Reproduce\n\nFrom the repository root (paths as in the config):\n\n    "
     << (plan.reproduce.empty() ? plan.command : plan.reproduce) << "\n\n"
     << "or step by step:\n\n";
  std::string data;
  for (const auto& s : plan.test_sources) data += " --data " + quoted(s.text);
  data += " --noise " + number(plan.sources.noise255) + plan.eval_flags;
  for (const auto& v : plan.variants) {
    if (v.trained) os << "    build/unroll train --config " << quoted((fs::path(v.dir) / "train.ini").string()) << "\n";
  }
  if (!plan.baselines.empty()) {
    std::string names;
    std::string params;
    for (const auto& b : plan.baselines) {
      names += (names.empty() ? "" : ",") + b.method;
      for (const auto& [k, val] : b.params) params += " --param " + b.method + "." + k + "=" + number(val);
      if (!b.weights.empty()) params += " --weights " + quoted(b.method + "=" + b.weights);
    }
    os << "    build/unroll eval" << data << " --methods " << names << params << " --out "
       << quoted((fs::path(plan.out_dir) / "eval_baselines").string()) << "\n";
  }
  for (const auto& m : methods) {
    auto it = by_label.find(m.label);
    if (it == by_label.end()) continue;
    os << "    build/unroll eval" << data << method_flags(m) << " --out "
       << quoted((fs::path(plan.out_dir) / ("eval_" + it->second->name)).string()) << "\n";
  }
  os << "\n## Timing\n\n";
  double trained = 0;
  for (const auto& [name, t] : result.training) {
    os << "* training `" << name << "`: " << t.steps << " steps, " << fixed(t.seconds, 1) << " s"
       << (t.reused ? " (finished earlier, reused)"
                    : (t.first_step > 0 ? " (resumed from step " + std::to_string(t.first_step) + ")" : ""))
       << "\n";
    if (!t.reused) trained += t.seconds;
  }
  for (const auto& d : result.eval.datasets) {
    double method_seconds = 0;
    for (const auto& m : d.methods) method_seconds += m.seconds_total;
    os << "* evaluation `" << d.label << "`: loading " << fixed(d.load_seconds, 2) << " s, methods "
       << fixed(method_seconds, 2) << " s, scoring " << fixed(d.metric_seconds, 2) << " s\n";
  }
  os << "* this run: training " << fixed(result.train_seconds, 1) << " s, evaluation "
     << fixed(result.eval.wall_seconds, 1) << " s wall\n\nPer-image numbers: `eval/results.csv`; "
     << "means as JSON: `eval/summary.json`; comparison grids: `eval/grids/`.\n";
  return os.str();
}

void write_experiment_report(const ExperimentPlan& plan, const ExperimentResult& result) {
  const fs::path out = plan.out_dir;
  write_eval_outputs(result.eval, (out / "eval").string(), plan.command);
  std::vector<std::string> x;
  const auto series = plot_series(plan, result, &x);
  if (!series.empty())
    write_line_plot((out / "psnr.png").string(), plan.name + ": PSNR per variant", "PSNR (dB)", x, series);
  write_text_atomically((out / "report.md").string(), experiment_report_markdown(plan, result));
}

}  // namespace unroll
