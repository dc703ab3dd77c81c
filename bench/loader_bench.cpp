// unroll bench loader: synthetic training pairs per second (sharp folder -> random 25x25 kernel ->
// blur -> noise -> aligned crop/flip/rot90 -> batch), for 0, 1 and 2 worker threads, and the ratio of
// loader time to one training step of a USRNet-tiny-sized unrolled network on the same batch.
#include <chrono>
#include <iostream>

#include "cli.h"
#include "core/error.h"
#include "datasets/loader.h"
#include "datasets/readers.h"
#include "eval/report.h"
#include "hqs/unrolled_net.h"

namespace unroll::cli {

int cmd_bench_loader(const std::vector<std::string>& args) {
  std::string sharp_dir;
  int64_t crop = 128, batch = 16, batches = 12;
  po::options_description opts("bench loader options");
  opts.add_options()
      ("sharp", po::value(&sharp_dir)->required(), "folder of sharp training images (e.g. ../shared/data/train/cbsd432)")
      ("crop", po::value(&crop)->default_value(128), "crop side")
      ("batch", po::value(&batch)->default_value(16), "batch size")
      ("batches", po::value(&batches)->default_value(12), "batches timed per worker count");
  po::variables_map vm;
  if (!parse("usage: unroll bench loader --sharp DIR [--crop 128] [--batch 16]", opts, args, vm)) return 0;
  UNROLL_CHECK(crop >= 32 && batch >= 1 && batches >= 1, "bench loader: crop >= 32, batch >= 1, batches >= 1");

  SyntheticOptions so;
  so.crop_size = crop + 32;  // crop before blurring, then the loader crops `crop` (with augmentation)
  so.degrade.sigma_min = 0.0;
  so.degrade.sigma_max = 25.0 / 255.0;
  so.repeats = 4;
  auto dataset = std::make_shared<SyntheticPairDataset>(list_image_files(sharp_dir), so);
  std::vector<std::vector<std::string>> rows;
  double best_batch_seconds = 1e30;
  Batch sample;
  for (int64_t workers : {0, 1, 2}) {
    LoaderOptions lo;
    lo.crop_size = crop;
    lo.batch_size = batch;
    lo.workers = workers;
    PairLoader loader(dataset, lo);
    loader.start_epoch(0);
    auto first = loader.next();  // warm-up (thread start, first reads)
    UNROLL_CHECK(first.has_value(), "bench loader: dataset too small for one batch");
    const auto t0 = std::chrono::steady_clock::now();
    int64_t done = 0;
    for (; done < batches; ++done) {
      auto b = loader.next();
      if (!b) break;
      sample = *b;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double per_batch = secs / static_cast<double>(std::max<int64_t>(done, 1));
    best_batch_seconds = std::min(best_batch_seconds, per_batch);
    rows.push_back({std::to_string(workers), fixed(static_cast<double>(done * batch) / secs, 1), fixed(per_batch, 3)});
  }
  // One training step (forward + backward + Adam) of a USRNet-tiny-sized unrolled net on that batch.
  UnrolledNet net(UnrolledNetOptions::usrnet_tiny());
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-4));
  auto kernel = sample.kernel.to(torch::kFloat32);
  auto sigma = torch::nan_to_num(sample.sigma, 0.0).to(torch::kFloat32).reshape({-1, 1, 1, 1});
  const auto t0 = std::chrono::steady_clock::now();
  adam.zero_grad();
  auto loss = (net->forward(sample.blurred, kernel, sigma) - sample.sharp).abs().mean();
  loss.backward();
  adam.step();
  const double step = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "synthetic pairs from " << sharp_dir << ": crop " << crop << ", batch " << batch
            << ", mixed 25x25 kernels, noise U[0, 25/255], " << torch::get_num_threads() << " torch thread(s)\n\n"
            << markdown_table({"workers", "pairs / s", "s / batch"}, rows)
            << "\nUSRNet-tiny training step on that batch: " << fixed(step, 2) << " s; loader / step = "
            << fixed(best_batch_seconds / step, 3) << "\n";
  return 0;
}

}  // namespace unroll::cli
