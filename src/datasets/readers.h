// Readers for the public deblurring datasets, folder pairs, synthetic-on-the-fly pairs and CIFAR-10,
// all behind the PairDataset interface of datasets/pair_dataset.h (OpenCV layer: images are read with
// io/image_io.h read_image, float32 [1,C,H,W] in [0,1], RGB).
//
// Layouts, exactly as published:
//  * GoPro (Nah et al., CVPR 2017), official:  <root>/{train,test}/<SEQ>/{blur,blur_gamma,sharp}/NNNNNN.png
//    (2103 train / 1111 test pairs, 1280x720); flattened (MIMO-UNet, ConvIR):
//    <root>/{train,test}/{blur,sharp}/<SEQ>_<frame>.png. Names: "<SEQ>/<frame>" or the flat stem.
//  * REDS (Nah et al., CVPRW 2019): <root>/<split>/<split>_<type>/<clip>/<8-digit>.png, types blur,
//    blur_comp, blur_jpeg (.jpg) and sharp; splits train (clips 000-239) and val (000-029). The REDS4
//    partition is clips 000, 011, 015, 020 of train. Names: "<clip>/<frame>".
//  * RSBlur (Rim et al., ECCV 2022): list files such as <root>/datalist/RSBlur/RSBlur_real_train.txt,
//    one pair per line "<sharp path> <blur path>" (sharp first), relative to the dataset root; blank
//    lines are skipped, surrounding spaces trimmed. Names: the blur path.
//  * Folder pairs: <dir>/blur/<name> + <dir>/sharp/<name> (same file name), or a manifest written by
//    `unroll synth` (see write_manifest).
//  * CIFAR-10 binary: data_batch_{1..5}.bin / test_batch.bin, records of 1 label byte + 3072 bytes (R, G,
//    B planes of 32x32), blurred on the fly by an isotropic Gaussian with sigma ~ U[0,3] (the seeds'
//    protocol), one deterministic sigma per record.
//
// Bad input is an unroll::Error naming the file (and line, for list files and manifests): a missing
// folder, a blurred image without its sharp twin, pair members of different sizes, unreadable images, a
// malformed list line, a CIFAR file whose length is not a multiple of 3073. Readers never drop pairs
// silently: sharp images without a blurred twin are not pairs; they are counted and reported through
// warn() and in `skipped` of the listing.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "datasets/degrade.h"
#include "datasets/kernels.h"
#include "datasets/pair_dataset.h"
#include "io/image_io.h"

namespace unroll {

/// One pair on disk.
struct PairFiles {
  std::string blurred;                  ///< path of the blurred image
  std::string sharp;                    ///< path of the sharp image
  std::string kernel;                   ///< optional kernel file (io/image_io.h read_kernel), "" if none
  std::optional<double> noise_sigma;    ///< AWGN std on the [0,1] scale, when known
  std::string name;
  /// Optional neighbouring blurred frames (REDS multi-frame input): read and concatenated along the
  /// channel axis in this order; must include `blurred` itself at its position.
  std::vector<std::string> blurred_stack;
  std::string origin;                   ///< where the pair was listed ("list.txt:12"), for messages
};

/// The result of listing a dataset: the pairs, and how many files were seen but are not pairs.
struct PairListing {
  std::vector<PairFiles> pairs;
  int64_t skipped = 0;
  std::string skipped_reason;
};

/// Pairs read from files on demand (thread-safe: every get() opens its own files).
class FilePairDataset : public PairDataset {
 public:
  FilePairDataset(std::vector<PairFiles> pairs, ImageReadOptions image_options = {}, std::string who = "dataset");
  int64_t size() const override { return static_cast<int64_t>(pairs_.size()); }
  ImagePair get(int64_t index) const override;
  std::string name(int64_t index) const override;
  const std::vector<PairFiles>& files() const { return pairs_; }

