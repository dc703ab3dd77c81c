#include "datasets_io/fake_datasets.h"

#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/error.h"
#include "io/image_io.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace unroll::test {

torch::Tensor tagged_image(int64_t id, int64_t h, int64_t w) {
  auto img = test_image(3, h, w, static_cast<uint64_t>(id));
  img.select(1, 0).select(1, 0).select(1, 0).fill_(static_cast<float>(id) / 255.0f);  // pixel (0,0) red = id
  return img;
}

int64_t tag_of(const torch::Tensor& img) { return std::lround(img[0][0][0][0].item<double>() * 255.0); }

void put(const fs::path& path, const torch::Tensor& img) {
  fs::create_directories(path.parent_path());
  write_image(path.string(), img);
}

void make_fake_gopro(const fs::path& root, const std::string& split, const std::vector<std::string>& seqs,
                     const std::vector<std::string>& frames, const PairMaker& make) {
  int64_t index = 0;
  for (const auto& seq : seqs) {
    for (const auto& frame : frames) {
      const FakePair p = make(index++);
      put(root / split / seq / "blur" / (frame + ".png"), p.blurred);
      if (p.gamma.defined()) put(root / split / seq / "blur_gamma" / (frame + ".png"), p.gamma);
      put(root / split / seq / "sharp" / (frame + ".png"), p.sharp);
    }
  }
}

void make_fake_reds(const fs::path& root, const std::string& split, const std::vector<std::string>& clips, int frames,
                    const PairMaker& make, bool jpeg) {
  int64_t index = 0;
  for (const auto& clip : clips) {
    for (int f = 0; f < frames; ++f) {
      char frame[16];
      std::snprintf(frame, sizeof frame, "%08d", f);
      const FakePair p = make(index++);
      put(root / split / (split + "_blur") / clip / (std::string(frame) + ".png"), p.blurred);
      if (jpeg) put(root / split / (split + "_blur_jpeg") / clip / (std::string(frame) + ".jpg"), p.blurred);
      put(root / split / (split + "_sharp") / clip / (std::string(frame) + ".png"), p.sharp);
    }
  }
}

fs::path make_fake_rsblur(const fs::path& root, const std::string& split, int pairs, const PairMaker& make) {
  const fs::path list = root / "datalist" / "RSBlur" / ("RSBlur_real_" + split + ".txt");
  fs::create_directories(list.parent_path());
  std::ofstream out(list);
  for (int i = 0; i < pairs; ++i) {
    char scene[16];
    std::snprintf(scene, sizeof scene, "%04d", i + 1);
    const std::string dir = "RSBlur/" + std::string(scene) + "/000010";
    const FakePair p = make(i);
    put(root / dir / "gt" / "gt_sharp.png", p.sharp);
    put(root / dir / "real_blur" / "real_blur.png", p.blurred);
    out << dir << "/gt/gt_sharp.png " << dir << "/real_blur/real_blur.png\n";
  }
  return list;
}

void write_fake_cifar_batch(const fs::path& file, int records, int first_label) {
  std::vector<uint8_t> bytes;
  for (int r = 0; r < records; ++r) {
    bytes.push_back(static_cast<uint8_t>((first_label + r) % 10));
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 1024; ++i) bytes.push_back(static_cast<uint8_t>((c * 80 + i + r * 7) % 256));
  }
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace unroll::test
