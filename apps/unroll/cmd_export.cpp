// unroll export: rewrite a checkpoint at another floating-point precision (float16 halves a float32
// file for shipping: ConvIR-S is 22 MB in float32, 11 MB in float16). Every loader casts weights
// back to the model's dtype, so an exported file works wherever the original did. With --check the
// method runs on the bundled sample with both files and the difference of the two restorations is
// reported, so the cost of the cast is measured, not assumed.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/kernel.h"
#include "core/metrics.h"
#include "eval/methods.h"
#include "eval/report.h"
#include "io/image_io.h"

namespace fs = std::filesystem;

namespace unroll::cli {
namespace {

// The dtype called `name`; `name` becomes its PyTorch spelling ("fp16" -> "float16").
torch::ScalarType parse_dtype(std::string& name) {
  if (name == "float16" || name == "fp16" || name == "half") return name = "float16", torch::kFloat16;
  if (name == "bfloat16" || name == "bf16") return name = "bfloat16", torch::kBFloat16;
  if (name == "float32" || name == "fp32" || name == "float") return name = "float32", torch::kFloat32;
  if (name == "float64" || name == "fp64" || name == "double") return name = "float64", torch::kFloat64;
  fail("--dtype: unknown type '", name, "' (accepted: float16, bfloat16, float32, float64)");
}

std::string megabytes(int64_t bytes) { return fixed(static_cast<double>(bytes) / 1e6, 2) + " MB"; }

// The bundled sample (128x128 centre of data/sample/astronaut.png) blurred circularly by its kernel.
DeblurRequest check_request() {
  auto sharp = read_image(sample_dir() + "/astronaut.png");
  const int64_t top = (sharp.size(2) - 128) / 2, left = (sharp.size(3) - 128) / 2;
  sharp = sharp.narrow(2, top, 128).narrow(3, left, 128).contiguous();
  DeblurRequest req;
  req.kernel = read_kernel(sample_dir() + "/motion17.csv").to(torch::kFloat32);
  req.blurred = conv_circular(sharp, req.kernel);
  req.sigma = 0.0;
  return req;
}

}  // namespace

int cmd_export(const std::vector<std::string>& args) {
  std::string in_path, out_path, dtype_name, check_method;
  po::options_description opts("export options");
  opts.add_options()
      ("weights,w", po::value(&in_path)->required(), "checkpoint to convert (.pth, as torch.save or unroll train write it)")
      ("output,o", po::value(&out_path)->required(), "converted checkpoint (written atomically; may equal --weights)")
      ("dtype", po::value(&dtype_name)->default_value("float16"), "float16 | bfloat16 | float32 | float64 (integer entries are kept)")
      ("check", po::value(&check_method), "method to run on the bundled sample with both files (convir, unrolled, usrnet, ...): "
                                          "reports the PSNR of the converted restoration against the original one");
  po::variables_map vm;
  if (!parse("usage: unroll export --weights model.pth --dtype float16 --output model_fp16.pth [--check convir]", opts, args, vm))
    return 0;
  const auto dtype = parse_dtype(dtype_name);
  const Method* method = check_method.empty() ? nullptr : &find_method(check_method);
  if (method) {
    const auto classical = classical_method_names();
    UNROLL_CHECK(std::find(classical.begin(), classical.end(), method->name) == classical.end(), "--check: ",
                 check_method, " is a classical method and takes no weights");
    // Loaded models are cached by file name, so the two runs need two names.
    UNROLL_CHECK(fs::weakly_canonical(out_path) != fs::weakly_canonical(in_path),
                 "--check needs an --output other than --weights (both are ", in_path, ")");
  }

  const StateDict state = load_state_dict(in_path);
  CastSummary summary;
  const StateDict cast = cast_floating(state, dtype, in_path, &summary);

  // The original restoration is computed before the output is written.
  DeblurRequest req;
  torch::Tensor reference;
  if (method) {
    req = check_request();
    req.weights = in_path;
    reference = run_method(check_method, req).image.cpu();
  }
  save_state_dict(out_path, cast);
  std::cout << "wrote " << out_path << ": " << summary.tensors_cast << " tensors as " << dtype_name << ", "
            << megabytes(summary.bytes_before) << " -> " << megabytes(summary.bytes_after) << " of weights; largest change "
            << summary.max_abs_error << " (relative, normal range: " << summary.max_rel_error << "), "
            << summary.values_flushed << " non-zero values became zero\n";
  if (method) {
    req.weights = out_path;
    const auto converted = run_method(check_method, req).image.cpu();
    PsnrOptions p;
    p.round_8bit = false;
    const double max_diff = (converted - reference).abs().max().item<double>();
    std::cout << "check " << check_method << " on the 128x128 sample: converted vs original restoration "
              << (max_diff == 0.0 ? std::string("identical") : "PSNR " + fixed(psnr(converted, reference, p), 2) + " dB")
              << ", max |difference| " << max_diff << " (" << fixed(max_diff * 255.0, 3) << " of 255)\n";
  }
  return 0;
}

}  // namespace unroll::cli
