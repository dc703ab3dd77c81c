// Several processes as one run (core/distributed.h, docs/distributed.md), on the CPU with Gloo over
// 127.0.0.1: each test starts its own ranks of the built executables, as torchrun would (RANK,
// WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or with a file store, each under `timeout`, and waits for all
// of them.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/checkpoint.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

#ifdef UNROLL_EXE

// A port nobody listens on now (bound to 0 and released; the kernel does not hand it out again at once).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

using test::read_file;

const std::string kCd = "cd " + std::string(UNROLL_SOURCE_DIR) + " && ";

// torchrun's variables for `rank` of `world` with the store on 127.0.0.1:port.
std::string torchrun_env(int rank, int world, int port, double timeout_s = 60) {
  return "RANK=" + std::to_string(rank) + " WORLD_SIZE=" + std::to_string(world) + " LOCAL_RANK=" +
         std::to_string(rank) + " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
         " UNROLL_DIST_TIMEOUT=" + std::to_string(timeout_s) + " OMP_NUM_THREADS=1 ";
}

// Runs `command` (an executable and its arguments) as ranks 0..world-1 at once, each under `timeout`
// with its own environment from `env(rank)`; returns every rank's exit status and puts its output in
// dir/rank<r>.log.
std::vector<int> run_ranks(int world, const std::function<std::string(int)>& env, const std::string& command,
                           const std::string& dir) {
  std::string script;
  for (int r = 0; r < world; ++r) {
    const std::string log = dir + "/rank" + std::to_string(r);
    script += "( " + env(r) + "timeout -k 5 240 " + command + " > " + log + ".log 2>&1; echo $? > " + log + ".rc ) & ";
  }
  script += "wait";
  test::run_command(kCd + "bash -c '" + script + "'");
  std::vector<int> rcs;
  for (int r = 0; r < world; ++r) {
    std::ifstream in(dir + "/rank" + std::to_string(r) + ".rc");
    int rc = -1;
    in >> rc;
    rcs.push_back(rc);
  }
  return rcs;
}

// A denoiser config of `batch` x 32^2 crops of the bundled sample, no validation.
std::string write_config(const std::string& dir, const std::string& name, int batch, int steps) {
  const std::string path = dir + "/" + name + ".ini";
  std::ofstream(path) << "[experiment]\ntask = denoiser\n[model]\nnc = 8,16,16,16\nnb = 1\n[data]\ntrain = data/sample\n"
                      << "[train]\nsteps = " << steps << "\nbatch = " << batch << "\ncrop = 32\nlr = 1e-3\n"
                      << "checkpoint_every = 2\nlog_every = 1\nseed = 7\nout = " << dir << "/" << name << "\n";
  return path;
}

double max_weight_diff(const std::string& a_path, const std::string& b_path) {
  const auto a = load_state_dict(a_path), b = load_state_dict(b_path);
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    worst = std::max(worst, test::max_abs_diff(a[i].second, b[i].second));
  }
  return worst;
}

