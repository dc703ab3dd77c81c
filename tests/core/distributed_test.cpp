// The rendezvous of core/distributed.h read from a given environment (the groups themselves are
// tested across processes in tests/cli/distributed_test.cpp).
#include "core/distributed.h"

#include <gtest/gtest.h>

#include <map>

#include "core/error.h"
#include "test_util.h"

namespace unroll {
namespace {

std::optional<Rendezvous> read(const std::map<std::string, std::string>& vars, const std::string& init = "",
                               const std::string& backend = "") {
  return read_rendezvous({init, backend}, [&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string error_of(const std::map<std::string, std::string>& vars, const std::string& init = "",
                     const std::string& backend = "") {
  return test::error_of([&] { read(vars, init, backend); });
}

TEST(Rendezvous, NothingAskedIsOneProcess) {
  EXPECT_FALSE(read({}).has_value());
  EXPECT_FALSE(read({}, "env://").has_value());
  EXPECT_FALSE(read({{"RANK", "0"}, {"WORLD_SIZE", "1"}}).has_value());
  EXPECT_FALSE(read({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}}).has_value());  // a one-task Slurm job
  EXPECT_EQ(dist_rank(), 0);
  EXPECT_EQ(dist_world_size(), 1);
  EXPECT_EQ(distributed(), nullptr);
  EXPECT_EQ(rank_device("cuda"), "cuda");
}

TEST(Rendezvous, TorchrunSlurmFileAndTcp) {
  auto r = read({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "node0"},
                 {"MASTER_PORT", "29500"}, {"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "16"}});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->launcher, "torchrun");  // torchrun's variables win over Slurm's
  EXPECT_EQ(r->rank, 3);
  EXPECT_EQ(r->world_size, 8);
  EXPECT_EQ(r->local_rank, 1);
  EXPECT_EQ(r->address, "node0");
  EXPECT_EQ(r->port, 29500);
  EXPECT_EQ(r->timeout_s, 600);

  r = read({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "16"}, {"SLURM_LOCALID", "1"}, {"UNROLL_DIST_TIMEOUT", "42.5"}},
           "tcp://10.0.0.7:1234");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->launcher, "slurm");
  EXPECT_EQ(r->rank, 5);
  EXPECT_EQ(r->world_size, 16);
  EXPECT_EQ(r->local_rank, 1);
  EXPECT_EQ(r->address, "10.0.0.7");
  EXPECT_EQ(r->port, 1234);
  EXPECT_EQ(r->timeout_s, 42.5);

  r = read({{"RANK", "1"}, {"WORLD_SIZE", "2"}}, "file:///tmp/store");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->file, "/tmp/store");
  EXPECT_EQ(r->address, "");
}

TEST(Rendezvous, BadEnvironmentNamesTheVariable) {
  EXPECT_NE(error_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}}).find("RANK=2 must be below WORLD_SIZE=2"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_ADDR is not set"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}).find("MASTER_PORT is not set"),
            std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "0"}})
                .find("MASTER_PORT must be a port in 1..65535, got '0'"),
            std::string::npos);
  EXPECT_NE(error_of({{"WORLD_SIZE", "2"}}).find("WORLD_SIZE is set but RANK is not"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "-1"}, {"WORLD_SIZE", "2"}}).find("RANK must be a non-negative integer, got '-1'"),
            std::string::npos);
  EXPECT_NE(error_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}}).find("SLURM_NTASKS=4 but MASTER_ADDR is not set"),
            std::string::npos);
  EXPECT_NE(error_of({{"SLURM_PROCID", "4"}, {"SLURM_NTASKS", "4"}}, "tcp://h:1").find("SLURM_PROCID=4 must be below"),
            std::string::npos);
  EXPECT_NE(error_of({}, "file:///x").find("no ranks in the environment"), std::string::npos);
  EXPECT_NE(error_of({}, "file://relative").find("needs an absolute path"), std::string::npos);
  EXPECT_NE(error_of({}, "tcp://nohost").find("expected tcp://HOST:PORT"), std::string::npos);
  EXPECT_NE(error_of({}, "mpi://").find("expected env://, file:///PATH or tcp://HOST:PORT"), std::string::npos);
  EXPECT_NE(error_of({}, "", "mpi").find("--dist-backend: expected gloo or nccl, got 'mpi'"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"UNROLL_DIST_TIMEOUT", "0"}}, "file:///x")
                .find("UNROLL_DIST_TIMEOUT must be seconds"),
            std::string::npos);
}

TEST(Rendezvous, GlooIsBuiltIn) {
  // Debian's LibTorch has Gloo inside libtorch_cpu; setup.sh installs its headers (libgloo-dev).
  EXPECT_TRUE(has_distributed_backend("gloo"));
  if (!torch::cuda::is_available()) EXPECT_FALSE(has_distributed_backend("nccl"));
  EXPECT_FALSE(has_distributed_backend("mpi"));
}

}  // namespace
}  // namespace unroll
