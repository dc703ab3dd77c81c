// unroll demo: the main job on the bundled sample. A sharp photo is blurred with a camera-shake kernel
// as a real camera would (linear, non-circular boundary), noise is added and quantised to 8 bit, then
// every classical method and every learned method with a shipped model restores it with Liu-Jia
// boundary handling. Writes images, a labelled comparison picture and a Markdown table.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/kernel.h"
#include "core/metrics.h"
#include "core/noise.h"
#include "eval/methods.h"
#include "eval/report.h"
#include "io/image_io.h"

namespace fs = std::filesystem;

namespace unroll::cli {

int cmd_demo(const std::vector<std::string>& args) {
  std::string out_dir, image_path, kernel_path, boundary, device_name;
  double noise255 = 2.55;
  po::options_description opts("demo options");
  opts.add_options()
      ("out", po::value(&out_dir)->default_value("out/demo"), "output folder")
      ("image", po::value(&image_path), "sharp image (default: bundled data/sample/astronaut.png)")
      ("kernel", po::value(&kernel_path), "kernel (default: bundled data/sample/motion17.csv)")
      ("noise", po::value(&noise255)->default_value(2.55), "noise sigma on the 0-255 scale")
      ("boundary", po::value(&boundary)->default_value("liu-jia"), "boundary handling of the solvers")
      ("device", po::value(&device_name)->default_value("cpu"), "cpu | cuda[:N]");
  po::variables_map vm;
  if (!parse("usage: unroll demo [--out out/demo]", opts, args, vm)) return 0;
  check_noise255(noise255);
  if (image_path.empty()) image_path = sample_dir() + "/astronaut.png";
  if (kernel_path.empty()) kernel_path = sample_dir() + "/motion17.csv";
  auto device = parse_device(device_name);

  auto sharp = read_image(image_path).to(device);
  auto kernel = read_kernel(kernel_path).to(device, torch::kFloat32);
  // Realistic (non-circular) blur: the scene continues beyond the frame, modelled by reflecting it.
  const int64_t ph = kernel.size(0), pw = kernel.size(1);
  auto scene = torch::nn::functional::pad(sharp, torch::nn::functional::PadFuncOptions({pw, pw, ph, ph}).mode(torch::kReflect));
  auto blurred = conv_fft(scene, kernel, ConvMode::Same).narrow(2, ph, sharp.size(2)).narrow(3, pw, sharp.size(3));
  blurred = quantize_8bit(add_gaussian_noise(blurred, noise255 / 255.0, 0));

  fs::create_directories(out_dir);
  write_image(out_dir + "/sharp.png", sharp.cpu());
  write_image(out_dir + "/blurred.png", blurred.cpu());
  write_kernel_image(out_dir + "/kernel.png", kernel.cpu());

  PsnrOptions pp;
  pp.round_8bit = true;
  std::vector<LabelledImage> tiles{{sharp.cpu(), "sharp"}, {blurred.cpu(), "blurred " + fixed(psnr(blurred.cpu(), sharp.cpu(), pp), 2) + " dB"}};
  std::vector<std::vector<std::string>> rows;
  const double in_psnr = psnr(blurred.cpu(), sharp.cpu(), pp);
  const double in_ssim = ssim(blurred.cpu(), sharp.cpu()).item<double>();
  rows.push_back({"blurred input", fixed(in_psnr, 2), fixed(in_ssim, 4), fixed(combined_score(in_psnr, in_ssim), 2), "-", "-"});

  DeblurRequest req;
  req.blurred = blurred;
  req.kernel = kernel;
  req.sigma = noise255 / 255.0;
  req.boundary = parse_boundary(boundary);
  // The classical methods, then every learned one whose shipped model is present (models/README.md):
  // plug-and-play HQS, the unrolled network and the blind networks (which ignore the kernel).
  std::vector<std::string> names = classical_method_names();
  for (const auto& m : all_methods()) {
    if (m.kind != MethodKind::Classical && !m.weights_required && !m.shipped_model.empty() &&
        !shipped_model(m.shipped_model).empty())
      names.push_back(m.name);
  }
  for (const auto& name : names) {
    const auto t0 = std::chrono::steady_clock::now();
    SolverResult r = run_method(name, req);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto x = quantize_8bit(r.image).cpu();
    write_image(out_dir + "/" + name + ".png", x);
    const double p = psnr(x, sharp.cpu(), pp), s = ssim(x, sharp.cpu()).item<double>();
    rows.push_back({name, fixed(p, 2), fixed(s, 4), fixed(combined_score(p, s), 2), fixed(secs, 3), std::to_string(r.iterations)});
    tiles.push_back({x, name + " " + fixed(p, 2) + " dB"});
    std::cout << name << ": PSNR " << fixed(p, 2) << " dB, SSIM " << fixed(s, 4) << ", " << fixed(secs, 3) << " s\n";
  }
  write_comparison_grid(out_dir + "/comparison.png", tiles, 3);
  std::string md = "# Unroll demo\n\nSharp `" + image_path + "`, kernel `" + kernel_path + "` (linear blur, reflected scene), " +
                   "Gaussian noise sigma " + fixed(noise255, 2) + "/255 (seed 0), 8-bit quantised; solvers use `--boundary " +
                   boundary + "` and their noise-based default parameters; learned methods use the shipped models (`convir` is blind: it ignores the kernel and was trained for milder blur, "
                   "within 15x15; models/README.md). PSNR on 8-bit RGB, no border crop.\n\n" +
                   markdown_table({"method", "PSNR (dB)", "SSIM", "score", "time (s)", "iterations"}, rows) +
                   "\n![comparison](comparison.png)\n";
  write_text_atomically(out_dir + "/results.md", md);
  std::cout << "\n" << markdown_table({"method", "PSNR (dB)", "SSIM", "score", "time (s)", "iterations"}, rows)
            << "\nwrote " << out_dir << "/{comparison.png,results.md,sharp.png,blurred.png,kernel.png,<method>.png}\n";
  return 0;
}

}  // namespace unroll::cli
