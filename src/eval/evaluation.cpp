#include "eval/evaluation.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <limits>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/distributed.h"
#include "core/error.h"
#include "core/strings.h"
#include "core/metrics.h"
#include "datasets/kernels.h"
#include "eval/blind_deblur.h"
#include "core/progress.h"
#include "eval/report.h"
#include "io/image_io.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

using Clock = std::chrono::steady_clock;


constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Small images (CIFAR-10) are enlarged by an integer nearest-neighbour factor so the labels fit.
torch::Tensor for_display(const torch::Tensor& image) {
  auto x = image.detach().to(torch::kCPU, torch::kFloat32);
  if (x.size(1) > 3) x = x.narrow(1, 0, 3);  // stacked frames: the first one
  const int64_t side = std::max(x.size(2), x.size(3));
  if (side >= 160) return x;
  const int64_t f = (160 + side - 1) / side;
  return torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                   .scale_factor(std::vector<double>{double(f), double(f)})
                                                   .mode(torch::kNearest));
}

torch::Tensor placeholder_like(const torch::Tensor& shown) { return torch::full_like(shown, 0.5f); }

/// The median (the mean of the middle two for an even count) of a non-empty list.
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct LoadedCase {
  ImagePair pair;
  double seconds = 0;
  std::string error;
};

LoadedCase load_case(const PairDataset& pairs, int64_t index) {
  LoadedCase c;
  const auto t0 = Clock::now();
  try {
    c.pair = pairs.get(index);
    check_pair(c.pair, "case " + std::to_string(index));
  } catch (const std::exception& e) {
    c.error = e.what();
    try {
      c.pair.name = pairs.name(index);
    } catch (const std::exception&) {
      c.pair.name = "#" + std::to_string(index);
    }
  }
  c.seconds = seconds_since(t0);
  return c;
}

// What one case contributes to the report: its rows and its share of the dataset's counts and times.
struct CaseOutcome {
  std::vector<EvalRow> rows;
  double load_seconds = 0, kernel_seconds = 0;
  bool load_failed = false, kernel_estimated = false, kernel_failed = false;
  bool input_scored = false;
  double in_psnr = 0, in_ssim = 0;
  std::string grid;  ///< relative path of its comparison grid, "" when none
};

// ---- cases evaluated by other ranks, sent as JSON (doubles as C99 hex floats: exact, NaN and Inf too)
std::string hex(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}
double unhex(const nlohmann::json& j) { return std::strtod(j.get<std::string>().c_str(), nullptr); }

nlohmann::json case_to_json(int64_t index, const CaseOutcome& c) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : c.rows)
    rows.push_back({r.dataset, r.name, r.method, r.status, r.error, hex(r.psnr), hex(r.ssim), hex(r.score),
                    hex(r.seconds), hex(r.metric_seconds), hex(r.kernel_seconds), hex(r.error_ratio)});
  return {{"index", index},          {"rows", rows},
          {"load_seconds", hex(c.load_seconds)}, {"kernel_seconds", hex(c.kernel_seconds)},
          {"load_failed", c.load_failed},        {"kernel_estimated", c.kernel_estimated},
          {"kernel_failed", c.kernel_failed},    {"input_scored", c.input_scored},
          {"in_psnr", hex(c.in_psnr)},           {"in_ssim", hex(c.in_ssim)},
          {"grid", c.grid}};
}

