#include "datasets/readers.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/tensor.h"

namespace fs = std::filesystem;

namespace unroll {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool is_image_file(const fs::path& p) {
  static const std::set<std::string> kExt = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"};
  return kExt.count(lower(p.extension().string())) > 0;
}

void require_dir(const fs::path& dir, const std::string& what) {
  std::error_code ec;
  UNROLL_CHECK(fs::is_directory(dir, ec), dir.string(), ": ", what, " folder does not exist");
}

std::vector<fs::path> sorted_subdirs(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) out.push_back(trim(field));
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

// Pairs <blur_dir>/<name> with <sharp_dir>/<name>; a blurred image without its twin is an error, sharp
// images without a blurred twin are counted.
void match_folder(const fs::path& blur_dir, const fs::path& sharp_dir, const std::string& name_prefix, PairListing* out) {
  require_dir(blur_dir, "blurred-image");
  require_dir(sharp_dir, "sharp-image");
  std::set<std::string> sharp_names;
  for (const auto& f : list_image_files(sharp_dir.string())) sharp_names.insert(fs::path(f).filename().string());
  std::set<std::string> used;
  for (const auto& f : list_image_files(blur_dir.string())) {
    const fs::path bp(f);
    const std::string file = bp.filename().string();
    UNROLL_CHECK(sharp_names.count(file), f, ": blurred image has no sharp twin (expected ", (sharp_dir / file).string(), ")");
    used.insert(file);
    PairFiles p;
    p.blurred = f;
    p.sharp = (sharp_dir / file).string();
    p.name = name_prefix + bp.stem().string();
    p.origin = f;
    out->pairs.push_back(std::move(p));
  }
  const int64_t orphans = static_cast<int64_t>(sharp_names.size() - used.size());
  if (orphans > 0) {
    out->skipped += orphans;
    out->skipped_reason = "sharp images without a blurred twin";
    warn(sharp_dir.string() + ": " + std::to_string(orphans) + " sharp image(s) without a blurred twin in " +
         blur_dir.string() + " (not pairs, skipped)");
  }
}

torch::Tensor read_pair_image(const std::string& path, const ImageReadOptions& o) { return read_image(path, o); }

}  // namespace

// ---- FilePairDataset -------------------------------------------------------------------------------

FilePairDataset::FilePairDataset(std::vector<PairFiles> pairs, ImageReadOptions image_options, std::string who)
    : pairs_(std::move(pairs)), image_options_(image_options), who_(std::move(who)) {}

ImagePair FilePairDataset::get(int64_t index) const {
  check_pair_index(index, size(), who_);
  const PairFiles& f = pairs_[static_cast<size_t>(index)];
  ImagePair p;
  p.name = f.name;
  p.sharp = read_pair_image(f.sharp, image_options_);
  if (f.blurred_stack.empty()) {
    p.blurred = read_pair_image(f.blurred, image_options_);
  } else {
    std::vector<torch::Tensor> frames;
    for (const auto& path : f.blurred_stack) {
      frames.push_back(read_pair_image(path, image_options_));
      UNROLL_CHECK(frames.back().sizes() == p.sharp.sizes(), path, ": frame size ", frames.back().sizes(),
                   " differs from the sharp image ", f.sharp, " ", p.sharp.sizes());
    }
    p.blurred = torch::cat(frames, 1);
  }
  UNROLL_CHECK(p.blurred.size(2) == p.sharp.size(2) && p.blurred.size(3) == p.sharp.size(3), f.blurred, ": size ",
               p.blurred.size(3), "x", p.blurred.size(2), " differs from its sharp twin ", f.sharp, " (",
               p.sharp.size(3), "x", p.sharp.size(2), ")");
  UNROLL_CHECK(!f.blurred_stack.empty() || p.blurred.size(1) == p.sharp.size(1), f.blurred, ": ", p.blurred.size(1),
               " channels but its sharp twin ", f.sharp, " has ", p.sharp.size(1),
               " (read with ImageReadOptions grey or rgb to convert)");
  if (!f.kernel.empty()) p.kernel = read_kernel(f.kernel);
  p.noise_sigma = f.noise_sigma;
  return p;
}

