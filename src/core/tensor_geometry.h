// The geometry of tensors read from files: do a tensor's sizes, strides and storage offset stay inside
// the bytes its storage holds?
//
// A pickled tensor is a storage (a flat byte record of the archive) plus a view of it: an offset, sizes
// and strides, all taken from the file. LibTorch 1.13's own unpickler (torch::pickle_load, the
// torch::serialize::InputArchive of resume.pt) builds the view without comparing it with the storage,
// so one changed stride byte makes later reads and in-place writes run past the allocation (heap
// corruption, issue 28). Unroll's readers check every tensor they load with these functions before it is
// used; the overflow-checked arithmetic lives here once (core/checkpoint.cpp's unpickler uses it too).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace unroll {

/// Elements a view may address beyond its storage's element count (zero strides: an expanded tensor):
/// a bound, so that a tiny file cannot make a later copy allocate gigabytes.
constexpr int64_t kMaxExpandedElements = int64_t(1) << 24;

/// Throws unroll::Error starting with `what` unless the view of `sizes` / `strides` starting at element
/// `offset` fits a storage of `storage_elements` elements: as many strides as sizes, sizes, strides and
/// offset >= 0, offset + sum_d (size_d - 1) * stride_d and prod_d size_d without int64 overflow, the last
/// element addressed < storage_elements, and at most max(storage_elements, kMaxExpandedElements)
/// elements. A view with a zero size addresses nothing and always fits.
void check_view_in_storage(c10::IntArrayRef sizes, c10::IntArrayRef strides, int64_t offset,
                           int64_t storage_elements, const std::string& what);

/// check_view_in_storage of a tensor against the bytes its storage really holds (storage().nbytes()
/// over the element size). An undefined tensor passes; a tensor without storage (sparse, ...) is refused.
void check_tensor_in_storage(const torch::Tensor& t, const std::string& what);

/// check_tensor_in_storage of every tensor inside `value`, however deep: lists, tuples, dicts (keys and
/// values) and objects' attributes (a TorchScript module's parameters, the archives of
/// torch::serialize). `what` names the file; the error adds the entry's path, e.g.
/// "resume.pt: optimizer.state.3.exp_avg: tensor ... exceeds its storage of 24 elements". Iterative:
/// any nesting depth is walked without recursion.
void check_tensors_in_storage(const c10::IValue& value, const std::string& what, const std::string& path = "");

}  // namespace unroll