// Two ranks of batch B and one process of batch 2B from the same seed and data take the same steps:
// rank r draws samples r*B..r*B+B-1 of each step, the halves of the one process's batch, and the
// gradients are averaged. A run of batch B alone differs, so the comparison can fail. The two-rank run
// then resumes from its checkpoint, and a run of another world size refuses the checkpoint.
TEST(Distributed, TwoRanksOfBatchBTrainAsOneProcessOfBatch2B) {
  const std::string dir = test::temp_dir("dist_equivalence");
  const std::string two = write_config(dir, "two", 2, 4), one = write_config(dir, "one", 4, 4),
                    half = write_config(dir, "half", 2, 4);
  std::string out;
  ASSERT_EQ(test::run_command(kCd + "OMP_NUM_THREADS=1 " + UNROLL_EXE + " train --config " + one, &out), 0) << out;
  ASSERT_EQ(test::run_command(kCd + "OMP_NUM_THREADS=1 " + UNROLL_EXE + " train --config " + half, &out), 0) << out;
  const int port = free_port();
  auto rcs = run_ranks(2, [&](int r) { return torchrun_env(r, 2, port); },
                       std::string(UNROLL_EXE) + " train --config " + two, dir);
  for (int r = 0; r < 2; ++r)
    ASSERT_EQ(rcs[r], 0) << "rank " << r << ": " << read_file(dir + "/rank" + std::to_string(r) + ".log");
  EXPECT_NE(read_file(dir + "/rank0.log").find("trained steps 0..4"), std::string::npos);

  const double d2 = max_weight_diff(dir + "/two/model.pth", dir + "/one/model.pth");
  const double d_half = max_weight_diff(dir + "/half/model.pth", dir + "/one/model.pth");
  EXPECT_LT(d2, 1e-5) << "2 ranks x batch 2 vs 1 process x batch 4";
  EXPECT_GT(d_half, 1e-3) << "1 process x batch 2 should differ from batch 4";
  std::cout << "max |w(2 x 2) - w(1 x 4)| = " << d2 << ", max |w(1 x 2) - w(1 x 4)| = " << d_half << "\n";
  // Rank 0 alone wrote the log: one row per step, with the loss of the whole batch.
  const std::string log_two = read_file(dir + "/two/train_log.csv"), log_one = read_file(dir + "/one/train_log.csv");
  EXPECT_EQ(std::count(log_two.begin(), log_two.end(), '\n'), 5) << log_two;
  auto losses = [](const std::string& csv) {
    std::vector<double> v;
    std::istringstream in(csv);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      const size_t a = line.find(','), b = line.find(',', a + 1), c = line.find(',', b + 1);
      v.push_back(std::stod(line.substr(b + 1, c - b - 1)));
    }
    return v;
  };
  const auto l2 = losses(log_two), l1 = losses(log_one);
  ASSERT_EQ(l2.size(), l1.size());
  for (size_t i = 0; i < l1.size(); ++i) EXPECT_NEAR(l2[i], l1[i], 1e-5 * std::max(1.0, std::abs(l1[i]))) << i;

  // Resume with the same world size: both continue from step 4 and still agree.
  ASSERT_EQ(test::run_command(kCd + "OMP_NUM_THREADS=1 " + UNROLL_EXE + " train --config " + one + " --steps 6", &out), 0)
      << out;
  const int port2 = free_port();
  rcs = run_ranks(2, [&](int r) { return torchrun_env(r, 2, port2); },
                  std::string(UNROLL_EXE) + " train --steps 6 --config " + two, dir);
  for (int r = 0; r < 2; ++r)
    ASSERT_EQ(rcs[r], 0) << "rank " << r << ": " << read_file(dir + "/rank" + std::to_string(r) + ".log");
  EXPECT_NE(read_file(dir + "/rank0.log").find("trained steps 4..6"), std::string::npos) << read_file(dir + "/rank0.log");
  EXPECT_LT(max_weight_diff(dir + "/two/model.pth", dir + "/one/model.pth"), 1e-5) << "after resuming";

  // One process cannot continue the two ranks' run (its global batch would change).
  EXPECT_EQ(test::run_command(kCd + UNROLL_EXE + " train --steps 8 --config " + two, &out), 1) << out;
  EXPECT_NE(out.find("error: trainer: checkpoint"), std::string::npos) << out;
  EXPECT_NE(out.find("was written by 2 process(es)"), std::string::npos) << out;
  EXPECT_NE(out.find("this run has 1"), std::string::npos) << out;
}

// unroll-train with a file store (no network rendezvous): two ranks train from a bundle as two ranks
// of `unroll train` do.
TEST(Distributed, TrainerFromBundleWithFileStore) {
#ifndef UNROLL_TRAIN_EXE
  GTEST_SKIP() << "unroll-train not built";
#else
  const std::string dir = test::temp_dir("dist_bundle");
  const std::string config = write_config(dir, "cfg", 2, 3);
  std::string out;
  ASSERT_EQ(test::run_command(kCd + UNROLL_EXE + " pack --config " + config + " --output " + dir + "/b.pt", &out), 0)
      << out;
  auto env = [&](int r) {
    return "RANK=" + std::to_string(r) + " WORLD_SIZE=2 UNROLL_DIST_TIMEOUT=60 OMP_NUM_THREADS=1 ";
  };
  auto rcs = run_ranks(2, env,
                       std::string(UNROLL_TRAIN_EXE) + " " + dir + "/b.pt --out " + dir + "/file --dist-init file://" +
                           dir + "/store",
                       dir);
  for (int r = 0; r < 2; ++r)
    ASSERT_EQ(rcs[r], 0) << "rank " << r << ": " << read_file(dir + "/rank" + std::to_string(r) + ".log");
  EXPECT_NE(read_file(dir + "/rank0.log").find("trained steps 0..3"), std::string::npos) << read_file(dir + "/rank0.log");
  const int port = free_port();
  rcs = run_ranks(2, [&](int r) { return torchrun_env(r, 2, port); },
                  std::string(UNROLL_EXE) + " train --config " + config + " --out " + dir + "/tcp", dir);
  for (int r = 0; r < 2; ++r)
    ASSERT_EQ(rcs[r], 0) << "rank " << r << ": " << read_file(dir + "/rank" + std::to_string(r) + ".log");
  EXPECT_LT(max_weight_diff(dir + "/file/model.pth", dir + "/tcp/model.pth"), 1e-5);
#endif
}

