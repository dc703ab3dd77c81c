// unroll metrics: quality of images against a reference.
#include <iostream>

#include "cli.h"
#include "core/error.h"
#include "core/metrics.h"
#include "eval/report.h"
#include "io/image_io.h"

namespace unroll::cli {

int cmd_metrics(const std::vector<std::string>& args) {
  std::string ref_path;
  std::vector<std::string> images;
  int64_t border = 0;
  po::options_description opts("metrics options");
  opts.add_options()
      ("ref,r", po::value(&ref_path)->required(), "reference (sharp) image")
      ("images", po::value(&images)->multitoken()->required(), "images to measure")
      ("border", po::value(&border)->default_value(0), "pixels cropped on every side")
      ("y", po::bool_switch(), "measure on luma (BT.601 Y) instead of RGB")
      ("float", po::bool_switch(), "measure in float instead of 8-bit rounded values");
  po::positional_options_description pos;
  pos.add("images", -1);
  po::variables_map vm;
  if (!parse("usage: unroll metrics --ref sharp.png restored.png [more.png ...]", opts, args, vm, &pos)) return 0;
  UNROLL_CHECK(border >= 0, "--border must be >= 0, got ", border);
  auto ref = read_image(ref_path).to(torch::kFloat64);
  PsnrOptions p;
  p.border = border;
  p.y_channel = vm["y"].as<bool>();
  p.round_8bit = !vm["float"].as<bool>();
  SsimOptions s;
  s.border = p.border;
  s.y_channel = p.y_channel;
  s.round_8bit = p.round_8bit;
  std::vector<std::vector<std::string>> rows;
  for (const auto& path : images) {
    auto x = read_image(path).to(torch::kFloat64);
    UNROLL_CHECK(x.sizes() == ref.sizes(), path, ": size ", x.sizes(), " differs from the reference ", ref.sizes());
    const double pv = psnr(x, ref, p);
    const double sv = ssim(x, ref, s).item<double>();
    rows.push_back({path, fixed(pv, 2), fixed(sv, 4), fixed(combined_score(pv, sv), 2)});
  }
  std::cout << markdown_table({"image", "PSNR (dB)", "SSIM", "score"}, rows);
  return 0;
}

}  // namespace unroll::cli
