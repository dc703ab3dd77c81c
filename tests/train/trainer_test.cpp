// Trainer (train/trainer.h) and the denoiser / unrolled training tasks (train/training_tasks.h):
// learning-rate schedule endpoints, option validation, loss decrease on a fixed batch, atomic
// checkpoint files, bit-identical resume, and smoke runs of both tasks on 32x32 crops.
#include "train/trainer.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/script.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/checkpoint.h"
#include "core/unroll_format.h"
#include "core/error.h"
#include "priors/model_family.h"
#include "test_util.h"
#include "train/losses.h"
#include "train/training_tasks.h"

namespace unroll {
namespace {
namespace fs = std::filesystem;

ResUNetOptions tiny_resunet() {
  ResUNetOptions o;
  o.in_nc = 4;
  o.out_nc = 3;
  o.nc = {8, 16, 16, 16};
  o.nb = 1;
  return o;
}

UnrolledNetOptions tiny_unrolled() {
  UnrolledNetOptions o;
  o.iterations = 2;
  o.hyper_channels = 8;
  o.prior = tiny_resunet();
  return o;
}

std::shared_ptr<const PairDataset> images(int n, int64_t size, uint64_t seed) {
  std::vector<torch::Tensor> v;
  for (int i = 0; i < n; ++i) v.push_back(test::test_image(3, size, size, seed + i));
  return clean_image_dataset(v);
}

TrainerOptions quick(int64_t steps, const std::string& out_dir = "") {
  TrainerOptions o;
  o.steps = steps;
  o.batch = 2;
  o.crop = 32;
  o.lr = 2e-3;
  o.min_lr = 1e-4;
  o.log_every = 1;
  o.out_dir = out_dir;
  o.progress = false;
  return o;
}

UnrolledTrainingOptions unrolled_options(int64_t steps, const std::string& out_dir = "") {
  UnrolledTrainingOptions o;
  o.trainer = quick(steps, out_dir);
  o.kernels.size = 9;
  o.kernels.length_min = 3;
  o.kernels.length_max = 7;
  o.kernels.sigma_max = 2.0;
  o.kernels.radius_max = 3;
  return o;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

double mean(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

template <class F>
void expect_error_naming(F&& f, const std::string& field) {
  try {
    f();
    ADD_FAILURE() << "no error for bad " << field;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

// ------------------------------------------------------------------------------------------------

TEST(TrainerSchedule, WarmupThenCosineEndpoints) {
  TrainerOptions o;
  o.steps = 101;
  o.lr = 1e-3;
  o.min_lr = 1e-5;
  o.warmup_steps = 10;
  EXPECT_DOUBLE_EQ(lr_at(o, 0), 1e-4);           // lr * 1/10
  EXPECT_DOUBLE_EQ(lr_at(o, 4), 5e-4);           // linear
  EXPECT_DOUBLE_EQ(lr_at(o, 9), 1e-3);           // end of warm-up reaches lr
  EXPECT_DOUBLE_EQ(lr_at(o, 10), 1e-3);          // cosine starts at lr
  EXPECT_NEAR(lr_at(o, 55), 0.5 * (1e-3 + 1e-5), 1e-15);  // half-way: the mean of lr and min_lr
  EXPECT_DOUBLE_EQ(lr_at(o, 100), 1e-5);         // last step is min_lr
  for (int64_t s = 10; s < 100; ++s) EXPECT_GT(lr_at(o, s), lr_at(o, s + 1)) << s;
  o.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(lr_at(o, 0), 1e-3);
  o.steps = 1;
  EXPECT_DOUBLE_EQ(lr_at(o, 0), 1e-3);
  EXPECT_THROW(lr_at(o, 1), Error);
  EXPECT_THROW(lr_at(o, -1), Error);
}

TEST(TrainerOptions, BadValuesNameTheField) {
  auto bad = [](auto mutate) {
    TrainerOptions o;
    mutate(o);
    return o;
  };
  expect_error_naming([&] { bad([](TrainerOptions& o) { o.steps = 0; }).validate(); }, "steps");
  expect_error_naming([&] { bad([](TrainerOptions& o) { o.batch = 0; }).validate(); }, "batch");
  expect_error_naming([&] { bad([](TrainerOptions& o) { o.crop = 4; }).validate(); }, "crop");
  expect_error_naming([&] { bad([](TrainerOptions& o) { o.lr = 0; }).validate(); }, "lr");
  expect_error_naming([&] { bad([](TrainerOptions& o) { o.lr = NAN; }).validate(); }, "lr");
  expect_error_naming([&] { bad([](TrainerOptions& o) { o.warmup_steps = 1000; }).validate(); }, "warmup_steps");
  expect_error_naming([&] { bad([](TrainerOptions& o) { o.min_lr = 1.0; }).validate(); }, "min_lr");
  expect_error_naming([&] { bad([](TrainerOptions& o) { o.grad_clip = -1; }).validate(); }, "grad_clip");
  expect_error_naming([&] { bad([](TrainerOptions& o) { o.adam_beta2 = 1; }).validate(); }, "adam_beta2");
  expect_error_naming([&] { bad([](TrainerOptions& o) { o.checkpoint_every = -1; }).validate(); }, "checkpoint_every");
  expect_error_naming([&] { bad([](TrainerOptions& o) { o.validate_every = -2; }).validate(); }, "validate_every");
  expect_error_naming([&] { bad([](TrainerOptions& o) { o.log_every = 0; }).validate(); }, "log_every");

  DenoiserTrainingOptions d1, d2, d3;
  d1.sigma_max = 0;
  expect_error_naming([&] { d1.validate(); }, "sigma_max");
  d2.loss = "l7";
  expect_error_naming([&] { d2.validate(); }, "l7");
  d3.trainer.lr = -1;
  expect_error_naming([&] { d3.validate(); }, "lr");
  UnrolledTrainingOptions u1, u2, u3;
  u1.motion_fraction = 1.5;
  expect_error_naming([&] { u1.validate(); }, "motion_fraction");
  u2.trainer.crop = 16;  // kernels.size 25 does not fit
  expect_error_naming([&] { u2.validate(); }, "kernels.size");
  u3.kernels.length_max = 40;
  expect_error_naming([&] { u3.validate(); }, "length_max");

  // The trainer itself refuses bad options and models without parameters.
  auto model = std::make_shared<ResUNet>(tiny_resunet());
  auto loss = [](int64_t) { return torch::zeros({}); };
  expect_error_naming([&] { Trainer t(model, loss, bad([](TrainerOptions& o) { o.steps = -3; })); }, "steps");
  expect_error_naming([&] { Trainer t(std::make_shared<torch::nn::Module>(), loss, TrainerOptions{}); },
                      "no trainable parameters");
}

TEST(Trainer, LossDecreasesOnAFixedBatch) {
  torch::manual_seed(1);
  auto model = std::make_shared<ResUNet>(tiny_resunet());
  auto clean = torch::cat({test::test_image(3, 32, 32, 3), test::test_image(3, 32, 32, 4)}, 0);
  const double sigma = 0.1;
  auto noisy = clean + sigma * torch::randn_like(clean);
  auto opts = quick(20);
  opts.grad_clip = 1.0;
  Trainer trainer(model, [&](int64_t) { return losses::l1(model->denoise(noisy, sigma), clean); }, opts);
  auto r = trainer.run();
  ASSERT_EQ(r.losses.size(), 20u);
  EXPECT_EQ(r.step, 20);
  const double first = mean(r.losses, 0, 3), last = mean(r.losses, 17, 20);
  EXPECT_LT(last, 0.7 * first) << first << " -> " << last;
}

TEST(Trainer, BothTasksReduceTheLossOnAFixedBatch) {
  // The tasks' own batch losses, frozen at step 0 (same crops, kernels and noise every step).
  {
    torch::manual_seed(2);
    auto model = std::make_shared<ResUNet>(tiny_resunet());
    DenoiserTrainingOptions o;
    o.trainer = quick(20);
    auto f = denoiser_batch_loss(model, images(2, 40, 10), o);
    auto r = Trainer(model, [&](int64_t) { return f(0); }, o.trainer).run();
    EXPECT_LT(mean(r.losses, 17, 20), 0.7 * mean(r.losses, 0, 3)) << "denoiser";
  }
  {
    torch::manual_seed(3);
    UnrolledNet model(tiny_unrolled());
    auto o = unrolled_options(20);
    auto f = unrolled_batch_loss(model, images(2, 40, 20), o);
    auto r = Trainer(model.ptr(), [&](int64_t) { return f(0); }, o.trainer).run();
    EXPECT_LT(mean(r.losses, 17, 20), 0.8 * mean(r.losses, 0, 3)) << "unrolled";
  }
}

TEST(Trainer, CheckpointsAndLogAreWrittenAtomically) {
  const std::string dir = test::temp_dir("trainer_checkpoints");
  torch::manual_seed(4);
  auto model = std::make_shared<ResUNet>(tiny_resunet());
  DenoiserTrainingOptions o;
  o.trainer = quick(4, dir);
  o.trainer.checkpoint_every = 2;
  o.trainer.validate_every = 2;
  o.val_crop = 32;
  auto trainer = make_denoiser_trainer(model, images(2, 40, 30), images(1, 40, 40), o);
  auto r = trainer->run();
  EXPECT_EQ(r.step, 4);
  EXPECT_TRUE(std::isfinite(r.last_val_psnr));

  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"model.pth", "resume.pt", "train_log.csv"}))
      << "a temporary file was left behind";

  // model.pth is a state dict with the model's names and exact values, then Unroll's format marker
  // (core/unroll_format.h).
  auto saved = load_state_dict(trainer->model_path());
  auto live = module_state_dict(*model);
  ASSERT_EQ(saved.size(), live.size() + 1);
  EXPECT_TRUE(written_by_unroll(saved));
  EXPECT_EQ(saved.back().first, kUnrollFormatKey);
  saved.pop_back();
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(saved[i].first, live[i].first);
    EXPECT_TRUE(torch::equal(saved[i].second, live[i].second.cpu())) << saved[i].first;
  }
  auto reloaded = load_resunet(trainer->model_path());
  EXPECT_EQ(reloaded->options().nc, tiny_resunet().nc);

  // One row per step, validation at steps 2 and 4 only.
  auto rows = lines(read_text(trainer->log_path()));
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0], "step,lr,loss,val_psnr,seconds");
  for (int s = 1; s <= 4; ++s) {
    EXPECT_EQ(rows[s].rfind(std::to_string(s) + ",", 0), 0u) << rows[s];
    const bool has_val = rows[s].find(",,") == std::string::npos;
    EXPECT_EQ(has_val, s % 2 == 0) << rows[s];
  }
  // lr column follows the schedule.
  EXPECT_NEAR(std::stod(rows[1].substr(rows[1].find(',') + 1)), lr_at(o.trainer, 0), 1e-12);
}