// Two ranks train `cmd`; once rank 0 has logged a few steps, rank 1 (started without `timeout`, so that
// $! is the rank itself) gets `kill SIGNAL` ("-9": dies, "-STOP": hangs with its sockets open). Rank 1 is
// killed for good once rank 0 has ended. Returns rank 0's log and exit code, and when rank 1 was
// disturbed and rank 0 ended (seconds since the epoch).
struct Disturbed {
  std::string log0, out;
  int rc0 = -1;
  double disturbed = 0, ended = 0;
};

Disturbed disturb_rank1(const std::string& dir, const std::string& cmd, int port, double timeout_s,
                        const std::string& signal) {
  // Rank 1 is disturbed once train_log.csv holds 5 lines: the header and steps 1-4 (log_every = 1), so
  // at least one checkpoint (checkpoint_every = 2) exists to resume from, however slow the machine.
  const std::string script =
      "( " + torchrun_env(0, 2, port, timeout_s) + "timeout -k 5 120 " + cmd + " > " + dir +
      "/rank0.log 2>&1; echo $? > " + dir + "/rank0.rc; date +%s.%N > " + dir + "/rank0.end ) & " +
      torchrun_env(1, 2, port, timeout_s) + cmd + " > " + dir + "/rank1.log 2>&1 & pid1=$!; " +
      "for i in $(seq 1200); do [ $(cat " + dir + "/long/train_log.csv 2>/dev/null | wc -l) -ge 5 ] && break; " +
      "sleep 0.1; done; kill " + signal + " $pid1; date +%s.%N > " + dir + "/disturbed; " +
      "for i in $(seq 600); do [ -e " + dir + "/rank0.end ] && break; sleep 0.1; done; kill -9 $pid1; wait";
  Disturbed d;
  test::run_command(kCd + "bash -c '" + script + "'", &d.out);
  d.log0 = read_file(dir + "/rank0.log");
  std::ifstream(dir + "/rank0.rc") >> d.rc0;
  std::ifstream(dir + "/disturbed") >> d.disturbed;
  std::ifstream(dir + "/rank0.end") >> d.ended;
  return d;
}

// A rank killed mid-run: the other exits non-zero well within the timeout, naming the lost rank.
TEST(Distributed, KilledRankMakesTheOtherExitWithAClearError) {
  const std::string dir = test::temp_dir("dist_kill");
  const std::string config = write_config(dir, "long", 2, 100000);
  const int port = free_port();
  const std::string cmd = std::string(UNROLL_EXE) + " train --config " + config;
  const double timeout_s = 30;
  const Disturbed run = disturb_rank1(dir, cmd, port, timeout_s, "-9");
  const std::string& log0 = run.log0;
  const int rc0 = run.rc0;
  const double killed = run.disturbed, ended = run.ended;
  const std::string& out = run.out;
  EXPECT_EQ(rc0, 1) << log0;
  EXPECT_NE(log0.find("error: distributed: rank 0 of 2"), std::string::npos) << log0;
  EXPECT_NE(log0.find("rank 1 is gone"), std::string::npos) << log0;
  EXPECT_GT(killed, 0) << out;
  EXPECT_LT(ended - killed, timeout_s) << "rank 0 took " << ended - killed << " s to stop";
  std::cout << "rank 0 stopped " << ended - killed << " s after rank 1 was killed\n";

  // Restarted, the job resumes from rank 0's last checkpoint (checkpoint_every = 2), logging no step twice.
  const std::string log_csv = read_file(dir + "/long/train_log.csv");
  const int64_t last_logged = std::stoll(log_csv.substr(log_csv.rfind('\n', log_csv.size() - 2) + 1));
  ASSERT_GE(last_logged, 4);
  const int port2 = free_port();
  auto rcs = run_ranks(2, [&](int r) { return torchrun_env(r, 2, port2); },
                       cmd + " --steps " + std::to_string(last_logged + 2), dir);
  for (int r = 0; r < 2; ++r)
    ASSERT_EQ(rcs[r], 0) << "rank " << r << ": " << read_file(dir + "/rank" + std::to_string(r) + ".log");
  const std::string restarted = read_file(dir + "/rank0.log");
  const int64_t resumed_from = last_logged - last_logged % 2;
  EXPECT_NE(restarted.find("trained steps " + std::to_string(resumed_from) + ".." + std::to_string(last_logged + 2)),
            std::string::npos)
      << restarted;
  std::istringstream rows(read_file(dir + "/long/train_log.csv"));
  std::string row;
  std::getline(rows, row);
  int64_t expected = 1;
  while (std::getline(rows, row)) EXPECT_EQ(std::stoll(row), expected++) << row;
  EXPECT_EQ(expected, last_logged + 3);
}