std::string FilePairDataset::name(int64_t index) const {
  check_pair_index(index, size(), who_);
  return pairs_[static_cast<size_t>(index)].name;
}

// ---- GoPro -----------------------------------------------------------------------------------------

void GoproOptions::validate() const {
  UNROLL_CHECK(split == "train" || split == "test", "gopro: split must be 'train' or 'test', got '", split, "'");
}

PairListing list_gopro(const std::string& root, const GoproOptions& o) {
  o.validate();
  const fs::path split_dir = fs::path(root) / o.split;
  require_dir(split_dir, "GoPro split");
  std::error_code ec;
  auto layout = o.layout;
  if (layout == GoproOptions::Layout::Auto)
    layout = fs::is_directory(split_dir / "blur", ec) ? GoproOptions::Layout::Flat : GoproOptions::Layout::Official;
  PairListing out;
  if (layout == GoproOptions::Layout::Flat) {
    UNROLL_CHECK(!o.gamma, split_dir.string(), ": the flattened GoPro layout has no blur_gamma images");
    match_folder(split_dir / "blur", split_dir / "sharp", "", &out);
  } else {
    const auto seqs = sorted_subdirs(split_dir);
    UNROLL_CHECK(!seqs.empty(), split_dir.string(), ": no GoPro sequence folders (expected <SEQ>/blur, <SEQ>/sharp)");
    for (const auto& seq : seqs) {
      const std::string seq_name = seq.filename().string();
      match_folder(seq / (o.gamma ? "blur_gamma" : "blur"), seq / "sharp", seq_name + "/", &out);
    }
  }
  UNROLL_CHECK(!out.pairs.empty(), split_dir.string(), ": no GoPro pairs found");
  return out;
}

// ---- REDS ------------------------------------------------------------------------------------------

const std::vector<std::string>& reds4_clips() {
  static const std::vector<std::string> kClips = {"000", "011", "015", "020"};
  return kClips;
}

void RedsOptions::validate() const {
  UNROLL_CHECK(split == "train" || split == "val", "reds: split must be 'train' or 'val', got '", split, "'");
  UNROLL_CHECK(blur_type == "blur" || blur_type == "blur_comp" || blur_type == "blur_jpeg",
               "reds: blur_type must be blur, blur_comp or blur_jpeg, got '", blur_type, "'");
  UNROLL_CHECK(neighbours >= 0 && neighbours <= 10, "reds: neighbours must be in [0, 10], got ", neighbours);
  UNROLL_CHECK(reds4 == Reds4::All || split == "train", "reds: the REDS4 partition is defined on the train split, got '",
               split, "'");
}

PairListing list_reds(const std::string& root, const RedsOptions& o) {
  o.validate();
  const fs::path blur_root = fs::path(root) / o.split / (o.split + "_" + o.blur_type);
  const fs::path sharp_root = fs::path(root) / o.split / (o.split + "_sharp");
  require_dir(blur_root, "REDS blurred");
  require_dir(sharp_root, "REDS sharp");
  const std::string blur_ext = o.blur_type == "blur_jpeg" ? ".jpg" : ".png";
  const auto& r4 = reds4_clips();
  PairListing out;
  for (const auto& clip_dir : sorted_subdirs(blur_root)) {
    const std::string clip = clip_dir.filename().string();
    const bool in_r4 = std::find(r4.begin(), r4.end(), clip) != r4.end();
    if ((o.reds4 == RedsOptions::Reds4::Only && !in_r4) || (o.reds4 == RedsOptions::Reds4::Exclude && in_r4)) continue;
    std::vector<fs::path> frames;
    for (const auto& e : fs::directory_iterator(clip_dir))
      if (e.is_regular_file() && lower(e.path().extension().string()) == blur_ext) frames.push_back(e.path());
    std::sort(frames.begin(), frames.end());
    UNROLL_CHECK(!frames.empty(), clip_dir.string(), ": no ", blur_ext, " frames in REDS clip");
    for (size_t i = 0; i < frames.size(); ++i) {
      const std::string stem = frames[i].stem().string();
      UNROLL_CHECK(stem.size() == 8 && std::all_of(stem.begin(), stem.end(), ::isdigit), frames[i].string(),
                   ": REDS frame names are 8 digits");
      const fs::path sharp = sharp_root / clip / (stem + ".png");
      UNROLL_CHECK(fs::is_regular_file(sharp), frames[i].string(), ": blurred frame has no sharp twin (expected ",
                   sharp.string(), ")");
      PairFiles p;
      p.blurred = frames[i].string();
      p.sharp = sharp.string();
      p.name = clip + "/" + stem;
      p.origin = p.blurred;
      if (o.neighbours > 0) {
        const int64_t last = static_cast<int64_t>(frames.size()) - 1;
        for (int64_t d = -o.neighbours; d <= o.neighbours; ++d) {
          const int64_t j = std::clamp<int64_t>(static_cast<int64_t>(i) + d, 0, last);
          p.blurred_stack.push_back(frames[static_cast<size_t>(j)].string());
        }
      }
      out.pairs.push_back(std::move(p));
    }
  }
  UNROLL_CHECK(!out.pairs.empty(), blur_root.string(), ": no REDS pairs found");
  return out;
}

