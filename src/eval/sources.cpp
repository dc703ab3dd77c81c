#include "eval/sources.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"
#include "datasets/kernels.h"
#include "datasets/readers.h"
#include "eval/report.h"
#include "io/image_io.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

/// The last path component, ignoring a trailing separator ("a/b/" -> "b").
std::string base_name(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  const std::string b = p.filename().string();
  return b.empty() ? path : b;
}

/// Messages about a data string start with `what`: "--data 'gopro:/x'" for eval, "'cifar10:/x'" for a
/// training set (whose caller names the key).
double parse_number(const std::string& text, const std::string& key, const std::string& what) {
  const auto v = parse_finite_number(text);
  UNROLL_CHECK(v.has_value(), what, ": ", key, " must be a number, got '", text, "'");
  return *v;
}

int64_t parse_count(const std::string& text, const std::string& key, const std::string& what, int64_t min_value) {
  const double v = parse_number(text, key, what);
  UNROLL_CHECK(v == std::floor(v) && v >= static_cast<double>(min_value) && v < 9.0e15, what, ": ", key,
               " must be an integer >= ", min_value, ", got '", text, "'");
  return static_cast<int64_t>(v);
}

/// Splits "PATH[:SPLIT]": a last ':'-suffix without '/' (or ending in .txt for lists) is the split.
/// `default_split` ("" = the first of `splits`) is the split when none is given.
void split_path(const std::string& rest, const std::string& what, const std::vector<std::string>& splits,
                bool allow_list, const std::string& default_split, EvalSource* s) {
  const auto colon = rest.rfind(':');
  s->path = rest;
  s->split = default_split.empty() ? splits.front() : default_split;
  if (colon == std::string::npos) return;
  const std::string suffix = rest.substr(colon + 1);
  const bool is_list = allow_list && ends_with(suffix, ".txt");
  if (suffix.find('/') != std::string::npos && !is_list) return;  // a ':' inside the path
  s->path = rest.substr(0, colon);
  s->split = suffix;
  UNROLL_CHECK(!s->path.empty(), what, ": missing the dataset path before ':", suffix, "'");
  if (is_list) return;
  if (std::find(splits.begin(), splits.end(), suffix) == splits.end()) {
    std::string known;
    for (const auto& k : splits) known += (known.empty() ? "" : ", ") + k;
    fail(what, ": unknown ", source_kind_name(s->kind), " split '", suffix, "' (", known,
         allow_list ? ", or a list file *.txt" : "", ")");
  }
}

/// The kinds of the grammar, by the name a data string starts with (in the order messages list them).
constexpr std::pair<const char*, EvalSource::Kind> kKinds[] = {
    {"gopro", EvalSource::Kind::Gopro},   {"reds", EvalSource::Kind::Reds},
    {"rsblur", EvalSource::Kind::Rsblur}, {"cifar10", EvalSource::Kind::Cifar10},
    {"folder", EvalSource::Kind::Folder}, {"synthetic", EvalSource::Kind::Synthetic},
    {"dpir", EvalSource::Kind::Dpir},     {"blind", EvalSource::Kind::Blind}};

std::string kinds_list() {
  std::string out;
  for (const auto& [name, kind] : kKinds) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

/// The kind `text` starts with ("gopro" of "gopro:/x"), or null when it starts with none.
const EvalSource::Kind* kind_prefix(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos) return nullptr;
  for (const auto& entry : kKinds)
    if (text.compare(0, colon, entry.first) == 0) return &entry.second;
  return nullptr;
}