TEST(Trainer, ResumeIsBitIdentical) {
  const std::string straight_dir = test::temp_dir("trainer_resume_straight");
  const std::string split_dir = test::temp_dir("trainer_resume_split");
  auto train_set = images(3, 40, 50);
  auto options = [&](const std::string& dir) {
    DenoiserTrainingOptions o;
    o.trainer = quick(6, dir);
    o.trainer.warmup_steps = 2;
    o.trainer.grad_clip = 0.5;
    o.trainer.seed = 7;
    return o;
  };

  torch::manual_seed(5);
  auto a = std::make_shared<ResUNet>(tiny_resunet());
  auto b = std::make_shared<ResUNet>(tiny_resunet());
  for (size_t i = 0; i < a->parameters().size(); ++i) {
    torch::NoGradGuard g;
    b->parameters()[i].copy_(a->parameters()[i]);
  }
  make_denoiser_trainer(a, train_set, nullptr, options(straight_dir))->run();

  {
    auto first = make_denoiser_trainer(b, train_set, nullptr, options(split_dir));
    EXPECT_FALSE(first->resume());  // nothing to resume yet
    EXPECT_EQ(first->run(3).step, 3);
  }  // trainer destroyed; a different model object with different weights continues
  torch::manual_seed(99);
  auto c = std::make_shared<ResUNet>(tiny_resunet());
  auto second = make_denoiser_trainer(c, train_set, nullptr, options(split_dir));
  ASSERT_TRUE(second->resume());
  EXPECT_EQ(second->step(), 3);
  auto r = second->run();
  EXPECT_EQ(r.first_step, 3);
  EXPECT_EQ(r.losses.size(), 3u);

  auto pa = a->named_parameters(), pc = c->named_parameters();
  ASSERT_EQ(pa.size(), pc.size());
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::equal(item.value(), pc[item.key()])) << item.key() << " differs by "
                                                            << test::max_abs_diff(item.value(), pc[item.key()]);
  }
  // The split run's log has every step exactly once.
  auto rows = lines(read_text(second->log_path()));
  ASSERT_EQ(rows.size(), 7u);
  for (int s = 1; s <= 6; ++s) EXPECT_EQ(rows[s].rfind(std::to_string(s) + ",", 0), 0u) << rows[s];
  // ... and the losses of steps 4..6 equal the straight run's (same column in both logs).
  auto straight = lines(read_text((fs::path(straight_dir) / "train_log.csv").string()));
  for (int s = 4; s <= 6; ++s) {
    auto loss_of = [](const std::string& row) {
      auto p = row.find(',', row.find(',') + 1);
      return row.substr(p + 1, row.find(',', p + 1) - p - 1);
    };
    EXPECT_EQ(loss_of(rows[s]), loss_of(straight[s])) << s;
  }
}