// ---- RSBlur ----------------------------------------------------------------------------------------

PairListing list_rsblur(const std::string& root, const std::string& list_file) {
  require_dir(root, "RSBlur root");
  std::ifstream in(list_file);
  UNROLL_CHECK(in.good(), list_file, ": cannot open RSBlur list file");
  PairListing out;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string t = trim(line);
    if (t.empty()) continue;
    std::istringstream ls(t);
    std::vector<std::string> tokens;
    for (std::string tok; ls >> tok;) tokens.push_back(tok);
    UNROLL_CHECK(tokens.size() == 2, list_file, ":", line_no, ": expected '<sharp path> <blur path>', got ", tokens.size(),
                 " field(s): '", t, "'");
    PairFiles p;
    p.sharp = (fs::path(root) / tokens[0]).string();
    p.blurred = (fs::path(root) / tokens[1]).string();
    p.name = tokens[1];
    p.origin = list_file + ":" + std::to_string(line_no);
    UNROLL_CHECK(fs::is_regular_file(p.sharp), p.origin, ": sharp image ", p.sharp, " does not exist");
    UNROLL_CHECK(fs::is_regular_file(p.blurred), p.origin, ": blurred image ", p.blurred, " does not exist");
    out.pairs.push_back(std::move(p));
  }
  UNROLL_CHECK(!out.pairs.empty(), list_file, ": no pairs listed");
  return out;
}

// ---- Folders and manifests -------------------------------------------------------------------------

