#include "eval/rotational_study.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "classic/admm_tv.h"
#include "classic/wiener.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/metrics.h"
#include "core/noise.h"
#include "core/polar.h"
#include "core/progress.h"
#include "core/tensor.h"
#include "datasets/kernels.h"
#include "datasets/rotational.h"
#include "eval/methods.h"
#include "eval/protocol.h"
#include "eval/report.h"
#include "io/image_io.h"

namespace unroll {
namespace {

constexpr double kDeg = M_PI / 180.0;

int64_t odd_size(double length, int64_t limit) {
  int64_t s = static_cast<int64_t>(std::lround(length));
  if (s % 2 == 0) ++s;
  return std::clamp<int64_t>(s, 3, std::min<int64_t>(63, limit % 2 ? limit : limit - 1));
}

std::string exposure_label(double seconds) {
  const double inverse = 1.0 / seconds;
  if (std::abs(inverse - std::round(inverse)) < 1e-6 * inverse) return "1/" + std::to_string(std::lround(inverse));
  return fixed(seconds, 6) + " s";
}

struct Scored {
  torch::Tensor image;
  double psnr = 0, ssim = 0;
};

Scored score(const torch::Tensor& restored, const torch::Tensor& sharp) {
  Scored s;
  s.image = restored.detach().cpu().to(torch::kFloat64).clamp(0.0, 1.0);
  s.psnr = dpir_psnr(s.image, sharp);
  s.ssim = ssim(s.image, sharp).item<double>();
  return s;
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

torch::Tensor fit_uniform_kernel(const torch::Tensor& sharp, const torch::Tensor& blurred, int64_t size) {
  auto x = as_image_batch(sharp).to(torch::kFloat64);
  auto y = as_image_batch(blurred).to(torch::kFloat64);
  check_image(x, "fit_uniform_kernel sharp");
  UNROLL_CHECK(x.sizes() == y.sizes(), "fit_uniform_kernel: sharp ", x.sizes(), " and blurred ", y.sizes(), " differ");
  const int64_t h = x.size(2), w = x.size(3);
  UNROLL_CHECK(size >= 1 && size % 2 == 1 && size <= std::min(h, w), "fit_uniform_kernel: size must be odd and in [1, ",
               std::min(h, w), "], got ", size);
  auto window = torch::hann_window(h, torch::TensorOptions().dtype(torch::kFloat64)).view({h, 1}) *
                torch::hann_window(w, torch::TensorOptions().dtype(torch::kFloat64)).view({1, w});
  auto X = rfft2((x - x.mean({2, 3}, true)) * window);
  auto Y = rfft2((y - y.mean({2, 3}, true)) * window);
  auto num = (X.conj() * Y).sum(std::vector<int64_t>{0, 1});
  auto den = X.abs().pow(2).sum(std::vector<int64_t>{0, 1});
  auto k = irfft2(num / (den + 1e-4 * den.mean()), h, w);
  k = torch::roll(k, {size / 2, size / 2}, {0, 1}).narrow(0, 0, size).narrow(1, 0, size).clamp_min(0.0);
  const double total = k.sum().item<double>();
  UNROLL_CHECK(total > 0, "fit_uniform_kernel: no positive kernel mass (unrelated images?)");
  return k / total;
}

void RotationalStudyOptions::validate() const {
  UNROLL_CHECK(!image_files.empty(), "rotational study: no images");
  UNROLL_CHECK(!rpms.empty() && !exposures.empty(), "rotational study: rpm and exposure lists must not be empty");
  for (double r : rpms) UNROLL_CHECK(std::isfinite(r) && r >= 0, "rotational study: rpm must be >= 0, got ", r);
  for (double e : exposures)
    UNROLL_CHECK(std::isfinite(e) && e > 0, "rotational study: exposure must be > 0 seconds, got ", e);
  UNROLL_CHECK(std::isfinite(noise) && noise >= 0, "rotational study: noise must be >= 0, got ", noise);
  UNROLL_CHECK(!methods.empty(), "rotational study: no methods");
  // A missing checkpoint is a bad input, not a per-case failure: say so before any case runs.
  for (const auto* w : {&unrolled_weights, &convir_weights})
    UNROLL_CHECK(w->empty() || std::filesystem::is_regular_file(*w), "rotational study: ",
                 w == &convir_weights ? "convir_weights" : "unrolled_weights", ": no such file '", *w, "'");
  for (const auto& m : methods) {
    if (m == "oracle-uniform" || m == "oracle-unrolled") continue;
    if (m == "convir") {
      UNROLL_CHECK(!convir_weights.empty() || !shipped_model("convir_small.pth").empty(),
                   "rotational study: method convir needs convir_weights (no shipped models/convir_small.pth)");
      continue;
    }
    UNROLL_CHECK(find_method(m).rotational, "rotational study: method '", m,
                 "' does not solve rotational blur (use oracle-uniform for uniform-kernel methods)");
  }
  UNROLL_CHECK(std::count(methods.begin(), methods.end(), "oracle-unrolled") == 0 ||
                   std::count(methods.begin(), methods.end(), "oracle-uniform") == 1,
               "rotational study: oracle-unrolled needs oracle-uniform (it uses the oracle's kernel)");
  UNROLL_CHECK(grids >= 0, "rotational study: grids must be >= 0, got ", grids);
  UNROLL_CHECK(!out_dir.empty(), "rotational study: out_dir is required");
}

std::vector<RotationalStudyRow> run_rotational_study(const RotationalStudyOptions& options) {
  options.validate();
  std::vector<RotationalStudyRow> rows;
  const size_t total = options.image_files.size() * options.rpms.size() * options.exposures.size();
  std::vector<std::string> columns{"blurred"};
  columns.insert(columns.end(), options.methods.begin(), options.methods.end());
  ProgressLine progress("study", static_cast<int64_t>(total * columns.size()), 2.0);
  int64_t done = 0;
  std::map<std::string, double> method_seconds;
  std::map<std::string, int> method_runs;

  for (size_t i = 0; i < options.image_files.size(); ++i) {
    const std::string& file = options.image_files[i];
    const auto sharp = read_image(file).to(torch::kFloat32).clamp(0.0, 1.0);
    const auto sharp64 = sharp.to(torch::kFloat64);
    const std::string stem = file.substr(file.find_last_of('/') + 1, file.find_last_of('.') - file.find_last_of('/') - 1);
    const int64_t h = sharp.size(2), w = sharp.size(3);
    const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    for (size_t ri = 0; ri < options.rpms.size(); ++ri) {
      for (size_t ei = 0; ei < options.exposures.size(); ++ei) {
        const double rpm = options.rpms[ri], exposure = options.exposures[ei];
        RotationalBlurOptions blur;
        blur.angle = rpm_exposure_to_angle(rpm, exposure);
        blur.centre_x = cx;
        blur.centre_y = cy;
        const uint64_t seed = mix_seed(options.seed ^ mix_seed(i * 1000003 + ri * 1009 + ei));
        auto y = rotational_blur(sharp, blur);
        if (options.noise > 0) y = add_gaussian_noise(y, options.noise, seed);
        y = y.clamp(0.0, 1.0);
        const double angle_deg = blur.angle / kDeg;
        const bool grid_case = static_cast<int>(i) < options.grids && ri == options.rpms.size() / 2;
        std::vector<LabelledImage> tiles;

        torch::Tensor oracle_kernel;
        auto record = [&](const std::string& method, const std::function<std::pair<torch::Tensor, std::string>()>& run) {
          RotationalStudyRow row;
          row.image = stem;
          row.method = method;
          row.rpm = rpm;
          row.exposure = exposure;
          row.angle_deg = angle_deg;
          try {
            const auto t0 = std::chrono::steady_clock::now();
            auto [image, detail] = run();
            row.seconds = seconds_since(t0);
            const Scored s = score(image, sharp64);
            row.psnr = s.psnr;
            row.ssim = s.ssim;
            row.detail = detail;
            method_seconds[method] += row.seconds;
            ++method_runs[method];
            if (grid_case) tiles.push_back({s.image, method + " " + fixed(s.psnr, 2) + " dB"});
          } catch (const std::exception& e) {
            row.error = e.what();
          }
          rows.push_back(row);
          progress.update(++done);
        };

        record("blurred", [&] { return std::pair{y, std::string()}; });
        for (const auto& method : options.methods) {
          if (method == "oracle-uniform") {
            record(method, [&] {
              const double half_arc = 0.5 * farthest_pixel_distance(h, w, cx, cy) * blur.angle;
              std::set<int64_t> sizes;
              for (double f : {0.5, 1.0, 2.0}) sizes.insert(odd_size(f * half_arc, std::min(h, w)));
              Scored best;
              best.psnr = -1;
              std::string detail;
              // Regularisation above the noise-based defaults too: the kernel error acts as noise.
              const double wiener_nsr = default_wiener_nsr(options.noise), admm_lambda = default_tv_lambda(options.noise);
              const std::vector<std::pair<std::string, MethodParams>> candidates = {
                  {"wiener", {{"nsr", wiener_nsr}}},       {"wiener", {{"nsr", 10 * wiener_nsr}}},
                  {"wiener", {{"nsr", 100 * wiener_nsr}}}, {"admm", {{"lambda", admm_lambda}}},
                  {"admm", {{"lambda", 4 * admm_lambda}}}, {"admm", {{"lambda", 16 * admm_lambda}}}};
              for (int64_t s : sizes) {
                auto k = fit_uniform_kernel(sharp, y, s).to(torch::kFloat32);
                for (const auto& [m, params] : candidates) {
                  DeblurRequest req;
                  req.blurred = y;
                  req.kernel = k;
                  req.sigma = options.noise;
                  req.boundary = Boundary::LiuJia;
                  const Scored sc = score(run_method(m, req, params).image, sharp64);
                  if (sc.psnr > best.psnr) {
                    best = sc;
                    oracle_kernel = k;
                    detail = m + " " + params.begin()->first + "=" + fixed(params.begin()->second, 6) + " k=" +
                             std::to_string(s);
                  }
                }
              }
              return std::pair{best.image, detail};
            });
          } else if (method == "oracle-unrolled") {
            record(method, [&] {
              UNROLL_CHECK(oracle_kernel.defined(), "oracle-unrolled: the oracle kernel is missing (oracle-uniform failed)");
              DeblurRequest req;
              req.blurred = y;
              req.kernel = oracle_kernel;
              req.sigma = options.noise;
              req.boundary = Boundary::LiuJia;
              req.weights = options.unrolled_weights;
              return std::pair{run_method("unrolled", req).image, std::string("k=") + std::to_string(oracle_kernel.size(0))};
            });
          } else if (method == "convir") {
            record(method, [&] {
              DeblurRequest req;
              req.blurred = y;
              req.weights = options.convir_weights;
              return std::pair{run_method("convir", req).image, std::string("blind")};
            });
          } else {
            record(method, [&] {
              DeblurRequest req;
              req.blurred = y;
              req.sigma = options.noise;
              if (method == "unrolled" || method == "usrnet") req.weights = options.unrolled_weights;
              RotationalBlurModel model;
              model.angle = blur.angle;
              model.centre_x = cx;
              model.centre_y = cy;
              req.rotation = model;
              return std::pair{run_method(method, req).image, std::string("polar")};
            });
          }
        }
        if (grid_case) {
          tiles.push_back({sharp, "sharp"});
          write_comparison_grid(options.out_dir + "/grids/" + stem + "_" + fixed(angle_deg, 2) + "deg.png", tiles);
        }
      }
    }
  }
  progress.finish();

  // results.csv
  std::ostringstream csv;
  csv << "image,rpm,exposure_s,angle_deg,method,psnr,ssim,seconds,detail,error\n";
  for (const auto& r : rows) {
    csv << csv_escape(r.image) << "," << fixed(r.rpm, 1) << "," << fixed(r.exposure, 8) << "," << fixed(r.angle_deg, 4)
        << "," << r.method << "," << (r.error.empty() ? fixed(r.psnr, 4) : "") << ","
        << (r.error.empty() ? fixed(r.ssim, 5) : "") << "," << fixed(r.seconds, 3) << "," << csv_escape(r.detail)
        << "," << csv_escape(r.error) << "\n";
  }
  write_text_atomically(options.out_dir + "/results.csv", csv.str());

  // Means per (rpm, exposure) and method; the blurred input as its own column.
  struct Acc {
    double psnr = 0, ssim = 0;
    int n = 0;
  };
  std::map<std::pair<size_t, size_t>, std::map<std::string, Acc>> acc;
  for (size_t ri = 0; ri < options.rpms.size(); ++ri) {
    for (size_t ei = 0; ei < options.exposures.size(); ++ei) {
      for (const auto& r : rows) {
        if (r.rpm != options.rpms[ri] || r.exposure != options.exposures[ei] || !r.error.empty()) continue;
        auto& a = acc[{ri, ei}][r.method];
        a.psnr += r.psnr;
        a.ssim += r.ssim;
        ++a.n;
      }
    }
  }
  std::vector<std::string> header{"rpm", "exposure", "sweep (deg)"};
  header.insert(header.end(), columns.begin(), columns.end());
  std::vector<std::vector<std::string>> psnr_rows, ssim_rows;
  std::vector<std::pair<double, std::pair<size_t, size_t>>> by_angle;
  for (size_t ri = 0; ri < options.rpms.size(); ++ri) {
    for (size_t ei = 0; ei < options.exposures.size(); ++ei) {
      const double angle = rpm_exposure_to_angle(options.rpms[ri], options.exposures[ei]) / kDeg;
      by_angle.push_back({angle, {ri, ei}});
      std::vector<std::string> p{fixed(options.rpms[ri], 0), exposure_label(options.exposures[ei]), fixed(angle, 2)};
      std::vector<std::string> s = p;
      for (const auto& m : columns) {
        const Acc& a = acc[{ri, ei}][m];
        p.push_back(a.n ? fixed(a.psnr / a.n, 2) : "-");
        s.push_back(a.n ? fixed(a.ssim / a.n, 4) : "-");
      }
      psnr_rows.push_back(p);
      ssim_rows.push_back(s);
    }
  }

  // Goal: rotational HQS-TV vs the uniform oracle at sweeps >= goal_angle_deg.
  std::ostringstream goal;
  const bool have_goal = std::count(options.methods.begin(), options.methods.end(), "hqs-tv") &&
                         std::count(options.methods.begin(), options.methods.end(), "oracle-uniform");
  if (have_goal) {
    double sum = 0, worst = 1e9;
    int n = 0;
    for (const auto& [angle, key] : by_angle) {
      if (angle < options.goal_angle_deg) continue;
      const Acc& t = acc[key]["hqs-tv"];
      const Acc& o = acc[key]["oracle-uniform"];
      if (!t.n || !o.n) continue;
      const double gain = t.psnr / t.n - o.psnr / o.n;
      sum += gain;
      worst = std::min(worst, gain);
      ++n;
    }
    if (n > 0) {
      goal << "Rotational HQS-TV minus the uniform-kernel oracle, sweeps >= " << fixed(options.goal_angle_deg, 1)
           << " degrees (" << n << " conditions): mean " << fixed(sum / n, 2) << " dB, smallest " << fixed(worst, 2)
           << " dB; goal >= 3 dB: " << (worst >= 3.0 ? "met" : "not met") << ".\n";
    }
  }

  // PSNR against the sweep angle, one line per method.
  std::sort(by_angle.begin(), by_angle.end());
  std::vector<std::string> x_labels;
  std::vector<PlotSeries> series;
  for (const auto& m : columns) series.push_back({m, {}});
  for (const auto& [angle, key] : by_angle) {
    x_labels.push_back(fixed(angle, angle < 10 ? 2 : 1));
    for (auto& line : series) {
      const Acc& a = acc[key][line.name];
      line.values.push_back(a.n ? a.psnr / a.n : std::nan(""));
    }
  }
  write_line_plot(options.out_dir + "/psnr_vs_angle.png", "Rotational blur: PSNR vs sweep angle (degrees)",
                  "PSNR (dB)", x_labels, series);

  std::ostringstream md;
  md << "# Rotational blur study\n\n";
  if (!options.command.empty()) md << "Produced by `" << options.command << "`.\n\n";
  md << options.image_files.size() << " images, rotation about the image centre, noise sigma "
     << fixed(options.noise * 255.0, 2) << "/255, PSNR on 8-bit RGB (no border crop), means over the images.\n\n";
  if (!goal.str().empty()) md << goal.str() << "\n";
  md << "![PSNR vs sweep angle](psnr_vs_angle.png)\n\n";
  md << "## PSNR (dB)\n\n" << markdown_table(header, psnr_rows) << "\n## SSIM\n\n" << markdown_table(header, ssim_rows);
  md << "\n## Seconds per image (this machine, mean over all cases)\n\n";
  std::vector<std::vector<std::string>> time_rows;
  for (const auto& m : options.methods)
    time_rows.push_back({m, method_runs[m] ? fixed(method_seconds[m] / method_runs[m], 3) : "-"});
  md << markdown_table({"method", "s / image"}, time_rows);
  md << "\nPer-case values (and the oracle's winning method and kernel size) are in results.csv.\n";
  write_text_atomically(options.out_dir + "/summary.md", md.str());
  return rows;
}

}  // namespace unroll