TEST(Trainer, ResumeRejectsAnotherArchitecture) {
  const std::string dir = test::temp_dir("trainer_resume_other");
  DenoiserTrainingOptions o;
  o.trainer = quick(2, dir);
  auto set = images(2, 40, 60);
  make_denoiser_trainer(std::make_shared<ResUNet>(tiny_resunet()), set, nullptr, o)->run();
  auto other = tiny_resunet();
  other.nc = {8, 16, 32, 32};
  auto t = make_denoiser_trainer(std::make_shared<ResUNet>(other), set, nullptr, o);
  expect_error_naming([&] { t->resume(); }, "another model");
  // A run with fewer steps than the checkpoint refuses it too.
  o.trainer.steps = 1;
  auto shorter = make_denoiser_trainer(std::make_shared<ResUNet>(tiny_resunet()), set, nullptr, o);
  expect_error_naming([&] { shorter->resume(); }, "steps");
  // A corrupt file.
  { std::ofstream(fs::path(dir) / "resume.pt") << "not a checkpoint"; }
  o.trainer.steps = 2;
  auto corrupt = make_denoiser_trainer(std::make_shared<ResUNet>(tiny_resunet()), set, nullptr, o);
  expect_error_naming([&] { corrupt->resume(); }, "corrupt");
}

