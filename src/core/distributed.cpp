#include "core/distributed.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>

// Gloo: its c10d binding (ProcessGroupGloo.hpp) includes Gloo's own headers, which Debian ships apart
// from the library inside libtorch_cpu (libgloo-dev); CMake defines UNROLL_WITH_GLOO (and c10d's
// USE_C10D_GLOO) when it finds them.
#ifdef UNROLL_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
// NCCL: only a LibTorch built with it (USE_C10D_NCCL, a CUDA build) whose nccl.h is on the path.
#if defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#define UNROLL_WITH_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <c10/util/Logging.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <utility>

#include "core/error.h"

namespace unroll {

namespace {

// LibTorch 2.0 split the process group into a front (ProcessGroup) and per-device backends: Gloo and
// NCCL derive from c10d::Backend there, from c10d::ProcessGroup in 1.13. Both have the collectives
// used here with the same signatures.
#if TORCH_VERSION_MAJOR >= 2
using Comm = c10d::Backend;
#else
using Comm = c10d::ProcessGroup;
#endif

std::shared_ptr<Distributed> g_group;
bool g_init_called = false;

std::string first_line(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  // Gloo prefixes its messages with its source position: "[../gloo/transport/tcp/pair.cc:589] Read error".
  if (!line.empty() && line[0] == '[') {
    const size_t close = line.find("] ");
    if (close != std::string::npos && line.find(".cc:") < close) line = line.substr(close + 2);
  }
  return line;
}

// A non-negative integer variable of the environment, or std::nullopt when unset or empty.
std::optional<long long> int_var(const std::function<const char*(const char*)>& env, const char* name,
                                 const std::string& hint = "") {
  const char* v = env(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  const std::string s = v;
  try {
    size_t used = 0;
    const long long x = std::stoll(s, &used);
    if (used == s.size() && x >= 0) return x;
  } catch (const std::exception&) {
  }
  fail("distributed: ", name, " must be a non-negative integer, got '", s, "'", hint);
}

std::string str_var(const std::function<const char*(const char*)>& env, const char* name) {
  const char* v = env(name);
  return v == nullptr ? "" : v;
}

int parse_port(const std::string& text, const std::string& what) {
  try {
    size_t used = 0;
    const long long p = std::stoll(text, &used);
    if (used == text.size() && p >= 1 && p <= 65535) return static_cast<int>(p);
  } catch (const std::exception&) {
  }
  fail("distributed: ", what, " must be a port in 1..65535, got '", text, "'");
}

// c10d logs a failed connection on stderr before it throws (with glog, after a line about glog's own
// set-up); the exception is what Unroll reports, as its one error line. For the lifetime of the scope
// only fatal messages are logged.
class QuietC10dLogs {
 public:
#ifdef C10_USE_GLOG
  QuietC10dLogs() : saved_(FLAGS_minloglevel) { FLAGS_minloglevel = google::GLOG_FATAL; }
  ~QuietC10dLogs() { FLAGS_minloglevel = saved_; }
#else
  QuietC10dLogs() : saved_(FLAGS_caffe2_log_level) { FLAGS_caffe2_log_level = 3; }  // 3: FATAL
  ~QuietC10dLogs() { FLAGS_caffe2_log_level = saved_; }
#endif
  QuietC10dLogs(const QuietC10dLogs&) = delete;
  QuietC10dLogs& operator=(const QuietC10dLogs&) = delete;

 private:
  int saved_;
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.compare(0, 4, "127.") == 0 || host == "::1";
}

}  // namespace

std::optional<Rendezvous> read_rendezvous(const DistributedOptions& options,
                                          const std::function<const char*(const char*)>& getenv_fn) {
  const std::function<const char*(const char*)> env =
      getenv_fn ? getenv_fn : [](const char* name) -> const char* { return std::getenv(name); };
  Rendezvous r;
  const std::string& init = options.init;
  std::string tcp_host;
  int tcp_port = 0;
  if (init.compare(0, 7, "file://") == 0) {
    r.file = init.substr(7);
    UNROLL_CHECK(!r.file.empty() && r.file[0] == '/', "--dist-init: a file store needs an absolute path, "
                 "file:///PATH, got '", init, "'");
  } else if (init.compare(0, 6, "tcp://") == 0) {
    const std::string hp = init.substr(6);
    const size_t colon = hp.rfind(':');
    UNROLL_CHECK(colon != std::string::npos && colon > 0, "--dist-init: expected tcp://HOST:PORT, got '", init, "'");
    tcp_host = hp.substr(0, colon);
    tcp_port = parse_port(hp.substr(colon + 1), "the port of --dist-init " + init);
  } else {
    UNROLL_CHECK(init.empty() || init == "env://", "--dist-init: expected env://, file:///PATH or tcp://HOST:PORT, got '",
                 init, "'");
  }
  UNROLL_CHECK(options.backend.empty() || options.backend == "gloo" || options.backend == "nccl",
               "--dist-backend: expected gloo or nccl, got '", options.backend, "'");

  // Who: torchrun's variables first (torchrun may itself run under Slurm), then Slurm's.
  const auto rank = int_var(env, "RANK"), world = int_var(env, "WORLD_SIZE");
  const auto slurm_rank = int_var(env, "SLURM_PROCID"), slurm_world = int_var(env, "SLURM_NTASKS");
  if (rank || world) {
    UNROLL_CHECK(rank && world, "distributed: ", rank ? "RANK" : "WORLD_SIZE", " is set but ",
                 rank ? "WORLD_SIZE" : "RANK", " is not (torchrun sets both)");
    r.launcher = "torchrun";
    r.rank = static_cast<int>(*rank);
    r.world_size = static_cast<int>(*world);
    r.local_rank = static_cast<int>(int_var(env, "LOCAL_RANK").value_or(0));
    UNROLL_CHECK(*world >= 1 && *world <= 65536, "distributed: WORLD_SIZE must be in 1..65536, got ", *world);
    UNROLL_CHECK(*rank < *world, "distributed: RANK=", *rank, " must be below WORLD_SIZE=", *world,
                 " (ranks are 0..WORLD_SIZE-1)");
  } else if (slurm_world && *slurm_world > 1) {
    UNROLL_CHECK(slurm_rank, "distributed: SLURM_NTASKS=", *slurm_world, " but SLURM_PROCID is not set (start the ",
                 "ranks with srun)");
    r.launcher = "slurm";
    r.rank = static_cast<int>(*slurm_rank);
    r.world_size = static_cast<int>(*slurm_world);
    r.local_rank = static_cast<int>(int_var(env, "SLURM_LOCALID").value_or(0));
    UNROLL_CHECK(*slurm_rank < *slurm_world, "distributed: SLURM_PROCID=", *slurm_rank,
                 " must be below SLURM_NTASKS=", *slurm_world);
  } else {
    UNROLL_CHECK(init.empty() || init == "env://", "--dist-init ", init, ": no ranks in the environment: set RANK and ",
                 "WORLD_SIZE (torchrun does) or start the processes with srun");
    return std::nullopt;
  }
  if (r.world_size == 1) return std::nullopt;  // one process: nothing to share

  if (!r.file.empty()) {
    // A file store needs no address.
  } else if (!tcp_host.empty()) {
    r.address = tcp_host;
    r.port = tcp_port;
  } else {
    const std::string where = r.launcher == "slurm" ? "SLURM_NTASKS=" + std::to_string(r.world_size)
                                                    : "WORLD_SIZE=" + std::to_string(r.world_size);
    r.address = str_var(env, "MASTER_ADDR");
    UNROLL_CHECK(!r.address.empty(), "distributed: ", where, " but MASTER_ADDR is not set (the host of rank 0; ",
                 "torchrun sets it) -- or pass --dist-init tcp://HOST:PORT or file:///PATH");
    const std::string port = str_var(env, "MASTER_PORT");
    UNROLL_CHECK(!port.empty(), "distributed: ", where, " but MASTER_PORT is not set (a free port on rank 0's host; ",
                 "torchrun sets it) -- or pass --dist-init tcp://HOST:PORT");
    r.port = parse_port(port, "MASTER_PORT");
  }
  const std::string timeout = str_var(env, "UNROLL_DIST_TIMEOUT");
  if (!timeout.empty()) {
    try {
      size_t used = 0;
      r.timeout_s = std::stod(timeout, &used);
      UNROLL_CHECK(used == timeout.size(), "");
    } catch (const std::exception&) {
      r.timeout_s = -1;
    }
    UNROLL_CHECK(r.timeout_s > 0 && r.timeout_s <= 1e6, "distributed: UNROLL_DIST_TIMEOUT must be seconds in (0, 1e6], got '",
                 timeout, "'");
  }
  return r;
}

bool has_distributed_backend(const std::string& backend) {
#ifdef UNROLL_WITH_GLOO
  if (backend == "gloo") return true;
#endif
#ifdef UNROLL_WITH_NCCL
  if (backend == "nccl") return torch::cuda::is_available();
#endif
  return false;
}

struct Distributed::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Comm> comm;
};

Distributed::Distributed(Rendezvous rdv, std::string backend, std::unique_ptr<Impl> impl)
    : rdv_(std::move(rdv)), backend_(std::move(backend)), impl_(std::move(impl)) {}

Distributed::~Distributed() = default;

void Distributed::fail_collective(const std::string& what, const std::exception& e) const {
  const std::string detail = first_line(e.what());
  const std::string peer = world_size() == 2 ? "rank " + std::to_string(1 - rank()) : "another rank";
  std::string cause;
  auto has = [&](const char* s) { return detail.find(s) != std::string::npos; };
  if (has("reset by peer") || has("Connection closed") || has("closed by peer") || has("Broken pipe") || has("EOF"))
    cause = peer + " is gone (exited, killed or crashed)";
  else if (has("imed out") || has("imeout"))
    cause = peer + " did not answer within UNROLL_DIST_TIMEOUT = " + std::to_string(static_cast<long long>(rdv_.timeout_s)) +
            " s (dead, hung, or busy longer than that)";
  else
    cause = "the group broke";
  fail("distributed: rank ", rank(), " of ", world_size(), ": ", what, " failed: ", cause, " (", backend_, ": ", detail,
       ")");
}

namespace {

// Tensors of one dtype and device, flattened into one buffer for a single collective.
struct Bucket {
  std::vector<torch::Tensor> tensors;
  torch::Tensor flat() const {
    std::vector<torch::Tensor> views;
    for (const auto& t : tensors) views.push_back(t.reshape({-1}));
    return torch::cat(views);
  }
  void unflatten(const torch::Tensor& flat) const {
    int64_t offset = 0;
    for (const auto& t : tensors) {
      t.copy_(flat.narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
  }
};

std::vector<Bucket> make_buckets(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  std::vector<Bucket> buckets;
  std::map<std::pair<int, std::string>, size_t> open;  // (dtype, device) -> its bucket being filled
  std::map<size_t, int64_t> filled;
  for (const auto& t : tensors) {
    const auto key = std::make_pair(static_cast<int>(t.scalar_type()), t.device().str());
    auto it = open.find(key);
    if (it == open.end() || filled[it->second] >= bucket_bytes) {
      buckets.emplace_back();
      it = open.insert_or_assign(key, buckets.size() - 1).first;
    }
    buckets[it->second].tensors.push_back(t);
    filled[it->second] += t.numel() * static_cast<int64_t>(t.element_size());
  }
  return buckets;
}

}  // namespace

void Distributed::broadcast(std::vector<torch::Tensor>& tensors, const std::string& what) {
  try {
    for (const Bucket& b : make_buckets(tensors, 25 << 20)) {
      std::vector<torch::Tensor> flat{b.flat()};
      c10d::BroadcastOptions o;
      o.rootRank = 0;
      impl_->comm->broadcast(flat, o)->wait();
      torch::NoGradGuard no_grad;
      b.unflatten(flat[0]);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail_collective(what, e);
  }
}

void Distributed::all_reduce_sum(torch::Tensor& tensor, const std::string& what) {
  try {
    std::vector<torch::Tensor> one{tensor};
    impl_->comm->allreduce(one)->wait();
  } catch (const std::exception& e) {
    fail_collective(what, e);
  }
}

void Distributed::barrier(const std::string& what) {
  try {
    impl_->comm->barrier()->wait();
  } catch (const std::exception& e) {
    fail_collective(what, e);
  }
}

// Byte strings travel as uint8 tensors on the CPU (Gloo) or the rank's GPU (NCCL takes CUDA tensors only).
static torch::TensorOptions byte_options(const std::string& backend, int local_rank) {
  auto o = torch::TensorOptions().dtype(torch::kUInt8);
  return backend == "nccl" ? o.device(torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank))) : o;
}

void Distributed::broadcast_bytes(std::string& bytes, const std::string& what) {
  const auto opts = byte_options(backend_, local_rank());
  std::vector<torch::Tensor> size{torch::full({1}, static_cast<int64_t>(bytes.size()), opts.dtype(torch::kInt64))};
  broadcast(size, what);
  const int64_t n = size[0].item<int64_t>();
  if (n == 0) {
    bytes.clear();
    return;
  }
  torch::Tensor data = rank() == 0 ? torch::from_blob(bytes.data(), {n}, torch::kUInt8).to(opts, false, true)
                                   : torch::empty({n}, opts);
  std::vector<torch::Tensor> one{data};
  broadcast(one, what);
  const torch::Tensor host = one[0].cpu().contiguous();
  bytes.assign(reinterpret_cast<const char*>(host.data_ptr<uint8_t>()), static_cast<size_t>(n));
}

std::vector<std::string> Distributed::all_gather_bytes(const std::string& mine, const std::string& what) {
  const auto opts = byte_options(backend_, local_rank());
  std::vector<std::string> out(static_cast<size_t>(world_size()));
  try {
    auto gather = [&](const torch::Tensor& t) {
      std::vector<std::vector<torch::Tensor>> outputs(1);
      for (int r = 0; r < world_size(); ++r) outputs[0].push_back(torch::empty_like(t));
      std::vector<torch::Tensor> input{t};
      impl_->comm->allgather(outputs, input)->wait();
      return outputs[0];
    };
    const auto sizes = gather(torch::full({1}, static_cast<int64_t>(mine.size()), opts.dtype(torch::kInt64)));
    int64_t longest = 0;
    for (const auto& s : sizes) longest = std::max(longest, s.item<int64_t>());
    auto padded = torch::zeros({std::max<int64_t>(longest, 1)}, torch::kUInt8);
    if (!mine.empty())
      padded.narrow(0, 0, static_cast<int64_t>(mine.size()))
          .copy_(torch::from_blob(const_cast<char*>(mine.data()), {static_cast<int64_t>(mine.size())}, torch::kUInt8));
    const auto all = gather(padded.to(opts));
    for (int r = 0; r < world_size(); ++r) {
      const torch::Tensor host = all[static_cast<size_t>(r)].cpu().contiguous();
      out[static_cast<size_t>(r)].assign(reinterpret_cast<const char*>(host.data_ptr<uint8_t>()),
                                         static_cast<size_t>(sizes[static_cast<size_t>(r)].item<int64_t>()));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail_collective(what, e);
  }
  return out;
}

double Distributed::average_gradients(const std::vector<torch::Tensor>& parameters, double extra,
                                      const std::string& what, int64_t bucket_bytes) {
  UNROLL_CHECK(!parameters.empty(), "distributed: average_gradients of no parameters");
  // Which gradients exist anywhere, and the sum of `extra`: one small all-reduce, so that every rank
  // then reduces the same list of buffers (a rank whose batch left a parameter unused has no gradient
  // for it; the others may have one).
  const size_t n = parameters.size();
  auto head = torch::zeros({static_cast<int64_t>(n) + 1}, torch::kFloat64);
  {
    auto a = head.accessor<double, 1>();
    for (size_t i = 0; i < n; ++i) a[static_cast<int64_t>(i)] = parameters[i].grad().defined() ? 1.0 : 0.0;
    a[static_cast<int64_t>(n)] = extra;
  }
  const auto device = parameters.front().device();
  torch::Tensor on_device = head.to(device);
  all_reduce_sum(on_device, what);
  head = on_device.cpu();
  const auto a = head.accessor<double, 1>();
  std::vector<torch::Tensor> grads;
  for (size_t i = 0; i < n; ++i) {
    const torch::Tensor& p = parameters[i];
    if (a[static_cast<int64_t>(i)] == 0) continue;  // unused on every rank: stays undefined
    if (!p.grad().defined()) const_cast<torch::Tensor&>(p).mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  try {
    torch::NoGradGuard no_grad;
    for (const Bucket& b : make_buckets(grads, bucket_bytes)) {
      std::vector<torch::Tensor> flat{b.flat()};
      impl_->comm->allreduce(flat)->wait();
      flat[0].div_(static_cast<double>(world_size()));
      b.unflatten(flat[0]);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail_collective(what, e);
  }
  return a[static_cast<int64_t>(n)];
}

std::shared_ptr<Distributed> init_distributed(const DistributedOptions& options, const std::string& device) {
  UNROLL_CHECK(!g_init_called, "distributed: the process group is made once per process");
  g_init_called = true;
  const std::optional<Rendezvous> rdv = read_rendezvous(options);
  if (!rdv) return nullptr;
  const Rendezvous& r = *rdv;
  const std::string backend =
      !options.backend.empty() ? options.backend : device.compare(0, 4, "cuda") == 0 ? "nccl" : "gloo";
  UNROLL_CHECK(backend != "nccl" || device.compare(0, 4, "cuda") == 0, "distributed: backend nccl reduces CUDA tensors ",
               "only; the device is ", device, " (use --dist-backend gloo, or --device cuda)");
  if (!has_distributed_backend(backend)) {
    if (backend == "nccl")
      fail("distributed: backend nccl needs a LibTorch built with CUDA and NCCL (its headers included) and a CUDA "
           "device; this one has none -- use --dist-backend gloo");
    fail("distributed: backend gloo is not in this build (CMake did not find Gloo's headers: install libgloo-dev and "
         "reconfigure)");
  }
  const std::string who = "rank " + std::to_string(r.rank) + " of " + std::to_string(r.world_size);
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(r.timeout_s * 1000));
  auto impl = std::make_unique<Distributed::Impl>();
  const QuietC10dLogs quiet;
  const std::string store_name = r.file.empty() ? r.address + ":" + std::to_string(r.port) : "file://" + r.file;
  try {
    if (!r.file.empty()) {
      impl->store = c10::make_intrusive<c10d::FileStore>(r.file, r.world_size);
      impl->store->setTimeout(timeout);
    } else {
      c10d::TCPStoreOptions so;
      so.port = static_cast<uint16_t>(r.port);
      so.isServer = r.rank == 0;
      so.numWorkers = static_cast<size_t>(r.world_size);
      so.waitWorkers = false;
      so.timeout = timeout;
      impl->store = c10::make_intrusive<c10d::TCPStore>(r.address, so);
    }
  } catch (const std::exception& e) {
    if (r.rank == 0 && r.file.empty())
      fail("distributed: ", who, ": cannot start the store on ", store_name, " (", first_line(e.what()),
           "); is the port free and MASTER_ADDR this host?");
    fail("distributed: ", who, ": cannot reach the store at ", store_name, " within ", r.timeout_s, " s (",
         first_line(e.what()), "); is rank 0 running, and MASTER_ADDR / MASTER_PORT right?");
  }
  try {
    if (backend == "gloo") {
#ifdef UNROLL_WITH_GLOO
      auto o = c10d::ProcessGroupGloo::Options::create(timeout);
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname != nullptr && *ifname != '\0')
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (r.file.empty() && is_loopback(r.address))
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      impl->comm = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, r.rank, r.world_size, o);
#endif
    } else {
#ifdef UNROLL_WITH_NCCL
      // Blocking waits, so that a lost rank raises in wait() after the timeout instead of hanging the
      // CUDA stream (TORCH_NCCL_BLOCKING_WAIT in LibTorch >= 2.2, NCCL_BLOCKING_WAIT before).
      setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
      setenv("NCCL_BLOCKING_WAIT", "1", 0);
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      impl->comm = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, r.rank, r.world_size, o);
#endif
    }
  } catch (const std::exception& e) {
    fail("distributed: ", who, ": the ", backend, " group did not form within ", r.timeout_s, " s (",
         first_line(e.what()), "); did every rank start, with the same WORLD_SIZE?");
  }
  g_group = std::shared_ptr<Distributed>(new Distributed(r, backend, std::move(impl)));
  // Everyone is here: this also makes the group's first collective a check that it works.
  g_group->barrier("joining the group");
  return g_group;
}

Distributed* distributed() { return g_group.get(); }
int dist_rank() { return g_group ? g_group->rank() : 0; }
int dist_world_size() { return g_group ? g_group->world_size() : 1; }

std::string rank_device(const std::string& device) {
  // LOCAL_RANK modulo the GPUs this process sees: Slurm's --gpus-per-task=1 shows each task one GPU.
  const int64_t gpus = static_cast<int64_t>(torch::cuda::device_count());
  if (g_group && device == "cuda" && gpus > 0) return "cuda:" + std::to_string(g_group->local_rank() % gpus);
  return device;
}

}  // namespace unroll
