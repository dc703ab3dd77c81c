#include "eval/outputs.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/atomic_file.h"
#include "eval/report.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out + "\"";
}

nlohmann::ordered_json number_or_null(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

std::string maybe(double v, int decimals) { return std::isnan(v) ? "-" : fixed(v, decimals); }

}  // namespace

std::string results_csv(const EvalReport& report) {
  std::ostringstream os;
  os << "dataset,case,method,status,psnr,ssim,score,seconds,metric_seconds,kernel_seconds,error_ratio,error\n";
  for (const auto& r : report.rows) {
    os << csv_field(r.dataset) << "," << csv_field(r.name) << "," << csv_field(r.method) << "," << csv_field(r.status)
       << ",";
    if (r.status == "ok") {
      os << fixed(r.psnr, 4) << "," << fixed(r.ssim, 5) << "," << fixed(r.score, 3) << "," << fixed(r.seconds, 4) << ","
         << fixed(r.metric_seconds, 4) << "," << fixed(r.kernel_seconds, 4) << ","
         << (std::isnan(r.error_ratio) ? std::string() : fixed(r.error_ratio, 4));
    } else {
      os << ",,,,,,";
    }
    os << "," << csv_field(r.error) << "\n";
  }
  return os.str();
}

std::string summary_markdown(const EvalReport& report, const std::string& command) {
  std::ostringstream os;
  os << "# unroll eval\n\n";
  if (!command.empty()) os << "    " << command << "\n\n";
  for (const auto& d : report.datasets) {
    double method_seconds = 0;
    for (const auto& m : d.methods) method_seconds += m.seconds_total;
    os << "## " << d.label << "\n\n`" << d.source << "`: " << d.protocol << ". Metric `" << d.metric << "`, boundary `" << d.boundary << "`, " << d.cases
       << " of " << d.available << " cases";
    if (d.load_failures) os << " (" << d.load_failures << " could not be read)";
    os << ".\n\n";
    const bool ratios = std::any_of(d.methods.begin(), d.methods.end(), [](const MethodSummary& m) { return m.ratios > 0; });
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> input_row = {"blurred input", maybe(d.input.psnr, 2), maybe(d.input.ssim, 4),
                                          maybe(d.input.score, 2), "-", "-", "-", "-"};
    if (ratios) input_row.insert(input_row.end(), {"-", "-"});
    rows.push_back(input_row);
    for (const auto& m : d.methods) {
      std::vector<std::string> row = {m.method, maybe(m.psnr, 2), maybe(m.ssim, 4), maybe(m.score, 2),
                                      maybe(m.seconds_per_image, 3), std::to_string(m.ok), std::to_string(m.failed),
                                      std::to_string(m.needs_kernel)};
      if (ratios)
        row.insert(row.end(), {maybe(m.error_ratio_median, 2),
                               std::isnan(m.error_ratio_success) ? "-" : fixed(100.0 * m.error_ratio_success, 0) + "%"});
      rows.push_back(row);
    }
    std::vector<std::string> header = {"method", "PSNR (dB)", "SSIM", "score", "s / image", "ok", "failed", "needs kernel"};
    if (ratios) header.insert(header.end(), {"error ratio (median)", "ratio <= 3"});
    os << markdown_table(header, rows);
    os << "\nTime: loading " << fixed(d.load_seconds, 2) << " s (" << fixed(d.cases ? d.load_seconds / d.cases : 0.0, 3)
       << " s / case), methods " << fixed(method_seconds, 2) << " s, scoring " << fixed(d.metric_seconds, 2) << " s";
    if (d.kernel_estimates > 0)
      os << ", kernel estimation " << fixed(d.kernel_seconds, 2) << " s (" << fixed(d.kernel_seconds / d.kernel_estimates, 3)
         << " s / case" << (d.kernel_failures ? ", " + std::to_string(d.kernel_failures) + " failed" : "")
         << "; not included in s / image)";
    os << ".\n";
    if (ratios)
      os << "Error ratio: shift-aligned SSD of the result with the estimated kernel over the same method's with the "
            "true kernel (Levin et al. 2009; success: <= 3).\n";
    if (d.metric != "full" && d.metric != "full8")
      os << "The blurred-input row is unaligned (metric `full`), as RealBlur's script reports it.\n";
    if (!d.grids.empty()) {
      os << "\n";
      for (const auto& g : d.grids) os << "![" << g << "](" << g << ")\n";
    }
    os << "\n";
  }
  os << "Wall time " << fixed(report.wall_seconds, 2) << " s.\n";
  return os.str();
}

std::string summary_json(const EvalReport& report, const std::string& command) {
  nlohmann::ordered_json j;
  j["command"] = command;
  j["wall_seconds"] = report.wall_seconds;
  j["datasets"] = nlohmann::ordered_json::array();
  for (const auto& d : report.datasets) {
    nlohmann::ordered_json dj;
    dj["label"] = d.label;
    dj["source"] = d.source;
    dj["metric"] = d.metric;
    dj["protocol"] = d.protocol;
    dj["boundary"] = d.boundary;
    dj["cases"] = d.cases;
    dj["available"] = d.available;
    dj["load_failures"] = d.load_failures;
    dj["load_seconds"] = d.load_seconds;
    double method_seconds = 0;
    for (const auto& m : d.methods) method_seconds += m.seconds_total;
    dj["method_seconds"] = method_seconds;
    dj["metric_seconds"] = d.metric_seconds;
    dj["kernel_estimates"] = d.kernel_estimates;
    dj["kernel_failures"] = d.kernel_failures;
    dj["kernel_seconds"] = d.kernel_seconds;
    dj["input"] = {{"psnr", number_or_null(d.input.psnr)},
                   {"ssim", number_or_null(d.input.ssim)},
                   {"score", number_or_null(d.input.score)}};
    dj["methods"] = nlohmann::ordered_json::array();
    for (const auto& m : d.methods) {
      nlohmann::ordered_json mj;
      mj["method"] = m.method;
      mj["ok"] = m.ok;
      mj["failed"] = m.failed;
      mj["needs_kernel"] = m.needs_kernel;
      mj["psnr"] = number_or_null(m.psnr);
      mj["ssim"] = number_or_null(m.ssim);
      mj["score"] = number_or_null(m.score);
      mj["seconds_per_image"] = number_or_null(m.seconds_per_image);
      mj["seconds_total"] = m.seconds_total;
      mj["error_ratios"] = m.ratios;
      mj["error_ratio_median"] = number_or_null(m.error_ratio_median);
      mj["error_ratio_success"] = number_or_null(m.error_ratio_success);
      dj["methods"].push_back(mj);
    }
    dj["grids"] = d.grids;
    j["datasets"].push_back(dj);
  }
  return j.dump(2) + "\n";
}

void write_eval_outputs(const EvalReport& report, const std::string& dir, const std::string& command) {
  write_text_atomically((fs::path(dir) / "results.csv").string(), results_csv(report));
  write_text_atomically((fs::path(dir) / "summary.md").string(), summary_markdown(report, command));
  write_text_atomically((fs::path(dir) / "summary.json").string(), summary_json(report, command));
}


}  // namespace unroll
