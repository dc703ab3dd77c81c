// The evaluation harness (eval/harness.h) on tiny fake copies of every dataset kind: source parsing
// and its errors, protocols per dataset, needs-kernel and failure rows, lazy loading with --limit,
// and well-formed results.csv / summary.json / summary.md / grids.
#include "eval/harness.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fft.h"
#include "core/kernel.h"
#include "datasets/kernels.h"
#include "datasets/readers.h"
#include "datasets_io/fake_datasets.h"
#include "io/image_io.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

using test::error_of;
using test::FakePair;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A pair whose blurred image really is the sharp one blurred (8-bit PNGs on disk).
FakePair blurred_pair(int64_t i, int64_t h = 24, int64_t w = 24) {
  auto sharp = test::test_image(3, h, w, static_cast<uint64_t>(i + 1));
  return FakePair{conv_circular(sharp, gaussian_kernel(1.2, 7)).clamp(0, 1), sharp, {}};
}

// A kernel-carrying folder (an `unroll synth`-style manifest) with `n` pairs.
void make_manifest_folder(const fs::path& root, int n, int64_t size = 24) {
  std::vector<ManifestRow> rows;
  for (int i = 0; i < n; ++i) {
    const std::string name = "p" + std::to_string(i);
    auto sharp = test::test_image(3, size, size, static_cast<uint64_t>(i + 7));
    auto k = test::test_kernel(5, static_cast<uint64_t>(i));
    test::put(root / "sharp" / (name + ".png"), sharp);
    test::put(root / "blur" / (name + ".png"), conv_circular(sharp, k).clamp(0, 1));
    write_kernel_text((root / "kernels" / (name + ".csv")).string(), k);
    ManifestRow r;
    r.files.name = name;
    r.files.blurred = "blur/" + name + ".png";
    r.files.sharp = "sharp/" + name + ".png";
    r.files.kernel = "kernels/" + name + ".csv";
    r.files.noise_sigma = 0.0;
    rows.push_back(r);
  }
  write_manifest((root / "manifest.csv").string(), rows);
}

TEST(EvalSourceParsing, EveryKindAndItsDefaults) {
  auto g = parse_eval_source("gopro:/data/GOPRO_Large");
  EXPECT_EQ(g.kind, EvalSource::Kind::Gopro);
  EXPECT_EQ(g.path, "/data/GOPRO_Large");
  EXPECT_EQ(g.split, "test");
  EXPECT_EQ(parse_eval_source("gopro:/data/GOPRO_Large:train").split, "train");
  auto r = parse_eval_source("reds:/d/REDS:reds4");
  EXPECT_EQ(r.kind, EvalSource::Kind::Reds);
  EXPECT_EQ(r.split, "reds4");
  EXPECT_EQ(parse_eval_source("reds:/d/REDS").split, "val");
  EXPECT_EQ(parse_eval_source("rsblur:/d/RSBlur").split, "test");
  EXPECT_EQ(parse_eval_source("rsblur:/d/RSBlur:my_list.txt").split, "my_list.txt");
  EXPECT_EQ(parse_eval_source("cifar10:/d/cifar-10-batches-bin").split, "test");
  auto f = parse_eval_source("folder:/x/y:z/w");  // a ':' inside the path
  EXPECT_EQ(f.path, "/x/y:z/w");
  auto d = parse_eval_source("dpir:/s/set3c:/s/levin09");
  EXPECT_EQ(d.path, "/s/set3c");
  EXPECT_EQ(d.kernels_dir, "/s/levin09");
  auto s = parse_eval_source("synthetic:/imgs,kernels=levin:/k,noise=7.65,size=15,count=2,seed=3,blur=same,crop=64");
  EXPECT_EQ(s.path, "/imgs");
  EXPECT_EQ(s.kernels, "levin:/k");
  ASSERT_TRUE(s.noise255.has_value());
  EXPECT_DOUBLE_EQ(*s.noise255, 7.65);
  EXPECT_EQ(s.kernel_size, 15);
  EXPECT_EQ(s.count, 2);
  EXPECT_EQ(s.seed, 3u);
  EXPECT_EQ(s.blur, "same");
  EXPECT_EQ(s.crop, 64);
  EXPECT_FALSE(parse_eval_source("synthetic:/imgs").noise255.has_value());
}