CaseOutcome case_from_json(const nlohmann::json& j) {
  CaseOutcome c;
  for (const auto& r : j.at("rows")) {
    EvalRow row;
    row.dataset = r.at(0).get<std::string>();
    row.name = r.at(1).get<std::string>();
    row.method = r.at(2).get<std::string>();
    row.status = r.at(3).get<std::string>();
    row.error = r.at(4).get<std::string>();
    row.psnr = unhex(r.at(5));
    row.ssim = unhex(r.at(6));
    row.score = unhex(r.at(7));
    row.seconds = unhex(r.at(8));
    row.metric_seconds = unhex(r.at(9));
    row.kernel_seconds = unhex(r.at(10));
    row.error_ratio = unhex(r.at(11));
    c.rows.push_back(std::move(row));
  }
  c.load_seconds = unhex(j.at("load_seconds"));
  c.kernel_seconds = unhex(j.at("kernel_seconds"));
  c.load_failed = j.at("load_failed").get<bool>();
  c.kernel_estimated = j.at("kernel_estimated").get<bool>();
  c.kernel_failed = j.at("kernel_failed").get<bool>();
  c.input_scored = j.at("input_scored").get<bool>();
  c.in_psnr = unhex(j.at("in_psnr"));
  c.in_ssim = unhex(j.at("in_ssim"));
  c.grid = j.at("grid").get<std::string>();
  return c;
}

}  // namespace

void EvalOptions::validate() const {
  UNROLL_CHECK(limit >= 0, "eval: limit must be >= 0 (0 = all), got ", limit);
  UNROLL_CHECK(grids >= 0, "eval: grids must be >= 0, got ", grids);
  UNROLL_CHECK(!save_images || !out_dir.empty(), "eval: saving images needs an output folder");
  UNROLL_CHECK(std::isfinite(perturbation) && perturbation >= 0 && perturbation <= 1,
               "eval: the kernel perturbation level must be in [0, 1], got ", perturbation);
  UNROLL_CHECK(refine_kernel >= 0, "eval: refine_kernel must be >= 0 (0 = off), got ", refine_kernel);
  UNROLL_CHECK(refine_kernel == 0 || kernel == KernelSource::Given || kernel == KernelSource::Perturbed,
               "eval: refining a kernel needs a given or perturbed one (an estimate is refined already), got --kernel ",
               kernel_source_name(kernel));
}

std::string safe_file_name(const std::string& name) {
  std::string n = name;
  for (const char* ext : {".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".tif", ".tiff", ".bmp"}) {
    if (ends_with(n, ext)) {
      n.resize(n.size() - std::string(ext).size());
      break;
    }
  }
  for (char& c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '+')) c = '_';
  }
  return n.empty() ? "_" : n;
}

