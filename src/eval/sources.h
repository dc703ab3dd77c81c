// Data sources of the evaluation harness and of training configs: the one grammar of a data string
// (`unroll eval --data`, an experiment's data.test, a training config's data.train / data.val) and
// the opening of a parsed one as a dataset.
//
// --data strings (parse_eval_source; `PATH` may itself contain ':' only where no split follows):
//   gopro:PATH[:test|train]           GoPro, official or flattened layout (datasets/readers.h); default test,
//                                     metric full
//   reds:PATH[:val|reds4|train]       REDS blur/sharp; reds4 = clips 000, 011, 015, 020 of train;
//                                     default val, metric full
//   rsblur:PATH[:test|val|train|LIST] RSBlur list PATH/datalist/RSBlur/RSBlur_real_<split>.txt (or
//                                     PATH/RSBlur_real_<split>.txt, or a LIST file ending in .txt,
//                                     relative to PATH); default test, metric rsblur (ECC-aligned)
//   cifar10:PATH[:test|train]         CIFAR-10 binary batches, blurred on the fly by the seeds' Gaussian
//                                     protocol (sigma ~ U[0,3] per record); default test, metric full
//   folder:PATH                       blur/ + sharp/ pairs or an `unroll synth` manifest.csv (kernels and
//                                     noise levels used when listed); metric full
//   synthetic:DIR[,kernels=K][,noise=N][,size=S][,count=C][,seed=S][,blur=B][,crop=P]
//                                     sharp images of DIR degraded on the fly (datasets/readers.h
//                                     SyntheticPairDataset): K = motion (default) | gaussian | linear |
//                                     defocus | mixed | levin:KDIR | file:K.csv; N = noise sigma on the
//                                     0-255 scale (default: SourceOptions::noise255); S = kernel side
//                                     (default 25); C = pairs per image; B = circular | same | valid;
//                                     P = crop side (0 = whole image); metric full
//   dpir:IMAGES:KERNELS               the DPIR protocol (eval/protocol.h), noise SourceOptions::noise255;
//                                     metric full8 (8-bit PSNR, no border)
//   blind:IMAGES:KERNELS              the blind protocol (eval/protocol.h BlindProtocolDataset): linear blur of a
//                                     reflect-extended scene, noise SourceOptions::noise255 (seed 0), 8-bit;
//                                     metric shift-aligned; true kernels known (error ratio with --kernel estimate)
//
// A training set (parse_clean_image_source) is read through the same grammar: a folder of sharp
// images (any value that does not start with a kind above, so folder names with ':' keep working) or
// cifar10:PATH[:train|test] (the CIFAR-10 images without blur); experiment/training_data.h opens it.
// A new dataset kind is one Kind, one entry of the parser's kind table and one case of
// open_eval_source, here and in sources.cpp.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "datasets/pair_dataset.h"
#include "core/boundary.h"
#include "eval/protocol.h"

namespace unroll {

/// A parsed --data string (syntax only; nothing is read until open_eval_source).
struct EvalSource {
  enum class Kind { Gopro, Reds, Rsblur, Cifar10, Folder, Synthetic, Dpir, Blind };
  Kind kind = Kind::Folder;
  std::string text;   ///< the string as given
  std::string path;   ///< dataset root / folder / sharp-image folder / DPIR images
  std::string split;  ///< gopro test|train, reds val|reds4|train, rsblur test|val|train|LIST.txt, cifar10 test|train
  std::string kernels_dir;  ///< dpir, blind: the kernel folder
  // synthetic only
  std::string kernels = "motion";
  std::optional<double> noise255;  ///< unset: SourceOptions::noise255
  int64_t kernel_size = 25;
  int64_t count = 1;
  int64_t crop = 0;
  uint64_t seed = 0;
  std::string blur = "circular";
};

/// Parses a --data string; throws unroll::Error quoting it and naming the bad part.
EvalSource parse_eval_source(const std::string& text);

/// A training config's data.train / data.val value: a Folder source (path = the value) unless the value
/// starts with a kind of the grammar; cifar10:PATH[:train|test] gives a Cifar10 source (split
/// `default_split` unless given); another kind throws unroll::Error quoting the value (a training set
/// is sharp images: a folder or CIFAR-10). Syntax only.
EvalSource parse_clean_image_source(const std::string& text, const std::string& default_split);

/// The kind's name as written in --data ("gopro", ...).
std::string source_kind_name(EvalSource::Kind kind);

/// One dataset ready to evaluate.
struct EvalSet {
  std::string label;   ///< short unique name used in reports and file names ("gopro:test")
  std::string source;  ///< the --data string
  Metric metric = Metric::Full;
  std::shared_ptr<const PairDataset> pairs;
  std::string protocol;  ///< one line describing degradation and scoring, for summary.md
  /// The boundary handling that matches how the blur was made: circular where the data was blurred
  /// circularly (dpir, cifar10, synthetic blur=circular), Liu-Jia elsewhere (photos and linear blur:
  /// the scene continues past the border). EvalOptions::boundary overrides it.
  Boundary boundary = Boundary::LiuJia;
};

struct SourceOptions {
  double noise255 = 2.55;        ///< noise of the DPIR protocol and default of synthetic sources (0-255 scale)
  std::optional<Metric> metric;  ///< overrides every source's default metric
};

/// Lists the files of a source (errors: missing folders, unpaired files, bad list lines, ...) and
/// wraps them in a lazily reading PairDataset.
EvalSet open_eval_source(const EvalSource& source, const SourceOptions& options = {});

}  // namespace unroll