TEST(EvalSourceParsing, BadStringsNameTheProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"gopro_typo:/x", "unsupported dataset 'gopro_typo'"},
      {"gopro", "expected KIND:PATH"},
      {"gopro:", "missing the path"},
      {"gopro:/x:banana", "unknown gopro split 'banana'"},
      {"reds:/x:test", "unknown reds split 'test'"},
      {"cifar10:/x:val", "unknown cifar10 split 'val'"},
      {"rsblur::test", "missing the dataset path"},
      {"dpir:/only", "expected dpir:IMAGES_DIR:KERNELS_DIR"},
      {"synthetic:/x,noise=abc", "noise must be a number, got 'abc'"},
      {"synthetic:/x,noise=-1", "noise must be >= 0"},
      {"synthetic:/x,size=2", "size must be an integer >= 3"},
      {"synthetic:/x,count=1.5", "count must be an integer"},
      {"synthetic:/x,colour=red", "unknown synthetic option 'colour'"},
      {"synthetic:/x,kernels=zigzag", "unknown kernels 'zigzag'"},
      {"synthetic:/x,blur=sideways", "blur must be circular, same or valid"},
      {"synthetic:/x,noise", "expected key=value, got 'noise'"},
      {"synthetic:/x,seed=1,seed=2", "seed given twice"},
      {"synthetic:kernels=motion", "expected synthetic:SHARP_DIR"},
  };
  for (const auto& [text, needle] : cases) {
    const std::string msg = error_of([&] { parse_eval_source(text); });
    EXPECT_NE(msg.find(needle), std::string::npos) << text << " -> '" << msg << "'";
    EXPECT_NE(msg.find(text), std::string::npos) << "the message should quote the --data string: " << msg;
  }
  // Syntax is fine, the data is not: the error names what is missing.
  const fs::path root = test::temp_dir("eval_sources_missing");
  EXPECT_NE(error_of([&] { open_eval_source(parse_eval_source("gopro:" + (root / "nope").string())); }).find("nope"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              open_eval_source(parse_eval_source("rsblur:" + root.string()));
            }).find("RSBlur list file not found"),
            std::string::npos);
  EXPECT_NE(error_of([&] { open_eval_source(parse_eval_source("cifar10:" + root.string())); }).find("test_batch.bin"),
            std::string::npos);
}

class HarnessOnFakeData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = test::temp_dir("harness_fake");
    const fs::path r = root_;
    auto pair = [](int64_t i) { return blurred_pair(i); };
    test::make_fake_gopro(r / "gopro", "test", {"GOPR0001_00_00", "GOPR0002_00_00"}, {"000001", "000002"}, pair);
    test::make_fake_reds(r / "reds", "val", {"000", "001"}, 2, pair);
    test::make_fake_reds(r / "reds", "train", {"000", "003"}, 2, pair);
    test::make_fake_rsblur(r / "rsblur", "test", 3, pair);
    test::write_fake_cifar_batch(r / "cifar" / "test_batch.bin", 3);
    make_manifest_folder(r / "folder", 3);
    for (int i = 0; i < 2; ++i)
      test::put(r / "sharp" / ("s" + std::to_string(i) + ".png"), test::test_image(3, 24, 28, i));
    test::put(r / "dpir_images" / "img.png", test::test_image(3, 24, 24, 5));
    for (int i = 0; i < 2; ++i)
      write_kernel_text((r / "dpir_kernels" / ("k" + std::to_string(i) + ".csv")).string(), test::test_kernel(5, i));
  }
  static inline std::string root_;
};

