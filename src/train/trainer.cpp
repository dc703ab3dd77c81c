#include "train/trainer.h"

#include <ATen/autocast_mode.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/version.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/unroll_format.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/tensor_geometry.h"
#include "datasets/kernels.h"

namespace unroll {
namespace fs = std::filesystem;

namespace {

constexpr const char* kLogHeader = "step,lr,loss,val_psnr,seconds\n";

// ---- the TorchScript code records of resume.pt ----------------------------------------------------------
// torch::serialize::OutputArchive stores each archive as a TorchScript class in code/**.py, which
// torch::jit::load compiles; one changed byte there (`__buffers__` -> `O_buffers__`) made LibTorch 1.13
// segfault in its class parser (found by tests/fuzz/fuzz_resume.cpp). The archives hold attributes only,
// so each record must be exactly what OutputArchive writes:
//   class Module(Module):
//     __parameters__ = ["NAME", ...]        __buffers__ = [...]        __annotations__ = []
//     __annotations__["NAME"] = TYPE        IDENT : TYPE
// TYPE: Tensor, int, float, bool, str, __torch__.___torch_mangle_N.Module, or Tuple / List / Optional /
// Dict of TYPEs, nested at most 4 deep.

bool is_ident(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

// Parses one TYPE at `pos`, advancing it; false when the text is not a TYPE.
bool parse_code_type(const std::string& s, size_t& pos, int depth) {
  if (depth > 4) return false;
  size_t end = pos;
  while (end < s.size() && (std::isalnum(static_cast<unsigned char>(s[end])) || s[end] == '_' || s[end] == '.')) ++end;
  const std::string name = s.substr(pos, end - pos);
  pos = end;
  static const std::set<std::string> kPlain = {"Tensor", "int", "float", "bool", "str"};
  if (kPlain.count(name)) return true;
  static const std::string kClass = "__torch__.___torch_mangle_";
  if (name.compare(0, kClass.size(), kClass) == 0) {
    const std::string rest = name.substr(kClass.size());
    const size_t dot = rest.find('.');
    return dot != std::string::npos && dot > 0 && rest.substr(dot) == ".Module" &&
           rest.find_first_not_of("0123456789") == dot;
  }
  if (name != "Tuple" && name != "List" && name != "Optional" && name != "Dict") return false;
  if (pos >= s.size() || s[pos] != '[') return false;
  ++pos;
  while (true) {
    if (!parse_code_type(s, pos, depth + 1)) return false;
    if (pos < s.size() && s[pos] == ']') return ++pos, true;
    if (s.compare(pos, 2, ", ") != 0) return false;
    pos += 2;
  }
}

bool is_code_type(const std::string& s) {
  size_t pos = 0;
  return parse_code_type(s, pos, 0) && pos == s.size();
}

// "NAME" with no quote, backslash or control character inside.
bool is_quoted_name(const std::string& s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (size_t k = 1; k + 1 < s.size(); ++k)
    if (s[k] == '"' || s[k] == '\\' || static_cast<unsigned char>(s[k]) < 0x20) return false;
  return true;
}

bool is_name_list(const std::string& s) {  // ["a", "b", ] or []
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') return false;
  size_t pos = 1;
  while (pos + 1 < s.size()) {
    const size_t close = s.find('"', pos + 1);
    if (s[pos] != '"' || close == std::string::npos || !is_quoted_name(s.substr(pos, close - pos + 1)) ||
        s.compare(close + 1, 2, ", ") != 0)
      return false;
    pos = close + 3;
  }
  return pos + 1 == s.size();
}

bool is_code_line(const std::string& line) {
  if (line.empty()) return true;
  if (line.compare(0, 2, "  ") != 0) return false;
  const std::string body = line.substr(2);
  for (const char* list : {"__parameters__ = ", "__buffers__ = "})
    if (body.compare(0, std::strlen(list), list) == 0) return is_name_list(body.substr(std::strlen(list)));
  if (body == "__annotations__ = []") return true;
  if (body.compare(0, 16, "__annotations__[") == 0) {
    const size_t close = body.find("] = ");
    return close != std::string::npos && is_quoted_name(body.substr(16, close - 16)) &&
           is_code_type(body.substr(close + 4));
  }
  const size_t colon = body.find(" : ");
  return colon != std::string::npos && is_ident(body.substr(0, colon)) && is_code_type(body.substr(colon + 3));
}

/// Throws unroll::Error naming `what` and the record unless every code/**.py record of the archive at
/// `path` has the form above.
void check_archive_code(const std::string& path, const std::string& what) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    for (const std::string& record : reader.getAllRecords()) {
      if (record.compare(0, 5, "code/") != 0 || record.size() < 3 || record.compare(record.size() - 3, 3, ".py") != 0)
        continue;
      at::DataPtr data;
      size_t size = 0;
      std::tie(data, size) = reader.getRecord(record);
      std::istringstream text(std::string(static_cast<const char*>(data.get()), size));
      std::string line;
      int line_no = 0;
      while (std::getline(text, line)) {
        ++line_no;
        const bool ok = line_no == 1 ? line == "class Module(Module):" : is_code_line(line);
        UNROLL_CHECK(ok, what, ": ", record, ":", line_no, " is not a class declaration as resume.pt holds "
                     "(corrupt): '", line.substr(0, 80), "'");
      }
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    const std::string message = e.what();
    fail(what, ": cannot read the archive (corrupt or truncated): ", message.substr(0, message.find('\n')));
  }
}

std::string format_row(const TrainLogRow& r) {
  char buf[160];
  char val[40] = "";
  if (std::isfinite(r.val_psnr)) std::snprintf(val, sizeof val, "%.4f", r.val_psnr);
  std::snprintf(buf, sizeof buf, "%lld,%.9g,%.9g,%s,%.3f\n", static_cast<long long>(r.step), r.lr, r.loss, val,
                r.seconds);
  return buf;
}

torch::Tensor scalar_i64(int64_t v) { return torch::tensor({v}, torch::kInt64); }

// Torch's global RNG on a rank > 0 (rank 0 keeps `seed`, and its state is the one checkpointed).
uint64_t rank_torch_seed(uint64_t seed, int rank, int64_t step) {
  return mix_seed(mix_seed(mix_seed(seed) + static_cast<uint64_t>(rank)) + static_cast<uint64_t>(step));
}
torch::Tensor scalar_f64(double v) { return torch::tensor({v}, torch::kFloat64); }

// LibTorch 2.4 replaced the CUDA-specific autocast calls by ones taking the device type (the old ones
// were deprecated); both spellings of the same four calls.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool cuda_autocast_enabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
void set_cuda_autocast_enabled(bool on) { at::autocast::set_autocast_enabled(at::kCUDA, on); }
at::ScalarType cuda_autocast_dtype() { return at::autocast::get_autocast_dtype(at::kCUDA); }
void set_cuda_autocast_dtype(at::ScalarType t) { at::autocast::set_autocast_dtype(at::kCUDA, t); }
#else
bool cuda_autocast_enabled() { return at::autocast::is_enabled(); }
void set_cuda_autocast_enabled(bool on) { at::autocast::set_enabled(on); }
at::ScalarType cuda_autocast_dtype() { return at::autocast::get_autocast_gpu_dtype(); }
void set_cuda_autocast_dtype(at::ScalarType t) { at::autocast::set_autocast_gpu_dtype(t); }
#endif

/// bf16 autocast (CUDA) for the lifetime of the scope when `on`; restores the previous state.
class AutocastScope {
 public:
  explicit AutocastScope(bool on) : on_(on) {
    if (!on_) return;
    was_enabled_ = cuda_autocast_enabled();
    previous_dtype_ = cuda_autocast_dtype();
    set_cuda_autocast_dtype(at::kBFloat16);
    set_cuda_autocast_enabled(true);
  }
  ~AutocastScope() {
    if (!on_) return;
    set_cuda_autocast_enabled(was_enabled_);
    set_cuda_autocast_dtype(previous_dtype_);
    at::autocast::clear_cache();
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_, was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kHalf;
};

}  // namespace

void TrainerOptions::validate() const {
  UNROLL_CHECK(steps > 0, "trainer: steps must be > 0, got ", steps);
  UNROLL_CHECK(batch >= 1, "trainer: batch must be >= 1, got ", batch);
  UNROLL_CHECK(crop >= 8, "trainer: crop must be >= 8, got ", crop);
  UNROLL_CHECK(std::isfinite(lr) && lr > 0, "trainer: lr must be > 0, got ", lr);
  UNROLL_CHECK(warmup_steps >= 0 && warmup_steps < steps, "trainer: warmup_steps must be in [0, steps = ", steps,
               "), got ", warmup_steps);
  UNROLL_CHECK(std::isfinite(min_lr) && min_lr >= 0 && min_lr <= lr, "trainer: min_lr must be in [0, lr = ", lr,
               "], got ", min_lr);
  UNROLL_CHECK(std::isfinite(grad_clip) && grad_clip >= 0, "trainer: grad_clip must be >= 0 (0 = off), got ",
               grad_clip);
  UNROLL_CHECK(accumulate >= 1, "trainer: accumulate must be >= 1, got ", accumulate);
  UNROLL_CHECK(adam_beta1 >= 0 && adam_beta1 < 1, "trainer: adam_beta1 must be in [0, 1), got ", adam_beta1);
  UNROLL_CHECK(adam_beta2 >= 0 && adam_beta2 < 1, "trainer: adam_beta2 must be in [0, 1), got ", adam_beta2);
  UNROLL_CHECK(std::isfinite(weight_decay) && weight_decay >= 0, "trainer: weight_decay must be >= 0, got ",
               weight_decay);
  UNROLL_CHECK(checkpoint_every >= 0, "trainer: checkpoint_every must be >= 0 (0 = only at the end), got ",
               checkpoint_every);
  UNROLL_CHECK(validate_every >= 0, "trainer: validate_every must be >= 0 (0 = only at the end), got ",
               validate_every);
  UNROLL_CHECK(log_every >= 1, "trainer: log_every must be >= 1, got ", log_every);
}

double lr_at(const TrainerOptions& o, int64_t step) {
  UNROLL_CHECK(step >= 0 && step < o.steps, "trainer: lr_at step must be in [0, steps = ", o.steps, "), got ", step);
  if (step < o.warmup_steps) return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup_steps);
  const int64_t span = o.steps - 1 - o.warmup_steps;
  double t = span > 0 ? static_cast<double>(step - o.warmup_steps) / static_cast<double>(span) : 0.0;
  t = std::min(1.0, std::max(0.0, t));
  return o.min_lr + (o.lr - o.min_lr) * 0.5 * (1.0 + std::cos(M_PI * t));
}

double gradient_norm(const std::vector<torch::Tensor>& parameters) {
  double sq = 0;
  for (const auto& p : parameters) {
    if (!p.grad().defined()) continue;
    const double n = p.grad().detach().norm().item<double>();
    sq += n * n;
  }
  return std::sqrt(sq);
}

Trainer::Trainer(std::shared_ptr<torch::nn::Module> model, BatchLoss batch_loss, TrainerOptions options,
                 Validator validator)
    : model_(std::move(model)), batch_loss_(std::move(batch_loss)), options_(std::move(options)),
      validator_(std::move(validator)) {
  options_.validate();
  UNROLL_CHECK(model_ != nullptr, "trainer: model is null");
  UNROLL_CHECK(static_cast<bool>(batch_loss_), "trainer: batch_loss callback is empty");
  std::vector<torch::Tensor> params;
  for (const auto& p : model_->parameters())
    if (p.requires_grad()) params.push_back(p);
  UNROLL_CHECK(!params.empty(), "trainer: the model has no trainable parameters");
  torch::optim::AdamOptions adam(options_.lr);
  adam.betas({options_.adam_beta1, options_.adam_beta2}).weight_decay(options_.weight_decay);
  optimizer_ = std::make_unique<torch::optim::Adam>(params, adam);
  torch::manual_seed(options_.seed);
  dist_ = distributed();
  if (dist_ != nullptr) {
    writer_ = dist_->rank() == 0;
    if (!writer_) torch::manual_seed(rank_torch_seed(options_.seed, dist_->rank(), 0));
  }
  if (options_.mixed_precision) {
    autocast_ = params.front().is_cuda();
    if (!autocast_)
      std::cerr << "trainer: mixed_precision (bf16 autocast) needs a CUDA device; the model is on "
                << params.front().device() << ", training in " << params.front().scalar_type() << "\n";
  }
}

std::string Trainer::model_path() const {
  return options_.out_dir.empty() ? "" : (fs::path(options_.out_dir) / "model.pth").string();
}
std::string Trainer::resume_path() const {
  return options_.out_dir.empty() ? "" : (fs::path(options_.out_dir) / "resume.pt").string();
}
std::string Trainer::log_path() const {
  return options_.out_dir.empty() ? "" : (fs::path(options_.out_dir) / "train_log.csv").string();
}

void Trainer::save_checkpoint() {
  if (options_.out_dir.empty() || !writer_) return;
  save_state_dict(model_path(), with_unroll_marker(module_state_dict(*model_)));

  // Model tensors under index keys (archive keys cannot hold PyTorch's dotted names), with the names
  // joined in one string so resume() can check them before touching the model.
  torch::serialize::OutputArchive root, model_ar, optim_ar;
  const StateDict state = module_state_dict(*model_);
  std::string names;
  for (size_t i = 0; i < state.size(); ++i) {
    model_ar.write("t" + std::to_string(i), state[i].second.detach());
    names += state[i].first + "\n";
  }
  model_ar.write("names", c10::IValue(names));
  optimizer_->save(optim_ar);
  root.write("model", model_ar);
  root.write("optimizer", optim_ar);
  root.write("step", scalar_i64(step_));
  root.write("steps", scalar_i64(options_.steps));
  root.write("world_size", scalar_i64(dist_ ? dist_->world_size() : 1));
  root.write("seconds", scalar_f64(seconds_));
  root.write("last_val_psnr", scalar_f64(last_val_psnr_));
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    root.write("cpu_rng", gen.get_state());
  }
  write_atomically(resume_path(), [&](const std::string& tmp) { root.save_to(tmp); });
}

