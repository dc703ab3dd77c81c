// unroll estimate-kernel -i y.png -o k.png [--kernel-size 31] [--grid 2x3]: the blur kernel of a
// photograph nobody gave one for (blind/estimate_kernel.h; with --grid, one kernel per tile for
// spatially varying blur, eval/blind_deblur.h). The kernel is written as a picture and as exact values.
#include <iostream>

#include "cli.h"
#include "core/error.h"
#include "core/strings.h"
#include "io/image_io.h"
#include "kernel_cli.h"

namespace unroll::cli {

int cmd_estimate_kernel(const std::vector<std::string>& args) {
  std::string input, output, device_name, init;
  double noise255 = -1.0;
  KernelEstimateArgs ka;
  po::options_description opts("estimate-kernel options");
  // clang-format off
  opts.add_options()
      ("input,i", po::value(&input)->required(), "blurred image (PNG/JPEG/TIFF/BMP, 8/16-bit, grey/RGB)")
      ("output,o", po::value(&output)->required(),
       "kernel picture (k.png; its exact values go to k.csv beside it; a .csv name writes only the values); with "
       "--grid, the picture of the kernel grid over the image, and each tile's values as k_r0c0.csv, ...")
      ("noise", po::value(&noise255), "noise sigma on the 0-255 scale (default: estimated from the image)")
      ("init", po::value(&init),
       "refine this kernel (image or CSV) against the image instead of estimating one from scratch "
       "(--refine-kernel alternations, default 4; the kernel keeps its centre)")
      ("device", po::value(&device_name)->default_value("cpu"), "cpu | cuda[:N]");
  // clang-format on
  add_kernel_estimate_options(opts, ka);
  po::variables_map vm;
  if (!parse("usage: unroll estimate-kernel -i y.png -o k.png [--kernel-size 31] [--grid 2x3] [--noise 2.55] "
             "[--init k0.png]", opts,
             args, vm))
    return 0;
  if (vm.count("noise")) check_noise255(noise255);
  check_not_input(output, input, "--output");
  if (!ends_with(output, ".csv")) check_image_output(output, 8, "--output");
  const auto device = parse_device(device_name);
  const auto y = read_image(input).to(device, torch::kFloat32);
  const KernelSource source = vm.count("grid") ? KernelSource::EstimateLocal : KernelSource::Estimate;
  if (!init.empty()) {
    UNROLL_CHECK(!vm.count("grid") && ka.kernel_size == 0 && !ka.dark_channel,
                 "--init refines one given kernel at its own size: it takes no --grid, --kernel-size or --dark-channel");
  } else {
    UNROLL_CHECK(ka.refine == 0, "--refine-kernel needs --init FILE (the kernel to refine)");
  }
  const auto options = blind_estimate_options(ka, noise255);
  const EstimatedKernels est =
      init.empty() ? estimate_kernels(y, source, options, local_kernel_options(ka))
                   : refine_kernels(y, read_kernel(init).to(device, torch::kFloat32), KernelSource::Given,
                                    ka.refine > 0 ? ka.refine : 4, options);
  for (const auto& w : est.warnings) warn(input + ": " + w);
  const auto files = save_estimated_kernels(output, est, y.cpu());
  std::cout << (init.empty() ? "estimated " : "refined ") << describe_estimate(est) << " ->";
  for (const auto& f : files) std::cout << " " << f;
  std::cout << "\n";
  return 0;
}

}  // namespace unroll::cli