std::vector<std::string> list_image_files(const std::string& dir) {
  require_dir(dir, "image");
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && is_image_file(e.path())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

PairListing list_folder_pairs(const std::string& dir) {
  require_dir(dir, "pair");
  const fs::path manifest = fs::path(dir) / "manifest.csv";
  PairListing out;
  if (fs::is_regular_file(manifest)) {
    for (auto& row : read_manifest(manifest.string())) out.pairs.push_back(std::move(row.files));
  } else {
    match_folder(fs::path(dir) / "blur", fs::path(dir) / "sharp", "", &out);
  }
  UNROLL_CHECK(!out.pairs.empty(), dir, ": no pairs found");
  return out;
}

void write_manifest(const std::string& path, const std::vector<ManifestRow>& rows) {
  std::set<std::string> extra;
  for (const auto& r : rows)
    for (const auto& kv : r.parameters) extra.insert(kv.first);
  static const std::set<std::string> kFixed = {"name", "blurred", "sharp", "kernel", "sigma"};
  for (const auto& e : extra) UNROLL_CHECK(!kFixed.count(e), path, ": manifest parameter '", e, "' clashes with a fixed column");
  auto check_field = [&](const std::string& v) {
    UNROLL_CHECK(v.find_first_of(",\"\n\r") == std::string::npos, path, ": manifest field '", v,
                 "' contains a comma, quote or newline");
    return v;
  };
  std::ostringstream os;
  os << "name,blurred,sharp,kernel,sigma";
  for (const auto& e : extra) os << "," << check_field(e);
  os << "\n";
  char buf[64];
  for (const auto& r : rows) {
    std::string sigma;
    if (r.files.noise_sigma) {
      std::snprintf(buf, sizeof buf, "%.17g", *r.files.noise_sigma);
      sigma = buf;
    }
    os << check_field(r.files.name) << "," << check_field(r.files.blurred) << "," << check_field(r.files.sharp) << ","
       << check_field(r.files.kernel) << "," << sigma;
    for (const auto& e : extra) {
      auto it = r.parameters.find(e);
      os << "," << (it == r.parameters.end() ? "" : check_field(it->second));
    }
    os << "\n";
  }
  write_text_atomically(path, os.str());
}

std::vector<ManifestRow> read_manifest(const std::string& path) {
  std::ifstream in(path);
  UNROLL_CHECK(in.good(), path, ": cannot open manifest");
  const fs::path base = fs::path(path).parent_path();
  std::string line;
  int64_t line_no = 0;
  std::vector<std::string> header;
  while (header.empty() && std::getline(in, line)) {
    ++line_no;
    if (!trim(line).empty()) header = split_csv(trim(line));
  }
  UNROLL_CHECK(!header.empty(), path, ": empty manifest (no header line)");
  auto col = [&](const std::string& n) -> int64_t {
    auto it = std::find(header.begin(), header.end(), n);
    return it == header.end() ? -1 : static_cast<int64_t>(it - header.begin());
  };
  const int64_t c_blur = col("blurred"), c_sharp = col("sharp"), c_name = col("name"), c_kernel = col("kernel"),
                c_sigma = col("sigma");
  UNROLL_CHECK(c_blur >= 0 && c_sharp >= 0, path, ":", line_no, ": manifest header needs 'blurred' and 'sharp' columns");
  auto resolve = [&](const std::string& p) { return fs::path(p).is_absolute() ? p : (base / p).string(); };
  std::vector<ManifestRow> rows;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    const auto f = split_csv(trim(line));
    const std::string where = path + ":" + std::to_string(line_no);
    UNROLL_CHECK(f.size() == header.size(), where, ": ", f.size(), " fields, the header has ", header.size());
    ManifestRow r;
    UNROLL_CHECK(!f[c_blur].empty() && !f[c_sharp].empty(), where, ": empty blurred or sharp path");
    r.files.blurred = resolve(f[c_blur]);
    r.files.sharp = resolve(f[c_sharp]);
    r.files.name = c_name >= 0 && !f[c_name].empty() ? f[c_name] : fs::path(f[c_blur]).stem().string();
    if (c_kernel >= 0 && !f[c_kernel].empty()) r.files.kernel = resolve(f[c_kernel]);
    if (c_sigma >= 0 && !f[c_sigma].empty()) {
      char* end = nullptr;
      const double s = std::strtod(f[c_sigma].c_str(), &end);
      UNROLL_CHECK(end && *end == '\0' && std::isfinite(s) && s >= 0, where, ": sigma is not a non-negative number: '",
                   f[c_sigma], "'");
      r.files.noise_sigma = s;
    }
    r.files.origin = where;
    UNROLL_CHECK(fs::is_regular_file(r.files.blurred), where, ": blurred image ", r.files.blurred, " does not exist");
    UNROLL_CHECK(fs::is_regular_file(r.files.sharp), where, ": sharp image ", r.files.sharp, " does not exist");
    for (size_t i = 0; i < header.size(); ++i) {
      const auto& h = header[i];
      if (h != "name" && h != "blurred" && h != "sharp" && h != "kernel" && h != "sigma") r.parameters[h] = f[i];
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

// ---- Synthetic -------------------------------------------------------------------------------------

void SyntheticOptions::validate() const {
  if (kernel_bank.empty()) kernels.validate();
  for (size_t i = 0; i < kernel_bank.size(); ++i)
    UNROLL_CHECK(kernel_bank[i].defined() && kernel_bank[i].dim() == 2, "synthetic: kernel_bank[", i, "] must be [kh,kw]");
  degrade.validate();
  UNROLL_CHECK(crop_size >= 0, "synthetic: crop_size must be >= 0 (0 = whole image), got ", crop_size);
  UNROLL_CHECK(repeats >= 1, "synthetic: repeats must be >= 1, got ", repeats);
}

SyntheticPairDataset::SyntheticPairDataset(std::vector<std::string> sharp_files, SyntheticOptions options)
    : files_(std::move(sharp_files)), options_(std::move(options)) {
  options_.validate();
  UNROLL_CHECK(!files_.empty(), "synthetic: no sharp images");
}

int64_t SyntheticPairDataset::size() const { return static_cast<int64_t>(files_.size()) * options_.repeats; }

std::string SyntheticPairDataset::name(int64_t index) const {
  check_pair_index(index, size(), "synthetic");
  const auto& f = files_[static_cast<size_t>(index % static_cast<int64_t>(files_.size()))];
  return fs::path(f).stem().string() + "_" + std::to_string(index / static_cast<int64_t>(files_.size()));
}

ImagePair SyntheticPairDataset::get(int64_t index) const {
  check_pair_index(index, size(), "synthetic");
  const auto& file = files_[static_cast<size_t>(index % static_cast<int64_t>(files_.size()))];
  SeededRng rng(mix_seed(options_.seed) ^ mix_seed(static_cast<uint64_t>(index) + 0x51ED270B27ull));
  auto sharp = read_image(file, options_.image);
  if (options_.crop_size > 0) {
    const int64_t h = sharp.size(2), w = sharp.size(3), s = options_.crop_size;
    UNROLL_CHECK(h >= s && w >= s, file, ": image ", w, "x", h, " is smaller than the crop size ", s);
    const int64_t top = rng.integer(0, h - s), left = rng.integer(0, w - s);
    sharp = sharp.narrow(2, top, s).narrow(3, left, s).contiguous();
  }
  torch::Tensor kernel = options_.kernel_bank.empty()
                             ? random_kernel(options_.kernels, rng.next_seed())
                             : options_.kernel_bank[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(options_.kernel_bank.size()) - 1))];
  auto d = degrade(sharp, kernel, options_.degrade, rng.next_seed());
  ImagePair p;
  p.blurred = d.blurred;
  p.sharp = d.sharp;
  p.kernel = kernel.to(torch::kFloat64);
  p.noise_sigma = d.sigma[0].item<double>();
  p.name = name(index);
  return p;
}

// ---- CIFAR-10 --------------------------------------------------------------------------------------

void CifarOptions::validate() const {
  UNROLL_CHECK(std::isfinite(sigma_min) && sigma_min >= 0, "cifar10: sigma_min must be >= 0, got ", sigma_min);
  UNROLL_CHECK(std::isfinite(sigma_max) && sigma_max >= sigma_min, "cifar10: sigma_max must be >= sigma_min, got ", sigma_max);
  UNROLL_CHECK(kernel_size >= 0 && kernel_size <= 32, "cifar10: kernel_size must be in [0, 32], got ", kernel_size);
  degrade.validate();
}

std::vector<std::string> cifar10_files(const std::string& dir, const std::string& split) {
  require_dir(dir, "CIFAR-10");
  std::vector<std::string> out;
  if (split == "train") {
    for (int i = 1; i <= 5; ++i) out.push_back((fs::path(dir) / ("data_batch_" + std::to_string(i) + ".bin")).string());
  } else if (split == "test") {
    out.push_back((fs::path(dir) / "test_batch.bin").string());
  } else {
    fail("cifar10: split must be 'train' or 'test', got '", split, "'");
  }
  for (const auto& f : out) UNROLL_CHECK(fs::is_regular_file(f), f, ": CIFAR-10 file does not exist");
  return out;
}

Cifar10Dataset::Cifar10Dataset(const std::vector<std::string>& files, CifarOptions options) : options_(std::move(options)) {
  options_.validate();
  UNROLL_CHECK(!files.empty(), "cifar10: no files given");
  constexpr int64_t kRecord = 1 + 3 * 32 * 32;
  std::vector<torch::Tensor> chunks;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    UNROLL_CHECK(in.good(), f, ": cannot open CIFAR-10 file");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const int64_t n = static_cast<int64_t>(bytes.size());
    UNROLL_CHECK(n > 0 && n % kRecord == 0, f, ": length ", n, " bytes is not a positive multiple of the 3073-byte CIFAR-10 record",
                 " (the official files hold 10000 records, 30730000 bytes)");
    auto t = torch::from_blob(bytes.data(), {n / kRecord, kRecord}, torch::kUInt8).clone();
    auto labels = t.select(1, 0).to(torch::kLong);
    UNROLL_CHECK(labels.max().item<int64_t>() <= 9, f, ": record ", labels.argmax().item<int64_t>(), " has label ",
                 labels.max().item<int64_t>(), " (CIFAR-10 labels are 0..9)");
    chunks.push_back(t);
    const std::string stem = fs::path(f).stem().string();
    for (int64_t i = 0; i < n / kRecord; ++i) names_.push_back(stem + "/" + std::to_string(i));
  }
  auto all = torch::cat(chunks, 0);
  labels_ = all.select(1, 0).to(torch::kLong);
  images_ = all.narrow(1, 1, kRecord - 1).reshape({-1, 3, 32, 32}).contiguous();
}