EvalSource parse_source(const std::string& text, const std::string& what, const std::string& default_split) {
  EvalSource s;
  s.text = text;
  const auto colon = text.find(':');
  UNROLL_CHECK(colon != std::string::npos && colon > 0, what, ": expected KIND:PATH (kinds: ", kinds_list(), ")");
  const std::string kind = text.substr(0, colon), rest = text.substr(colon + 1);
  const EvalSource::Kind* k = kind_prefix(text);
  UNROLL_CHECK(k != nullptr, what, ": unsupported dataset '", kind, "' (supported: ", kinds_list(), ")");
  s.kind = *k;
  UNROLL_CHECK(!rest.empty(), what, ": missing the path after '", kind, ":'");
  switch (s.kind) {
    case EvalSource::Kind::Gopro:
      split_path(rest, what, {"test", "train"}, false, "", &s);
      break;
    case EvalSource::Kind::Reds:
      split_path(rest, what, {"val", "reds4", "train"}, false, "", &s);
      break;
    case EvalSource::Kind::Rsblur:
      split_path(rest, what, {"test", "val", "train"}, true, "", &s);
      break;
    case EvalSource::Kind::Cifar10:
      split_path(rest, what, {"test", "train"}, false, default_split, &s);
      break;
    case EvalSource::Kind::Folder:
      s.path = rest;
      break;
    case EvalSource::Kind::Dpir:
    case EvalSource::Kind::Blind: {
      const auto c2 = rest.rfind(':');
      UNROLL_CHECK(c2 != std::string::npos && c2 > 0 && c2 + 1 < rest.size(), what, ": expected ", kind,
                   ":IMAGES_DIR:KERNELS_DIR");
      s.path = rest.substr(0, c2);
      s.kernels_dir = rest.substr(c2 + 1);
      break;
    }
    case EvalSource::Kind::Synthetic: {
      std::vector<std::string> parts;
      std::stringstream ss(rest);
      for (std::string p; std::getline(ss, p, ',');) parts.push_back(p);
      UNROLL_CHECK(
          !parts.empty() && !parts[0].empty() && parts[0].find('=') == std::string::npos, what,
          ": expected synthetic:SHARP_DIR[,kernels=K][,noise=N][,size=S][,count=C][,seed=S][,blur=B][,crop=P]");
      s.path = parts[0];
      std::set<std::string> seen;
      for (size_t i = 1; i < parts.size(); ++i) {
        const auto eq = parts[i].find('=');
        UNROLL_CHECK(eq != std::string::npos && eq > 0, what, ": expected key=value, got '", parts[i],
                     "'");
        const std::string key = parts[i].substr(0, eq), value = parts[i].substr(eq + 1);
        UNROLL_CHECK(seen.insert(key).second, what, ": ", key, " given twice");
        if (key == "kernels") {
          UNROLL_CHECK(!value.empty(), what, ": kernels is empty");
          s.kernels = value;
        } else if (key == "noise") {
          s.noise255 = parse_number(value, key, what);
          UNROLL_CHECK(*s.noise255 >= 0, what, ": noise must be >= 0 (0-255 scale), got ", value);
        } else if (key == "size") {
          s.kernel_size = parse_count(value, key, what, 3);
        } else if (key == "count") {
          s.count = parse_count(value, key, what, 1);
        } else if (key == "seed") {
          s.seed = static_cast<uint64_t>(parse_count(value, key, what, 0));
        } else if (key == "crop") {
          s.crop = parse_count(value, key, what, 0);
        } else if (key == "blur") {
          try {
            parse_blur_mode(value);
          } catch (const Error&) {
            fail(what, ": blur must be circular, same or valid, got '", value, "'");
          }
          s.blur = value;
        } else {
          fail(what, ": unknown synthetic option '", key,
               "' (kernels, noise, size, count, seed, blur, crop)");
        }
      }
      if (s.kernels.rfind("levin:", 0) != 0 && s.kernels.rfind("file:", 0) != 0) {
        try {
          parse_kernel_type(s.kernels);
        } catch (const Error&) {
          fail(what, ": unknown kernels '", s.kernels,
               "' (motion, gaussian, linear, defocus, mixed, levin:DIR, file:K.csv)");
        }
      }
      break;
    }
  }
  return s;
}

}  // namespace

std::string source_kind_name(EvalSource::Kind kind) {
  for (const auto& [name, k] : kKinds)
    if (k == kind) return name;
  return "?";
}

EvalSource parse_eval_source(const std::string& text) { return parse_source(text, "--data '" + text + "'", ""); }

EvalSource parse_clean_image_source(const std::string& text, const std::string& default_split) {
  const EvalSource::Kind* kind = kind_prefix(text);
  if (kind == nullptr) {
    EvalSource s;
    s.kind = EvalSource::Kind::Folder;
    s.text = s.path = text;
    return s;
  }
  UNROLL_CHECK(*kind == EvalSource::Kind::Cifar10, "'", text,
               "': a training set is a folder of sharp images or cifar10:DIR[:train|test], not ", source_kind_name(*kind),
               " data");
  return parse_source(text, "'" + text + "'", default_split);
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
      set.boundary = Boundary::Circular;
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
      set.boundary = o.degrade.blur == BlurMode::Circular ? Boundary::Circular : Boundary::LiuJia;
      set.protocol = "sharp images of " + s.path + " blurred (" + s.blur + ") by " + s.kernels + " kernels" +
                     (o.kernel_bank.empty() ? " of side " + std::to_string(s.kernel_size) : "") + ", noise " +
                     fixed(noise255, 2) + "/255, seed " + std::to_string(s.seed) + "; true kernel known";
      break;
    }
    case EvalSource::Kind::Dpir: {
      set.pairs = std::make_shared<DpirProtocolDataset>(s.path, s.kernels_dir, options.noise255 / 255.0, 0);
      set.label = "dpir:" + base_name(s.path);
      set.metric = Metric::Full8;
      set.boundary = Boundary::Circular;
      set.protocol = "DPIR protocol: " + s.path + " (modcrop 8) x kernels " + s.kernels_dir +
                     ", circular blur, Gaussian noise " + fixed(options.noise255, 2) + "/255 (seed 0), unclipped";
      break;
    }
    case EvalSource::Kind::Blind: {
      set.pairs = std::make_shared<BlindProtocolDataset>(s.path, s.kernels_dir, options.noise255 / 255.0, 0);
      set.label = "blind:" + base_name(s.path);
      set.metric = Metric::ShiftAligned;
      set.protocol = "blind protocol: " + s.path + " (modcrop 8) x kernels " + s.kernels_dir +
                     ", linear blur of the reflect-extended scene, Gaussian noise " + fixed(options.noise255, 2) +
                     "/255 (seed 0), 8-bit; scored up to a shift (Levin et al. 2009); true kernels known";
      break;
    }
  }
  UNROLL_CHECK(set.pairs && set.pairs->size() > 0, "--data '", s.text, "': no cases");
  if (options.metric) set.metric = *options.metric;
  return set;
}

}  // namespace unroll
