// unroll synth: a paired (blurred, sharp) dataset from a folder of sharp images.
//
// Thin layer over datasets/{kernels,degrade,rotational,readers}.h. For pair p (image i, copy c;
// p = i * count_per_image + c) every random choice is drawn from SeededRng(mix_seed(seed) ^
// mix_seed(p + kPairSalt)), so the output is a pure function of (inputs, options, seed).
//
// Output (built in a hidden staging folder beside --out and renamed into place only when every pair
// was written, so a failure never leaves a half-written dataset):
//   <out>/blur/<name>.png      blurred observation (8-bit, or 16-bit with --bits 16)
//   <out>/sharp/<name>.png     the sharp image as blurred (grey with --grey, cropped for --blur valid; rounded
//                              to the output bit depth before blurring, so it is exactly the blur's input)
//   <out>/kernels/<name>.csv   the kernel, float64 CSV (not for rotational: its parameters are in the manifest)
//   <out>/manifest.csv         datasets/readers.h write_manifest: one row per pair with every parameter
// <name> is the sharp file's stem, with "_<copy>" appended when --count-per-image > 1.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <unistd.h>

#include "cli.h"
#include "rotation_cli.h"
#include "core/error.h"
#include "core/kernel.h"
#include "core/noise.h"
#include "core/progress.h"
#include "datasets/degrade.h"
#include "datasets/kernels.h"
#include "datasets/readers.h"
#include "datasets/rotational.h"
#include "io/image_io.h"

namespace fs = std::filesystem;

