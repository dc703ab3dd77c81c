// unroll experiment experiments/X.ini [--size quick|full] [--only-eval] [--resume] [--dry-run] [--out DIR]
//
// Trains and evaluates the variants of an experiment config side by side and writes report.md. The
// config's keys and layers are documented in src/experiment/plan.h, the files written in
// src/experiment/experiment.h. Under torchrun or srun, or with --dist-init, every training is data
// parallel and the evaluation's cases are shared among the processes; rank 0 writes (docs/distributed.md).
#include <iostream>

#include "cli.h"
#include "core/distributed.h"
#include "eval/report.h"
#include "experiment/experiment.h"

namespace unroll::cli {
namespace {

/// --dry-run: the plan in a few lines, after opening its test data.
void print_plan(const ExperimentPlan& plan) {
  for (const auto& s : plan.test_sources) open_eval_source(s, plan.sources);
  std::cout << "experiment " << plan.name << " (size " << plan.size << ") -> " << plan.out_dir << "\n";
  for (const auto& s : plan.test_sources) std::cout << "  data: " << s.text << "\n";
  for (const auto& b : plan.baselines) std::cout << "  method: " << b.label << "\n";
  for (const auto& v : plan.variants)
    std::cout << "  variant " << v.name << " (" << v.label
              << "): " << (v.trained ? "train " + v.train.task + " -> " + v.dir + ", " : std::string())
              << "evaluate with " << v.method.method << "\n";
}

}  // namespace

int cmd_experiment(const std::vector<std::string>& args) {
  std::string config, size, out;
  DistributedOptions dist;
  po::options_description opts("experiment options");
  // clang-format off
  opts.add_options()
      ("config", po::value(&config)->required(), "experiment config (INI), e.g. experiments/a_classical_vs_learned.ini")
      ("size", po::value(&size), "quick | full (default: experiment.size, else full)")
      ("only-eval", po::bool_switch(), "do not train: evaluate the finished checkpoints")
      ("resume", po::bool_switch(), "continue unfinished training runs from their checkpoints")
      ("dry-run", po::bool_switch(), "check the config and print the plan; train and evaluate nothing")
      ("out", po::value(&out), "output folder (default: experiment.out, else runs/experiments/<name>/<size>)")
      ("dist-init", po::value(&dist.init),
       "several processes as one run, on a shared output folder (docs/distributed.md): env:// (default under "
       "torchrun / srun), file:///PATH or tcp://HOST:PORT")
      ("dist-backend", po::value(&dist.backend), "gloo | nccl (default: gloo on cpu, nccl on cuda)");
  // clang-format on
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  if (!parse("usage: unroll experiment experiments/X.ini [--size quick|full] [--only-eval] [--resume] [--dry-run]",
             opts, args, vm, &pos))
    return 0;
  ExperimentPlan plan = plan_experiment(config, size, out);
  plan.command = command_line("build/unroll experiment", args);
  plan.reproduce = "build/unroll experiment " + config + " --size " + plan.size + (out.empty() ? "" : " --out " + out);
  if (vm["dry-run"].as<bool>()) {
    print_plan(plan);
    return 0;
  }
  ExperimentRunOptions ro;
  ro.only_eval = vm["only-eval"].as<bool>();
  ro.resume = vm["resume"].as<bool>();
  init_distributed(dist, plan.eval.device.str());
  plan.eval.device = parse_device(rank_device(plan.eval.device.str()));
  const ExperimentResult result = run_experiment(plan, ro);
  if (dist_rank() != 0) return 0;  // rank 0 holds the same results and writes them
  write_experiment_report(plan, result);
  std::cout << "wrote " << plan.out_dir << "/report.md, psnr.png and eval/\n";
  return 0;
}

}  // namespace unroll::cli