TEST_F(HarnessOnFakeData, EveryKindEvaluatesUnderItsProtocol) {
  const fs::path r = root_;
  const std::vector<std::string> specs = {
      "gopro:" + (r / "gopro").string(),
      "reds:" + (r / "reds").string(),
      "reds:" + (r / "reds").string() + ":reds4",
      "rsblur:" + (r / "rsblur").string(),
      "cifar10:" + (r / "cifar").string(),
      "folder:" + (r / "folder").string(),
      "synthetic:" + (r / "sharp").string() + ",kernels=gaussian,size=7,noise=2.55,count=2",
      "dpir:" + (r / "dpir_images").string() + ":" + (r / "dpir_kernels").string()};
  std::vector<EvalSet> sets;
  for (const auto& s : specs) sets.push_back(open_eval_source(parse_eval_source(s)));
  const std::vector<std::string> labels = {"gopro:test",   "reds:val",      "reds:reds4",      "rsblur:test",
                                           "cifar10:test", "folder:folder", "synthetic:sharp", "dpir:dpir_images"};
  const std::vector<std::string> metrics = {"full", "full", "full", "rsblur", "full", "full", "full", "full8"};
  const std::vector<int64_t> available = {4, 4, 2, 3, 3, 3, 4, 2};
  const std::vector<bool> kernels = {false, false, false, false, true, true, true, true};
  // Each dataset's own boundary: circular where the blur was made circularly, Liu-Jia for photos.
  const std::vector<std::string> boundaries = {"liu-jia",  "liu-jia", "liu-jia",  "liu-jia",
                                               "circular", "liu-jia", "circular", "circular"};

  EvalOptions o;
  o.limit = 2;
  o.grids = 1;
  o.out_dir = (r / "out_every_kind").string();
  o.save_images = true;
  o.progress = false;
  EvalMethod admm;
  admm.method = "admm";
  admm.params = {{"iters", 5}};
  const auto report = run_evaluation(sets, {EvalMethod{"", "wiener", {}, "", ""}, admm}, o);

  ASSERT_EQ(report.datasets.size(), specs.size());
  EXPECT_EQ(report.rows.size(), specs.size() * 2 * 2);  // every set has >= 2 cases; limit 2; 2 methods
  for (size_t i = 0; i < specs.size(); ++i) {
    const auto& d = report.datasets[i];
    SCOPED_TRACE(d.label);
    EXPECT_EQ(d.label, labels[i]);
    EXPECT_EQ(d.metric, metrics[i]);
    EXPECT_EQ(d.boundary, boundaries[i]);
    EXPECT_EQ(d.available, available[i]);
    EXPECT_EQ(d.cases, 2);
    EXPECT_EQ(d.load_failures, 0);
    EXPECT_GT(d.load_seconds, 0.0);
    EXPECT_TRUE(std::isfinite(d.input.psnr));
    ASSERT_EQ(d.methods.size(), 2u);
    ASSERT_EQ(d.grids.size(), 1u);
    EXPECT_TRUE(fs::exists(r / "out_every_kind" / d.grids[0]));
    for (const auto& m : d.methods) {
      if (kernels[i]) {
        EXPECT_EQ(m.ok, 2) << m.method;
        // Deblurring with the true kernel helps (CIFAR-10 blur sigmas may be ~0: no gain to expect there).
        if (d.label != "cifar10:test") {
          EXPECT_GT(m.psnr, d.input.psnr) << m.method;
        }
        EXPECT_GT(m.seconds_per_image, 0.0);
      } else {
        EXPECT_EQ(m.needs_kernel, 2) << m.method;  // listed, not silently skipped
        EXPECT_TRUE(std::isnan(m.psnr));
      }
      EXPECT_EQ(m.failed, 0) << m.method;
    }
  }
  // Grid: blurred | wiener | admm | sharp side by side (4 tiles of 160 px: the 24 px images are enlarged).
  auto grid = read_image((r / "out_every_kind" / report.datasets[4].grids[0]).string());
  EXPECT_GT(grid.size(3), 4 * 160);
  EXPECT_LT(grid.size(2), 2 * 160);
  EXPECT_TRUE(fs::exists(r / "out_every_kind" / "images" / "cifar10_test" / "wiener" / "test_batch_0.png"));
  EXPECT_FALSE(fs::exists(r / "out_every_kind" / "images" / "gopro_test"));  // nothing restored there

  write_eval_outputs(report, o.out_dir, "unroll eval --test");
  // results.csv: header and 12 fields per row.
  std::ifstream csv(r / "out_every_kind" / "results.csv");
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "dataset,case,method,status,psnr,ssim,score,seconds,metric_seconds,kernel_seconds,error_ratio,error");
  size_t n_rows = 0;
  while (std::getline(csv, line)) {
    ++n_rows;
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 11) << line;
  }
  EXPECT_EQ(n_rows, report.rows.size());
  // summary.json parses and has the documented fields.
  auto j = nlohmann::json::parse(read_text(r / "out_every_kind" / "summary.json"));
  EXPECT_EQ(j["command"], "unroll eval --test");
  ASSERT_EQ(j["datasets"].size(), specs.size());
  for (const auto& d : j["datasets"]) {
    for (const char* key : {"label", "source", "metric", "protocol", "cases", "available", "load_failures",
                            "load_seconds", "method_seconds", "metric_seconds", "input", "methods", "grids"})
      EXPECT_TRUE(d.contains(key)) << key;
    ASSERT_EQ(d["methods"].size(), 2u);
    for (const auto& m : d["methods"])
      for (const char* key :
           {"method", "ok", "failed", "needs_kernel", "psnr", "ssim", "score", "seconds_per_image", "seconds_total"})
        EXPECT_TRUE(m.contains(key)) << key;
  }
  EXPECT_TRUE(j["datasets"][0]["methods"][0]["psnr"].is_null());  // gopro: needs kernel
  EXPECT_TRUE(j["datasets"][4]["methods"][0]["psnr"].is_number());
  EXPECT_EQ(j["datasets"][3]["metric"], "rsblur");
  const std::string md = read_text(r / "out_every_kind" / "summary.md");
  EXPECT_NE(md.find("## cifar10:test"), std::string::npos);
  EXPECT_NE(md.find("| blurred input |"), std::string::npos);
  EXPECT_NE(md.find("Time: loading"), std::string::npos);
}