std::string Cifar10Dataset::name(int64_t index) const {
  check_pair_index(index, size(), "cifar10");
  return names_[static_cast<size_t>(index)];
}

ImagePair Cifar10Dataset::get(int64_t index) const {
  check_pair_index(index, size(), "cifar10");
  auto x = images_.narrow(0, index, 1).to(torch::kFloat32) / 255.0;
  if (options_.grey) x = (x * torch::tensor({0.299f, 0.587f, 0.114f}).view({1, 3, 1, 1})).sum(1, true);
  SeededRng rng(mix_seed(options_.seed) ^ mix_seed(static_cast<uint64_t>(index) + 0xC1FA4ull));
  const double sigma = rng.uniform(options_.sigma_min, options_.sigma_max);
  const int64_t size = options_.kernel_size > 0 ? options_.kernel_size
                                                : 2 * static_cast<int64_t>(std::ceil(3.0 * std::max(options_.sigma_max, 0.25))) + 1;
  auto k = gaussian_kernel(sigma, std::min<int64_t>(size, 31));
  auto d = degrade(x, k, options_.degrade, rng.next_seed());
  ImagePair p;
  p.blurred = d.blurred;
  p.sharp = d.sharp;
  p.kernel = k;
  p.noise_sigma = d.sigma[0].item<double>();
  p.name = names_[static_cast<size_t>(index)];
  return p;
}