bool Trainer::resume() {
  if (options_.out_dir.empty()) return false;
  const std::string path = resume_path();
  const std::string what = "trainer: checkpoint " + path;
  // LibTorch's reader trusts the file (a tensor view past its storage corrupts the heap on the first
  // optimiser step, issue 28): Unroll's own unpickler reads it first. With several ranks, rank 0 reads
  // and checks the file and sends its bytes (or its error) to the others.
  std::string bytes;
  if (dist_ == nullptr) {
    if (!fs::exists(path)) return false;
    check_torch_archive(path, what);
    check_archive_code(path, what);
  } else {
    std::string status = "none";
    if (writer_ && fs::exists(path)) {
      try {
        check_torch_archive(path, what);
        check_archive_code(path, what);
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        UNROLL_CHECK(in.good() || in.eof(), what, ": cannot read it");
        status = "found";
      } catch (const Error& e) {
        status = std::string("error:") + e.what();
      }
    }
    dist_->broadcast_bytes(status, "sending the checkpoint's state");
    if (status.compare(0, 6, "error:") == 0) {
      if (writer_) fail(status.substr(6));
      fail("trainer: rank 0 could not resume: ", status.substr(6));
    }
    if (status == "none") return false;
    dist_->broadcast_bytes(bytes, "sending the checkpoint " + path);
  }
  torch::serialize::InputArchive root, model_ar, optim_ar;
  torch::Tensor step, steps, seconds, val, rng, world_size;
  try {
    // Tensors land on the model's device: a checkpoint written on one device resumes on another.
    const auto params = model_->parameters();
    const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
    if (dist_ == nullptr)
      root.load_from(path, device);
    else
      root.load_from(bytes.data(), bytes.size(), device);
    root.read("step", step);
    root.read("steps", steps);
    root.read("seconds", seconds);
    root.read("last_val_psnr", val);
    root.read("cpu_rng", rng);
    root.read("model", model_ar);
    root.read("optimizer", optim_ar);
  } catch (const std::exception& e) {
    fail("trainer: cannot read checkpoint ", path, " (corrupt or not a resume.pt): ", e.what());
  }
  // ... and every tensor LibTorch made of it is checked too, before any is used.
  for (const std::string& key : root.keys()) {
    c10::IValue value;
    if (root.try_read(key, value)) check_tensors_in_storage(value, what, key);
  }
  const int64_t s = step.item<int64_t>();
  UNROLL_CHECK(s >= 0 && s <= options_.steps, "trainer: checkpoint ", path, " is at step ", s,
               " but this run has only steps = ", options_.steps);
  // Checkpoints from before distributed training have no world size: one process wrote them.
  const int64_t saved_world = root.try_read("world_size", world_size) ? world_size.item<int64_t>() : 1;
  const int64_t world = dist_ ? dist_->world_size() : 1;
  UNROLL_CHECK(saved_world == world, "trainer: checkpoint ", path, " was written by ", saved_world,
               " process(es) (a global batch of ", saved_world, " x ", options_.batch, "), this run has ", world,
               ": resume it with ", saved_world, ", or start afresh (--restart)");
  // Read and check every model tensor before changing anything.
  const StateDict live = module_state_dict(*model_);
  StateDict saved;
  {
    c10::IValue names_value;
    UNROLL_CHECK(model_ar.try_read("names", names_value) && names_value.isString(), "trainer: checkpoint ", path,
                 " has no model names (corrupt or not a resume.pt)");
    std::istringstream names(names_value.toStringRef());
    for (std::string name; std::getline(names, name);) {
      torch::Tensor t;
      UNROLL_CHECK(model_ar.try_read("t" + std::to_string(saved.size()), t), "trainer: checkpoint ", path,
                   " lacks the tensor of '", name, "' (corrupt)");
      saved.emplace_back(name, t);
    }
  }
  for (size_t i = 0; i < std::max(saved.size(), live.size()); ++i) {
    UNROLL_CHECK(i < saved.size(), "trainer: checkpoint ", path, " is of another model: it lacks '", live[i].first, "'");
    UNROLL_CHECK(i < live.size(), "trainer: checkpoint ", path, " is of another model: unexpected '", saved[i].first,
                 "'");
    UNROLL_CHECK(saved[i].first == live[i].first, "trainer: checkpoint ", path, " is of another model: entry ", i,
                 " is '", saved[i].first, "', the model's is '", live[i].first, "'");
    UNROLL_CHECK(saved[i].second.sizes() == live[i].second.sizes(), "trainer: checkpoint ", path,
                 " is of another model: '", live[i].first, "' has shape ", saved[i].second.sizes(),
                 ", the model's is ", live[i].second.sizes());
    UNROLL_CHECK(!saved[i].second.is_floating_point() || torch::isfinite(saved[i].second).all().item<bool>(),
                 what, ": '", saved[i].first, "' holds NaN or Inf values (a corrupt or diverged checkpoint)");
  }
  try {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < live.size(); ++i) live[i].second.copy_(saved[i].second);
    optimizer_->load(optim_ar);
  } catch (const std::exception& e) {
    fail("trainer: checkpoint ", path, " does not match this optimiser: ", e.what());
  }
  if (writer_) {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng.cpu());
  } else {
    torch::manual_seed(rank_torch_seed(options_.seed, dist_->rank(), s));
  }
  step_ = s;
  seconds_ = seconds.item<double>();
  last_val_psnr_ = val.item<double>();
  truncate_log_after(step_);
  return true;
}

