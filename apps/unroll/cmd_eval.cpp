// unroll eval: every method x every case of a dataset protocol -> a table (and optional CSV/images).
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "cli.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/progress.h"
#include "datasets/readers.h"
#include "eval/methods.h"
#include "eval/protocol.h"
#include "eval/report.h"
#include "io/image_io.h"

namespace fs = std::filesystem;

namespace unroll::cli {

int cmd_eval(const std::vector<std::string>& args) {
  std::string data, methods_list, out_dir, boundary, device_name, weights, prior;
  std::vector<std::string> params_in;
  double noise255 = 2.55;
  int limit = 0;
  po::options_description opts("eval options");
  opts.add_options()
      ("data", po::value(&data)->required(),
       "dpir:IMAGES_DIR:KERNELS_DIR (DPIR protocol: circular blur, seeded noise) | folder:DIR (blur/ + sharp/ "
       "or a manifest.csv from `unroll synth`; kernels and noise levels are used when the folder has them)")
      ("noise", po::value(&noise255)->default_value(2.55), "noise sigma on the 0-255 scale")
      ("methods", po::value(&methods_list)->default_value("wiener,rl,admm,hqs-tv"), "comma-separated method names")
      ("param", po::value(&params_in)->composing(), "method.name=value, e.g. admm.lambda=0.003 (repeatable)")
      ("boundary", po::value(&boundary)->default_value("circular"), "boundary handling (protocol data is circular)")
      ("weights", po::value(&weights), "checkpoint for the learned methods (usrnet, pnp with drunet)")
      ("prior", po::value(&prior), "pnp prior: tv | drunet")
      ("limit", po::value(&limit)->default_value(0), "evaluate only the first N cases")
      ("out", po::value(&out_dir), "folder for results.csv, summary.md and comparison grids")
      ("device", po::value(&device_name)->default_value("cpu"), "cpu | cuda[:N]");
  po::variables_map vm;
  if (!parse("usage: unroll eval --data dpir:IMAGES:KERNELS --methods admm,hqs-tv [--out DIR]", opts, args, vm)) return 0;
  auto device = parse_device(device_name);
  UNROLL_CHECK(noise255 >= 0.0, "--noise must be >= 0, got ", noise255);

  std::vector<std::string> names;
  {
    std::stringstream ss(methods_list);
    for (std::string n; std::getline(ss, n, ',');) {
      if (!n.empty()) names.push_back(find_method(n).name);
    }
  }
  std::map<std::string, MethodParams> params;
  for (const auto& p : params_in) {
    auto dot = p.find('.'), eq = p.find('=');
    UNROLL_CHECK(dot != std::string::npos && eq != std::string::npos && dot < eq, "--param expects method.name=value, got '", p, "'");
    try {
      params[p.substr(0, dot)][p.substr(dot + 1, eq - dot - 1)] = std::stod(p.substr(eq + 1));
    } catch (const std::invalid_argument&) {
      fail("--param ", p, ": not a number");
    }
  }

  std::vector<EvalCase> cases;
  if (data.rfind("dpir:", 0) == 0) {
    auto rest = data.substr(5);
    auto colon = rest.find(':');
    UNROLL_CHECK(colon != std::string::npos, "--data dpir: expects dpir:IMAGES_DIR:KERNELS_DIR");
    cases = dpir_protocol_cases(rest.substr(0, colon), rest.substr(colon + 1), noise255 / 255.0, 0);
  } else if (data.rfind("folder:", 0) == 0) {
    auto listing = list_folder_pairs(data.substr(7));
    UNROLL_CHECK(!listing.pairs.empty(), data, ": no blurred/sharp pairs found");
    FilePairDataset dataset(listing.pairs);
    for (int64_t i = 0; i < dataset.size(); ++i) {
      auto pair = dataset.get(i);
      EvalCase c;
      c.name = pair.name;
      c.sharp = pair.sharp.to(torch::kFloat64);
      c.blurred = pair.blurred.to(torch::kFloat64);
      c.kernel = pair.kernel;
      c.sigma = pair.noise_sigma.value_or(-1.0);
      cases.push_back(std::move(c));
    }
  } else {
    fail("--data: unsupported dataset '", data, "' (supported: dpir:IMAGES:KERNELS, folder:DIR)");
  }
  if (limit > 0 && static_cast<size_t>(limit) < cases.size()) cases.resize(limit);

  std::map<std::string, double> sum_psnr, sum_ssim, sum_time;
  std::map<std::string, int> failures, needs_kernel;
  std::ostringstream csv;
  csv << "case,method,psnr,ssim,score,seconds,error\n";
  double input_psnr = 0.0;
  ProgressLine progress("eval", static_cast<int64_t>(cases.size() * names.size()), 2.0);
  int64_t done = 0;
  for (const auto& c : cases) {
    input_psnr += dpir_psnr(c.blurred, c.sharp);
    DeblurRequest req;
    req.blurred = c.blurred.to(device, torch::kFloat32);
    if (c.kernel.defined()) req.kernel = c.kernel.to(device, torch::kFloat32);
    req.sigma = c.sigma;
    req.boundary = parse_boundary(boundary);
    req.weights = weights;
    req.prior = prior;
    for (const auto& name : names) {
      if (find_method(name).needs_kernel && !c.kernel.defined()) {
        ++needs_kernel[name];  // listed, not silently skipped
        csv << c.name << "," << name << ",,,,,needs kernel\n";
        progress.update(++done);
        continue;
      }
      try {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = run_method(name, req, params[name]);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        auto x = r.image.cpu().to(torch::kFloat64);
        const double p = dpir_psnr(x, c.sharp);
        const double s = ssim(x.clamp(0, 1), c.sharp).item<double>();
        sum_psnr[name] += p;
        sum_ssim[name] += s;
        sum_time[name] += secs;
        csv << c.name << "," << name << "," << fixed(p, 4) << "," << fixed(s, 5) << "," << fixed(combined_score(p, s), 3)
            << "," << fixed(secs, 4) << ",\n";
      } catch (const std::exception& e) {
        ++failures[name];
        csv << c.name << "," << name << ",,,,,\"" << e.what() << "\"\n";
      }
      progress.update(++done);
    }
  }
  progress.finish();
  const double n = static_cast<double>(cases.size());
  std::vector<std::vector<std::string>> rows{{"blurred input", fixed(input_psnr / n, 2), "-", "-", "-", "-"}};
  for (const auto& name : names) {
    const double ok = n - failures[name] - needs_kernel[name];
    rows.push_back({name, ok > 0 ? fixed(sum_psnr[name] / ok, 2) : "-", ok > 0 ? fixed(sum_ssim[name] / ok, 4) : "-",
                    ok > 0 ? fixed(sum_time[name] / ok, 3) : "-", std::to_string(failures[name]),
                    std::to_string(needs_kernel[name])});
  }
  const std::string table =
      markdown_table({"method", "PSNR (dB, 8-bit)", "SSIM", "s / image", "failed", "needs kernel"}, rows);
  std::cout << cases.size() << " cases, noise " << fixed(noise255, 2) << "/255\n" << table;
  if (!out_dir.empty()) {
    write_text_atomically(out_dir + "/results.csv", csv.str());
    write_text_atomically(out_dir + "/summary.md", "# unroll eval\n\n`" + data + "`, noise " + fixed(noise255, 2) +
                                                       "/255, " + std::to_string(cases.size()) + " cases\n\n" + table);
  }
  return 0;
}

}  // namespace unroll::cli