// A rank that hangs (SIGSTOP: its sockets stay open): the other gives up after UNROLL_DIST_TIMEOUT.
TEST(Distributed, HungRankMakesTheOtherExitAfterTheTimeout) {
  const std::string dir = test::temp_dir("dist_hang");
  const std::string config = write_config(dir, "long", 2, 100000);
  const int port = free_port();
  const std::string cmd = std::string(UNROLL_EXE) + " train --config " + config;
  const double timeout_s = 5;
  const Disturbed run = disturb_rank1(dir, cmd, port, timeout_s, "-STOP");
  const std::string& log0 = run.log0;
  const int rc0 = run.rc0;
  const double stopped = run.disturbed, ended = run.ended;
  const std::string& out = run.out;
  EXPECT_EQ(rc0, 1) << log0;
  EXPECT_NE(log0.find("error: distributed: rank 0 of 2"), std::string::npos) << log0;
  EXPECT_NE(log0.find("rank 1 did not answer within UNROLL_DIST_TIMEOUT = 5 s"), std::string::npos) << log0;
  EXPECT_GT(stopped, 0) << out;
  EXPECT_GE(ended - stopped, timeout_s - 1) << "rank 0 stopped before the timeout: " << log0;
  EXPECT_LT(ended - stopped, 3 * timeout_s) << "rank 0 took " << ended - stopped << " s to stop";
  std::cout << "rank 0 stopped " << ended - stopped << " s after rank 1 hung (timeout " << timeout_s << " s)\n";
}

