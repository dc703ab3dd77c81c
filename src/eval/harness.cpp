#include "eval/harness.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/progress.h"
#include "datasets/kernels.h"
#include "datasets/readers.h"
#include "eval/report.h"
#include "io/image_io.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The last path component, ignoring a trailing separator ("a/b/" -> "b").
std::string base_name(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  const std::string b = p.filename().string();
  return b.empty() ? path : b;
}

double parse_number(const std::string& text, const std::string& key, const std::string& spec) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  UNROLL_CHECK(used == text.size() && !text.empty() && std::isfinite(v), "--data '", spec, "': ", key,
               " must be a number, got '", text, "'");
  return v;
}

int64_t parse_count(const std::string& text, const std::string& key, const std::string& spec, int64_t min_value) {
  const double v = parse_number(text, key, spec);
  UNROLL_CHECK(v == std::floor(v) && v >= static_cast<double>(min_value) && v < 9.0e15, "--data '", spec, "': ", key,
               " must be an integer >= ", min_value, ", got '", text, "'");
  return static_cast<int64_t>(v);
}

/// Splits "PATH[:SPLIT]": a last ':'-suffix without '/' (or ending in .txt for lists) is the split.
void split_path(const std::string& rest, const std::string& spec, const std::vector<std::string>& splits,
                bool allow_list, EvalSource* s) {
  const auto colon = rest.rfind(':');
  s->path = rest;
  s->split = splits.front();
  if (colon == std::string::npos) return;
  const std::string suffix = rest.substr(colon + 1);
  const bool is_list = allow_list && ends_with(suffix, ".txt");
  if (suffix.find('/') != std::string::npos && !is_list) return;  // a ':' inside the path
  s->path = rest.substr(0, colon);
  s->split = suffix;
  UNROLL_CHECK(!s->path.empty(), "--data '", spec, "': missing the dataset path before ':", suffix, "'");
  if (is_list) return;
  if (std::find(splits.begin(), splits.end(), suffix) == splits.end()) {
    std::string known;
    for (const auto& k : splits) known += (known.empty() ? "" : ", ") + k;
    fail("--data '", spec, "': unknown ", source_kind_name(s->kind), " split '", suffix, "' (", known,
         allow_list ? ", or a list file *.txt" : "", ")");
  }
}

std::string kinds_list() { return "gopro, reds, rsblur, cifar10, folder, synthetic, dpir"; }

// ---- CSV / JSON helpers -----------------------------------------------------------------------------

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out + "\"";
}

nlohmann::ordered_json number_or_null(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

std::string maybe(double v, int decimals) { return std::isnan(v) ? "-" : fixed(v, decimals); }

// ---- grid tiles -------------------------------------------------------------------------------------

/// Small images (CIFAR-10) are enlarged by an integer nearest-neighbour factor so the labels fit.
torch::Tensor for_display(const torch::Tensor& image) {
  auto x = image.detach().to(torch::kCPU, torch::kFloat32);
  if (x.size(1) > 3) x = x.narrow(1, 0, 3);  // stacked frames: the first one
  const int64_t side = std::max(x.size(2), x.size(3));
  if (side >= 160) return x;
  const int64_t f = (160 + side - 1) / side;
  return torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                   .scale_factor(std::vector<double>{double(f), double(f)})
                                                   .mode(torch::kNearest));
}

torch::Tensor placeholder_like(const torch::Tensor& shown) { return torch::full_like(shown, 0.5f); }

struct LoadedCase {
  ImagePair pair;
  double seconds = 0;
  std::string error;
};

LoadedCase load_case(const PairDataset& pairs, int64_t index) {
  LoadedCase c;
  const auto t0 = Clock::now();
  try {
    c.pair = pairs.get(index);
    check_pair(c.pair, "case " + std::to_string(index));
  } catch (const std::exception& e) {
    c.error = e.what();
    try {
      c.pair.name = pairs.name(index);
    } catch (const std::exception&) {
      c.pair.name = "#" + std::to_string(index);
    }
  }
  c.seconds = seconds_since(t0);
  return c;
}

}  // namespace

// ---- sources ----------------------------------------------------------------------------------------