// Rewrites the TorchScript archive `path` (a resume.pt) after `change` was applied to the first tensor
// attribute called `name`, however deep (the model's "t0", an optimiser state's "exp_avg"): what one
// changed byte of the file does, made without knowing the pickle's byte layout.
void rewrite_tensor(const std::string& path, const std::string& name, const std::function<void(torch::Tensor&)>& change) {
  torch::jit::Module archive = torch::jit::load(path);
  std::function<bool(const c10::IValue&)> visit = [&](const c10::IValue& v) {
    if (!v.isObject()) return false;
    const auto object = v.toObject();
    for (size_t i = 0; i < object->slots().size(); ++i) {
      c10::IValue slot = object->getSlot(i);
      if (slot.isTensor() && object->type()->getAttributeName(i) == name) {
        torch::Tensor t = slot.toTensor();
        change(t);
        return true;
      }
      if (visit(slot)) return true;
    }
    return false;
  };
  ASSERT_TRUE(visit(c10::IValue(archive._ivalue()))) << "no tensor '" << name << "' in " << path;
  archive.save(path);
}

// Rewrites the archive `path` with `edit` applied to the text of its first record that contains `text`
// (the zip's other records copied as they are).
void rewrite_record(const std::string& path, const std::string& text, const std::function<void(std::string&)>& edit) {
  std::vector<std::pair<std::string, std::string>> records;
  uint64_t version = 0;
  {
    caffe2::serialize::PyTorchStreamReader reader(path);
    version = reader.version();
    for (const std::string& name : reader.getAllRecords()) {
      at::DataPtr data;
      size_t size = 0;
      std::tie(data, size) = reader.getRecord(name);
      records.emplace_back(name, std::string(static_cast<const char*>(data.get()), size));
    }
  }
  bool edited = false;
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.setMinVersion(version);
  for (auto& [name, bytes] : records) {
    if (name == "version") continue;  // written by writeEndOfFile
    if (!edited && bytes.find(text) != std::string::npos) {
      edit(bytes);
      edited = true;
    }
    writer.writeRecord(name, bytes.data(), bytes.size());
  }
  writer.writeEndOfFile();
  ASSERT_TRUE(edited) << "no record of " << path << " contains '" << text << "'";
}

/// The same sizes with stride[0] made 100 times larger: a view far past the end of its storage.
void enlarge_first_stride(torch::Tensor& t) {
  std::vector<int64_t> strides = t.strides().vec();
  strides[0] *= 100;
  t.unsafeGetTensorImpl()->set_sizes_and_strides(t.sizes(), strides);
}