// A bad environment: one error line each, exit 1, quickly.
TEST(Distributed, BadEnvironmentGivesOneClearErrorLine) {
  const std::string dir = test::temp_dir("dist_env");
  const std::string config = write_config(dir, "cfg", 2, 2);
  const int port = free_port();
  const std::string p = std::to_string(port);
  struct Case {
    std::string env, args, expected;
  };
  std::vector<Case> cases = {
      {"RANK=2 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + p, "", "RANK=2 must be below WORLD_SIZE=2"},
      {"RANK=0 WORLD_SIZE=2 MASTER_PORT=" + p, "", "MASTER_ADDR is not set"},
      {"RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1", "", "MASTER_PORT is not set"},
      {"RANK=1", "", "RANK is set but WORLD_SIZE is not"},
      {"RANK=x WORLD_SIZE=2", "", "RANK must be a non-negative integer, got 'x'"},
      // Rank 1 with nobody serving the store.
      {"RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + p + " UNROLL_DIST_TIMEOUT=3", "",
       "distributed: rank 1 of 2: cannot reach the store at 127.0.0.1:" + p + " within 3 s"},
      // Rank 0 whose peer never comes.
      {"RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + p + " UNROLL_DIST_TIMEOUT=3", "",
       "distributed: rank 0 of 2: the gloo group did not form within 3 s"},
      {"RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + p + " UNROLL_DIST_TIMEOUT=soon", "",
       "UNROLL_DIST_TIMEOUT must be seconds"},
      {"", " --dist-backend mpi", "--dist-backend: expected gloo or nccl, got 'mpi'"},
      {"", " --dist-init udp://x:1", "--dist-init: expected env://, file:///PATH or tcp://HOST:PORT"},
      {"", " --dist-init file:///tmp/x", "--dist-init file:///tmp/x: no ranks in the environment"},
      {"RANK=0 WORLD_SIZE=2", " --dist-init tcp://127.0.0.1:99999", "must be a port in 1..65535"},
  };
  cases.push_back({"RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + p, " --dist-backend nccl",
                   "backend nccl reduces CUDA tensors only; the device is cpu"});
  if (!torch::cuda::is_available())
    cases.push_back({"RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + p, " --dist-backend nccl --device cuda",
                     "no usable CUDA device"});
  for (const auto& c : cases) {
    std::string out;
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = test::run_command(kCd + c.env + " timeout -k 5 60 " + UNROLL_EXE + " train --config " + config + c.args,
                                     &out);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(rc, 1) << c.env << c.args << ": " << out;
    EXPECT_NE(out.find("error: "), std::string::npos) << out;
    // Nothing else: no log lines of c10d or glog around it.
    EXPECT_EQ(out.find("error: "), 0u) << out;
    EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line: " << out;
    EXPECT_NE(out.find(c.expected), std::string::npos) << c.env << c.args << ": " << out;
    EXPECT_LT(s, 30) << c.env << c.args;
  }
  // The config's train.dist_init / train.dist_backend are used when no flag is given.
  for (const auto& [key, expected] : std::vector<std::pair<std::string, std::string>>{
           {"dist_init = udp://x:1", "--dist-init: expected env://, file:///PATH or tcp://HOST:PORT"},
           {"dist_backend = mpi", "--dist-backend: expected gloo or nccl, got 'mpi'"}}) {
    std::string text = test::read_file(config);
    const auto at = text.find("[train]\n");
    ASSERT_NE(at, std::string::npos) << text;
    text.insert(at + 8, key + "\n");
    std::ofstream(dir + "/keyed.ini") << text;
    std::string out;
    EXPECT_EQ(test::run_command(kCd + "timeout -k 5 60 " + UNROLL_EXE + " train --config " + dir + "/keyed.ini", &out), 1)
        << key << ": " << out;
    EXPECT_NE(out.find(expected), std::string::npos) << key << ": " << out;
  }
}

// `unroll eval` on two ranks: the cases are shared and rank 0 writes the report of one process.
TEST(Distributed, TwoRankEvalWritesTheOneRankReport) {
  const std::string dir = test::temp_dir("dist_eval");
  const std::string args = " eval --data synthetic:data/sample,count=5,size=48 --methods wiener,rl --limit 0 --grids 2 ";
  std::string out;
  ASSERT_EQ(test::run_command(kCd + "OMP_NUM_THREADS=1 " + UNROLL_EXE + args + "--out " + dir + "/one", &out), 0) << out;
  const int port = free_port();
  auto rcs = run_ranks(2, [&](int r) { return torchrun_env(r, 2, port); },
                       std::string(UNROLL_EXE) + args + "--out " + dir + "/two", dir);
  for (int r = 0; r < 2; ++r)
    ASSERT_EQ(rcs[r], 0) << "rank " << r << ": " << read_file(dir + "/rank" + std::to_string(r) + ".log");
  // results.csv: every column but the three times.
  auto rows = [](const std::string& csv) {
    std::vector<std::string> v;
    std::istringstream in(csv);
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> cells;
      std::stringstream ls(line);
      for (std::string cell; std::getline(ls, cell, ',');) cells.push_back(cell);
      std::string kept;
      for (size_t i = 0; i < cells.size(); ++i)
        if (i < 7 || i > 9) kept += cells[i] + ",";
      v.push_back(kept);
    }
    return v;
  };
  const auto one = rows(read_file(dir + "/one/results.csv")), two = rows(read_file(dir + "/two/results.csv"));
  ASSERT_EQ(one.size(), 11u);  // header + 5 cases x 2 methods
  EXPECT_EQ(one, two);
  // summary.json: equal apart from the times.
  std::function<void(nlohmann::json&)> drop_times = [&](nlohmann::json& j) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end();) {
        if (it.key().find("seconds") != std::string::npos || it.key() == "command")
          it = j.erase(it);
        else
          drop_times(*it++);
      }
    } else if (j.is_array()) {
      for (auto& e : j) drop_times(e);
    }
  };
  auto j1 = nlohmann::json::parse(read_file(dir + "/one/summary.json"));
  auto j2 = nlohmann::json::parse(read_file(dir + "/two/summary.json"));
  drop_times(j1);
  drop_times(j2);
  EXPECT_EQ(j1, j2) << j1.dump(1) << "\n" << j2.dump(1);
  EXPECT_TRUE(fs::exists(dir + "/two/summary.md"));
  // The grids of cases 0 (rank 0) and 1 (rank 1) are both there.
  int grids = 0;
  for (const auto& e : fs::directory_iterator(dir + "/two/grids")) grids += e.path().extension() == ".png";
  EXPECT_EQ(grids, 2);
  // Rank 1 prints no report of its own.
  EXPECT_EQ(read_file(dir + "/rank1.log").find("wrote "), std::string::npos);
}