std::string source_kind_name(EvalSource::Kind kind) {
  switch (kind) {
    case EvalSource::Kind::Gopro:
      return "gopro";
    case EvalSource::Kind::Reds:
      return "reds";
    case EvalSource::Kind::Rsblur:
      return "rsblur";
    case EvalSource::Kind::Cifar10:
      return "cifar10";
    case EvalSource::Kind::Folder:
      return "folder";
    case EvalSource::Kind::Synthetic:
      return "synthetic";
    case EvalSource::Kind::Dpir:
      return "dpir";
  }
  return "?";
}

EvalSource parse_eval_source(const std::string& text) {
  EvalSource s;
  s.text = text;
  const auto colon = text.find(':');
  UNROLL_CHECK(colon != std::string::npos && colon > 0, "--data '", text,
               "': expected KIND:PATH (kinds: ", kinds_list(), ")");
  const std::string kind = text.substr(0, colon), rest = text.substr(colon + 1);
  static const std::map<std::string, EvalSource::Kind> kKinds = {
      {"gopro", EvalSource::Kind::Gopro},   {"reds", EvalSource::Kind::Reds},
      {"rsblur", EvalSource::Kind::Rsblur}, {"cifar10", EvalSource::Kind::Cifar10},
      {"folder", EvalSource::Kind::Folder}, {"synthetic", EvalSource::Kind::Synthetic},
      {"dpir", EvalSource::Kind::Dpir}};
  auto it = kKinds.find(kind);
  UNROLL_CHECK(it != kKinds.end(), "--data '", text, "': unsupported dataset '", kind, "' (supported: ", kinds_list(),
               ")");
  s.kind = it->second;
  UNROLL_CHECK(!rest.empty(), "--data '", text, "': missing the path after '", kind, ":'");
  switch (s.kind) {
    case EvalSource::Kind::Gopro:
      split_path(rest, text, {"test", "train"}, false, &s);
      break;
    case EvalSource::Kind::Reds:
      split_path(rest, text, {"val", "reds4", "train"}, false, &s);
      break;
    case EvalSource::Kind::Rsblur:
      split_path(rest, text, {"test", "val", "train"}, true, &s);
      break;
    case EvalSource::Kind::Cifar10:
      split_path(rest, text, {"test", "train"}, false, &s);
      break;
    case EvalSource::Kind::Folder:
      s.path = rest;
      break;
    case EvalSource::Kind::Dpir: {
      const auto c2 = rest.rfind(':');
      UNROLL_CHECK(c2 != std::string::npos && c2 > 0 && c2 + 1 < rest.size(), "--data '", text,
                   "': expected dpir:IMAGES_DIR:KERNELS_DIR");
      s.path = rest.substr(0, c2);
      s.kernels_dir = rest.substr(c2 + 1);
      break;
    }
    case EvalSource::Kind::Synthetic: {
      std::vector<std::string> parts;
      std::stringstream ss(rest);
      for (std::string p; std::getline(ss, p, ',');) parts.push_back(p);
      UNROLL_CHECK(
          !parts.empty() && !parts[0].empty() && parts[0].find('=') == std::string::npos, "--data '", text,
          "': expected synthetic:SHARP_DIR[,kernels=K][,noise=N][,size=S][,count=C][,seed=S][,blur=B][,crop=P]");
      s.path = parts[0];
      std::set<std::string> seen;
      for (size_t i = 1; i < parts.size(); ++i) {
        const auto eq = parts[i].find('=');
        UNROLL_CHECK(eq != std::string::npos && eq > 0, "--data '", text, "': expected key=value, got '", parts[i],
                     "'");
        const std::string key = parts[i].substr(0, eq), value = parts[i].substr(eq + 1);
        UNROLL_CHECK(seen.insert(key).second, "--data '", text, "': ", key, " given twice");
        if (key == "kernels") {
          UNROLL_CHECK(!value.empty(), "--data '", text, "': kernels is empty");
          s.kernels = value;
        } else if (key == "noise") {
          s.noise255 = parse_number(value, key, text);
          UNROLL_CHECK(*s.noise255 >= 0, "--data '", text, "': noise must be >= 0 (0-255 scale), got ", value);
        } else if (key == "size") {
          s.kernel_size = parse_count(value, key, text, 3);
        } else if (key == "count") {
          s.count = parse_count(value, key, text, 1);
        } else if (key == "seed") {
          s.seed = static_cast<uint64_t>(parse_count(value, key, text, 0));
        } else if (key == "crop") {
          s.crop = parse_count(value, key, text, 0);
        } else if (key == "blur") {
          try {
            parse_blur_mode(value);
          } catch (const Error&) {
            fail("--data '", text, "': blur must be circular, same or valid, got '", value, "'");
          }
          s.blur = value;
        } else {
          fail("--data '", text, "': unknown synthetic option '", key,
               "' (kernels, noise, size, count, seed, blur, crop)");
        }
      }
      if (s.kernels.rfind("levin:", 0) != 0 && s.kernels.rfind("file:", 0) != 0) {
        try {
          parse_kernel_type(s.kernels);
        } catch (const Error&) {
          fail("--data '", text, "': unknown kernels '", s.kernels,
               "' (motion, gaussian, linear, defocus, mixed, levin:DIR, file:K.csv)");
        }
      }
      break;
    }
  }
  return s;
}