TEST_F(HarnessOnFakeData, FailuresAreRecordedAndTheRunContinues) {
  const fs::path dir = test::temp_dir("harness_failures");
  make_manifest_folder(dir, 1, 24);
  // Pair "big": a kernel larger than the image (wiener fails on it alone); pair "corrupt": unreadable.
  test::put(dir / "sharp" / "big.png", test::test_image(3, 24, 24, 3));
  test::put(dir / "blur" / "big.png", test::test_image(3, 24, 24, 4));
  write_kernel_text((dir / "kernels" / "big.csv").string(), test::test_kernel(31, 1));
  test::put(dir / "sharp" / "corrupt.png", test::test_image(3, 24, 24, 5));
  std::ofstream(dir / "blur" / "corrupt.png") << "not a png";
  ManifestRow big, corrupt;
  big.files = {"blur/big.png", "sharp/big.png", "kernels/big.csv", 0.0, "big", {}, ""};
  corrupt.files = {"blur/corrupt.png", "sharp/corrupt.png", "kernels/big.csv", 0.0, "corrupt", {}, ""};
  write_manifest((dir / "manifest.csv").string(),
                 {ManifestRow{{"blur/p0.png", "sharp/p0.png", "kernels/p0.csv", 0.0, "p0", {}, ""}, {}}, big, corrupt});

  auto set = open_eval_source(parse_eval_source("folder:" + dir.string()));
  EvalOptions o;
  o.progress = false;
  EvalMethod broken{"usrnet", "usrnet", {}, (dir / "missing_usrnet.pth").string(), ""};
  const auto report = run_evaluation({set}, {EvalMethod{"", "wiener", {}, "", ""}, broken}, o);
  ASSERT_EQ(report.rows.size(), 6u);
  auto row = [&](const std::string& name, const std::string& method) {
    for (const auto& r : report.rows)
      if (r.name == name && r.method == method) return r;
    ADD_FAILURE() << "no row " << name << "/" << method;
    return EvalRow{};
  };
  EXPECT_EQ(row("p0", "wiener").status, "ok");
  EXPECT_EQ(row("big", "wiener").status, "failed");
  EXPECT_NE(row("big", "wiener").error.find("larger than the image"), std::string::npos) << row("big", "wiener").error;
  EXPECT_EQ(row("corrupt", "wiener").status, "failed");
  EXPECT_NE(row("corrupt", "wiener").error.find("load: "), std::string::npos);
  EXPECT_NE(row("corrupt", "wiener").error.find("corrupt.png"), std::string::npos);
  EXPECT_NE(row("p0", "usrnet").error.find("missing_usrnet.pth"), std::string::npos) << row("p0", "usrnet").error;
  const auto& d = report.datasets[0];
  EXPECT_EQ(d.load_failures, 1);
  EXPECT_EQ(d.methods[0].ok, 1);
  EXPECT_EQ(d.methods[0].failed, 2);
  EXPECT_EQ(d.methods[1].failed, 3);
  // Errors with commas and quotes stay one CSV field.
  EvalReport r2;
  r2.rows.push_back(EvalRow{"d", "c", "m", "failed", "bad \"thing\", really", 0, 0, 0, 0, 0});
  EXPECT_NE(results_csv(r2).find("\"bad \"\"thing\"\", really\""), std::string::npos) << results_csv(r2);
}