// ---- JPEG ------------------------------------------------------------------------------------------

std::function<torch::Tensor(const torch::Tensor&, int)> opencv_jpeg_codec() {
  return [](const torch::Tensor& x_in, int quality) {
    auto x = as_image_batch(x_in);
    check_image(x, "jpeg");
    UNROLL_CHECK(x.size(1) == 1 || x.size(1) == 3, "jpeg: need 1 or 3 channels, got ", x.size(1));
    UNROLL_CHECK(quality >= 1 && quality <= 100, "jpeg: quality must be in [1,100], got ", quality);
    auto u8 = (x.detach().to(torch::kCPU, torch::kFloat32).clamp(0, 1) * 255.0).round().to(torch::kUInt8);
    std::vector<torch::Tensor> out;
    const int h = static_cast<int>(x.size(2)), w = static_cast<int>(x.size(3)), c = static_cast<int>(x.size(1));
    for (int64_t i = 0; i < x.size(0); ++i) {
      auto hwc = u8[i].flip({0}).permute({1, 2, 0}).contiguous();  // RGB -> BGR, HWC
      if (c == 1) hwc = u8[i].permute({1, 2, 0}).contiguous();
      cv::Mat m(h, w, c == 3 ? CV_8UC3 : CV_8UC1, hwc.data_ptr<uint8_t>());
      std::vector<uchar> buf;
      UNROLL_CHECK(cv::imencode(".jpg", m, buf, {cv::IMWRITE_JPEG_QUALITY, quality}), "jpeg: encoding failed");
      cv::Mat d = cv::imdecode(buf, c == 3 ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
      UNROLL_CHECK(!d.empty() && d.rows == h && d.cols == w, "jpeg: decoding failed");
      auto t = torch::from_blob(d.data, {h, w, c}, torch::kUInt8).clone().permute({2, 0, 1});
      if (c == 3) t = t.flip({0});
      out.push_back(t);
    }
    return (torch::stack(out).to(x.options()) / 255.0);
  };
}

}  // namespace unroll