EvalSet open_eval_source(const EvalSource& s, const SourceOptions& options) {
  UNROLL_CHECK(std::isfinite(options.noise255) && options.noise255 >= 0, "noise must be >= 0 (0-255 scale), got ",
               options.noise255);
  EvalSet set;
  set.source = s.text;
  std::error_code ec;
  switch (s.kind) {
    case EvalSource::Kind::Gopro: {
      GoproOptions o;
      o.split = s.split;
      set.pairs = std::make_shared<FilePairDataset>(list_gopro(s.path, o).pairs, ImageReadOptions{}, "gopro");
      set.label = "gopro:" + s.split;
      set.metric = Metric::Full;
      set.protocol = "GoPro (Nah et al., CVPR 2017) " + s.split + " pairs, real camera blur, no kernel";
      break;
    }
    case EvalSource::Kind::Reds: {
      RedsOptions o;
      o.split = s.split == "reds4" ? "train" : s.split;
      if (s.split == "reds4") o.reds4 = RedsOptions::Reds4::Only;
      set.pairs = std::make_shared<FilePairDataset>(list_reds(s.path, o).pairs, ImageReadOptions{}, "reds");
      set.label = "reds:" + s.split;
      set.metric = Metric::Full;
      set.protocol = "REDS (Nah et al., CVPRW 2019) " +
                     std::string(s.split == "reds4" ? "REDS4 (train clips 000, 011, 015, 020)" : s.split) +
                     ", blur frames, no kernel";
      break;
    }
    case EvalSource::Kind::Rsblur: {
      std::string list;
      std::vector<std::string> tried;
      if (ends_with(s.split, ".txt")) {
        tried.push_back(fs::path(s.split).is_absolute() ? s.split : (fs::path(s.path) / s.split).string());
      } else {
        const std::string file = "RSBlur_real_" + s.split + ".txt";
        tried.push_back((fs::path(s.path) / "datalist" / "RSBlur" / file).string());
        tried.push_back((fs::path(s.path) / file).string());
      }
      for (const auto& t : tried) {
        if (list.empty() && fs::is_regular_file(t, ec)) list = t;
      }
      if (list.empty()) {
        std::string names;
        for (const auto& t : tried) names += (names.empty() ? "" : " or ") + t;
        fail("--data '", s.text, "': RSBlur list file not found (looked for ", names, ")");
      }
      set.pairs = std::make_shared<FilePairDataset>(list_rsblur(s.path, list).pairs, ImageReadOptions{}, "rsblur");
      set.label = "rsblur:" + (ends_with(s.split, ".txt") ? fs::path(s.split).stem().string() : s.split);
      set.metric = Metric::RSBlur;
      set.protocol = "RSBlur (Rim et al., ECCV 2022) list " + list + ", real blur, no kernel";
      break;
    }
    case EvalSource::Kind::Cifar10: {
      set.pairs = std::make_shared<Cifar10Dataset>(cifar10_files(s.path, s.split), CifarOptions{});
      set.label = "cifar10:" + s.split;
      set.metric = Metric::Full;
      set.protocol = "CIFAR-10 " + s.split +
                     " images, the seeds' protocol: isotropic Gaussian blur sigma ~ U[0,3] px "
                     "per record (seeded), circular, no noise; true kernel known";
      break;
    }
    case EvalSource::Kind::Folder: {
      auto listing = list_folder_pairs(s.path);
      const bool kernels =
          std::any_of(listing.pairs.begin(), listing.pairs.end(), [](const PairFiles& p) { return !p.kernel.empty(); });
      set.pairs = std::make_shared<FilePairDataset>(listing.pairs, ImageReadOptions{}, "folder");
      set.label = "folder:" + base_name(s.path);
      set.metric = Metric::Full;
      set.protocol = "pairs of " + s.path + (kernels ? " (manifest with kernels)" : " (no kernels)");
      break;
    }
    case EvalSource::Kind::Synthetic: {
      auto files = list_image_files(s.path);
      UNROLL_CHECK(!files.empty(), "--data '", s.text, "': ", s.path, " holds no images");
      SyntheticOptions o;
      if (s.kernels.rfind("levin:", 0) == 0) {
        o.kernel_bank = load_kernel_folder(s.kernels.substr(6));
      } else if (s.kernels.rfind("file:", 0) == 0) {
        o.kernel_bank = {read_kernel(s.kernels.substr(5))};
      } else {
        o.kernels = fitted_kernel_spec(parse_kernel_type(s.kernels), s.kernel_size);
      }
      const double noise255 = s.noise255.value_or(options.noise255);
      o.degrade.blur = parse_blur_mode(s.blur);
      o.degrade.fixed_sigma(noise255 / 255.0);
      o.crop_size = s.crop;
      o.repeats = s.count;
      o.seed = s.seed;
      set.pairs = std::make_shared<SyntheticPairDataset>(files, o);
      set.label = "synthetic:" + base_name(s.path);
      set.metric = Metric::Full;
      set.protocol = "sharp images of " + s.path + " blurred (" + s.blur + ") by " + s.kernels + " kernels" +
                     (o.kernel_bank.empty() ? " of side " + std::to_string(s.kernel_size) : "") + ", noise " +
                     fixed(noise255, 2) + "/255, seed " + std::to_string(s.seed) + "; true kernel known";
      break;
    }
    case EvalSource::Kind::Dpir: {
      set.pairs = std::make_shared<DpirProtocolDataset>(s.path, s.kernels_dir, options.noise255 / 255.0, 0);
      set.label = "dpir:" + base_name(s.path);
      set.metric = Metric::Full8;
      set.protocol = "DPIR protocol: " + s.path + " (modcrop 8) x kernels " + s.kernels_dir +
                     ", circular blur, Gaussian noise " + fixed(options.noise255, 2) + "/255 (seed 0), unclipped";
      break;
    }
  }
  UNROLL_CHECK(set.pairs && set.pairs->size() > 0, "--data '", s.text, "': no cases");
  if (options.metric) set.metric = *options.metric;
  return set;
}

