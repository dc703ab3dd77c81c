// Model weights I/O compatible with PyTorch's torch.save / torch.load (zip serialization, PyTorch >= 1.6).
//
// Reading: a .pth/.pt/.pkl file written by `torch.save` is a zip archive holding `<archive>/data.pkl`
// (a protocol-2 pickle) and one record `<archive>/data/<key>` per tensor storage. LibTorch's
// torch::pickle_load cannot read the layout of official checkpoints (it returns None for a
// collections.OrderedDict and rejects the single-item SETITEM opcode), so this module carries its own
// small unpickler for the state-dict subset of pickle: dicts (plain and OrderedDict, with their
// `_metadata` attribute ignored), lists, tuples, strings, numbers, booleans, None, and tensors
// rebuilt by `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter` from persistent storages
// (dtypes float32/64, float16, bfloat16, int64/32/16/8, uint8, bool; storage offsets, sizes and
// strides honoured, tensors sharing a storage share memory).
//
// Accepted top-level layouts: a bare state dict (what `torch.save(model.state_dict())` writes, the
// USRNet and DRUNet release format), a plain dict of tensors, and a wrapper dict whose 'model',
// 'state_dict', 'params' or 'params_ema' entry is the state dict (ConvIR uses {'model': ...}).
// Legacy pre-1.6 files (tar or raw pickle stream) are rejected with an error that names the format and
// the one-line Python conversion.
//
// Writing: save_state_dict() writes an ordered name -> tensor map with torch::pickle_save (zip format),
// which Python's torch.load reads back as a dict of tensors, atomically (core/atomic_file.h).
#pragma once

#include <torch/torch.h>

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace unroll {

/// An ordered state dict: (name, tensor) pairs in the file's order.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

/// Reads a PyTorch checkpoint (see the header comment for the accepted layouts). Tensors are on the
/// CPU with their stored dtype. Throws unroll::Error naming `path` for missing, corrupt, legacy or
/// unsupported files. Non-tensor entries of the state dict are skipped with a warning.
StateDict load_state_dict(const std::string& path);

/// The same tensors as a name -> tensor map.
std::unordered_map<std::string, torch::Tensor> load_state_dict_map(const std::string& path);

/// Reads a checkpoint from an in-memory zip archive; `what` names it in error messages.
StateDict load_state_dict_from_bytes(const std::string& bytes, const std::string& what);

/// Checks a zip archive that LibTorch's own reader is about to read -- torch::pickle_save's (training
/// bundles, train/bundle.h) or torch::serialize::OutputArchive's (a TorchScript module: the trainer's
/// resume.pt) -- by running its data.pkl and constants.pkl through this module's bounded unpickler
/// first. LibTorch 1.13's unpickler trusts its input: it builds tensor views without comparing them with
/// their storage (one changed stride byte corrupts the heap on the first in-place update, issue 28), and
/// parses restore_type_tag's type strings recursively ("List[" nested 5000 deep overflows the stack).
/// Throws unroll::Error naming `what` for anything load_state_dict refuses in a pickle (truncation,
/// unsupported opcodes, stack underflow, nesting deeper than 1000 levels, also through shared memo
/// entries), a type tag nested more than 100 brackets deep, and a tensor whose view leaves its storage
/// record (core/tensor_geometry.h), naming the entry, e.g.
/// "resume.pt: optimizer.state.0.exp_avg: tensor (offset 0, sizes [4, 4], strides [16, 1]) exceeds its
/// storage of 16 elements". Reads every storage record once.
void check_torch_archive(const std::string& path, const std::string& what);

/// Writes `tensors` (made contiguous, moved to the CPU) so that Python's `torch.load(path)` returns a
/// dict with the same names, shapes, dtypes and values in the same order. Atomic: `path` is either
/// the complete new file or left untouched. Throws unroll::Error on duplicate names or I/O failure.
void save_state_dict(const std::string& path, const StateDict& tensors);

/// The module's parameters and buffers in registration order, with PyTorch's dotted names.
StateDict module_state_dict(const torch::nn::Module& module);

/// Copies tensors into `module`'s parameters and buffers by name (casting to each parameter's dtype
/// and device). With `strict`, the key sets must match exactly, apart from Unroll's format marker
/// (never expected) and architecture flags missing from an unmarked, official file (the module keeps
/// its own value; core/unroll_format.h). Shapes must always match. On error
/// throws unroll::Error naming the FIRST offending key: a key the module has but `state` lacks
/// ("missing"), a key `state` has but the module lacks ("unexpected", strict only), or a shape mismatch
/// (expected vs found shape). `what` (e.g. the file name) prefixes the message.
void load_into_module(torch::nn::Module& module, const StateDict& state, bool strict = true,
                      const std::string& what = "checkpoint");

/// What cast_floating() changed: the exported file's cost and the precision it gave up.
struct CastSummary {
  int64_t tensors_cast = 0;      ///< floating-point tensors converted (integer/bool entries are kept)
  int64_t bytes_before = 0;      ///< tensor payload before / after (the file adds a few kB of names)
  int64_t bytes_after = 0;
  int64_t values_flushed = 0;    ///< non-zero values that became zero (below the type's smallest subnormal)
  double max_abs_error = 0.0;    ///< largest |cast - original| over every value
  double max_rel_error = 0.0;    ///< largest |cast - original| / |original| over the values that stay in the
                                 ///< type's normal range (float16: >= 6.1e-5; smaller ones keep fewer bits)
};

/// The state dict with every floating-point tensor converted to `dtype` (kFloat16, kBFloat16,
/// kFloat32 or kFloat64): how a float32 checkpoint is halved for shipping (load_into_module casts
/// back to each parameter's dtype, so the model itself keeps computing in float32). Integer and bool
/// entries are copied unchanged. Throws unroll::Error naming the first tensor with a value the type
/// cannot hold (a finite value that would become infinite, e.g. |x| > 65504 in float16) or a
/// non-finite value; `what` (the file name) prefixes the message.
StateDict cast_floating(const StateDict& state, torch::ScalarType dtype, const std::string& what,
                        CastSummary* summary = nullptr);

/// Adds `prefix` to every name (e.g. "p." to nest a prior's weights inside an unrolled network).
StateDict add_prefix(const StateDict& state, const std::string& prefix);

/// The entries whose names start with `prefix`, with the prefix removed.
StateDict strip_prefix(const StateDict& state, const std::string& prefix);

}  // namespace unroll
