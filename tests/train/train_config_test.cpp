// model.family in the training config (train/train_config.h) reads the model-family table
// (priors/model_family.h): every trainable row is accepted for the tasks of its role and refused for the
// others, the keys a row does not read are refused by name, and the help lists every trainable row.
#include "train/train_config.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "hqs/blind_unrolled_net.h"
#include "priors/model_family.h"
#include "train/training_tasks.h"
#include "test_util.h"

namespace unroll {
namespace {

TrainConfig config(const std::string& task, const std::string& family) {
  TrainConfig c;
  c.source = "t.ini";
  c.task = task;
  c.family = family;
  c.given = {"experiment.task", "model.family"};
  return c;
}

TEST(TrainConfig, EveryTrainableFamilyIsAcceptedForTheTasksOfItsRole) {
  for (const auto& f : model_families()) {
    for (const std::string task : {"denoiser", "unrolled", "deblur"}) {
      SCOPED_TRACE(f.name + " / " + task);
      const bool role_fits = (task == "deblur") == (f.role == ModelRole::Deblur);
      const bool accepted = role_fits && f.trainable;
      // Another role may hold the same name (convir-s): then that row decides.
      const ModelFamily* other =
          lookup_model_family(f.name, f.role == ModelRole::Deblur ? ModelRole::Denoiser : ModelRole::Deblur);
      if (!role_fits && other != nullptr) continue;
      TrainConfig c = config(task, f.name);
      const std::string error = test::error_of([&] { finish_train_config(c); });
      if (accepted) {
        EXPECT_EQ(error, "");
      } else {
        EXPECT_NE(error.find("t.ini: model.family"), std::string::npos) << error;
      }
    }
    if (f.trainable) EXPECT_NE(std::string(model_family_help()).find(f.name), std::string::npos) << f.name;
  }
}

TEST(TrainConfig, FamilyErrorsListTheTrainableFamiliesOfTheTask) {
  TrainConfig c = config("unrolled", "kaist");
  EXPECT_NE(test::error_of([&] {
              finish_train_config(c);
            }).find("t.ini: model.family must be resunet, attention-unet or convir-s, got 'kaist'"),
            std::string::npos);
  c = config("deblur", "resunet");
  EXPECT_NE(test::error_of([&] { finish_train_config(c); })
                .find("t.ini: model.family for task deblur must be one of convir-s, convir-b, convir-l, convir-seed, "
                      "atrous, atrous-reds, kaist, carlo, unet-resnet, unet-ae, got 'resunet'"),
            std::string::npos);
  c = config("denoiser", "drunet-color");  // a configuration to load weights into, not trained here
  EXPECT_NE(test::error_of([&] { finish_train_config(c); }).find("model.family must be"), std::string::npos);
}

TEST(TrainConfig, KeysApplyToTheFamiliesThatReadThem) {
  for (const auto& f : model_families()) {
    if (!f.trainable) continue;
    SCOPED_TRACE(f.name);
    const std::string task = f.role == ModelRole::Deblur ? "deblur" : "denoiser";
    TrainConfig c = config(task, f.name);
    c.nc_text = "8,16,16,16";
    c.given.insert("model.nc");
    EXPECT_EQ(test::error_of([&] { finish_train_config(c); }).empty(), f.reads_resunet);
    c = config(task, f.name);
    c.zero_init_outputs = false;
    c.given.insert("model.zero_init_outputs");
    EXPECT_EQ(test::error_of([&] { finish_train_config(c); }).empty(), f.reads_zero_init_outputs);
    c = config(task, f.name);
    c.base_channel = 16;
    c.given.insert("model.base_channel");
    EXPECT_EQ(test::error_of([&] { finish_train_config(c); }).empty(), f.reads_base_channel);
  }
}

TEST(TrainConfig, BlindUnrolledTaskKeysAndASmokeRun) {
  auto error = [](TrainConfig c) { return test::error_of([&] { finish_train_config(c); }); };
  TrainConfig c = config("blind-unrolled", "resunet");
  EXPECT_EQ(error(c), "");
  c.kernel_size = 24;
  EXPECT_NE(error(c).find("train.kernel_size must be odd and in 3..63 for task blind-unrolled"), std::string::npos);
  c = config("unrolled", "resunet");
  c.kernel_steps = 2;
  c.given.insert("model.kernel_steps");
  EXPECT_NE(error(c).find("t.ini: model.kernel_steps applies to task blind-unrolled"), std::string::npos);
  c = config("blind-unrolled", "resunet");
  c.kernel_steps = 6;  // iterations = 6
  EXPECT_NE(error(c).find("model.kernel_steps must be in -1..model.iterations - 1"), std::string::npos);
  c = config("blind-unrolled", "resunet");
  c.kernel_loss = -1;
  EXPECT_NE(error(c).find("train.kernel_loss must be >= 0"), std::string::npos);
  c = config("blind-unrolled", "resunet");
  c.defocus_fraction = 0.6;  // motion_fraction = 0.5
  EXPECT_NE(error(c).find("train.defocus_fraction must be in [0, 1 - train.motion_fraction]"), std::string::npos);
  c = config("denoiser", "resunet");
  c.deep_supervision = 0.5;
  c.given.insert("train.deep_supervision");
  EXPECT_NE(error(c).find("train.deep_supervision applies to task blind-unrolled"), std::string::npos);

  // Two steps from scratch on one image: model.pth is a blind network that loads.
  c = config("blind-unrolled", "resunet");
  c.nc_text = "4,4,8,8";
  c.nb = 1;
  c.iterations = 2;
  c.hyper = 8;
  c.kernel_size = 9;
  c.defocus_fraction = 0.2;
  c.trainer.steps = 2;
  c.trainer.batch = 1;
  c.trainer.crop = 40;
  c.trainer.progress = false;
  c.out_dir = test::temp_dir("blind_unrolled_smoke");
  c.given.insert({"model.nc", "model.nb", "model.iterations", "model.hyper_channels", "train.kernel_size",
                  "train.defocus_fraction"});
  finish_train_config(c);
  auto images = clean_image_dataset({test::test_image(3, 48, 48, 1)});
  const TrainResult result = run_train_config(c, images, images, /*resume=*/false);
  EXPECT_EQ(result.step, 2);
  EXPECT_TRUE(std::isfinite(result.last_val_psnr));
  auto net = load_blind_unrolled_net(c.out_dir + "/model.pth");
  EXPECT_EQ(net->options().kernel_size, 9);
  EXPECT_EQ(net->options().unrolled.iterations, 2);
}


TEST(TrainConfig, GreyUnrolledNetworksFromScratchAndFromAColourOne) {
  auto error = [](TrainConfig c) { return test::error_of([&] { finish_train_config(c); }); };
  TrainConfig c = config("denoiser", "resunet");
  c.grey = true;
  EXPECT_NE(error(c).find("t.ini: data.grey applies to task unrolled"), std::string::npos);
  c = config("unrolled", "resunet");
  c.grey = true;
  c.init_prior = "denoiser.pth";
  EXPECT_NE(error(c).find("data.grey cannot start from model.init_prior"), std::string::npos);

  auto tiny = [](TrainConfig c, const std::string& out) {
    c.trainer.steps = 2;
    c.trainer.batch = 1;
    c.trainer.crop = 32;
    c.trainer.progress = false;
    c.out_dir = test::temp_dir(out);
    finish_train_config(c);
    return c;
  };
  auto grey_images = clean_image_dataset({test::test_image(1, 40, 40, 1)});
  // From scratch: a 1-channel network.
  c = config("unrolled", "resunet");
  c.grey = true;
  c.nc_text = "4,4,8,8";
  c.nb = 1;
  c.iterations = 2;
  c.hyper = 8;
  c.given.insert({"model.nc", "model.nb", "model.iterations", "model.hyper_channels", "data.grey"});
  c = tiny(c, "grey_unrolled_scratch");
  run_train_config(c, grey_images, grey_images, /*resume=*/false);
  auto net = load_unrolled_net(c.out_dir + "/model.pth");
  EXPECT_EQ(net->channels(), 1);
  // From a colour checkpoint: converted, then trained; a colour checkpoint without data.grey on grey
  // images, and a grey one on RGB images, are errors naming the cause.
  c = config("unrolled", "resunet");
  c.nc_text = "4,4,8,8";
  c.nb = 1;
  c.iterations = 2;
  c.hyper = 8;
  c.given.insert({"model.nc", "model.nb", "model.iterations", "model.hyper_channels"});
  c = tiny(c, "grey_unrolled_colour_src");
  auto colour_images = clean_image_dataset({test::test_image(3, 40, 40, 1)});
  run_train_config(c, colour_images, colour_images, /*resume=*/false);
  TrainConfig g = config("unrolled", "resunet");
  g.grey = true;
  g.init_weights = c.out_dir + "/model.pth";
  g.given = {"experiment.task", "data.grey", "model.init_weights"};
  g = tiny(g, "grey_unrolled_converted");
  run_train_config(g, grey_images, grey_images, /*resume=*/false);
  EXPECT_EQ(load_unrolled_net(g.out_dir + "/model.pth")->channels(), 1);
  TrainConfig wrong = config("unrolled", "resunet");
  wrong.init_weights = g.out_dir + "/model.pth";
  wrong.given = {"experiment.task", "model.init_weights"};
  wrong = tiny(wrong, "grey_unrolled_wrong");
  EXPECT_NE(test::error_of([&] { run_train_config(wrong, colour_images, colour_images, false); })
                .find("is a 1-channel network, the training images are RGB"),
            std::string::npos);
}

}  // namespace
}  // namespace unroll