// ---- evaluation -------------------------------------------------------------------------------------

void EvalOptions::validate() const {
  UNROLL_CHECK(limit >= 0, "eval: limit must be >= 0 (0 = all), got ", limit);
  UNROLL_CHECK(grids >= 0, "eval: grids must be >= 0, got ", grids);
  UNROLL_CHECK(!save_images || !out_dir.empty(), "eval: saving images needs an output folder");
}

std::string safe_file_name(const std::string& name) {
  std::string n = name;
  for (const char* ext : {".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".tif", ".tiff", ".bmp"}) {
    if (ends_with(n, ext)) {
      n.resize(n.size() - std::string(ext).size());
      break;
    }
  }
  for (char& c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '+')) c = '_';
  }
  return n.empty() ? "_" : n;
}

EvalReport run_evaluation(const std::vector<EvalSet>& sets, const std::vector<EvalMethod>& methods_in,
                          const EvalOptions& options) {
  options.validate();
  UNROLL_CHECK(!sets.empty(), "eval: no datasets");
  UNROLL_CHECK(!methods_in.empty(), "eval: no methods");
  std::vector<EvalMethod> methods = methods_in;
  std::set<std::string> labels;
  for (auto& m : methods) {
    const Method& info = find_method(m.method);
    if (m.label.empty()) m.label = m.method;
    UNROLL_CHECK(labels.insert(m.label).second, "eval: method label '", m.label, "' appears twice");
    UNROLL_CHECK(!info.needs_weights() || !m.weights.empty(), m.label, ": ", m.method, " needs a checkpoint (--weights ",
                 m.method, "=FILE)");
    check_method_params(info, m.params, m.label);
  }
  std::set<std::string> set_labels;
  for (const auto& s : sets)
    UNROLL_CHECK(set_labels.insert(s.label).second, "eval: dataset label '", s.label, "' appears twice");

  const auto wall0 = Clock::now();
  EvalReport report;
  int64_t total = 0;
  for (const auto& s : sets) {
    const int64_t n = options.limit > 0 ? std::min(options.limit, s.pairs->size()) : s.pairs->size();
    total += n * static_cast<int64_t>(methods.size());
  }
  ProgressLine progress("eval", total, options.progress ? 2.0 : std::numeric_limits<double>::infinity());
  int64_t done = 0;
  const std::string out = options.out_dir;

  for (const auto& set : sets) {
    DatasetSummary ds;
    ds.label = set.label;
    ds.source = set.source;
    ds.metric = metric_name(set.metric);
    ds.protocol = set.protocol;
    ds.available = set.pairs->size();
    ds.cases = options.limit > 0 ? std::min(options.limit, ds.available) : ds.available;
    const size_t first_row = report.rows.size();
    const Metric input_metric =
        (set.metric == Metric::RSBlur || set.metric == Metric::RealBlur) ? Metric::Full : set.metric;
    double in_psnr = 0, in_ssim = 0;
    int64_t in_count = 0;

    std::future<LoadedCase> next;
    auto start_load = [&](int64_t i) {
      if (options.prefetch) {
        next = std::async(std::launch::async, [&set, i] { return load_case(*set.pairs, i); });
      }
    };
    if (ds.cases > 0) start_load(0);
    for (int64_t i = 0; i < ds.cases; ++i) {
      LoadedCase c = options.prefetch ? next.get() : load_case(*set.pairs, i);
      if (i + 1 < ds.cases) start_load(i + 1);
      ds.load_seconds += c.seconds;
      ImageScores in;
      if (c.error.empty()) {
        try {
          in = score_image(c.pair.blurred.narrow(1, 0, c.pair.sharp.size(1)), c.pair.sharp, input_metric);
          in_psnr += in.psnr;
          in_ssim += in.ssim;
          ++in_count;
        } catch (const std::exception& e) {
          c.error = std::string("scoring the blurred input: ") + e.what();
        }
      }
      if (!c.error.empty()) {
        ++ds.load_failures;
        for (const auto& m : methods) {
          EvalRow r;
          r.dataset = set.label;
          r.name = c.pair.name;
          r.method = m.label;
          r.status = "failed";
          r.error = "load: " + c.error;
          report.rows.push_back(std::move(r));
          progress.update(++done, set.label);
        }
        continue;
      }
      const ImagePair& pair = c.pair;
      const bool grid = i < options.grids && !out.empty();
      std::vector<LabelledImage> tiles;
      torch::Tensor shown_blurred;
      if (grid) {
        shown_blurred = for_display(pair.blurred);
        tiles.push_back({shown_blurred, "blurred " + fixed(in.psnr, 2) + " dB"});
      }
      DeblurRequest req;
      req.blurred = pair.blurred.to(options.device, torch::kFloat32);
      if (pair.kernel.defined()) req.kernel = pair.kernel.to(options.device, torch::kFloat32);
      req.sigma = pair.noise_sigma.value_or(-1.0);
      req.boundary = options.boundary;
      for (const auto& m : methods) {
        EvalRow r;
        r.dataset = set.label;
        r.name = pair.name;
        r.method = m.label;
        if (find_method(m.method).needs_kernel && !pair.kernel.defined()) {
          r.status = "needs kernel";
          if (grid) tiles.push_back({placeholder_like(shown_blurred), m.label + ": needs kernel"});
        } else {
          try {
            req.weights = m.weights;
            req.prior = m.prior;
            const auto t0 = Clock::now();
            auto result = run_method(m.method, req, m.params);
            auto x = result.image.detach().to(torch::kCPU, torch::kFloat64);
            r.seconds = seconds_since(t0);
            const auto t1 = Clock::now();
            const auto s = score_image(x, pair.sharp, set.metric);
            r.metric_seconds = seconds_since(t1);
            r.psnr = s.psnr;
            r.ssim = s.ssim;
            r.score = s.score;
            r.status = "ok";
            if (grid) tiles.push_back({for_display(x.clamp(0, 1)), m.label + " " + fixed(s.psnr, 2) + " dB"});
            if (options.save_images) {
              write_image((fs::path(out) / "images" / safe_file_name(set.label) / safe_file_name(m.label) /
                           (safe_file_name(pair.name) + ".png"))
                              .string(),
                          x.clamp(0, 1).to(torch::kFloat32));
            }
          } catch (const std::exception& e) {
            r.status = "failed";
            r.error = e.what();
            if (grid) tiles.push_back({placeholder_like(shown_blurred), m.label + ": failed"});
          }
        }
        ds.metric_seconds += r.metric_seconds;
        report.rows.push_back(std::move(r));
        progress.update(++done, set.label);
      }
      if (grid) {
        tiles.push_back({for_display(pair.sharp), "sharp"});
        const std::string rel =
            "grids/" + safe_file_name(set.label) + "_" + std::to_string(i) + "_" + safe_file_name(pair.name) + ".png";
        write_comparison_grid((fs::path(out) / rel).string(), tiles, 0);
        ds.grids.push_back(rel);
      }
    }
    ds.input.psnr = in_count ? in_psnr / in_count : kNaN;
    ds.input.ssim = in_count ? in_ssim / in_count : kNaN;
    ds.input.score = in_count ? combined_score(ds.input.psnr, ds.input.ssim) : kNaN;
    for (const auto& m : methods) {
      MethodSummary ms;
      ms.method = m.label;
      double p = 0, q = 0, sc = 0, t = 0;
      for (size_t k = first_row; k < report.rows.size(); ++k) {
        const auto& r = report.rows[k];
        if (r.method != m.label) continue;
        ms.seconds_total += r.seconds;
        if (r.status == "ok") {
          ++ms.ok;
          p += r.psnr;
          q += r.ssim;
          sc += r.score;
          t += r.seconds;
        } else if (r.status == "needs kernel") {
          ++ms.needs_kernel;
        } else {
          ++ms.failed;
        }
      }
      ms.psnr = ms.ok ? p / ms.ok : kNaN;
      ms.ssim = ms.ok ? q / ms.ok : kNaN;
      ms.score = ms.ok ? sc / ms.ok : kNaN;
      ms.seconds_per_image = ms.ok ? t / ms.ok : kNaN;
      ds.methods.push_back(ms);
    }
    report.datasets.push_back(std::move(ds));
  }
  progress.finish();
  report.wall_seconds = seconds_since(wall0);
  return report;
}