void Trainer::truncate_log_after(int64_t step) {
  const std::string path = log_path();
  if (path.empty() || !writer_) return;
  std::string kept = kLogHeader;
  std::ifstream in(path);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    if (line.empty()) continue;
    long long row_step = -1;
    if (std::sscanf(line.c_str(), "%lld", &row_step) == 1 && row_step <= step) kept += line + "\n";
  }
  write_text_atomically(path, kept);
  log_started_ = true;
}

void Trainer::append_log(const TrainLogRow& row) {
  const std::string path = log_path();
  if (path.empty() || !writer_) return;
  if (!log_started_) {
    write_text_atomically(path, kLogHeader);  // a fresh run replaces any older log
    log_started_ = true;
  }
  const std::string text = format_row(row);
  std::ofstream out(path, std::ios::app | std::ios::binary);
  UNROLL_CHECK(out.good(), "trainer: cannot open ", path, " for appending");
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.flush();
  UNROLL_CHECK(out.good(), "trainer: failed writing ", path, " (disk full?)");
}

double Trainer::run_validation() {
  if (!validator_) return std::numeric_limits<double>::quiet_NaN();
  model_->eval();
  double v;
  {
    torch::NoGradGuard no_grad;
    v = validator_();
  }
  model_->train();
  return v;
}

