// Tiny copies of the public datasets in their published layouts (datasets/readers.h), for the reader
// tests and the evaluation-harness tests. Images are small PNGs; nothing here needs ../shared.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace unroll::test {

/// A 16x16 (or h x w) RGB test image whose pixel (0,0) red value is id/255, so files can be told apart
/// after reading (tag_of).
torch::Tensor tagged_image(int64_t id, int64_t h = 16, int64_t w = 16);
int64_t tag_of(const torch::Tensor& img);

/// Writes `img` to `path`, creating the parent folders.
void put(const std::filesystem::path& path, const torch::Tensor& img);

/// The images of one fake pair; `gamma` (GoPro's blur_gamma) is written only when defined.
struct FakePair {
  torch::Tensor blurred, sharp, gamma;
};
/// Makes pair number `index` (0, 1, ... in the order the files are written).
using PairMaker = std::function<FakePair(int64_t index)>;

/// GoPro official layout: <root>/<split>/<seq>/{blur,blur_gamma,sharp}/<frame>.png for every seq x frame.
void make_fake_gopro(const std::filesystem::path& root, const std::string& split, const std::vector<std::string>& seqs,
                     const std::vector<std::string>& frames, const PairMaker& make);

/// REDS: <root>/<split>/<split>_{blur,sharp}/<clip>/<8-digit frame>.png for `frames` frames per clip
/// (and <split>_blur_jpeg/.../*.jpg with the same blurred content when `jpeg`).
void make_fake_reds(const std::filesystem::path& root, const std::string& split, const std::vector<std::string>& clips,
                    int frames, const PairMaker& make, bool jpeg = false);

/// RSBlur: <root>/RSBlur/<scene>/<frame>/{gt/gt_sharp.png, real_blur/real_blur.png} for scene "0001", "0002",
/// ... and frame "000010", plus the list <root>/datalist/RSBlur/RSBlur_real_<split>.txt (sharp first).
/// Returns the list file.
std::filesystem::path make_fake_rsblur(const std::filesystem::path& root, const std::string& split, int pairs,
                                       const PairMaker& make);

/// A CIFAR-10 binary batch of `records` records: record r has label (first_label + r) % 10 and byte
/// (c*80 + i + r*7) % 256 at position i of colour plane c (R, G, B planes of 32x32, row-major).
void write_fake_cifar_batch(const std::filesystem::path& file, int records, int first_label = 4);

}  // namespace unroll::test
