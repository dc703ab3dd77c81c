// unroll: one binary, one subcommand per job. Every error ends as one `error: ...` line and exit 1.
#include <torch/torch.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli.h"
#include "core/error.h"
#include "core/tensor.h"

namespace {

const char* kUsage =
    "unroll - image deblurring: classical deconvolution and deep unfolding\n"
    "\n"
    "usage: unroll <command> [options]     (unroll <command> --help for its options)\n"
    "\n"
    "commands:\n"
    "  deblur    restore a blurred image with one method (--blur rotational for spinning parts)\n"
    "  estimate-kernel  the blur kernel of an image (blind; --grid for one kernel per tile)\n"
    "  methods   list every method with its parameters, defaults and ranges (--markdown for the README)\n"
    "  metrics   PSNR / SSIM / score of images against a reference\n"
    "  eval      evaluate methods on datasets under their protocols (GoPro, REDS, RSBlur, CIFAR-10, DPIR, ...)\n"
    "  demo      deblur the bundled sample with every classical method -> out/demo/\n"
    "  train     train a denoiser prior, an unrolled or an end-to-end network from a config (INI) or bundle\n"
    "  pack      a training config and its images as one file, for unroll-train (LibTorch only) elsewhere\n"
    "  experiment  train and evaluate the variants of an experiment config -> report.md + plot\n"
    "  bench     timing benchmarks (unroll bench classic --help)\n"
    "  synth     make a paired blurred/sharp dataset from sharp images (kernels, noise, rotational blur)\n"
    "  export    convert a checkpoint to float16 / bfloat16 (half the size; --check measures the change)\n"
    "  study     run a study from a config: rotational (spinning parts: uniform-kernel oracle vs polar solvers)\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    std::cout << kUsage;
    if (argc < 2) std::cerr << "error: no command given (see the list above)" << std::endl;
    return argc < 2 ? 1 : 0;
  }
  unroll::keep_freed_tensor_memory();  // core/tensor.h: reuse freed feature maps instead of page-faulting new ones
  unroll::use_all_logical_cpus();
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  return unroll::report_errors([&] {
    if (command == "deblur") return unroll::cli::cmd_deblur(args);
    if (command == "metrics") return unroll::cli::cmd_metrics(args);
    if (command == "demo") return unroll::cli::cmd_demo(args);
    if (command == "bench") return unroll::cli::cmd_bench(args);
    if (command == "eval") return unroll::cli::cmd_eval(args);
    if (command == "synth") return unroll::cli::cmd_synth(args);
    if (command == "train") return unroll::cli::cmd_train(args);
    if (command == "experiment") return unroll::cli::cmd_experiment(args);
    if (command == "study") return unroll::cli::cmd_study(args);
    if (command == "pack") return unroll::cli::cmd_pack(args);
    if (command == "export") return unroll::cli::cmd_export(args);
    if (command == "methods") return unroll::cli::cmd_methods(args);
    if (command == "estimate-kernel") return unroll::cli::cmd_estimate_kernel(args);
    std::cerr << "error: unknown command '" << command << "' (run 'unroll --help')" << std::endl;
    return 1;
  });
}