namespace unroll::cli {

namespace {

constexpr uint64_t kPairSalt = 0x5E17D5A1C0FFEEull;

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

/// The parsed --kernels value.
struct KernelSource {
  enum class Kind { Random, Bank, Rotational } kind = Kind::Random;
  std::string label;                     ///< manifest kernel_type
  KernelSpec spec;                       ///< Random
  std::vector<torch::Tensor> bank;       ///< Bank (levin:DIR -> every file, file:K -> one)
  std::vector<std::string> bank_names;   ///< file each bank kernel came from
};

KernelSource parse_kernel_source(const std::string& text, int64_t size, bool size_given) {
  KernelSource s;
  auto prefixed = [&](const std::string& prefix) { return text.rfind(prefix, 0) == 0; };
  if (prefixed("levin:") || prefixed("file:")) {
    const bool folder = prefixed("levin:");
    const std::string path = text.substr(folder ? 6 : 5);
    UNROLL_CHECK(!path.empty(), "--kernels ", text, ": missing ", folder ? "folder" : "file", " after ':'");
    UNROLL_CHECK(!size_given, "--size applies to generated kernels only (", text, " kernels keep their file's size)");
    s.kind = KernelSource::Kind::Bank;
    s.label = folder ? "levin" : "file";
    if (folder) {
      s.bank_names = list_kernel_files(path);
      s.bank = load_kernel_folder(path);
    } else {
      UNROLL_CHECK(fs::is_regular_file(path), "--kernels file:", path, ": no such file");
      s.bank_names = {path};
      s.bank = {read_kernel(path)};
    }
    return s;
  }
  if (text == "rotational") {
    UNROLL_CHECK(!size_given, "--size applies to generated kernels only (rotational blur has no kernel)");
    s.kind = KernelSource::Kind::Rotational;
    s.label = "rotational";
    return s;
  }
  try {
    s.spec.type = parse_kernel_type(text);
  } catch (const Error&) {
    fail("--kernels: unknown kernel source '", text,
         "' (expected gaussian, linear, motion, defocus, mixed, levin:DIR, file:K.csv or rotational)");
  }
  s.label = kernel_type_name(s.spec.type);
  UNROLL_CHECK(size >= 3, "--size must be >= 3, got ", size);
  // Keep the default ranges but fit them inside small kernels.
  s.spec = fitted_kernel_spec(s.spec.type, size);
  return s;
}

/// Absolute, normalised, without a trailing separator.
fs::path clean_path(const std::string& p) {
  fs::path a = fs::absolute(p).lexically_normal();
  if (a.filename().empty()) a = a.parent_path();
  return a;
}

}  // namespace

int cmd_synth(const std::vector<std::string>& args) {
  std::string sharp_dir, kernels_text, blur_text, out_dir;
  double noise255 = 0, noise_max255 = -1;
  RotationArgs rotation_args;
  int64_t size = 25, count = 1, seed = 0, limit = 0;
  int jpeg = 0, bits = 8;
  po::options_description opts("synth options");
  opts.add_options()
      ("sharp", po::value(&sharp_dir)->required(), "folder of sharp images (png, jpg, bmp, tif)")
      ("kernels", po::value(&kernels_text)->required(),
       "gaussian | linear | motion | defocus | mixed (random, seeded) | levin:DIR (a random file of DIR per pair) | "
       "file:K.csv (one kernel) | rotational (spinning part: --rpm/--exposure or --angle)")
      ("noise", po::value(&noise255)->required(), "AWGN sigma on the 0-255 scale (the lower end with --noise-max)")
      ("noise-max", po::value(&noise_max255), "draw sigma per pair uniformly in [--noise, --noise-max] (0-255 scale)")
      ("size", po::value(&size), "side of generated kernels (default 25)")
      ("blur", po::value(&blur_text), "circular (default) | same | valid  (kernel sources only)")
      ("jpeg", po::value(&jpeg), "re-encode the blurred image as JPEG of this quality (1-100) before saving")
      ("quantize", po::bool_switch(), "round the blurred image to 8 bits before JPEG (8-bit output rounds anyway)")
      ("bits", po::value(&bits)->default_value(8), "PNG bit depth of blur/ and sharp/: 8 or 16 (16 = unquantised)")
      ("count-per-image", po::value(&count)->default_value(1), "pairs per sharp image, each with its own kernel and noise")
      ("seed", po::value(&seed)->default_value(0), "random seed (same seed, same files)")
      ("grey", po::bool_switch(), "convert the sharp images to one luminance channel")
      ("limit", po::value(&limit)->default_value(0), "use only the first N sharp images (sorted by name); 0 = all")
      ("force", po::bool_switch(), "replace --out if it exists and is not empty")
      ("out", po::value(&out_dir)->required(), "output folder (blur/, sharp/, kernels/, manifest.csv)");
  add_rotation_options(opts, rotation_args);
  po::variables_map vm;
  const std::string usage =
      "usage: unroll synth --sharp DIR --kernels gaussian|linear|motion|defocus|mixed|levin:DIR|file:K.csv|rotational\n"
      "                    --noise SIGMA255 [--noise-max SIGMA255] [--size K] [--blur circular|same|valid]\n"
      "                    [--rpm R --exposure T | --angle DEG] [--centre X,Y] [--mask M.png] [--jpeg Q] [--quantize]\n"
      "                    [--bits 8|16] [--count-per-image N] [--seed S] [--grey] [--limit N] [--force] --out DIR";
  if (!parse(usage, opts, args, vm)) return 0;

  // ---- validate everything before touching the disk ----
  check_noise255(noise255);
  if (vm.count("noise-max"))
    UNROLL_CHECK(check_noise255(noise_max255, "--noise-max") >= noise255, "--noise-max must be >= --noise (", noise255,
                 "), got ", noise_max255);
  else
    noise_max255 = noise255;
  UNROLL_CHECK(bits == 8 || bits == 16, "--bits must be 8 or 16, got ", bits);
  UNROLL_CHECK(count >= 1, "--count-per-image must be >= 1, got ", count);
  UNROLL_CHECK(seed >= 0, "--seed must be >= 0, got ", seed);
  UNROLL_CHECK(limit >= 0, "--limit must be >= 0 (0 = all), got ", limit);
  UNROLL_CHECK(jpeg >= 0 && jpeg <= 100, "--jpeg quality must be in 1..100, got ", jpeg);
  UNROLL_CHECK(!vm.count("jpeg") || jpeg >= 1, "--jpeg quality must be in 1..100, got ", jpeg);
  const bool quantize = vm["quantize"].as<bool>(), grey = vm["grey"].as<bool>(), force = vm["force"].as<bool>();
  UNROLL_CHECK(!(quantize && bits == 16), "--quantize rounds to 8 bits; do not combine it with --bits 16");

  for (const char* sub : {"sharp", "blur"}) check_not_input(out_dir + "/" + sub, sharp_dir, "--out");
  const KernelSource source = parse_kernel_source(kernels_text, size, vm.count("size") > 0);
  const bool rotational = source.kind == KernelSource::Kind::Rotational;

  DegradeOptions degrade_options;
  degrade_options.sigma_min = noise255 / 255.0;
  degrade_options.sigma_max = noise_max255 / 255.0;
  degrade_options.clip = true;  // the saved PNG is clipped anyway; clipping first keeps JPEG input in range
  degrade_options.quantize = quantize;
  degrade_options.jpeg_quality = jpeg;
  if (jpeg > 0) degrade_options.jpeg_codec = opencv_jpeg_codec();
  if (!blur_text.empty()) {
    UNROLL_CHECK(!rotational, "--blur does not apply to --kernels rotational (its boundary is border replication)");
    degrade_options.blur = parse_blur_mode(blur_text);
  }
  degrade_options.validate();

  RotationalBlurOptions rot;
  bool centre_given = false;
  double sweep_deg = 0;
  torch::Tensor mask;
  RotationSpec spec;
  if (rotational) {
    spec = parse_rotation(vm, rotation_args, "--kernels rotational", /*angle_required=*/true);
    rot.angle = *spec.angle;
    sweep_deg = rot.angle * 180.0 / M_PI;
    if (spec.centre) {
      std::tie(rot.centre_x, rot.centre_y) = *spec.centre;
      centre_given = true;
    }
    rot.validate();
    if (!spec.mask.empty()) {
      ImageReadOptions ro;
      ro.grey = true;
      mask = read_image(spec.mask, ro);  // [1,1,H,W] in [0,1]
    }
  } else {
    reject_rotation_options(vm, "--kernels " + kernels_text);
  }

  // Sharp images.
  UNROLL_CHECK(fs::is_directory(sharp_dir), "--sharp ", sharp_dir, ": no such folder");
  std::vector<std::string> files = list_image_files(sharp_dir);
  UNROLL_CHECK(!files.empty(), "--sharp ", sharp_dir, ": no images (png, jpg, jpeg, bmp, tif, tiff) in the folder");
  if (limit > 0 && static_cast<int64_t>(files.size()) > limit) files.resize(static_cast<size_t>(limit));
  std::set<std::string> stems;
  for (const auto& f : files) {
    const std::string stem = fs::path(f).stem().string();
    UNROLL_CHECK(stem.find_first_of(",\"\n\r") == std::string::npos, f,
                 ": file names must not contain commas, quotes or newlines (they go into manifest.csv)");
    UNROLL_CHECK(stems.insert(stem).second, f, ": another sharp image has the same name '", stem,
                 "' (pairs are named by the file stem)");
  }

  // Output folder: refuse to clobber, build in a staging folder beside it.
  const fs::path out = clean_path(out_dir);
  if (fs::exists(out)) {
    UNROLL_CHECK(fs::is_directory(out), "--out ", out_dir, ": exists and is not a folder");
    UNROLL_CHECK(fs::is_empty(out) || force, "--out ", out_dir, ": exists and is not empty (use --force to replace it)");
  }
  fs::create_directories(out.parent_path());
  const fs::path stage = out.parent_path() / ("." + out.filename().string() + ".synth-tmp" + std::to_string(getpid()));
  fs::remove_all(stage);

  const int64_t total = static_cast<int64_t>(files.size()) * count;
  ImageReadOptions read_options;
  read_options.grey = grey;
  try {
    for (const char* sub : {"blur", "sharp", "kernels"})
      if (!rotational || std::string(sub) != "kernels") fs::create_directories(stage / sub);
    std::vector<ManifestRow> rows;
    rows.reserve(static_cast<size_t>(total));
    ProgressLine progress("synth", total, 1.0);
    for (size_t i = 0; i < files.size(); ++i) {
      const auto& file = files[i];
      // [1,C,H,W] float32, rounded to the output bit depth first (a no-op for sources of that depth; matters
      // for --grey), so that the stored sharp image is exactly the one that was blurred.
      const double levels = bits == 8 ? 255.0 : 65535.0;
      const torch::Tensor image = (read_image(file, read_options).clamp(0.0, 1.0) * levels).round() / levels;
      const int64_t h = image.size(2), w = image.size(3);
      if (mask.defined())
        UNROLL_CHECK(mask.size(2) == h && mask.size(3) == w, spec.mask, ": mask is ", mask.size(3), "x", mask.size(2),
                     " but ", file, " is ", w, "x", h);
      for (int64_t c = 0; c < count; ++c) {
        const int64_t p = static_cast<int64_t>(i) * count + c;
        const uint64_t pair_seed = mix_seed(static_cast<uint64_t>(seed)) ^ mix_seed(static_cast<uint64_t>(p) + kPairSalt);
        SeededRng rng(pair_seed);
        const std::string name = fs::path(file).stem().string() + (count > 1 ? "_" + std::to_string(c) : "");
        ManifestRow row;
        row.files.name = name;
        row.files.blurred = "blur/" + name + ".png";
        row.files.sharp = "sharp/" + name + ".png";
        auto& par = row.parameters;
        par["kernel_type"] = source.label;
        par["seed"] = std::to_string(seed);
        par["pair_seed"] = std::to_string(pair_seed);
        par["source"] = fs::path(file).filename().string();
        par["copy"] = std::to_string(c);
        par["count_per_image"] = std::to_string(count);
        par["bits"] = std::to_string(bits);
        par["quantize"] = quantize ? "1" : "0";
        par["jpeg"] = std::to_string(jpeg);
        par["grey"] = grey ? "1" : "0";
        par["noise_min255"] = num(noise255);
        par["noise_max255"] = num(noise_max255);

        torch::Tensor blurred, sharp;
        double sigma = 0;
        if (!rotational) {
          torch::Tensor kernel;
          if (source.kind == KernelSource::Kind::Random) {
            kernel = random_kernel(source.spec, rng.next_seed());
          } else {
            const auto k = static_cast<size_t>(rng.integer(0, static_cast<int64_t>(source.bank.size()) - 1));
            kernel = source.bank[k];
            par["kernel_source"] = fs::path(source.bank_names[k]).filename().string();
          }
          auto d = degrade(image, kernel, degrade_options, rng.next_seed());
          blurred = d.blurred;
          sharp = d.sharp;
          sigma = d.sigma[0].item<double>();
          row.files.kernel = "kernels/" + name + ".csv";
          write_kernel_text((stage / row.files.kernel).string(), kernel.to(torch::kFloat64).cpu());
          par["blur"] = blur_mode_name(degrade_options.blur);
          par["kernel_h"] = std::to_string(kernel.size(0));
          par["kernel_w"] = std::to_string(kernel.size(1));
        } else {
          RotationalBlurOptions o = rot;
          if (!centre_given) {
            o.centre_x = (w - 1) / 2.0;
            o.centre_y = (h - 1) / 2.0;
          }
          blurred = mask.defined() ? rotational_blur(image, mask.to(image.options()), o) : rotational_blur(image, o);
          sharp = image;
          // The noise / clip / quantise / JPEG steps of degrade() (datasets/degrade.h, steps 3-5).
          sigma = rng.uniform(degrade_options.sigma_min, degrade_options.sigma_max);
          const uint64_t noise_seed = rng.next_seed();
          if (sigma > 0) blurred = add_gaussian_noise(blurred, sigma, noise_seed);
          blurred = blurred.clamp(0.0, 1.0);
          if (quantize) blurred = quantize_8bit(blurred);
          if (jpeg > 0) blurred = degrade_options.jpeg_codec(blurred, jpeg).to(blurred.options());
          par["blur"] = "rotational";
          if (spec.rpm_given) par["rpm"] = num(spec.rpm);
          if (spec.exposure_given) par["exposure"] = num(spec.exposure);
          par["angle_deg"] = num(sweep_deg);
          par["centre_x"] = num(o.centre_x);
          par["centre_y"] = num(o.centre_y);
          par["span"] = "centred";
          par["copies"] = std::to_string(rotational_copies(o, h, w));
          par["copies_per_degree"] = num(copies_per_degree(farthest_pixel_distance(h, w, o.centre_x, o.centre_y),
                                                           o.max_arc_step));
          par["mask"] = mask.defined() ? fs::path(spec.mask).filename().string() : "";
        }
        row.files.noise_sigma = sigma;
        par["sigma255"] = num(sigma * 255.0);
        write_image((stage / row.files.blurred).string(), blurred.cpu(), bits);
        write_image((stage / row.files.sharp).string(), sharp.cpu(), bits);
        rows.push_back(std::move(row));
        progress.update(p + 1);
      }
    }
    write_manifest((stage / "manifest.csv").string(), rows);
    progress.finish();
    if (fs::exists(out)) fs::remove_all(out);
    fs::rename(stage, out);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(stage, ec);
    throw;
  }
  std::cout << "synth: " << total << " pair(s) from " << files.size() << " image(s), kernels " << kernels_text
            << ", sigma " << num(noise255) << (noise_max255 > noise255 ? "-" + num(noise_max255) : "")
            << "/255, seed " << seed << " -> " << out.string() << "/manifest.csv\n";
  return 0;
}

}  // namespace unroll::cli