// Issue 28: resume.pt is read by LibTorch's InputArchive, whose unpickler builds every tensor's view
// from the file without comparing it with the storage. One enlarged stride in an optimiser tensor
// corrupted the heap on the first Adam step ("corrupted double-linked list"); in a model tensor it was
// read past its storage and the run went on. Now each is an error naming the file and the entry, raised
// before anything is used, and NaN / Inf weights are refused like load_state_dict does.
TEST(Trainer, ResumeRefusesTensorsOutsideTheirStorageAndNonFiniteWeights) {
  const std::string dir = test::temp_dir("trainer_resume_geometry");
  DenoiserTrainingOptions o;
  o.trainer = quick(4, dir);
  auto set = images(2, 40, 60);
  make_denoiser_trainer(std::make_shared<ResUNet>(tiny_resunet()), set, nullptr, o)->run(2);
  const std::string path = (fs::path(dir) / "resume.pt").string();
  const std::string good = dir + "/good.pt";
  fs::copy_file(path, good);
  auto resume_error = [&](const std::string& name, const std::function<void(torch::Tensor&)>& change) {
    fs::copy_file(good, path, fs::copy_options::overwrite_existing);
    rewrite_tensor(path, name, change);
    auto model = std::make_shared<ResUNet>(tiny_resunet());
    const auto before = model->parameters()[0].clone();
    auto t = make_denoiser_trainer(model, set, nullptr, o);
    const std::string error = test::error_of([&] { t->resume(); });
    EXPECT_TRUE(torch::equal(before, model->parameters()[0])) << "the model changed before the error";
    return error;
  };
  const std::string optimizer = resume_error("exp_avg", enlarge_first_stride);
  EXPECT_NE(optimizer.find("resume.pt: optimizer."), std::string::npos) << optimizer;
  EXPECT_NE(optimizer.find(".exp_avg: tensor"), std::string::npos) << optimizer;
  EXPECT_NE(optimizer.find("exceeds its storage"), std::string::npos) << optimizer;
  const std::string weight = resume_error("t0", enlarge_first_stride);
  EXPECT_NE(weight.find("resume.pt: model.t0: tensor"), std::string::npos) << weight;
  EXPECT_NE(weight.find("exceeds its storage"), std::string::npos) << weight;
  const std::string nan = resume_error("t1", [](torch::Tensor& t) {
    torch::NoGradGuard no_grad;
    t.view(-1)[0] = std::nan("");
  });
  EXPECT_NE(nan.find("holds NaN or Inf"), std::string::npos) << nan;
  // One byte of a TorchScript code record (found by tests/fuzz/fuzz_resume.cpp): LibTorch's class parser
  // segfaulted on it; now the record is checked first.
  fs::copy_file(good, path, fs::copy_options::overwrite_existing);
  rewrite_record(path, "  __buffers__ = []", [](std::string& code) { code[code.find("__buffers__")] = 'O'; });
  const std::string code = test::error_of([&] { make_denoiser_trainer(std::make_shared<ResUNet>(tiny_resunet()), set, nullptr, o)->resume(); });
  EXPECT_NE(code.find(".py:3 is not a class declaration as resume.pt holds"), std::string::npos) << code;
  // One flipped byte in a record only LibTorch reads (a .debug_pkl source-range table): the archive's
  // CRC-32 of every record is checked before LibTorch sees any of them.
  fs::copy_file(good, path, fs::copy_options::overwrite_existing);
  std::string debug_record;
  {
    caffe2::serialize::PyTorchStreamReader reader(path);
    for (const std::string& name : reader.getAllRecords()) {
      if (name.size() < 10 || name.compare(name.size() - 10, 10, ".debug_pkl") != 0) continue;
      at::DataPtr data;
      size_t size = 0;
      std::tie(data, size) = reader.getRecord(name);
      if (size > debug_record.size()) debug_record.assign(static_cast<const char*>(data.get()), size);
    }
  }
  ASSERT_GT(debug_record.size(), 8u) << "resume.pt has no .debug_pkl record";
  std::string bytes = test::read_file(path);
  const size_t at = bytes.find(debug_record);
  ASSERT_NE(at, std::string::npos);
  bytes[at + debug_record.size() / 2] ^= 0x20;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  const std::string crc = test::error_of([&] { make_denoiser_trainer(std::make_shared<ResUNet>(tiny_resunet()), set, nullptr, o)->resume(); });
  EXPECT_NE(crc.find(".debug_pkl' fails its CRC-32 check"), std::string::npos) << crc;
  // The untouched file still resumes.
  fs::copy_file(good, path, fs::copy_options::overwrite_existing);
  EXPECT_TRUE(make_denoiser_trainer(std::make_shared<ResUNet>(tiny_resunet()), set, nullptr, o)->resume());
}

TEST(Trainer, NonFiniteLossNamesTheStep) {
  auto model = std::make_shared<ResUNet>(tiny_resunet());
  Trainer t(model, [&](int64_t s) { return model->parameters()[0].sum() * (s == 2 ? NAN : 1.0); }, quick(5));
  expect_error_naming([&] { t.run(); }, "at step 2");
}