// `unroll experiment` on two ranks: each variant trains data-parallel (batch 1 per rank, against one
// process of batch 2) and the evaluation is shared; rank 0 writes the report. The learned variants'
// scores agree to float rounding, the classical ones exactly.
TEST(Distributed, TwoRankExperimentMatchesOneProcess) {
  const std::string dir = test::temp_dir("dist_experiment");
  auto write = [&](const std::string& name, int batch) {
    std::ofstream(dir + "/" + name + ".ini")
        << "[experiment]\nname = tiny\ntask = unrolled\n[model]\nnc = 8,16,16,16\nnb = 1\n[data]\n"
        << "train = data/sample\ntest = synthetic:data/sample,kernels=gaussian,size=9,noise=2.55,crop=64,count=3\n"
        << "[train]\nsteps = 3\nbatch = " << batch << "\ncrop = 32\nkernel_size = 9\nseed = 3\n"
        << "[eval]\nmethods = wiener,admm\nparams = admm.iters=10\ngrids = 1\n"
        << "[variant.K1]\nlabel = K=1\nmodel.iterations = 1\n[variant.K2]\nlabel = K=2\nmodel.iterations = 2\n";
  };
  write("one", 2);
  write("two", 1);
  std::string out;
  ASSERT_EQ(test::run_command(kCd + "OMP_NUM_THREADS=1 " + UNROLL_EXE + " experiment " + dir + "/one.ini --out " + dir +
                                  "/one_out",
                              &out),
            0)
      << out;
  const int port = free_port();
  auto rcs = run_ranks(2, [&](int r) { return torchrun_env(r, 2, port); },
                       std::string(UNROLL_EXE) + " experiment " + dir + "/two.ini --out " + dir + "/two_out", dir);
  for (int r = 0; r < 2; ++r)
    ASSERT_EQ(rcs[r], 0) << "rank " << r << ": " << read_file(dir + "/rank" + std::to_string(r) + ".log");
  for (const char* f : {"report.md", "eval/results.csv", "eval/summary.json", "K1/done.json", "K2/model.pth"})
    EXPECT_TRUE(fs::exists(dir + "/two_out/" + f)) << f;
  for (const char* v : {"K1", "K2"})
    EXPECT_LT(max_weight_diff(dir + "/one_out/" + v + "/model.pth", dir + "/two_out/" + v + "/model.pth"), 1e-5) << v;
  auto rows = [](const std::string& csv) {
    std::vector<std::vector<std::string>> v;
    std::istringstream in(csv);
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> cells;
      std::stringstream ls(line);
      for (std::string cell; std::getline(ls, cell, ',');) cells.push_back(cell);
      v.push_back(cells);
    }
    return v;
  };
  const auto one = rows(read_file(dir + "/one_out/eval/results.csv"));
  const auto two = rows(read_file(dir + "/two_out/eval/results.csv"));
  ASSERT_EQ(one.size(), 13u);  // header + 3 cases x (wiener, admm, K1, K2)
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 1; i < one.size(); ++i) {
    ASSERT_GE(one[i].size(), 7u);
    ASSERT_GE(two[i].size(), 7u);
    for (size_t c = 0; c < 4; ++c) EXPECT_EQ(one[i][c], two[i][c]) << i;  // dataset, case, method, status
    const bool learned = one[i][2].compare(0, 2, "K=") == 0;
    if (learned)
      EXPECT_NEAR(std::stod(one[i][4]), std::stod(two[i][4]), 1e-3) << one[i][2] << " " << one[i][1];
    else
      EXPECT_EQ(one[i][4], two[i][4]) << one[i][2] << " " << one[i][1];
  }
}

#endif  // UNROLL_EXE

}  // namespace
}  // namespace unroll