// ---- outputs ----------------------------------------------------------------------------------------

std::string results_csv(const EvalReport& report) {
  std::ostringstream os;
  os << "dataset,case,method,status,psnr,ssim,score,seconds,metric_seconds,error\n";
  for (const auto& r : report.rows) {
    os << csv_field(r.dataset) << "," << csv_field(r.name) << "," << csv_field(r.method) << "," << csv_field(r.status)
       << ",";
    if (r.status == "ok") {
      os << fixed(r.psnr, 4) << "," << fixed(r.ssim, 5) << "," << fixed(r.score, 3) << "," << fixed(r.seconds, 4) << ","
         << fixed(r.metric_seconds, 4);
    } else {
      os << ",,,,";
    }
    os << "," << csv_field(r.error) << "\n";
  }
  return os.str();
}

std::string summary_markdown(const EvalReport& report, const std::string& command) {
  std::ostringstream os;
  os << "# unroll eval\n\n";
  if (!command.empty()) os << "    " << command << "\n\n";
  for (const auto& d : report.datasets) {
    double method_seconds = 0;
    for (const auto& m : d.methods) method_seconds += m.seconds_total;
    os << "## " << d.label << "\n\n`" << d.source << "`: " << d.protocol << ". Metric `" << d.metric << "`, " << d.cases
       << " of " << d.available << " cases";
    if (d.load_failures) os << " (" << d.load_failures << " could not be read)";
    os << ".\n\n";
    std::vector<std::vector<std::string>> rows;
    rows.push_back(
        {"blurred input", maybe(d.input.psnr, 2), maybe(d.input.ssim, 4), maybe(d.input.score, 2), "-", "-", "-", "-"});
    for (const auto& m : d.methods) {
      rows.push_back({m.method, maybe(m.psnr, 2), maybe(m.ssim, 4), maybe(m.score, 2), maybe(m.seconds_per_image, 3),
                      std::to_string(m.ok), std::to_string(m.failed), std::to_string(m.needs_kernel)});
    }
    os << markdown_table({"method", "PSNR (dB)", "SSIM", "score", "s / image", "ok", "failed", "needs kernel"}, rows);
    os << "\nTime: loading " << fixed(d.load_seconds, 2) << " s (" << fixed(d.cases ? d.load_seconds / d.cases : 0.0, 3)
       << " s / case), methods " << fixed(method_seconds, 2) << " s, scoring " << fixed(d.metric_seconds, 2) << " s.\n";
    if (d.metric != "full" && d.metric != "full8")
      os << "The blurred-input row is unaligned (metric `full`), as RealBlur's script reports it.\n";
    if (!d.grids.empty()) {
      os << "\n";
      for (const auto& g : d.grids) os << "![" << g << "](" << g << ")\n";
    }
    os << "\n";
  }
  os << "Wall time " << fixed(report.wall_seconds, 2) << " s.\n";
  return os.str();
}

