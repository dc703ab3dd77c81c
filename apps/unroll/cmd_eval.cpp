// unroll eval: every method x every case of one or more datasets, each under its own protocol
// (eval/harness.h) -> a table on stdout and results.csv / summary.md / summary.json / grids in --out.
// Under torchrun or srun, or with --dist-init, the cases are shared among the processes and rank 0
// writes the one report (core/distributed.h, docs/distributed.md).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <sstream>

#include "cli.h"
#include "core/distributed.h"
#include "core/error.h"
#include "eval/harness.h"
#include "eval/report.h"
#include "kernel_cli.h"

namespace unroll::cli {

int cmd_eval(const std::vector<std::string>& args) {
  std::vector<std::string> data, params_in, weights_in;
  std::string methods_list, out_dir, boundary, device_name, prior, metric, kernel = "given";
  KernelEstimateArgs kernel_args;
  DistributedOptions dist;
  double noise255 = 2.55;
  int64_t limit = 0, grids = 3;
  po::options_description opts("eval options");
  // clang-format off
  opts.add_options()
      ("data", po::value(&data)->required()->composing(),
       "dataset (repeatable): gopro:PATH[:test|train] | reds:PATH[:val|reds4|train] | rsblur:PATH[:test|val|train|LIST.txt] "
       "| cifar10:PATH[:test|train] | folder:DIR | synthetic:SHARP_DIR[,kernels=K][,noise=N][,size=S][,count=C][,seed=S]"
       "[,blur=B][,crop=P] | dpir:IMAGES_DIR:KERNELS_DIR | blind:IMAGES_DIR:KERNELS_DIR   (src/eval/sources.h)")
      ("noise", po::value(&noise255)->default_value(2.55), "noise sigma (0-255 scale) of dpir and of synthetic without noise=")
      ("methods", po::value(&methods_list)->default_value("wiener,rl,admm,hqs-tv"), "comma-separated method names")
      ("param", po::value(&params_in)->composing(), "method.name=value, e.g. admm.lambda=0.003 (repeatable)")
      ("weights", po::value(&weights_in)->composing(),
       "checkpoint: method=FILE for one method (repeatable), or FILE for every learned method")
      ("prior", po::value(&prior), "pnp prior: tv | drunet | resunet | attention-unet | convir-s")
      ("metric", po::value(&metric), "override the datasets' metrics: full | full8 | rsblur | realblur | shift-aligned")
      ("kernel", po::value(&kernel)->default_value("given"),
       "kernels of the non-blind methods: given (the dataset's; 'needs kernel' where it has none) | estimate (from each "
       "blurred image, once per case) | estimate-local (one per tile of --grid) | perturbed[:LEVEL] (the true kernel "
       "made wrong on purpose: stretched by up to LEVEL and speckled, default 0.1; docs/blind.md); where the dataset "
       "knows the true kernel, each method also runs with it for the error ratio")
      ("boundary", po::value(&boundary),
       "boundary handling of the solvers (default: each dataset's own: circular for dpir, cifar10 and synthetic "
       "blur=circular, liu-jia for photos, folders, blind and linear synthetic blur)")
      ("limit", po::value(&limit)->default_value(0), "evaluate only the first N cases of each dataset")
      ("out", po::value(&out_dir), "folder for results.csv, summary.md, summary.json and grids/")
      ("save-images", po::bool_switch(), "also write every restored image to OUT/images/<dataset>/<method>/")
      ("grids", po::value(&grids)->default_value(3), "comparison grids for the first N cases of each dataset (needs --out)")
      ("device", po::value(&device_name)->default_value("cpu"), "cpu | cuda[:N]")
      ("dist-init", po::value(&dist.init),
       "share the cases among several processes (docs/distributed.md): env:// (default under torchrun / srun), "
       "file:///PATH or tcp://HOST:PORT")
      ("dist-backend", po::value(&dist.backend), "gloo | nccl (default: gloo on cpu, nccl on cuda)");
  // clang-format on
  po::options_description estimation("kernel estimation (--kernel estimate | estimate-local)");
  add_kernel_estimate_options(estimation, kernel_args);
  opts.add(estimation);
  po::variables_map vm;
  if (!parse("usage: unroll eval --data KIND:PATH [--data ...] --methods admm,hqs-tv [--limit N] [--out DIR]\n\n" +
                 method_help(),
             opts, args, vm))
    return 0;

  EvalOptions eo;
  eo.device = parse_device(device_name);
  if (!boundary.empty()) eo.boundary = parse_boundary(boundary);
  eo.limit = limit;
  eo.grids = grids;
  eo.out_dir = out_dir;
  eo.save_images = vm["save-images"].as<bool>();
  UNROLL_CHECK(!eo.save_images || !out_dir.empty(), "--save-images needs --out");
  UNROLL_CHECK(limit >= 0, "--limit must be >= 0 (0 = all), got ", limit);
  UNROLL_CHECK(grids >= 0, "--grids must be >= 0, got ", grids);
  check_noise255(noise255);
  try {
    const auto colon = kernel.find(':');
    eo.kernel = parse_kernel_source(kernel.substr(0, colon));
    if (colon != std::string::npos) {
      UNROLL_CHECK(eo.kernel == KernelSource::Perturbed, "only 'perturbed' takes a level (perturbed:LEVEL), got '",
                   kernel, "'");
      eo.perturbation = parse_finite(kernel.substr(colon + 1), "the perturbation level");
      UNROLL_CHECK(eo.perturbation >= 0 && eo.perturbation <= 1, "the perturbation level must be in [0, 1], got ",
                   kernel.substr(colon + 1));
    }
  } catch (const Error& e) {
    fail("--kernel: ", e.what());
  }
  eo.estimate = blind_estimate_options(kernel_args, -1.0);
  eo.refine_kernel = kernel_args.refine;
  UNROLL_CHECK(eo.refine_kernel == 0 || eo.kernel == KernelSource::Given || eo.kernel == KernelSource::Perturbed,
               "--refine-kernel needs --kernel given or perturbed (an estimated kernel is refined already)");
  eo.local = local_kernel_options(kernel_args);
  UNROLL_CHECK(eo.kernel == KernelSource::EstimateLocal || !vm.count("grid"), "--grid needs --kernel estimate-local");

  std::map<std::string, MethodParams> params;
  for (const auto& p : params_in) {
    auto dot = p.find('.'), eq = p.find('=');
    UNROLL_CHECK(dot != std::string::npos && eq != std::string::npos && dot < eq,
                 "--param expects method.name=value, got '", p, "'");
    params[p.substr(0, dot)][p.substr(dot + 1, eq - dot - 1)] = parse_finite(p.substr(eq + 1), "--param " + p);
  }
  std::string all_weights;
  std::map<std::string, std::string> weights;
  for (const auto& w : weights_in) {
    const auto eq = w.find('=');
    if (eq != std::string::npos && eq > 0) {
      weights[w.substr(0, eq)] = w.substr(eq + 1);
    } else {
      UNROLL_CHECK(all_weights.empty(), "--weights FILE given twice (use method=FILE for several checkpoints)");
      all_weights = w;
    }
  }
  std::vector<EvalMethod> methods;
  for (const auto& n : split_list(methods_list)) {
    EvalMethod m;
    m.method = find_method(n).name;
    m.label = n;
    m.params = params[n];
    m.weights = weights.count(n) ? weights[n] : all_weights;
    m.prior = prior;
    methods.push_back(m);
  }
  UNROLL_CHECK(!methods.empty(), "--methods: no method given");
  for (const auto& [name, _] : params)
    UNROLL_CHECK(std::any_of(methods.begin(), methods.end(), [&](const EvalMethod& m) { return m.label == name; }),
                 "--param ", name, ".*: method '", name, "' is not in --methods");
  for (const auto& [name, _] : weights)
    UNROLL_CHECK(std::any_of(methods.begin(), methods.end(), [&](const EvalMethod& m) { return m.label == name; }),
                 "--weights ", name, "=...: method '", name, "' is not in --methods");

  SourceOptions so;
  so.noise255 = noise255;
  if (!metric.empty()) so.metric = parse_metric(metric);
  std::vector<EvalSet> sets;
  for (const auto& d : data) sets.push_back(open_eval_source(parse_eval_source(d), so));

  // Joins the other ranks when there are some (after the checks above, which every rank makes alike).
  init_distributed(dist, device_name);
  eo.device = parse_device(rank_device(device_name));
  const EvalReport report = run_evaluation(sets, methods, eo);
  if (dist_rank() != 0) return 0;  // rank 0 holds the same report and writes it
  const std::string command = command_line("unroll eval", args);
  for (const auto& d : report.datasets) {
    std::vector<std::vector<std::string>> rows;
    auto cell = [](double v, int dec) { return std::isnan(v) ? std::string("-") : fixed(v, dec); };
    rows.push_back({"blurred input", cell(d.input.psnr, 2), cell(d.input.ssim, 4), "-", "-", "-", "-"});
    for (const auto& m : d.methods)
      rows.push_back({m.method, cell(m.psnr, 2), cell(m.ssim, 4), cell(m.seconds_per_image, 3), std::to_string(m.ok),
                      std::to_string(m.failed), std::to_string(m.needs_kernel)});
    std::cout << d.label << ": " << d.cases << " cases, metric " << d.metric << ", loading " << fixed(d.load_seconds, 2)
              << " s\n"
              << markdown_table({"method", "PSNR (dB)", "SSIM", "s / image", "ok", "failed", "needs kernel"}, rows)
              << "\n";
  }
  if (!out_dir.empty()) {
    write_eval_outputs(report, out_dir, command);
    std::cout << "wrote " << out_dir << "/{results.csv,summary.md,summary.json}";
    size_t n = 0;
    for (const auto& d : report.datasets) n += d.grids.size();
    if (n) std::cout << " and " << n << " grid(s) in " << out_dir << "/grids/";
    std::cout << "\n";
  }
  return 0;
}

}  // namespace unroll::cli
