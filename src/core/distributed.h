// Several processes as one run: data-parallel training and sharded evaluation on LibTorch's own
// distributed engine, c10d (torch/csrc/distributed/c10d): a TCPStore or FileStore for the rendezvous,
// ProcessGroupGloo on the CPU, ProcessGroupNCCL on CUDA when LibTorch was built with it. No transport of
// Unroll's own.
//
// Rendezvous (read_rendezvous), in this order:
//   - torchrun / torch.distributed.launch: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT;
//   - Slurm (srun): SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, with the store's address from
//     --dist-init tcp://HOST:PORT or MASTER_ADDR / MASTER_PORT;
//   - --dist-init file:///PATH: a FileStore on a file every rank can reach (one node, no network
//     needed for the rendezvous), ranks from RANK / WORLD_SIZE or Slurm;
//   - --dist-init tcp://HOST:PORT: the store's address, ranks from the environment.
// Nothing of that (no --dist-init, no WORLD_SIZE > 1, no SLURM_NTASKS > 1) is a single process: no group
// is made and every function below behaves as for rank 0 of 1.
//
// Timeouts. UNROLL_DIST_TIMEOUT (seconds, default 600) bounds the rendezvous (an unreachable store, a
// rank that never joins) and every collective: a rank that dies closes its sockets and the others fail
// at once; one that hangs makes the others fail after the timeout. Either way they throw unroll::Error
// naming their rank, the operation and (for two ranks) the peer -- never a hang. The timeout must
// exceed the longest time one rank works alone (rank 0's validation and checkpoints).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace unroll {

/// What the command line says about distribution (`--dist-init`, `--dist-backend`).
struct DistributedOptions {
  std::string init;     ///< "" or "env://" (the environment), "file:///PATH", "tcp://HOST:PORT"
  std::string backend;  ///< "" (gloo on the CPU, nccl on CUDA), "gloo" or "nccl"
};

/// Where and who this process is.
struct Rendezvous {
  std::string launcher;  ///< "torchrun" (RANK/WORLD_SIZE), "slurm", or "env" with --dist-init only
  int rank = 0, world_size = 1, local_rank = 0;
  std::string address;   ///< the TCP store's host ("" with a file store)
  int port = 0;          ///< the TCP store's port
  std::string file;      ///< the file store's path ("" with a TCP store)
  double timeout_s = 600;
};

/// Reads the rendezvous from `options` and the environment (`getenv`, std::getenv by default);
/// std::nullopt when nothing asks for more than one process. Throws unroll::Error with one line naming
/// the variable for a bad environment (RANK >= WORLD_SIZE, no MASTER_ADDR, a port out of range, ...).
std::optional<Rendezvous> read_rendezvous(const DistributedOptions& options,
                                          const std::function<const char*(const char*)>& getenv = nullptr);

/// This process's member of the group: collectives over tensors of any device (Gloo: CPU and CUDA,
/// NCCL: CUDA), each throwing unroll::Error naming `what` when a peer is gone or times out.
class Distributed {
 public:
  ~Distributed();
  int rank() const { return rdv_.rank; }
  int world_size() const { return rdv_.world_size; }
  int local_rank() const { return rdv_.local_rank; }
  const std::string& backend() const { return backend_; }
  const Rendezvous& rendezvous() const { return rdv_; }

  /// Rank 0's values into `tensors` on every rank (in place; same shapes everywhere).
  void broadcast(std::vector<torch::Tensor>& tensors, const std::string& what);
  /// Rank 0's bytes to every rank (the others' `bytes` are replaced).
  void broadcast_bytes(std::string& bytes, const std::string& what);
  /// Element-wise sum over the ranks, in place.
  void all_reduce_sum(torch::Tensor& tensor, const std::string& what);
  /// Every rank's string, indexed by rank, on every rank.
  std::vector<std::string> all_gather_bytes(const std::string& mine, const std::string& what);
  /// Returns when every rank has called it.
  void barrier(const std::string& what);

  /// The mean over the ranks of the gradients of `parameters`, in place, by all-reduce in buckets of
  /// about `bucket_bytes` (parameters of one dtype and device flattened into one buffer each). A
  /// gradient missing on some ranks counts as zero there; one missing on every rank stays undefined.
  /// `extra` (one float64 value per rank, e.g. the loss) is summed along the way and returned.
  double average_gradients(const std::vector<torch::Tensor>& parameters, double extra, const std::string& what,
                           int64_t bucket_bytes = 25 << 20);

  struct Impl;

 private:
  friend std::shared_ptr<Distributed> init_distributed(const DistributedOptions&, const std::string&);
  Distributed(Rendezvous rdv, std::string backend, std::unique_ptr<Impl> impl);
  [[noreturn]] void fail_collective(const std::string& what, const std::exception& e) const;
  Rendezvous rdv_;
  std::string backend_;
  std::unique_ptr<Impl> impl_;
};

/// Reads the rendezvous and, when it names more than one process, joins the group (store, then the
/// backend: options.backend, or gloo for `device` "cpu" and nccl for "cuda..."), and makes it the
/// process's group that distributed() returns. Returns nullptr (and makes no group) for a single
/// process. Throws unroll::Error with one line for a bad environment, an unknown or unavailable backend,
/// an unreachable store or ranks that do not all join within the timeout. Once per process.
std::shared_ptr<Distributed> init_distributed(const DistributedOptions& options, const std::string& device);

/// The process's group, nullptr in a single process.
Distributed* distributed();
/// distributed()'s rank and world size, 0 and 1 in a single process.
int dist_rank();
int dist_world_size();

/// The device a rank trains on: "cuda" becomes "cuda:K" in a group, K = LOCAL_RANK modulo the GPUs
/// the process sees (one GPU per rank, as torchrun starts them; 0 where Slurm shows each task one);
/// everything else is returned unchanged.
std::string rank_device(const std::string& device);

/// True when this LibTorch has the backend ("gloo", "nccl") compiled in and usable by Unroll.
bool has_distributed_backend(const std::string& backend);

}  // namespace unroll