std::string summary_json(const EvalReport& report, const std::string& command) {
  nlohmann::ordered_json j;
  j["command"] = command;
  j["wall_seconds"] = report.wall_seconds;
  j["datasets"] = nlohmann::ordered_json::array();
  for (const auto& d : report.datasets) {
    nlohmann::ordered_json dj;
    dj["label"] = d.label;
    dj["source"] = d.source;
    dj["metric"] = d.metric;
    dj["protocol"] = d.protocol;
    dj["cases"] = d.cases;
    dj["available"] = d.available;
    dj["load_failures"] = d.load_failures;
    dj["load_seconds"] = d.load_seconds;
    double method_seconds = 0;
    for (const auto& m : d.methods) method_seconds += m.seconds_total;
    dj["method_seconds"] = method_seconds;
    dj["metric_seconds"] = d.metric_seconds;
    dj["input"] = {{"psnr", number_or_null(d.input.psnr)},
                   {"ssim", number_or_null(d.input.ssim)},
                   {"score", number_or_null(d.input.score)}};
    dj["methods"] = nlohmann::ordered_json::array();
    for (const auto& m : d.methods) {
      nlohmann::ordered_json mj;
      mj["method"] = m.method;
      mj["ok"] = m.ok;
      mj["failed"] = m.failed;
      mj["needs_kernel"] = m.needs_kernel;
      mj["psnr"] = number_or_null(m.psnr);
      mj["ssim"] = number_or_null(m.ssim);
      mj["score"] = number_or_null(m.score);
      mj["seconds_per_image"] = number_or_null(m.seconds_per_image);
      mj["seconds_total"] = m.seconds_total;
      dj["methods"].push_back(mj);
    }
    dj["grids"] = d.grids;
    j["datasets"].push_back(dj);
  }
  return j.dump(2) + "\n";
}

void write_eval_outputs(const EvalReport& report, const std::string& dir, const std::string& command) {
  write_text_atomically((fs::path(dir) / "results.csv").string(), results_csv(report));
  write_text_atomically((fs::path(dir) / "summary.md").string(), summary_markdown(report, command));
  write_text_atomically((fs::path(dir) / "summary.json").string(), summary_json(report, command));
}

}  // namespace unroll