// A model with one parameter vector and a loss per batch index whose minimiser moves with the index.
struct Quadratic : torch::nn::Module {
  Quadratic() { w = register_parameter("w", torch::zeros({3})); }
  torch::Tensor loss(int64_t index) const {
    auto target = torch::tensor({1.0f, -2.0f, 0.5f}) * static_cast<float>(1 + index % 3);
    return (w - target).pow(2).sum();
  }
  torch::Tensor w;
};

TEST(Trainer, GradientAccumulationEqualsTheAveragedBatch) {
  auto accumulated = std::make_shared<Quadratic>(), averaged = std::make_shared<Quadratic>();
  auto o = quick(6);
  o.accumulate = 2;
  Trainer a(accumulated, [&](int64_t i) { return accumulated->loss(i); }, o);
  auto ra = a.run();
  o.accumulate = 1;
  Trainer b(averaged, [&](int64_t s) { return 0.5 * (averaged->loss(2 * s) + averaged->loss(2 * s + 1)); }, o);
  auto rb = b.run();
  EXPECT_LT((accumulated->w - averaged->w).abs().max().item<double>(), 1e-6);
  ASSERT_EQ(ra.losses.size(), rb.losses.size());
  for (size_t i = 0; i < ra.losses.size(); ++i) EXPECT_NEAR(ra.losses[i], rb.losses[i], 1e-5);
  o.accumulate = 0;
  EXPECT_THROW(Trainer(averaged, [&](int64_t s) { return averaged->loss(s); }, o), Error);
}

TEST(Trainer, MixedPrecisionOnCpuSaysSoAndTrains) {
  auto model = std::make_shared<Quadratic>();
  auto o = quick(3);
  o.mixed_precision = true;
  ::testing::internal::CaptureStderr();
  Trainer t(model, [&](int64_t) { return model->loss(0); }, o);
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("needs a CUDA device"), std::string::npos) << said;
  auto r = t.run();
  EXPECT_EQ(model->w.scalar_type(), torch::kFloat32);
  EXPECT_LT(r.losses.back(), r.losses.front());
}

TEST(Trainer, GradientNormIsTheGlobalL2Norm) {
  auto a = torch::zeros({2}, torch::requires_grad()), b = torch::zeros({1}, torch::requires_grad());
  auto c = torch::zeros({3}, torch::requires_grad());  // no gradient: ignored
  (a * torch::tensor({3.0f, 0.0f})).sum().backward();
  (b * 4.0).sum().backward();
  EXPECT_NEAR(gradient_norm({a, b, c}), 5.0, 1e-6);
  torch::nn::utils::clip_grad_norm_(std::vector<torch::Tensor>{a, b}, 1.0);
  EXPECT_NEAR(gradient_norm({a, b}), 1.0, 1e-5);
}

