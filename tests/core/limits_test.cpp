// Issue 28: resource limits (core/limits.h) and the leftovers of killed writers (core/atomic_file.h).
#include "core/limits.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/polar.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

TEST(Limits, EnvironmentOverridesAndBadValuesAreErrors) {
  ::unsetenv("UNROLL_MAX_IMAGE_PIXELS");
  EXPECT_EQ(limit_value(LimitId::ImagePixels), 100'000'000);
  ::setenv("UNROLL_MAX_IMAGE_PIXELS", "1234", 1);
  EXPECT_EQ(limit_value(LimitId::ImagePixels), 1234);
  for (const char* bad : {"-5", "0", "12abc", "lots"}) {
    ::setenv("UNROLL_MAX_IMAGE_PIXELS", bad, 1);
    EXPECT_NE(test::error_of([] { limit_value(LimitId::ImagePixels); }).find("UNROLL_MAX_IMAGE_PIXELS must be a positive"),
              std::string::npos)
        << bad;
  }
  ::unsetenv("UNROLL_MAX_IMAGE_PIXELS");
  for (const auto& l : limit_table()) EXPECT_GT(l.default_value, 0) << l.env;
}

// A process that has exited: its PID is free (until reused, which the age guard also covers).
long dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

void touch(const std::string& path, double age_s) {
  std::ofstream(path) << "partial";
  fs::last_write_time(path, fs::file_time_type::clock::now() -
                                std::chrono::duration_cast<fs::file_time_type::duration>(std::chrono::duration<double>(age_s)));
}

TEST(AtomicFile, StaleTempFilesOfDeadWritersAreRemoved) {
  const std::string dir = test::temp_dir("stale_temps");
  const long dead = dead_pid();
  const std::string orphan = dir + "/.resume.tmp" + std::to_string(dead) + "_0.pt";
  const std::string young = dir + "/.x.tmp" + std::to_string(dead) + "_1.png";
  const std::string alive = dir + "/.y.tmp" + std::to_string(::getppid()) + "_0.png";  // a running process
  const std::string other = dir + "/.hidden_user_file";
  touch(orphan, 3600);
  touch(young, 1);
  touch(alive, 3600);
  touch(other, 3600);
  EXPECT_EQ(remove_stale_temp_files(dir), 1);
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_TRUE(fs::exists(young));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(other));
  // write_atomically sweeps a directory the first time this process writes into it.
  touch(orphan, 3600);
  write_text_atomically(dir + "/out.txt", "done");
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_TRUE(fs::exists(dir + "/out.txt"));
}

TEST(AtomicFile, UnwritableOutputFoldersAreFoundBeforeTheRun) {
  const std::string dir = test::temp_dir("writable");
  EXPECT_NO_THROW(check_writable_dir(dir + "/a/b/c", "train.out"));
  std::ofstream(dir + "/file") << "x";
  const std::string msg = test::error_of([&] { check_writable_dir(dir + "/file/run", "train.out"); });
  EXPECT_NE(msg.find("train.out: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("is not a directory"), std::string::npos) << msg;
}

TEST(PolarGrid, AbsurdCentresAreAClearErrorNotAHangOrNaN) {
  PolarGridOptions o;
  for (double c : {1e300, 3000.0}) {
    o.centre_x = o.centre_y = c;
    const std::string msg = test::error_of([&] { PolarGrid(256, 256, o, torch::kFloat32); });
    EXPECT_NE(msg.find("too far from the 256x256 image"), std::string::npos) << c << ": " << msg;
  }
  o.centre_x = o.centre_y = -200;  // just outside a corner: a real geometry
  EXPECT_NO_THROW(PolarGrid(256, 256, o, torch::kFloat32));
}

}  // namespace
}  // namespace unroll