 private:
  std::vector<PairFiles> pairs_;
  ImageReadOptions image_options_;
  std::string who_;
};

// ---- GoPro -----------------------------------------------------------------------------------------

struct GoproOptions {
  enum class Layout { Auto, Official, Flat };
  std::string split = "train";    ///< "train" or "test"
  Layout layout = Layout::Auto;   ///< Auto: Flat when <root>/<split>/blur exists, else Official
  bool gamma = false;             ///< official layout: use blur_gamma instead of blur
  void validate() const;
};
PairListing list_gopro(const std::string& root, const GoproOptions& options);

// ---- REDS ------------------------------------------------------------------------------------------

struct RedsOptions {
  enum class Reds4 { All, Only, Exclude };
  std::string split = "train";    ///< "train" or "val"
  std::string blur_type = "blur"; ///< "blur", "blur_comp" or "blur_jpeg"
  Reds4 reds4 = Reds4::All;       ///< Only: clips 000, 011, 015, 020 (of train); Exclude: the rest
  int64_t neighbours = 0;         ///< frames on each side stacked into blurred (clamped at clip ends)
  void validate() const;
};
PairListing list_reds(const std::string& root, const RedsOptions& options);

/// The REDS4 clip names.
const std::vector<std::string>& reds4_clips();

// ---- RSBlur ----------------------------------------------------------------------------------------

/// Pairs of an RSBlur list file; paths are relative to `root` (the folder holding "RSBlur/").
PairListing list_rsblur(const std::string& root, const std::string& list_file);

// ---- Folders and manifests -------------------------------------------------------------------------

/// Image files (png, jpg, jpeg, bmp, tif, tiff; case-insensitive) directly inside `dir`, sorted.
std::vector<std::string> list_image_files(const std::string& dir);

/// <dir>/blur + <dir>/sharp with matching file names; when <dir>/manifest.csv exists it is read instead.
PairListing list_folder_pairs(const std::string& dir);

/// One manifest row: the pair plus every synthesis parameter as text columns.
struct ManifestRow {
  PairFiles files;                                ///< paths relative to the manifest's folder on disk
  std::map<std::string, std::string> parameters;  ///< extra columns (kernel type, rpm, seed, ...)
};

/// Writes a CSV manifest: header "name,blurred,sharp,kernel,sigma" followed by the sorted union of
/// the parameter names; paths are written as given (make them relative to the manifest's folder).
/// Fields must not contain commas, quotes or newlines. Written atomically.
void write_manifest(const std::string& path, const std::vector<ManifestRow>& rows);

/// Reads a manifest written by write_manifest; paths are resolved against the manifest's folder.
/// Columns blurred and sharp are required; name, kernel, sigma (empty = unknown) are optional.
std::vector<ManifestRow> read_manifest(const std::string& path);

// ---- Synthetic pairs from sharp images -------------------------------------------------------------

struct SyntheticOptions {
  KernelSpec kernels;                     ///< random kernels (ignored when `kernel_bank` is not empty)
  std::vector<torch::Tensor> kernel_bank; ///< fixed kernels (e.g. load_kernel_folder(levin09)), one drawn per pair
  DegradeOptions degrade;                 ///< blur mode, noise range, quantisation
  int64_t crop_size = 0;                  ///< crop the sharp image (seeded) before blurring; 0 = whole image
  int64_t repeats = 1;                    ///< pairs per sharp image (each with its own kernel and noise)
  uint64_t seed = 0;
  ImageReadOptions image;
  void validate() const;
};

/// Pair i = degrade(sharp image i % n, kernel drawn from mix(seed, i)): deterministic per index.
class SyntheticPairDataset : public PairDataset {
 public:
  SyntheticPairDataset(std::vector<std::string> sharp_files, SyntheticOptions options);
  int64_t size() const override;
  ImagePair get(int64_t index) const override;
  std::string name(int64_t index) const override;

 private:
  std::vector<std::string> files_;
  SyntheticOptions options_;
};

// ---- CIFAR-10 --------------------------------------------------------------------------------------

struct CifarOptions {
  double sigma_min = 0.0, sigma_max = 3.0;  ///< Gaussian blur std range, pixels
  int64_t kernel_size = 0;                  ///< 0 = 2*ceil(3*sigma_max)+1 (19 for the default)
  DegradeOptions degrade;                   ///< circular blur, no noise by default
  uint64_t seed = 0;
  bool grey = false;                        ///< luminance instead of RGB
  void validate() const;
};

/// CIFAR-10 records held in memory (uint8), blurred on demand.
class Cifar10Dataset : public PairDataset {
 public:
  Cifar10Dataset(const std::vector<std::string>& files, CifarOptions options = {});
  int64_t size() const override { return images_.size(0); }
  ImagePair get(int64_t index) const override;
  std::string name(int64_t index) const override;
  /// Class labels [N] (int64).
  const torch::Tensor& labels() const { return labels_; }

 private:
  torch::Tensor images_;  ///< [N,3,32,32] uint8
  torch::Tensor labels_;
  std::vector<std::string> names_;
  CifarOptions options_;
};

/// The standard CIFAR-10 file names under `dir`: data_batch_1..5.bin (train) or test_batch.bin (test).
std::vector<std::string> cifar10_files(const std::string& dir, const std::string& split);

// ---- JPEG hook -------------------------------------------------------------------------------------

/// An OpenCV JPEG round trip for DegradeOptions::jpeg_codec ([N,C,H,W] in [0,1], C = 1 or 3).
std::function<torch::Tensor(const torch::Tensor&, int)> opencv_jpeg_codec();

}  // namespace unroll