EvalReport run_evaluation(const std::vector<EvalSet>& sets, const std::vector<EvalMethod>& methods_in,
                          const EvalOptions& options) {
  options.validate();
  UNROLL_CHECK(!sets.empty(), "eval: no datasets");
  UNROLL_CHECK(!methods_in.empty(), "eval: no methods");
  std::vector<EvalMethod> methods = methods_in;
  std::set<std::string> labels;
  for (auto& m : methods) {
    const Method& info = find_method(m.method);
    if (m.label.empty()) m.label = m.method;
    UNROLL_CHECK(labels.insert(m.label).second, "eval: method label '", m.label, "' appears twice");
    UNROLL_CHECK(!info.needs_weights() || !m.weights.empty(), m.label, ": ", m.method, " needs a checkpoint (--weights ",
                 m.method, "=FILE)");
    check_method_params(info, m.params, m.label);
  }
  std::set<std::string> set_labels;
  for (const auto& s : sets)
    UNROLL_CHECK(set_labels.insert(s.label).second, "eval: dataset label '", s.label, "' appears twice");

  // With several processes (core/distributed.h) case i is evaluated by rank i % world_size, and every
  // rank then receives the others' outcomes, so that all hold the whole report, assembled in case
  // order exactly as one process makes it (only the times differ); the callers write it on rank 0.
  Distributed* const dist = distributed();
  const int64_t rank = dist_rank(), world = dist_world_size();
  auto mine = [&](int64_t i) { return i % world == rank; };
  const auto wall0 = Clock::now();
  EvalReport report;
  int64_t total = 0;
  for (const auto& s : sets) {
    const int64_t n = options.limit > 0 ? std::min(options.limit, s.pairs->size()) : s.pairs->size();
    total += (n / world + (n % world > rank ? 1 : 0)) * static_cast<int64_t>(methods.size());
  }
  ProgressLine progress("eval", total, options.progress ? 2.0 : std::numeric_limits<double>::infinity());
  int64_t done = 0;
  const std::string out = options.out_dir;
  const bool estimating = (options.kernel != KernelSource::Given || options.refine_kernel > 0) &&
                          std::any_of(methods.begin(), methods.end(),
                                      [](const EvalMethod& m) { return find_method(m.method).needs_kernel; });

  for (const auto& set : sets) {
    DatasetSummary ds;
    ds.label = set.label;
    ds.source = set.source;
    ds.metric = metric_name(set.metric);
    ds.protocol = set.protocol;
    ds.boundary = boundary_name(options.boundary.value_or(set.boundary));
    ds.available = set.pairs->size();
    ds.cases = options.limit > 0 ? std::min(options.limit, ds.available) : ds.available;
    const size_t first_row = report.rows.size();
    const Metric input_metric =
        (set.metric == Metric::RSBlur || set.metric == Metric::RealBlur) ? Metric::Full : set.metric;

    std::vector<int64_t> my_cases;
    for (int64_t i = 0; i < ds.cases; ++i)
      if (mine(i)) my_cases.push_back(i);
    std::vector<CaseOutcome> outcomes(static_cast<size_t>(ds.cases));
    std::future<LoadedCase> next;
    auto start_load = [&](int64_t i) {
      if (options.prefetch) {
        next = std::async(std::launch::async, [&set, i] { return load_case(*set.pairs, i); });
      }
    };
    if (!my_cases.empty()) start_load(my_cases.front());
    for (size_t k = 0; k < my_cases.size(); ++k) {
      const int64_t i = my_cases[k];
      LoadedCase c = options.prefetch ? next.get() : load_case(*set.pairs, i);
      if (k + 1 < my_cases.size()) start_load(my_cases[k + 1]);
      CaseOutcome& o = outcomes[static_cast<size_t>(i)];
      o.load_seconds = c.seconds;
      ImageScores in;
      if (c.error.empty()) {
        try {
          in = score_image(c.pair.blurred.narrow(1, 0, c.pair.sharp.size(1)), c.pair.sharp, input_metric);
          o.in_psnr = in.psnr;
          o.in_ssim = in.ssim;
          o.input_scored = true;
        } catch (const std::exception& e) {
          c.error = std::string("scoring the blurred input: ") + e.what();
        }
      }
      if (!c.error.empty()) {
        o.load_failed = true;
        for (const auto& m : methods) {
          EvalRow r;
          r.dataset = set.label;
          r.name = c.pair.name;
          r.method = m.label;
          r.status = "failed";
          r.error = "load: " + c.error;
          o.rows.push_back(std::move(r));
          progress.update(++done, set.label);
        }
        continue;
      }
      const ImagePair& pair = c.pair;
      const bool grid = i < options.grids && !out.empty();
      std::vector<LabelledImage> tiles;
      torch::Tensor shown_blurred;
      if (grid) {
        shown_blurred = for_display(pair.blurred);
        tiles.push_back({shown_blurred, "blurred " + fixed(in.psnr, 2) + " dB"});
      }
      DeblurRequest req;
      req.blurred = pair.blurred.to(options.device, torch::kFloat32);
      if (pair.kernel.defined()) req.kernel = pair.kernel.to(options.device, torch::kFloat32);
      req.sigma = pair.noise_sigma.value_or(-1.0);
      req.boundary = options.boundary.value_or(set.boundary);
      // Estimated kernels: once per case, for every non-blind method. A perturbed kernel needs the true
      // one; without it the case is like a given kernel that is missing ("needs kernel").
      const bool needs_true_kernel = options.kernel == KernelSource::Perturbed || options.kernel == KernelSource::Given;
      const bool estimating_case = estimating && (!needs_true_kernel || pair.kernel.defined());
      std::optional<EstimatedKernels> estimated;
      std::string estimate_error;
      if (estimating_case) {
        const auto t0 = Clock::now();
        try {
          BlindEstimateOptions eo = options.estimate;
          if (eo.noise_sigma < 0 && pair.noise_sigma) eo.noise_sigma = *pair.noise_sigma;
          if (options.kernel == KernelSource::Perturbed)
            estimated = perturbed_kernels(req.blurred, pair.kernel, options.perturbation,
                                          mix_seed(static_cast<uint64_t>(i)));
          else if (options.kernel != KernelSource::Given)
            estimated = estimate_kernels(req.blurred, options.kernel, eo, options.local);
          if (options.refine_kernel > 0)
            estimated = refine_kernels(req.blurred, estimated ? estimated->kernel : pair.kernel, options.kernel,
                                       options.refine_kernel, eo);
        } catch (const std::exception& e) {
          estimate_error = e.what();
          o.kernel_failed = true;
        }
        o.kernel_seconds = seconds_since(t0);
        o.kernel_estimated = true;
      }
      for (const auto& m : methods) {
        EvalRow r;
        r.dataset = set.label;
        r.name = pair.name;
        r.method = m.label;
        const Method& method = find_method(m.method);
        const bool non_blind = method.needs_kernel;
        if (non_blind && estimating_case && !estimated) {
          r.status = "failed";
          r.error = "kernel estimate: " + estimate_error;
          if (grid) tiles.push_back({placeholder_like(shown_blurred), m.label + ": failed"});
        } else if (non_blind && !estimating_case && !pair.kernel.defined()) {
          r.status = "needs kernel";
          if (grid) tiles.push_back({placeholder_like(shown_blurred), m.label + ": needs kernel"});
        } else {
          try {
            req.weights = m.weights;
            req.prior = m.prior;
            const auto t0 = Clock::now();
            // Blind methods run without the dataset's kernel; one that can also run with a given kernel
            // (Method::oracle_kernel) does so below, for the error ratio of its own estimate.
            DeblurRequest blind_req = req;
            blind_req.kernel = torch::Tensor();
            auto result = non_blind && estimated ? deblur_with_kernels(m.method, req, m.params, *estimated)
                                                 : run_method(m.method, non_blind ? req : blind_req, m.params);
            auto x = result.image.detach().to(torch::kCPU, torch::kFloat64);
            r.seconds = seconds_since(t0);
            if (non_blind && estimated) {
              r.kernel_seconds = estimated->seconds;
              if (pair.kernel.defined()) {  // the same method with the true kernel: Levin's error ratio
                const auto with_true = run_method(m.method, req, m.params).image.detach().to(torch::kCPU, torch::kFloat64);
                r.error_ratio = shift_aligned_error_ratio(x, with_true, pair.sharp);
              }
            }
            if (!non_blind && method.oracle_kernel && pair.kernel.defined()) {
              const auto with_true = run_method(m.method, req, m.params).image.detach().to(torch::kCPU, torch::kFloat64);
              r.error_ratio = shift_aligned_error_ratio(x, with_true, pair.sharp);
            }
            const auto t1 = Clock::now();
            const auto s = score_image(x, pair.sharp, set.metric);
            r.metric_seconds = seconds_since(t1);
            r.psnr = s.psnr;
            r.ssim = s.ssim;
            r.score = s.score;
            r.status = "ok";
            if (grid) tiles.push_back({for_display(x.clamp(0, 1)), m.label + " " + fixed(s.psnr, 2) + " dB"});
            if (options.save_images) {
              write_image((fs::path(out) / "images" / safe_file_name(set.label) / safe_file_name(m.label) /
                           (safe_file_name(pair.name) + ".png"))
                              .string(),
                          x.clamp(0, 1).to(torch::kFloat32));
            }
          } catch (const std::exception& e) {
            r.status = "failed";
            r.error = e.what();
            if (grid) tiles.push_back({placeholder_like(shown_blurred), m.label + ": failed"});
          }
        }
        o.rows.push_back(std::move(r));
        progress.update(++done, set.label);
      }
      if (grid) {
        tiles.push_back({for_display(pair.sharp), "sharp"});
        const std::string rel =
            "grids/" + safe_file_name(set.label) + "_" + std::to_string(i) + "_" + safe_file_name(pair.name) + ".png";
        write_comparison_grid((fs::path(out) / rel).string(), tiles, 0);
        o.grid = rel;
      }
    }
    if (dist != nullptr) {
      nlohmann::json sent = nlohmann::json::array();
      for (const int64_t i : my_cases) sent.push_back(case_to_json(i, outcomes[static_cast<size_t>(i)]));
      const auto received = dist->all_gather_bytes(sent.dump(), "gathering the results of " + set.label);
      for (int64_t r = 0; r < world; ++r) {
        if (r == rank) continue;
        for (const auto& j : nlohmann::json::parse(received[static_cast<size_t>(r)]))
          outcomes[static_cast<size_t>(j.at("index").get<int64_t>())] = case_from_json(j);
      }
    }
    // The dataset's counts and sums in case order, as one process adds them up.
    double in_psnr = 0, in_ssim = 0;
    int64_t in_count = 0;
    for (auto& o : outcomes) {
      ds.load_seconds += o.load_seconds;
      if (o.input_scored) {
        in_psnr += o.in_psnr;
        in_ssim += o.in_ssim;
        ++in_count;
      }
      if (o.load_failed) ++ds.load_failures;
      if (o.kernel_estimated) {
        ++ds.kernel_estimates;
        ds.kernel_seconds += o.kernel_seconds;
      }
      if (o.kernel_failed) ++ds.kernel_failures;
      for (auto& r : o.rows) {
        ds.metric_seconds += r.metric_seconds;
        report.rows.push_back(std::move(r));
      }
      if (!o.grid.empty()) ds.grids.push_back(o.grid);
    }
    ds.input.psnr = in_count ? in_psnr / in_count : kNaN;
    ds.input.ssim = in_count ? in_ssim / in_count : kNaN;
    ds.input.score = in_count ? combined_score(ds.input.psnr, ds.input.ssim) : kNaN;
    for (const auto& m : methods) {
      MethodSummary ms;
      ms.method = m.label;
      double p = 0, q = 0, sc = 0, t = 0;
      for (size_t k = first_row; k < report.rows.size(); ++k) {
        const auto& r = report.rows[k];
        if (r.method != m.label) continue;
        ms.seconds_total += r.seconds;
        if (r.status == "ok") {
          ++ms.ok;
          p += r.psnr;
          q += r.ssim;
          sc += r.score;
          t += r.seconds;
        } else if (r.status == "needs kernel") {
          ++ms.needs_kernel;
        } else {
          ++ms.failed;
        }
      }
      ms.psnr = ms.ok ? p / ms.ok : kNaN;
      ms.ssim = ms.ok ? q / ms.ok : kNaN;
      ms.score = ms.ok ? sc / ms.ok : kNaN;
      ms.seconds_per_image = ms.ok ? t / ms.ok : kNaN;
      std::vector<double> ratios;
      for (size_t k = first_row; k < report.rows.size(); ++k) {
        const auto& r = report.rows[k];
        if (r.method == m.label && r.status == "ok" && !std::isnan(r.error_ratio)) ratios.push_back(r.error_ratio);
      }
      ms.ratios = static_cast<int64_t>(ratios.size());
      ms.error_ratio_median = ratios.empty() ? kNaN : median(ratios);
      ms.error_ratio_success =
          ratios.empty() ? kNaN
                         : static_cast<double>(std::count_if(ratios.begin(), ratios.end(), [](double v) { return v <= 3.0; })) /
                               static_cast<double>(ratios.size());
      ds.methods.push_back(ms);
    }
    report.datasets.push_back(std::move(ds));
  }
  progress.finish();
  report.wall_seconds = seconds_since(wall0);
  return report;
}

}  // namespace unroll
