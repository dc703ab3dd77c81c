// unroll-train: trains from a training bundle of `unroll pack` (train/bundle.h) with LibTorch alone --
// no Boost, no OpenCV -- so a run can go where only LibTorch is (a GPU machine with a Python
// PyTorch's LibTorch, say). The same training as `unroll train --bundle`: same config keys, same
// checkpoints (model.pth, resume.pt, train_log.csv in train.out), same resume. Its few options are
// read by hand because the program links nothing but LibTorch.
#include <torch/torch.h>

#include <iostream>
#include <string>

#include "core/checkpoint.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/tensor.h"
#include "train/bundle.h"
#include "train/train_config.h"

namespace {

const char* kUsage =
    "usage: unroll-train BUNDLE [--out DIR] [--device cpu|cuda[:N]] [--steps N] [--float16 FILE] [--restart]\n"
    "                    [--dist-init URL] [--dist-backend gloo|nccl]\n"
    "\n"
    "Trains the model of a training bundle (made by `unroll pack --config X.ini --output BUNDLE`) into\n"
    "train.out, resuming from its resume.pt when there is one.\n"
    "  --out DIR       override train.out (checkpoint folder)\n"
    "  --device D      override train.device\n"
    "  --steps N       override train.steps\n"
    "  --float16 FILE  also write the trained weights as float16 to FILE (half the size of model.pth)\n"
    "  --restart       ignore an existing checkpoint and start from step 0\n"
    "  --dist-init U   several processes as one data-parallel run (docs/distributed.md): env:// (the\n"
    "                  default under torchrun / srun), file:///PATH or tcp://HOST:PORT\n"
    "  --dist-backend B  gloo | nccl (default: gloo on cpu, nccl on cuda)\n";

int run(int argc, char** argv) {
  std::string bundle_path, out_dir, device, float16_path;
  unroll::DistributedOptions dist;
  int64_t steps = 0;
  bool restart = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      UNROLL_CHECK(i + 1 < argc, a, " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--out") {
      out_dir = value();
    } else if (a == "--device") {
      device = value();
    } else if (a == "--dist-init") {
      dist.init = value();
    } else if (a == "--dist-backend") {
      dist.backend = value();
    } else if (a == "--float16") {
      float16_path = value();
    } else if (a == "--steps") {
      const std::string v = value();
      try {
        size_t used = 0;
        steps = std::stoll(v, &used);
        UNROLL_CHECK(used == v.size() && steps > 0, "");
      } catch (const std::exception&) {
        unroll::fail("--steps: expected a positive integer, got '", v, "'");
      }
    } else if (a == "--restart") {
      restart = true;
    } else if (!a.empty() && a[0] == '-') {
      unroll::fail("unknown option '", a, "' (see --help)");
    } else {
      UNROLL_CHECK(bundle_path.empty(), "one bundle only (got '", bundle_path, "' and '", a, "')");
      bundle_path = a;
    }
  }
  if (bundle_path.empty()) {
    std::cerr << kUsage;
    return 1;
  }
  if (!device.empty()) {
    try {
      unroll::parse_device(device);
    } catch (const unroll::Error& e) {
      unroll::fail("--device: ", e.what());
    }
  }

  unroll::TrainingBundle bundle = unroll::load_training_bundle(bundle_path);
  unroll::TrainConfig& c = bundle.config;
  if (!out_dir.empty()) c.out_dir = out_dir;
  if (!device.empty()) {
    c.device = device;
    c.given.insert("train.device");
  }
  if (steps > 0) c.trainer.steps = steps;
  unroll::finish_train_config(c);
  unroll::check_init_files(c);
  // The flags override the config's train.dist_init / train.dist_backend.
  if (dist.init.empty()) dist.init = c.dist_init;
  if (dist.backend.empty()) dist.backend = c.dist_backend;
  unroll::init_distributed(dist, c.device);  // joins the other ranks when there are some
  c.device = unroll::rank_device(c.device);
  std::cout << bundle_path << ": task " << c.task << ", model.family " << c.family << ", " << bundle.train.size()
            << " training and " << bundle.val.size() << " validation images, " << c.trainer.steps << " steps of batch "
            << c.trainer.batch << " x " << c.trainer.crop << "^2 on " << c.device << " -> " << c.out_dir << "\n";
  const unroll::TrainResult r = unroll::run_train_config(c, unroll::bundle_dataset(bundle.train),
                                                         unroll::bundle_dataset(bundle.val), !restart);
  std::cout << "trained steps " << r.first_step << ".." << r.step << " in " << r.seconds
            << " s; last validation PSNR " << r.last_val_psnr << " dB; weights: " << c.out_dir << "/model.pth\n";
  if (!float16_path.empty() && unroll::dist_rank() == 0) {
    const std::string model = c.out_dir + "/model.pth";
    unroll::CastSummary summary;
    unroll::save_state_dict(float16_path,
                            unroll::cast_floating(unroll::load_state_dict(model), torch::kHalf, model, &summary));
    std::cout << "wrote " << float16_path << ": " << summary.tensors_cast << " tensors as float16, "
              << summary.bytes_after << " bytes of weights; largest change " << summary.max_abs_error << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  unroll::keep_freed_tensor_memory();  // as the unroll program does
  unroll::use_all_logical_cpus();
  return unroll::report_errors([&] { return run(argc, argv); });
}
