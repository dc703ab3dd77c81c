#include "core/tensor_geometry.h"

#include <algorithm>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/error.h"

namespace unroll {

void check_view_in_storage(c10::IntArrayRef sizes, c10::IntArrayRef strides, int64_t offset,
                           int64_t storage_elements, const std::string& what) {
  UNROLL_CHECK(sizes.size() == strides.size(), what, ": tensor with ", sizes.size(), " sizes but ", strides.size(),
               " strides");
  UNROLL_CHECK(offset >= 0, what, ": negative tensor storage offset ", offset);
  bool empty = false;
  for (size_t d = 0; d < sizes.size(); ++d) {
    UNROLL_CHECK(sizes[d] >= 0 && strides[d] >= 0, what, ": negative tensor size or stride (sizes ", sizes,
                 ", strides ", strides, ")");
    if (sizes[d] == 0) empty = true;
  }
  if (empty) return;
  int64_t last = offset, numel = 1;
  bool overflow = false;
  for (size_t d = 0; d < sizes.size(); ++d) {
    int64_t step = 0;
    overflow = overflow || __builtin_mul_overflow(sizes[d] - 1, strides[d], &step) ||
               __builtin_add_overflow(last, step, &last) || __builtin_mul_overflow(numel, sizes[d], &numel);
  }
  UNROLL_CHECK(!overflow, what, ": tensor sizes ", sizes, " / strides ", strides,
               " overflow 64-bit indexing (a corrupt file)");
  UNROLL_CHECK(last < storage_elements, what, ": tensor (offset ", offset, ", sizes ", sizes, ", strides ", strides,
               ") exceeds its storage of ", storage_elements, " elements");
  UNROLL_CHECK(numel <= std::max(storage_elements, kMaxExpandedElements), what, ": tensor of sizes ", sizes, " (",
               numel, " elements) views a storage of ", storage_elements, " elements through zero strides; more than ",
               kMaxExpandedElements, " elements is refused (a corrupt file)");
}

void check_tensor_in_storage(const torch::Tensor& t, const std::string& what) {
  if (!t.defined()) return;
  UNROLL_CHECK(t.layout() == torch::kStrided && t.has_storage(), what, ": a tensor without a plain (strided) storage");
  const auto item = static_cast<int64_t>(t.element_size());
  const auto bytes = static_cast<int64_t>(t.storage().nbytes());
  check_view_in_storage(t.sizes(), t.strides(), t.storage_offset(), bytes / item, what);
}

void check_tensors_in_storage(const c10::IValue& value, const std::string& what, const std::string& path) {
  // Containers are visited once each: a pickle's memo can share one list between many parents, or make
  // an object hold itself.
  std::unordered_set<const void*> seen;
  std::vector<std::pair<c10::IValue, std::string>> pending{{value, path}};
  auto push = [&](const c10::IValue& v, const std::string& parent, const std::string& name) {
    pending.emplace_back(v, parent.empty() ? name : parent + "." + name);
  };
  while (!pending.empty()) {
    auto [v, at] = std::move(pending.back());
    pending.pop_back();
    if (v.isTensor()) {
      check_tensor_in_storage(v.toTensor(), what + ": " + (at.empty() ? std::string("tensor") : at));
      continue;
    }
    if (!v.isPtrType() || !seen.insert(v.internalToPointer()).second) continue;
    if (v.isList()) {
      const auto& list = v.toListRef();
      for (size_t i = 0; i < list.size(); ++i) push(list[i], at, std::to_string(i));
    } else if (v.isTuple()) {
      const auto& items = v.toTupleRef().elements();
      for (size_t i = 0; i < items.size(); ++i) push(items[i], at, std::to_string(i));
    } else if (v.isGenericDict()) {
      for (const auto& item : v.toGenericDict()) {
        const std::string key = item.key().isString() ? item.key().toStringRef()
                                : item.key().isInt()  ? std::to_string(item.key().toInt())
                                                      : "key";
        push(item.key(), at, key + "(key)");
        push(item.value(), at, key);
      }
    } else if (v.isObject()) {
      const auto object = v.toObject();
      const auto type = object->type();
      const size_t n = object->slots().size();
      for (size_t i = 0; i < n; ++i)
        push(object->getSlot(i), at, i < type->numAttributes() ? type->getAttributeName(i) : std::to_string(i));
    }
  }
}

}  // namespace unroll
