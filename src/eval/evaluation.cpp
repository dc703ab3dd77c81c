#include "eval/evaluation.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <limits>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/metrics.h"
#include "eval/blind_deblur.h"
#include "core/progress.h"
#include "eval/report.h"
#include "io/image_io.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

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

}  // namespace

void EvalOptions::validate() const {
  UNROLL_CHECK(limit >= 0, "eval: limit must be >= 0 (0 = all), got ", limit);
  UNROLL_CHECK(grids >= 0, "eval: grids must be >= 0, got ", grids);
  UNROLL_CHECK(!save_images || !out_dir.empty(), "eval: saving images needs an output folder");
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

  const auto wall0 = Clock::now();
  EvalReport report;
  int64_t total = 0;
  for (const auto& s : sets) {
    const int64_t n = options.limit > 0 ? std::min(options.limit, s.pairs->size()) : s.pairs->size();
    total += n * static_cast<int64_t>(methods.size());
  }
  ProgressLine progress("eval", total, options.progress ? 2.0 : std::numeric_limits<double>::infinity());
  int64_t done = 0;
  const std::string out = options.out_dir;
  const bool estimating = options.kernel != KernelSource::Given &&
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
    double in_psnr = 0, in_ssim = 0;
    int64_t in_count = 0;

    std::future<LoadedCase> next;
    auto start_load = [&](int64_t i) {
      if (options.prefetch) {
        next = std::async(std::launch::async, [&set, i] { return load_case(*set.pairs, i); });
      }
    };
    if (ds.cases > 0) start_load(0);
    for (int64_t i = 0; i < ds.cases; ++i) {
      LoadedCase c = options.prefetch ? next.get() : load_case(*set.pairs, i);
      if (i + 1 < ds.cases) start_load(i + 1);
      ds.load_seconds += c.seconds;
      ImageScores in;
      if (c.error.empty()) {
        try {
          in = score_image(c.pair.blurred.narrow(1, 0, c.pair.sharp.size(1)), c.pair.sharp, input_metric);
          in_psnr += in.psnr;
          in_ssim += in.ssim;
          ++in_count;
        } catch (const std::exception& e) {
          c.error = std::string("scoring the blurred input: ") + e.what();
        }
      }
      if (!c.error.empty()) {
        ++ds.load_failures;
        for (const auto& m : methods) {
          EvalRow r;
          r.dataset = set.label;
          r.name = c.pair.name;
          r.method = m.label;
          r.status = "failed";
          r.error = "load: " + c.error;
          report.rows.push_back(std::move(r));
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
      // Estimated kernels: once per case, for every non-blind method.
      std::optional<EstimatedKernels> estimated;
      std::string estimate_error;
      if (estimating) {
        const auto t0 = Clock::now();
        try {
          BlindEstimateOptions eo = options.estimate;
          if (eo.noise_sigma < 0 && pair.noise_sigma) eo.noise_sigma = *pair.noise_sigma;
          estimated = estimate_kernels(req.blurred, options.kernel, eo, options.local);
        } catch (const std::exception& e) {
          estimate_error = e.what();
          ++ds.kernel_failures;
        }
        ds.kernel_seconds += seconds_since(t0);
        ++ds.kernel_estimates;
      }
      for (const auto& m : methods) {
        EvalRow r;
        r.dataset = set.label;
        r.name = pair.name;
        r.method = m.label;
        const bool non_blind = find_method(m.method).needs_kernel;
        if (non_blind && estimating && !estimated) {
          r.status = "failed";
          r.error = "kernel estimate: " + estimate_error;
          if (grid) tiles.push_back({placeholder_like(shown_blurred), m.label + ": failed"});
        } else if (non_blind && !estimating && !pair.kernel.defined()) {
          r.status = "needs kernel";
          if (grid) tiles.push_back({placeholder_like(shown_blurred), m.label + ": needs kernel"});
        } else {
          try {
            req.weights = m.weights;
            req.prior = m.prior;
            const auto t0 = Clock::now();
            auto result = non_blind && estimated ? deblur_with_kernels(m.method, req, m.params, *estimated)
                                                 : run_method(m.method, req, m.params);
            auto x = result.image.detach().to(torch::kCPU, torch::kFloat64);
            r.seconds = seconds_since(t0);
            if (non_blind && estimated) {
              r.kernel_seconds = estimated->seconds;
              if (pair.kernel.defined()) {  // the same method with the true kernel: Levin's error ratio
                const auto with_true = run_method(m.method, req, m.params).image.detach().to(torch::kCPU, torch::kFloat64);
                r.error_ratio = shift_aligned_error_ratio(x, with_true, pair.sharp);
              }
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
        ds.metric_seconds += r.metric_seconds;
        report.rows.push_back(std::move(r));
        progress.update(++done, set.label);
      }
      if (grid) {
        tiles.push_back({for_display(pair.sharp), "sharp"});
        const std::string rel =
            "grids/" + safe_file_name(set.label) + "_" + std::to_string(i) + "_" + safe_file_name(pair.name) + ".png";
        write_comparison_grid((fs::path(out) / rel).string(), tiles, 0);
        ds.grids.push_back(rel);
      }
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