TEST_F(HarnessOnFakeData, AlignedMetricThroughTheHarness) {
  SourceOptions so;
  so.metric = Metric::RSBlur;
  auto set = open_eval_source(parse_eval_source("folder:" + (fs::path(root_) / "folder").string()), so);
  EvalOptions o;
  o.progress = false;
  o.limit = 1;
  const auto report = run_evaluation({set}, {EvalMethod{"", "wiener", {}, "", ""}}, o);
  ASSERT_EQ(report.rows.size(), 1u);
  EXPECT_EQ(report.rows[0].status, "ok") << report.rows[0].error;
  EXPECT_TRUE(std::isfinite(report.rows[0].psnr));
  EXPECT_GT(report.rows[0].metric_seconds, 0.0);
  EXPECT_EQ(report.datasets[0].metric, "rsblur");
}

// Counts get() calls: the harness must read only the cases it evaluates.
class CountingDataset : public PairDataset {
 public:
  explicit CountingDataset(int64_t n) : n_(n) {}
  int64_t size() const override { return n_; }
  ImagePair get(int64_t i) const override {
    ++gets;
    ImagePair p;
    p.sharp = test::test_image(3, 16, 16, static_cast<uint64_t>(i));
    p.kernel = gaussian_kernel(1.0, 5);
    p.blurred = conv_circular(p.sharp, p.kernel);
    p.noise_sigma = 0.0;
    p.name = name(i);
    return p;
  }
  std::string name(int64_t i) const override { return "case" + std::to_string(i); }
  mutable std::atomic<int> gets{0};

 private:
  int64_t n_;
};

TEST(Harness, LoadsLazilyHonoursTheLimitAndValidatesMethods) {
  auto ds = std::make_shared<CountingDataset>(5);
  EvalSet set{"counting", "test", Metric::Full, ds, "in memory"};
  EvalOptions o;
  o.progress = false;
  o.limit = 2;
  for (bool prefetch : {true, false}) {
    ds->gets = 0;
    o.prefetch = prefetch;
    const auto report = run_evaluation({set}, {EvalMethod{"", "wiener", {}, "", ""}}, o);
    EXPECT_EQ(ds->gets.load(), 2) << "prefetch " << prefetch;
    EXPECT_EQ(report.rows.size(), 2u);
    EXPECT_EQ(report.datasets[0].available, 5);
  }
  EXPECT_NE(error_of([&] {
              run_evaluation({set}, {EvalMethod{"", "magic", {}, "", ""}}, o);
            }).find("unknown method 'magic'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              run_evaluation({set}, {EvalMethod{"", "usrnet", {}, "", ""}}, o);
            }).find("--weights"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              run_evaluation({set}, {EvalMethod{"a", "wiener", {}, "", ""}, EvalMethod{"a", "admm", {}, "", ""}}, o);
            }).find("appears twice"),
            std::string::npos);
  EvalOptions bad = o;
  bad.save_images = true;
  EXPECT_THROW(run_evaluation({set}, {EvalMethod{"", "wiener", {}, "", ""}}, bad), Error);
  EXPECT_EQ(ds->gets.load(), 2) << "validation happens before any case is read";
}

// Blind deblurring on the real-blur layouts with the official ConvIR-S fixture: GoPro under the full
// metric, RSBlur under the ECC-aligned one.
TEST_F(HarnessOnFakeData, BlindMethodOnGoproAndRsblurLayouts) {
  const std::string shared = test::shared_dir();
  if (shared.empty() || !fs::exists(shared + "/fixtures/convir_s/weights.pth"))
    GTEST_SKIP() << "../shared fixtures absent";
  const fs::path r = root_;
  std::vector<EvalSet> sets = {open_eval_source(parse_eval_source("gopro:" + (r / "gopro").string())),
                               open_eval_source(parse_eval_source("rsblur:" + (r / "rsblur").string()))};
  EvalOptions o;
  o.progress = false;
  o.limit = 1;
  const auto report = run_evaluation(sets,
                                     {EvalMethod{"", "convir", {}, shared + "/fixtures/convir_s/weights.pth", ""},
                                      EvalMethod{"", "wiener", {}, "", ""}},
                                     o);
  ASSERT_EQ(report.rows.size(), 4u);
  for (const auto& row : report.rows) {
    if (row.method == "convir") {
      EXPECT_EQ(row.status, "ok") << row.dataset << ": " << row.error;
      EXPECT_TRUE(std::isfinite(row.psnr));
    } else {
      EXPECT_EQ(row.status, "needs kernel");
    }
  }
}

}  // namespace
}  // namespace unroll