TEST(TrainingTasks, KernelMixAndBatchesAreDeterministic) {
  auto o = unrolled_options(1);
  auto k1 = sample_kernels(o, 16, 11), k2 = sample_kernels(o, 16, 11);
  ASSERT_EQ(k1.sizes(), (std::vector<int64_t>{16, 1, 9, 9}));
  EXPECT_TRUE(torch::equal(k1, k2));
  EXPECT_FALSE(torch::equal(k1, sample_kernels(o, 16, 12)));
  EXPECT_TRUE(torch::allclose(k1.sum({2, 3}), torch::ones({16, 1}, torch::kFloat64), 1e-9, 1e-12));
  // Gaussian kernels are point-symmetric about the centre; shake trajectories are not.
  auto symmetric = [](const torch::Tensor& k) { return (k - k.flip({2, 3})).abs().amax({1, 2, 3}) < 1e-9; };
  o.motion_fraction = 0;
  EXPECT_TRUE(symmetric(sample_kernels(o, 8, 3)).all().item<bool>());
  o.motion_fraction = 1;
  EXPECT_FALSE(symmetric(sample_kernels(o, 8, 3)).any().item<bool>());

  auto set = images(3, 40, 70);
  TrainerOptions t = quick(1);
  t.batch = 4;
  auto b0 = sample_clean_batch(*set, t, {}, 0);
  EXPECT_EQ(b0.sizes(), (std::vector<int64_t>{4, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(b0, sample_clean_batch(*set, t, {}, 0)));
  EXPECT_FALSE(torch::equal(b0, sample_clean_batch(*set, t, {}, 1)));
}

// train.kernel_perturbation: the network is given valid, deterministic, wrong kernels of the same size;
// level 0 gives the true ones.
TEST(TrainingTasks, PerturbedKernelsKeepTheShapeAndAreDeterministic) {
  auto o = unrolled_options(1);
  auto k = sample_kernels(o, 6, 4).to(torch::kFloat32);
  EXPECT_TRUE(torch::equal(perturb_kernels(k, 0.0, 9), k));
  auto p = perturb_kernels(k, 0.3, 9);
  ASSERT_EQ(p.sizes(), k.sizes());
  EXPECT_EQ(p.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(p, perturb_kernels(k, 0.3, 9)));
  EXPECT_FALSE(torch::equal(p, perturb_kernels(k, 0.3, 10)));
  EXPECT_TRUE(torch::allclose(p.sum({2, 3}), torch::ones({6, 1}), 1e-5, 1e-6));
  EXPECT_GE(p.min().item<double>(), 0.0);
  EXPECT_GT((p - k).abs().sum().item<double>(), 0.05);
  // The first sample's draw does not depend on the batch it is in.
  EXPECT_TRUE(torch::equal(perturb_kernels(k.narrow(0, 2, 1), 0.3, 9, 2), p.narrow(0, 2, 1)));
  EXPECT_THROW(perturb_kernels(torch::ones({1, 1, 4, 4}), 0.1, 1), Error);
}

TEST(TrainingTasks, DenoiserTrainingImprovesValidationPsnr) {
  torch::manual_seed(8);
  auto model = std::make_shared<ResUNet>(tiny_resunet());
  DenoiserTrainingOptions o;
  o.trainer = quick(30);
  o.trainer.batch = 4;
  o.val_crop = 32;
  auto val = images(2, 40, 90);
  const double before = denoiser_validator(model, val, o)();
  auto r = train_denoiser(model, images(4, 48, 80), val, o);
  EXPECT_EQ(r.step, 30);
  EXPECT_GT(r.last_val_psnr, before + 3.0) << before << " -> " << r.last_val_psnr;
  std::printf("denoiser validation PSNR at sigma 25/255: %.2f dB untrained -> %.2f dB after 30 steps\n", before,
              r.last_val_psnr);
}

// Any Prior trains as a denoiser (here the attention U-Net); its checkpoint loads back with load_prior.
TEST(TrainingTasks, AnyPriorTrainsAsADenoiserAndLoadsBack) {
  const std::string dir = test::temp_dir("trainer_attention_prior");
  torch::manual_seed(10);
  auto model = make_prior("attention-unet");
  DenoiserTrainingOptions o;
  o.trainer = quick(4, dir);
  o.val_crop = 32;
  auto r = train_denoiser(model, images(2, 40, 130), images(1, 40, 140), o);
  EXPECT_EQ(r.step, 4);
  EXPECT_TRUE(std::isfinite(r.last_val_psnr));
  auto loaded = load_prior("attention-unet", (fs::path(dir) / "model.pth").string());
  model->eval();
  torch::NoGradGuard no_grad;
  auto x = test::test_image(3, 24, 24, 3);
  EXPECT_TRUE(torch::allclose(loaded->denoise(x, 0.1), model->denoise(x, 0.1), 1e-5, 1e-6));
  EXPECT_THROW(load_prior("convir-s", (fs::path(dir) / "model.pth").string()), Error);  // another architecture
}

TEST(TrainingTasks, UnrolledTrainingRunsAndItsCheckpointLoads) {
  const std::string dir = test::temp_dir("trainer_unrolled");
  torch::manual_seed(9);
  UnrolledNet model(tiny_unrolled());
  auto o = unrolled_options(3, dir);
  o.loss = "l1+0.1*fft";
  o.val_crop = 32;
  auto r = train_unrolled(model, images(2, 40, 100), images(2, 40, 110), o);
  EXPECT_EQ(r.step, 3);
  for (double l : r.losses) EXPECT_TRUE(std::isfinite(l));
  EXPECT_TRUE(std::isfinite(r.last_val_psnr));  // 3 steps from random weights: only finiteness is meaningful
  auto loaded = load_unrolled_net((fs::path(dir) / "model.pth").string());
  EXPECT_EQ(loaded->options().iterations, 2);
  // Running again resumes at the end: nothing left to do, weights unchanged.
  auto before = module_state_dict(*model);
  auto again = train_unrolled(model, images(2, 40, 100), nullptr, o);
  EXPECT_EQ(again.first_step, 3);
  EXPECT_TRUE(again.losses.empty());
  auto after = module_state_dict(*model);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i].second, after[i].second));
}

