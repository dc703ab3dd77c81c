// unroll deblur: one image, one method.
#include <chrono>
#include <filesystem>
#include <optional>
#include <iostream>

#include "cli.h"
#include "kernel_cli.h"
#include "rotation_cli.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/progress.h"
#include "core/tensor.h"
#include "eval/methods.h"
#include "eval/report.h"
#include "io/image_io.h"

namespace unroll::cli {

int cmd_deblur(const std::vector<std::string>& args) {
  std::string input, kernel_path, method, output, boundary, device_name, ref, weights, prior, blur = "uniform",
                                                                                                save_kernel;
  KernelEstimateArgs kernel_args;
  RotationArgs rotation_args;
  double noise255 = -1.0;
  int bits = 8;
  int64_t tile = 0, tile_overlap = -1;
  std::string max_memory;
  std::vector<std::string> extra;
  std::string method_names_text;
  for (const auto& m : all_methods()) method_names_text += (method_names_text.empty() ? "" : " | ") + m.name;
  po::options_description opts("deblur options");
  opts.add_options()
      ("input,i", po::value(&input)->required(), "blurred image (PNG/JPEG/TIFF/BMP, 8/16-bit, grey/RGB)")
      ("kernel,k", po::value(&kernel_path),
       "blur kernel: CSV/text (exact) or image (normalised); 'estimate' = estimated from the image (blind), then "
       "deconvolved by --method; 'estimate-local' = one kernel per tile of --grid (spatially varying blur)")
      ("save-kernel", po::value(&save_kernel),
       "with --kernel estimate[-local]: write the estimated kernel (k.png + k.csv; the grid's picture + one csv per tile)")
      ("blur", po::value(&blur)->default_value("uniform"),
       "uniform (a kernel, --kernel) | rotational (a spinning part: --rpm/--exposure or --angle, --centre; "
       "without a sweep the angle is estimated; methods wiener, hqs-tv, pnp, unrolled, usrnet)")
      ("method,m", po::value(&method)->default_value("admm"), method_names_text.c_str())
      ("weights", po::value(&weights), "checkpoint of a learned method (usrnet: usrnet_tiny.pth; pnp: drunet_color.pth)")
      ("prior", po::value(&prior), "pnp prior: default = shipped models/denoiser_small.pth (else tv); tv; drunet (with --weights)")
      ("output,o", po::value(&output)->required(), "restored image (written atomically)")
      ("noise", po::value(&noise255), "noise sigma on the 0-255 scale (default: estimated from the image)")
      ("boundary", po::value(&boundary)->default_value("liu-jia"),
       "circular | replicate | reflect | taper | liu-jia (real photos: liu-jia; circularly blurred data: circular)")
      ("param", po::value(&extra)->composing(), "any method parameter as name=value (repeatable; see the list below)")
      ("device", po::value(&device_name)->default_value("cpu"), "cpu | cuda[:N]")
      ("double", po::bool_switch(), "compute in float64")
      ("bits", po::value(&bits)->default_value(8), "output bit depth: 8, 16, or 32 (float32 TIFF, the values as computed: no clipping or rounding)")
      ("ref", po::value(&ref), "sharp reference: print PSNR/SSIM of the result");
  add_rotation_options(opts, rotation_args);
  add_tile_options(opts, tile, tile_overlap, max_memory);
  po::options_description estimation("kernel estimation (--kernel estimate | estimate-local)");
  add_kernel_estimate_options(estimation, kernel_args);
  opts.add(estimation);
  // The dedicated parameter flags (--iters, --lambda, ...) are aliases of --param, declared by the registry.
  po::options_description flags("method parameter flags (aliases of --param NAME=VALUE)");
  const std::vector<std::string> flag_names = flag_param_names();
  std::vector<std::string> flag_helps;
  for (const auto& name : flag_names) flag_helps.push_back(flag_help(name));
  for (size_t i = 0; i < flag_names.size(); ++i)
    flags.add_options()(flag_names[i].c_str(), po::value<double>(), flag_helps[i].c_str());
  opts.add(flags);
  po::variables_map vm;
  const std::string usage =
      "usage: unroll deblur --input y.png --kernel k.csv --method admm --output x.png [options]\n"
      "       unroll deblur --input y.png --blur rotational --rpm 1200 --exposure 0.004 --centre X,Y -m hqs-tv -o x.png\n\n" +
      method_help();
  if (!parse(usage, opts, args, vm)) return 0;

  auto device = parse_device(device_name);
  auto dtype = vm["double"].as<bool>() ? torch::kFloat64 : torch::kFloat32;
  check_not_input(output, input, "--output");
  check_image_output(output, bits, "--output");  // a name no encoder takes fails now, not after the run
  if (!save_kernel.empty()) check_not_input(save_kernel, input, "--save-kernel");
  const Method& m = find_method(method);
  UNROLL_CHECK(blur == "uniform" || blur == "rotational", "--blur must be uniform or rotational, got '", blur, "'");
  const bool rotational = blur == "rotational";
  const KernelSource kernel_source = kernel_path == "estimate"         ? KernelSource::Estimate
                                     : kernel_path == "estimate-local" ? KernelSource::EstimateLocal
                                                                       : KernelSource::Given;
  const bool estimating = kernel_source != KernelSource::Given;
  if (estimating) {
    UNROLL_CHECK(m.needs_kernel, "--kernel ", kernel_path, " estimates a kernel for a non-blind method; '", method,
                 "' is blind and takes none (drop --kernel)");
    UNROLL_CHECK(kernel_args.refine == 0, "--refine-kernel refines a given kernel (--kernel FILE); an estimated one "
                 "is refined already");
  } else {
    const bool refining = kernel_args.refine > 0;
    UNROLL_CHECK(!refining || (!kernel_path.empty() && m.needs_kernel),
                 "--refine-kernel needs a kernel file (--kernel FILE) and a non-blind method");
    UNROLL_CHECK(save_kernel.empty() || !m.needs_kernel || refining, "--save-kernel needs --kernel estimate or "
                 "estimate-local, --refine-kernel, or a blind method that estimates a kernel");
    for (const char* o : {"grid", "dark-channel"})
      UNROLL_CHECK(!vm.count(o) || vm[o].defaulted(), "--", o, " needs --kernel estimate or estimate-local");
    UNROLL_CHECK(vm["kernel-size"].as<int64_t>() == 0, "--kernel-size needs --kernel estimate or estimate-local");
  }
  UNROLL_CHECK(kernel_source == KernelSource::EstimateLocal || !vm.count("grid"),
               "--grid needs --kernel estimate-local");
  if (rotational) {
    UNROLL_CHECK(kernel_path.empty(), "--kernel does not apply to --blur rotational (the blur is the rotation)");
    UNROLL_CHECK(save_kernel.empty(), "--save-kernel does not apply to --blur rotational");
  } else {
    reject_rotation_options(vm, "--blur uniform");
    UNROLL_CHECK(!m.needs_kernel || !kernel_path.empty(), "method '", method, "' needs a kernel (--kernel)");
    UNROLL_CHECK(m.needs_kernel || kernel_path.empty(), "method '", method,
                 "' is blind: it finds the kernel itself and takes no --kernel (use a non-blind method with a kernel)");
  }
  UNROLL_CHECK(bits == 8 || bits == 16 || bits == 32, "--bits must be 8, 16 or 32, got ", bits);
  if (vm.count("noise")) check_noise255(noise255);

  MethodParams params;
  for (const auto& name : flag_names)
    if (vm.count(name)) params[name] = vm[name].as<double>();
  for (const auto& kv : extra) {
    auto eq = kv.find('=');
    UNROLL_CHECK(eq != std::string::npos, "--param expects name=value, got '", kv, "'");
    try {
      params[kv.substr(0, eq)] = std::stod(kv.substr(eq + 1));
    } catch (const std::exception&) {
      fail("--param ", kv.substr(0, eq), ": not a number: '", kv.substr(eq + 1), "'");
    }
  }

  DeblurRequest req;
  req.blurred = read_image(input).to(device, dtype);
  if (!kernel_path.empty() && !estimating) req.kernel = read_kernel(kernel_path).to(device, dtype);
  req.sigma = vm.count("noise") ? noise255 / 255.0 : -1.0;
  req.boundary = parse_boundary(boundary);
  req.weights = weights;
  req.prior = prior;
  req.tiles = tile_options(tile, tile_overlap, max_memory);
  if (rotational) {
    const RotationSpec spec = parse_rotation(vm, rotation_args, "--blur rotational", /*angle_required=*/false);
    RotationalBlurModel model;
    const auto y = as_image_batch(req.blurred);
    std::tie(model.centre_x, model.centre_y) =
        spec.centre.value_or(std::pair{(y.size(3) - 1) / 2.0, (y.size(2) - 1) / 2.0});
    bool angle_known = spec.angle.has_value();
    if (spec.angle) model.angle = *spec.angle;
    if (!spec.mask.empty()) {
      ImageReadOptions ro;
      ro.grey = true;
      model.mask = read_image(spec.mask, ro).to(device, dtype);
      UNROLL_CHECK(model.mask.size(2) == y.size(2) && model.mask.size(3) == y.size(3), spec.mask, ": mask is ",
                   model.mask.size(3), "x", model.mask.size(2), ", the input is ", y.size(3), "x", y.size(2));
    }
    if (!spec.centre) {
      // No --centre: the centre (and the sweep, unless given) from the blurred image; where it cannot
      // be located (no clear rotational blur, too little texture), the image centre, with a warning.
      CentreSearchOptions co;
      co.estimate_angle = !angle_known;
      try {
        const CentreEstimate ce = estimate_rotation_centre(req.blurred, model, req.sigma, co);
        if (ce.reliable) {
          model.centre_x = ce.centre_x;
          model.centre_y = ce.centre_y;
          std::cout << "estimated rotation centre " << fixed(ce.centre_x, 1) << "," << fixed(ce.centre_y, 1)
                    << " (coarse: a few pixels; give --centre X,Y when it is known)\n";
          if (!angle_known) {
            model.angle = ce.angle;
            angle_known = true;
            std::cout << "estimated sweep angle " << fixed(model.angle * 180.0 / M_PI, 3) << " degrees\n";
          }
        } else {
          warn(input + ": no clear rotational blur to locate the centre (contrast " + fixed(ce.contrast, 3) +
               "); using the image centre (give --centre X,Y)");
        }
      } catch (const Error& e) {
        warn(input + ": rotation centre not estimated (" + std::string(e.what()) +
             "); using the image centre (give --centre X,Y)");
      }
    }
    if (!angle_known) {
      const AngleEstimate est = estimate_rotation_angle(req.blurred, model, req.sigma);
      model.angle = est.angle;
      std::cout << "estimated sweep angle " << fixed(model.angle * 180.0 / M_PI, 3) << " degrees (centre "
                << model.centre_x << "," << model.centre_y << ")\n";
    }
    req.rotation = model;
  }
  torch::Tensor sharp;
  if (!ref.empty()) {
    sharp = read_image(ref).to(dtype);
    UNROLL_CHECK(sharp.sizes() == req.blurred.sizes(), ref, ": size ", sharp.sizes(), " differs from the input ",
                 req.blurred.sizes());
  }
  std::unique_ptr<ProgressLine> progress;
  req.progress = [&](int done, int total) {
    if (!progress) progress = std::make_unique<ProgressLine>(method, total, 1.0);
    progress->update(done);
  };

  std::optional<EstimatedKernels> estimated;
  if (estimating || kernel_args.refine > 0) {
    check_method_params(m, params);  // a bad parameter stops before the estimate, not after
    const auto options = blind_estimate_options(kernel_args, noise255);
    estimated = estimating ? estimate_kernels(req.blurred, kernel_source, options, local_kernel_options(kernel_args))
                           : refine_kernels(req.blurred, read_kernel(kernel_path).to(device, dtype), kernel_source,
                                            kernel_args.refine, options);
    for (const auto& w : estimated->warnings) warn(input + ": " + w);
    std::cout << (estimating ? "estimated " : "refined ") << describe_estimate(*estimated) << "\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  SolverResult result =
      estimated ? deblur_with_kernels(method, req, params, *estimated) : run_method(method, req, params);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (progress) progress->finish();
  write_image(output, result.image.cpu(), bits);
  if (!estimated && !save_kernel.empty()) {
    UNROLL_CHECK(result.kernel.defined(), "--save-kernel: method '", method, "' does not estimate a kernel");
    EstimatedKernels own;
    own.kernel = result.kernel.cpu().to(torch::kFloat64);
    std::cout << "kernel ->";
    for (const auto& f : save_estimated_kernels(save_kernel, own, req.blurred.cpu())) std::cout << " " << f;
    std::cout << "\n";
  }
  if (estimated && !save_kernel.empty()) {
    std::cout << "kernel ->";
    for (const auto& f : save_estimated_kernels(save_kernel, *estimated, req.blurred.cpu())) std::cout << " " << f;
    std::cout << "\n";
  }

  std::cout << method << ": " << result.iterations << " iteration(s), stop: " << result.stop_text() << ", "
            << fixed(seconds, 3) << " s -> " << output << "\n";
  if (sharp.defined()) {
    auto x = result.image.cpu().to(dtype);
    PsnrOptions po;
    po.round_8bit = true;
    std::cout << "PSNR " << fixed(psnr(x, sharp, po), 2) << " dB (8-bit), SSIM "
              << fixed(ssim(x.clamp(0, 1), sharp).item<double>(), 4) << ", input PSNR "
              << fixed(psnr(req.blurred.cpu().to(dtype), sharp, po), 2) << " dB\n";
  }
  return 0;
}

}  // namespace unroll::cli
