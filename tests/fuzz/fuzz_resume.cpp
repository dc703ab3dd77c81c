// Fuzz target: a trainer's resume.pt (train/trainer.h Trainer::resume, through a file), for a model of
// one Linear(4, 4) layer -- the model of the seed corpus's resume.pt files. After a successful resume
// every model tensor and optimiser state tensor is read element by element (fuzz_util.h).
#include <filesystem>

#include "fuzz_util.h"
#include "train/trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    const std::string d = unroll::fuzz::scratch_dir() + "/run";
    std::filesystem::create_directories(d);
    return d;
  }();
  unroll::fuzz::write_scratch("run/resume.pt", data, size);
  unroll::TrainerOptions options;
  options.steps = 8;
  options.out_dir = dir;
  options.progress = false;
  auto model = std::make_shared<torch::nn::LinearImpl>(4, 4);
  unroll::Trainer trainer(model, [](int64_t) { return torch::zeros({}); }, options);
  unroll::fuzz::expect_errors_only([&] {
    if (!trainer.resume()) return;
    for (const auto& p : model->parameters()) unroll::fuzz::touch_elements(p);
    for (const auto& [key, state] : trainer.optimizer().state()) {
      const auto& adam = static_cast<const torch::optim::AdamParamState&>(*state);
      for (const auto& t : {adam.exp_avg(), adam.exp_avg_sq(), adam.max_exp_avg_sq()}) unroll::fuzz::touch_elements(t);
    }
  });
  return 0;
}