TEST(TrainingTasks, UnrolledLossWorksForLinearBlurModes) {
  torch::manual_seed(10);
  UnrolledNet model(tiny_unrolled());
  for (BlurMode mode : {BlurMode::Same, BlurMode::Valid}) {
    auto o = unrolled_options(1);
    o.blur = mode;
    auto loss = unrolled_batch_loss(model, images(2, 40, 120), o)(0);
    EXPECT_TRUE(std::isfinite(loss.item<double>())) << blur_mode_name(mode);
    EXPECT_GT(loss.item<double>(), 0.0);
    loss.backward();
    EXPECT_TRUE(model->parameters()[0].grad().defined());
  }
}

DeblurTrainingOptions deblur_options(int64_t steps, const std::string& out_dir = "") {
  DeblurTrainingOptions o;
  const auto u = unrolled_options(steps, out_dir);
  o.trainer = u.trainer;
  o.kernels = u.kernels;
  return o;
}

TEST(TrainingTasks, EndToEndNetworksReduceTheLossOnAFixedBatch) {
  // Step 0's batch (crops, kernels, noise) every step: the loss must fall for a one-output network and
  // for ConvIR's three outputs with its multi-scale L1 + FFT objective, under every blur mode.
  for (const char* family : {"atrous", "convir-seed"}) {
    SCOPED_TRACE(family);
    torch::manual_seed(11);
    auto net = make_deblur_net(family);
    auto o = deblur_options(12);
    o.trainer.lr = 1e-3;
    o.loss = "l1+0.1*fft";
    o.blur = std::string(family) == "atrous" ? BlurMode::Valid : BlurMode::Circular;
    auto f = deblur_batch_loss(net, images(2, 40, 130), o);
    EXPECT_TRUE(torch::equal(f(5), f(5)));  // a pure function of the step
    auto r = Trainer(net.module(), [&](int64_t) { return f(0); }, o.trainer).run();
    EXPECT_LT(mean(r.losses, 9, 12), 0.9 * mean(r.losses, 0, 3)) << mean(r.losses, 0, 3) << " -> "
                                                                    << mean(r.losses, 9, 12);
  }
}

TEST(TrainingTasks, GradientPenaltyAddsTheInputGradientTermAndTrains) {
  torch::manual_seed(13);
  auto net = make_deblur_net("atrous");
  auto o = deblur_options(1);
  auto data = images(2, 40, 160);
  const double plain = deblur_batch_loss(net, data, o)(0).item<double>();
  std::vector<double> term;
  for (double lambda : {1e-3, 2e-3}) {
    o.gradient_penalty = lambda;
    auto loss = deblur_batch_loss(net, data, o)(0);
    term.push_back((loss.item<double>() - plain) / lambda);
    net.module()->zero_grad();
    loss.backward();  // through the second-order graph
    EXPECT_TRUE(net.module()->parameters()[0].grad().defined());
    EXPECT_TRUE(torch::isfinite(net.module()->parameters()[0].grad()).all().item<bool>());
  }
  EXPECT_GT(term[0], 0.0);
  EXPECT_NEAR(term[1], term[0], 1e-3 * term[0]);  // lambda * (the same penalty)
  o.gradient_penalty = -1;
  expect_error_naming([&] { deblur_batch_loss(net, data, o); }, "gradient_penalty");
}

TEST(TrainingTasks, EndToEndTrainingRunsValidatesAndItsCheckpointLoads) {
  const std::string dir = test::temp_dir("trainer_deblur");
  torch::manual_seed(12);
  auto net = make_deblur_net("carlo");
  auto o = deblur_options(3, dir);
  o.blur = BlurMode::Same;
  auto r = train_deblur_net(net, images(2, 40, 140), images(1, 36, 150), o);
  EXPECT_EQ(r.step, 3);
  EXPECT_TRUE(std::isfinite(r.last_val_psnr));
  auto loaded = load_deblur_net("carlo", (fs::path(dir) / "model.pth").string());
  auto y = test::test_image(3, 19, 23, 3);
  EXPECT_TRUE(torch::allclose(loaded.deblur(y), net.deblur(y)));
  // A crop the network does not take is refused up front, naming the field.
  auto bad = deblur_options(1);
  bad.trainer.crop = 30;
  expect_error_naming([&] { deblur_batch_loss(make_deblur_net("convir-seed"), images(1, 40, 1), bad); }, "train.crop");
}

}  // namespace
}  // namespace unroll