TrainResult Trainer::run(int64_t stop_at) {
  if (stop_at < 0) stop_at = options_.steps;
  UNROLL_CHECK(stop_at <= options_.steps, "trainer: stop_at must be <= steps = ", options_.steps, ", got ", stop_at);
  TrainResult result;
  result.first_step = step_;
  if (!log_started_ && step_ > 0) truncate_log_after(step_);
  const auto params = optimizer_->param_groups().front().params();
  std::vector<torch::Tensor> buffers;
  for (const auto& b : model_->buffers())
    if (b.is_floating_point()) buffers.push_back(b);
  if (dist_ != nullptr && !synced_) {
    // The same start everywhere: rank 0's parameters and buffers (after a resume they already agree).
    std::vector<torch::Tensor> state = model_->parameters();
    state.insert(state.end(), buffers.begin(), buffers.end());
    dist_->broadcast(state, "broadcast of rank 0's initial weights");
    synced_ = true;
  }
  ProgressLine progress("train", std::max<int64_t>(stop_at - step_, 0), options_.progress && writer_ ? 1.0 : 1e300);
  model_->train();
  while (step_ < stop_at) {
    const auto t0 = std::chrono::steady_clock::now();
    // Buffers (BatchNorm statistics) follow rank 0's before each step, as DDP's broadcast_buffers.
    if (dist_ != nullptr && !buffers.empty())
      dist_->broadcast(buffers, "broadcast of rank 0's buffers at step " + std::to_string(step_ + 1));
    const double lr = lr_at(options_, step_);
    for (auto& group : optimizer_->param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    optimizer_->zero_grad();
    double loss_value = 0;
    for (int64_t j = 0; j < options_.accumulate; ++j) {
      torch::Tensor loss;
      {
        const AutocastScope autocast(autocast_);
        loss = batch_loss_(step_ * options_.accumulate + j);
      }
      UNROLL_CHECK(loss.defined() && loss.numel() == 1,
                   "trainer: batch_loss must return a one-element tensor at step ", step_);
      const double value = loss.item<double>();
      // With several ranks the check waits for the mean over the ranks, so that all stop together.
      UNROLL_CHECK(dist_ != nullptr || std::isfinite(value), "trainer: loss is ", value, " at step ", step_, " (lr ",
                   lr, "); lower lr or enable grad_clip");
      loss_value += value / static_cast<double>(options_.accumulate);
      (options_.accumulate == 1 ? loss : loss / static_cast<double>(options_.accumulate)).backward();
    }
    if (dist_ != nullptr) {
      // Bucketed all-reduce after the backward passes of the whole step rather than c10d::Reducer's
      // autograd hooks: one exchange per optimiser step whatever `accumulate` is (DDP's no_sync), no
      // dependence on the order in which autograd finishes the gradients (the deblur task's gradient
      // penalty backpropagates twice), and no use of the Reducer's constructor, whose arguments changed
      // between LibTorch 1.13 and 2.x. What it gives up is overlapping the exchange with the backward
      // pass, which on a CPU the backward pass's own threads leave no room for (docs/distributed.md).
      loss_value = dist_->average_gradients(params, loss_value, "all-reduce of the gradients at step " +
                                                                    std::to_string(step_ + 1)) /
                   static_cast<double>(dist_->world_size());
      UNROLL_CHECK(std::isfinite(loss_value), "trainer: loss (the mean over ", dist_->world_size(), " ranks) is ",
                   loss_value, " at step ", step_, " (lr ", lr, "); lower lr or enable grad_clip");
    }
    // After the all-reduce every rank holds the same mean gradient: its norm is the global one.
    if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, options_.grad_clip);
    optimizer_->step();
    ++step_;
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    result.losses.push_back(loss_value);

    const bool last = step_ == stop_at;
    const bool do_val = (options_.validate_every > 0 && step_ % options_.validate_every == 0) ||
                        step_ == options_.steps;
    TrainLogRow row{step_, lr, loss_value, std::numeric_limits<double>::quiet_NaN(), seconds_};
    if (do_val && validator_ && writer_) {
      last_val_psnr_ = run_validation();
      row.val_psnr = last_val_psnr_;
    }
    if (step_ % options_.log_every == 0 || do_val || last) append_log(row);
    if ((options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0) || last) save_checkpoint();

    char status[128];
    if (std::isfinite(last_val_psnr_))
      std::snprintf(status, sizeof status, "step %lld  loss %.5f  lr %.2e  val %.2f dB",
                    static_cast<long long>(step_), loss_value, lr, last_val_psnr_);
    else
      std::snprintf(status, sizeof status, "step %lld  loss %.5f  lr %.2e", static_cast<long long>(step_),
                    loss_value, lr);
    progress.update(step_ - result.first_step, status);
  }
  progress.finish();
  // The others wait for rank 0's last validation and checkpoint, so the job ends with it on disk.
  if (dist_ != nullptr) dist_->barrier("waiting for rank 0's last checkpoint");
  result.step = step_;
  result.last_val_psnr = last_val_psnr_;
  result.seconds = seconds_;
  return result;
}

}  // namespace unroll
