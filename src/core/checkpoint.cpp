#include "core/checkpoint.h"

#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/strings.h"
#include "core/limits.h"
#include "core/tensor_geometry.h"
#include "core/unroll_format.h"
#include "core/zip_directory.h"

namespace unroll {
namespace {

// ---- a minimal Python object model for the state-dict subset of pickle ------------------------------

struct PyObject;
using PyRef = std::shared_ptr<PyObject>;

struct PyObject {
  enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Tensor, Storage, Object };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;                                  // Str, Bytes, Global ("module.name"), Object (its class)
  std::vector<PyRef> items;                       // Tuple, List, Object (constructor arguments)
  std::vector<std::pair<PyRef, PyRef>> entries;   // Dict (insertion order), Object (attributes set by BUILD)
  torch::Tensor tensor;                           // Tensor, Storage (1-D, the whole storage)
  int64_t depth = 0;                              // containers nested inside, as far as known when filled
  // A Tensor read by check_torch_archive: `tensor` is its whole storage, the view is checked once the
  // tensor's place in the file is known, so that the error can name the entry.
  bool unchecked_view = false;
  std::vector<int64_t> view_sizes, view_strides;
  int64_t view_offset = 0;

  static PyRef make(Kind k) {
    auto p = std::make_shared<PyObject>();
    p->kind = k;
    return p;
  }
  PyObject() = default;
  PyObject(const PyObject&) = delete;
  PyObject& operator=(const PyObject&) = delete;
  ~PyObject();
};

// Teardown without recursion: a hostile pickle can nest containers far deeper than the call stack
// holds (a 652-byte file nesting lists 200,000 deep crashed the recursive default destructor). The
// children of an object that is about to go are moved to a local list; each is released only after
// its own children were moved out, so no destructor ever runs with children left.
PyObject::~PyObject() {
  std::vector<PyRef> pending;
  auto adopt_children = [&pending](PyObject& o) {
    for (auto& c : o.items)
      if (c) pending.push_back(std::move(c));
    o.items.clear();
    for (auto& e : o.entries) {
      if (e.first) pending.push_back(std::move(e.first));
      if (e.second) pending.push_back(std::move(e.second));
    }
    o.entries.clear();
  };
  adopt_children(*this);
  while (!pending.empty()) {
    PyRef p = std::move(pending.back());
    pending.pop_back();
    if (p.use_count() == 1) adopt_children(*p);
  }
}

/// Deepest container nesting a checkpoint may have (a state dict needs 3-5 levels; Python's own
/// unpickler stops near 1000 for its recursion limit).
constexpr int64_t kMaxPickleDepth = 1000;
/// Deepest bracket nesting of a type tag ("Dict[str, List[Tensor]]" is 2) that check_torch_archive lets
/// through to LibTorch.
constexpr int64_t kMaxTypeNesting = 100;

const char* kind_name(PyObject::Kind k) {
  switch (k) {
    case PyObject::Kind::None: return "None";
    case PyObject::Kind::Bool: return "bool";
    case PyObject::Kind::Int: return "int";
    case PyObject::Kind::Float: return "float";
    case PyObject::Kind::Str: return "str";
    case PyObject::Kind::Bytes: return "bytes";
    case PyObject::Kind::Tuple: return "tuple";
    case PyObject::Kind::List: return "list";
    case PyObject::Kind::Dict: return "dict";
    case PyObject::Kind::Global: return "class/function";
    case PyObject::Kind::Tensor: return "tensor";
    case PyObject::Kind::Storage: return "storage";
    case PyObject::Kind::Object: return "object";
  }
  return "?";
}

torch::ScalarType storage_dtype(const std::string& global, const std::string& what) {
  static const std::map<std::string, torch::ScalarType> kTypes = {
      {"torch.FloatStorage", torch::kFloat32},   {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},    {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},      {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},     {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},      {"torch.BoolStorage", torch::kBool},
      {"torch.ComplexFloatStorage", torch::kComplexFloat},
      {"torch.ComplexDoubleStorage", torch::kComplexDouble},
      {"torch.UntypedStorage", torch::kUInt8}};
  auto it = kTypes.find(global);
  UNROLL_CHECK(it != kTypes.end(), what, ": unsupported tensor storage type '", global, "'");
  return it->second;
}

// ---- records, checked against the zip directory ----------------------------------------------------------

// LibTorch's reader plus what the archive's central directory declares: every record read is checked
// against its CRC-32 (LibTorch's miniz is built without that check, so a bit flip loaded silently).
class Records {
 public:
  Records(caffe2::serialize::PyTorchStreamReader& reader, const std::vector<ZipEntry>& directory, std::string what)
      : zip_(reader), what_(std::move(what)) {
    // PyTorchStreamReader names records without the archive's top folder ("archive/data.pkl" -> "data.pkl").
    for (const auto& e : directory) {
      const auto slash = e.name.find('/');
      if (slash != std::string::npos) crc_.emplace(e.name.substr(slash + 1), e.crc32);
    }
  }
  bool has(const std::string& name) const { return zip_.hasRecord(name); }
  /// Reads every record once, checking its CRC-32: for archives whose other records LibTorch reads
  /// itself (a TorchScript archive's code/ and .debug_pkl records).
  void verify_all() const {
    for (const auto& [name, crc] : crc_)
      if (has(name)) get(name);
  }
  std::tuple<at::DataPtr, size_t> get(const std::string& name) const {
    auto record = zip_.getRecord(name);
    auto it = crc_.find(name);
    UNROLL_CHECK(it != crc_.end(), what_, ": record '", name, "' is not in the zip directory (corrupt archive)");
    UNROLL_CHECK(crc32_of(std::get<0>(record).get(), std::get<1>(record)) == it->second, what_, ": record '", name,
                 "' fails its CRC-32 check (the file is corrupt: damaged on disk or in transfer)");
    return record;
  }

 private:
  caffe2::serialize::PyTorchStreamReader& zip_;
  std::unordered_map<std::string, uint32_t> crc_;
  std::string what_;
};

// ---- the unpickler -------------------------------------------------------------------------------------

class Unpickler {
 public:
  /// Storages are the records `<storage_folder>/<key>` ("data" for data.pkl, "constants" for a
  /// TorchScript archive's constants.pkl).
  Unpickler(const char* data, size_t size, const Records& reader, std::string what, std::string storage_folder = "data")
      : p_(data), end_(data + size), reader_(reader), what_(std::move(what)), storage_folder_(std::move(storage_folder)) {}

  /// The pickle is checked for LibTorch's own unpickler, which reads it next (check_torch_archive):
  /// tensor views are recorded instead of checked (PyObject::unchecked_view; check_views() checks them
  /// once their names are known), and restore_type_tag's type strings are bounded.
  void check_for_libtorch() { for_libtorch_ = true; }

  PyRef run() {
    while (true) {
      const uint8_t op = read_u8();
      switch (op) {
        case 0x80: read_u8(); break;                               // PROTO
        case 0x95: read_bytes(8); break;                           // FRAME (length ignored)
        case '(': marks_.push_back(stack_.size()); break;          // MARK
        case '.': {                                                // STOP
          UNROLL_CHECK(!stack_.empty(), what_, ": corrupt pickle (empty stack at STOP)");
          return stack_.back();
        }
        case 'N': push(PyObject::make(PyObject::Kind::None)); break;
        case 0x88: case 0x89: {                                    // NEWTRUE, NEWFALSE
          auto v = PyObject::make(PyObject::Kind::Bool);
          v->b = op == 0x88;
          push(v);
          break;
        }
        case 'K': push_int(read_u8()); break;                      // BININT1
        case 'M': push_int(read_le<uint16_t>()); break;            // BININT2
        case 'J': push_int(read_le<int32_t>()); break;             // BININT
        case 0x8a: {                                               // LONG1
          const uint8_t n = read_u8();
          UNROLL_CHECK(n <= 8, what_, ": integer of ", int(n), " bytes is too large");
          std::string bytes = read_bytes(n);
          int64_t v = 0;
          for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(bytes[k]);
          if (n > 0 && n < 8 && (static_cast<uint8_t>(bytes[n - 1]) & 0x80)) v -= int64_t(1) << (8 * n);
          push_int(v);
          break;
        }
        case 'G': {                                                // BINFLOAT (big-endian double)
          std::string bytes = read_bytes(8);
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<uint8_t>(bytes[k]);
          auto v = PyObject::make(PyObject::Kind::Float);
          std::memcpy(&v->f, &bits, 8);
          push(v);
          break;
        }
        case 'X': push_str(read_bytes(read_le<uint32_t>())); break;          // BINUNICODE
        case 0x8c: push_str(read_bytes(read_u8())); break;                   // SHORT_BINUNICODE
        case 0x8d: push_str(read_bytes(read_le<uint64_t>())); break;         // BINUNICODE8
        case 'T': push_str(read_bytes(read_le<uint32_t>())); break;          // BINSTRING
        case 'U': push_str(read_bytes(read_u8())); break;                    // SHORT_BINSTRING
        case 'B': case 'C': case 0x8e: {                                     // BINBYTES, SHORT_BINBYTES, BINBYTES8
          const uint64_t n = op == 'B' ? read_le<uint32_t>() : op == 'C' ? read_u8() : read_le<uint64_t>();
          auto v = PyObject::make(PyObject::Kind::Bytes);
          v->s = read_bytes(n);
          push(v);
          break;
        }
        case ')': push(PyObject::make(PyObject::Kind::Tuple)); break;        // EMPTY_TUPLE
        case ']': push(PyObject::make(PyObject::Kind::List)); break;         // EMPTY_LIST
        case '}': push(PyObject::make(PyObject::Kind::Dict)); break;         // EMPTY_DICT
        case 't': case 'l': case 'd': {                                      // TUPLE, LIST, DICT
          auto items = pop_mark();
          if (op == 'd') {
            UNROLL_CHECK(items.size() % 2 == 0, what_, ": corrupt pickle (odd DICT)");
            auto v = PyObject::make(PyObject::Kind::Dict);
            for (size_t k = 0; k < items.size(); k += 2) set_item(*v, items[k], items[k + 1]);
            push(v);
          } else {
            auto v = PyObject::make(op == 't' ? PyObject::Kind::Tuple : PyObject::Kind::List);
            for (const auto& item : items) nest(*v, *item);
            v->items = std::move(items);
            push(v);
          }
          break;
        }
        case 0x85: case 0x86: case 0x87: {                                   // TUPLE1..3
          const size_t n = op - 0x84;
          auto v = PyObject::make(PyObject::Kind::Tuple);
          v->items.resize(n);
          for (size_t k = n; k-- > 0;) {
            v->items[k] = pop();
            nest(*v, *v->items[k]);
          }
          push(v);
          break;
        }
        case 'a': {                                                          // APPEND
          auto item = pop();
          auto list = top(PyObject::Kind::List, "APPEND");
          nest(*list, *item);
          list->items.push_back(item);
          break;
        }
        case 'e': {                                                          // APPENDS
          auto items = pop_mark();
          auto list = top(PyObject::Kind::List, "APPENDS");
          for (const auto& item : items) nest(*list, *item);
          list->items.insert(list->items.end(), items.begin(), items.end());
          break;
        }
        case 's': {                                                          // SETITEM
          auto value = pop();
          auto key = pop();
          set_item(*top(PyObject::Kind::Dict, "SETITEM"), key, value);
          break;
        }
        case 'u': {                                                          // SETITEMS
          auto items = pop_mark();
          UNROLL_CHECK(items.size() % 2 == 0, what_, ": corrupt pickle (odd SETITEMS)");
          auto dict = top(PyObject::Kind::Dict, "SETITEMS");
          for (size_t k = 0; k < items.size(); k += 2) set_item(*dict, items[k], items[k + 1]);
          break;
        }
        case 'q': memo_put(read_u8()); break;                                // BINPUT
        case 'r': memo_put(read_le<uint32_t>()); break;                      // LONG_BINPUT
        case 0x94: memo_put(memo_.size()); break;                            // MEMOIZE
        case 'h': memo_get(read_u8()); break;                                // BINGET
        case 'j': memo_get(read_le<uint32_t>()); break;                      // LONG_BINGET
        case '0': pop(); break;                                              // POP
        case '1': pop_mark(); break;                                         // POP_MARK
        case '2': push(peek()); break;                                       // DUP
        case 'c': {                                                          // GLOBAL
          std::string module = read_line();
          std::string name = read_line();
          push_global(module, name);
          break;
        }
        case 0x93: {                                                         // STACK_GLOBAL
          auto name = pop();
          auto module = pop();
          UNROLL_CHECK(name->kind == PyObject::Kind::Str && module->kind == PyObject::Kind::Str, what_,
                       ": corrupt pickle (STACK_GLOBAL needs two strings)");
          push_global(module->s, name->s);
          break;
        }
        case 'R': {                                                          // REDUCE
          auto args = pop();
          auto callable = pop();
          push(reduce(callable, args));
          break;
        }
        case 0x81: {                                                         // NEWOBJ
          auto args = pop();
          auto cls = pop();
          push(reduce(cls, args));
          break;
        }
        case 'b': {                                                          // BUILD
          // The state: OrderedDict's {'_metadata': ...} (not needed) or an object's attributes (kept,
          // for the names of check_torch_archive's errors).
          auto state = pop();
          auto target = peek();
          if (target->kind == PyObject::Kind::Object) {
            nest(*target, *state);
            if (state->kind == PyObject::Kind::Dict)
              target->entries.insert(target->entries.end(), state->entries.begin(), state->entries.end());
            else
              target->items.push_back(state);
          }
          break;
        }
        case 'Q': {                                                          // BINPERSID
          auto pid = pop();
          push(persistent_load(pid));
          break;
        }
        default:
          fail(what_, ": unsupported pickle opcode 0x", std::hex, int(op), std::dec, " at byte ",
               (p_ - 1) - start_, " (this reader covers the state-dict subset of pickle)");
      }
    }
  }

 private:
  const char* p_;
  const char* end_;
  const char* start_ = p_;
  const Records& reader_;
  std::string what_;
  std::string storage_folder_;
  bool for_libtorch_ = false;
  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyRef> memo_;
  std::unordered_map<std::string, torch::Tensor> storages_;

  uint8_t read_u8() {
    UNROLL_CHECK(p_ < end_, what_, ": truncated pickle");
    return static_cast<uint8_t>(*p_++);
  }
  template <class T>
  T read_le() {
    UNROLL_CHECK(end_ - p_ >= static_cast<std::ptrdiff_t>(sizeof(T)), what_, ": truncated pickle");
    T v;
    std::memcpy(&v, p_, sizeof(T));  // little-endian host (x86-64, aarch64)
    p_ += sizeof(T);
    return v;
  }
  std::string read_bytes(uint64_t n) {
    UNROLL_CHECK(static_cast<uint64_t>(end_ - p_) >= n, what_, ": truncated pickle");
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  std::string read_line() {
    const char* nl = static_cast<const char*>(std::memchr(p_, '\n', end_ - p_));
    UNROLL_CHECK(nl != nullptr, what_, ": truncated pickle");
    std::string s(p_, nl);
    p_ = nl + 1;
    return s;
  }

  void push(PyRef v) { stack_.push_back(std::move(v)); }
  void push_int(int64_t v) {
    auto o = PyObject::make(PyObject::Kind::Int);
    o->i = v;
    push(o);
  }
  void push_str(std::string s) {
    auto o = PyObject::make(PyObject::Kind::Str);
    o->s = std::move(s);
    push(o);
  }
  void push_global(const std::string& module, const std::string& name) {
    auto o = PyObject::make(PyObject::Kind::Global);
    o->s = module + "." + name;
    push(o);
  }
  PyRef pop() {
    UNROLL_CHECK(!stack_.empty() && (marks_.empty() || stack_.size() > marks_.back()), what_,
                 ": corrupt pickle (stack underflow)");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PyRef peek() {
    UNROLL_CHECK(!stack_.empty(), what_, ": corrupt pickle (stack underflow)");
    return stack_.back();
  }
  PyRef top(PyObject::Kind kind, const char* op) {
    auto v = peek();
    UNROLL_CHECK(v->kind == kind, what_, ": corrupt pickle (", op, " on a ", kind_name(v->kind), ")");
    return v;
  }
  std::vector<PyRef> pop_mark() {
    UNROLL_CHECK(!marks_.empty(), what_, ": corrupt pickle (no MARK)");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<PyRef> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  void memo_put(uint64_t index) { memo_[index] = peek(); }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    UNROLL_CHECK(it != memo_.end(), what_, ": corrupt pickle (memo ", index, " not set)");
    push(it->second);
  }
  /// Records that `child` now lies inside `parent`; throws past kMaxPickleDepth.
  void nest(PyObject& parent, const PyObject& child) {
    if (child.depth + 1 <= parent.depth) return;
    parent.depth = child.depth + 1;
    UNROLL_CHECK(parent.depth <= kMaxPickleDepth, what_, ": corrupt pickle (containers nested deeper than ",
                 kMaxPickleDepth, " levels)");
  }
  void set_item(PyObject& dict, const PyRef& key, const PyRef& value) {
    nest(dict, *key);
    nest(dict, *value);
    if (key->kind == PyObject::Kind::Str) {
      for (auto& e : dict.entries)
        if (e.first->kind == PyObject::Kind::Str && e.first->s == key->s) {
          e.second = value;
          return;
        }
    }
    dict.entries.emplace_back(key, value);
  }

  const PyRef& arg(const PyRef& args, size_t k, const char* fn) {
    UNROLL_CHECK(args->kind == PyObject::Kind::Tuple && args->items.size() > k, what_, ": ", fn,
                 " called with too few arguments");
    return args->items[k];
  }
  int64_t int_arg(const PyRef& v, const char* fn) {
    UNROLL_CHECK(v->kind == PyObject::Kind::Int, what_, ": ", fn, " expects an int, got ", kind_name(v->kind));
    return v->i;
  }
  std::vector<int64_t> int_tuple(const PyRef& v, const char* fn) {
    UNROLL_CHECK(v->kind == PyObject::Kind::Tuple, what_, ": ", fn, " expects a tuple, got ", kind_name(v->kind));
    std::vector<int64_t> out;
    for (const auto& item : v->items) out.push_back(int_arg(item, fn));
    return out;
  }

  PyRef reduce(const PyRef& callable, const PyRef& args) {
    UNROLL_CHECK(callable->kind == PyObject::Kind::Global, what_, ": corrupt pickle (REDUCE on a ",
                 kind_name(callable->kind), ")");
    const std::string& fn = callable->s;
    if (fn == "collections.OrderedDict" || fn == "builtins.dict") {
      auto d = PyObject::make(PyObject::Kind::Dict);
      // OrderedDict([(k, v), ...]) is also legal; torch.save uses OrderedDict() + SETITEMS.
      if (args->kind == PyObject::Kind::Tuple && !args->items.empty() && args->items[0]->kind == PyObject::Kind::List)
        for (const auto& pair : args->items[0]->items)
          if (pair->kind == PyObject::Kind::Tuple && pair->items.size() == 2) set_item(*d, pair->items[0], pair->items[1]);
      return d;
    }
    if (fn == "torch._utils._rebuild_tensor_v2" || fn == "torch._utils._rebuild_tensor") {
      const auto& storage = arg(args, 0, "_rebuild_tensor_v2");
      UNROLL_CHECK(storage->kind == PyObject::Kind::Storage, what_, ": _rebuild_tensor_v2 without a storage");
      const int64_t offset = int_arg(arg(args, 1, "_rebuild_tensor_v2"), "_rebuild_tensor_v2");
      const auto sizes = int_tuple(arg(args, 2, "_rebuild_tensor_v2"), "_rebuild_tensor_v2");
      const auto strides = int_tuple(arg(args, 3, "_rebuild_tensor_v2"), "_rebuild_tensor_v2");
      auto v = PyObject::make(PyObject::Kind::Tensor);
      if (for_libtorch_) {
        v->tensor = storage->tensor;
        v->unchecked_view = true;
        v->view_sizes = sizes;
        v->view_strides = strides;
        v->view_offset = offset;
        return v;
      }
      check_view_in_storage(sizes, strides, offset, storage->tensor.numel(), what_);
      const bool empty = std::find(sizes.begin(), sizes.end(), 0) != sizes.end();
      v->tensor = empty ? torch::empty(sizes, storage->tensor.options())
                        : storage->tensor.as_strided(sizes, strides, offset);
      return v;
    }
    if (fn == "torch.jit._pickle.restore_type_tag") {  // C++ pickler: (a list or dict, its type as a string)
      if (for_libtorch_ && args->kind == PyObject::Kind::Tuple && args->items.size() > 1 &&
          args->items[1]->kind == PyObject::Kind::Str) {
        // LibTorch parses the type recursively: "List[" nested 5000 deep overflowed its stack (issue 28).
        const std::string& type = args->items[1]->s;
        int64_t depth = 0, deepest = 0;
        for (char c : type) deepest = std::max(deepest, depth += c == '[' ? 1 : c == ']' ? -1 : 0);
        UNROLL_CHECK(deepest <= kMaxTypeNesting, what_, ": corrupt pickle (a type tag nested ", deepest,
                     " levels deep; more than ", kMaxTypeNesting, " is refused)");
      }
      return arg(args, 0, "restore_type_tag");
    }
    if (fn == "torch.jit._pickle.build_tensorlist" || fn == "torch.jit._pickle.build_intlist" ||
        fn == "torch.jit._pickle.build_doublelist" || fn == "torch.jit._pickle.build_boollist")
      return arg(args, 0, "build_list");  // C++ pickler: a typed list, (the list,)
    if (fn == "torch._utils._rebuild_parameter" || fn == "torch._utils._rebuild_parameter_with_state") {
      const auto& data = arg(args, 0, "_rebuild_parameter");
      UNROLL_CHECK(data->kind == PyObject::Kind::Tensor, what_, ": _rebuild_parameter without a tensor");
      return data;
    }
    // Anything else (e.g. argparse.Namespace in a training checkpoint) becomes an opaque object; it is
    // only an error if the state dict itself needs it.
    auto o = PyObject::make(PyObject::Kind::Object);
    o->s = fn;
    o->items = args->kind == PyObject::Kind::Tuple ? args->items : std::vector<PyRef>{args};
    for (const auto& item : o->items) nest(*o, *item);
    return o;
  }

  PyRef persistent_load(const PyRef& pid) {
    UNROLL_CHECK(pid->kind == PyObject::Kind::Tuple && pid->items.size() >= 5 &&
                     pid->items[0]->kind == PyObject::Kind::Str && pid->items[0]->s == "storage",
                 what_, ": unsupported persistent id (expected ('storage', type, key, location, numel))");
    const auto& type = pid->items[1];
    const auto& key = pid->items[2];
    UNROLL_CHECK(type->kind == PyObject::Kind::Global && key->kind == PyObject::Kind::Str, what_,
                 ": corrupt storage persistent id");
    const auto dtype = storage_dtype(type->s, what_);
    const int64_t numel = int_arg(pid->items[4], "storage");
    auto it = storages_.find(key->s);
    if (it == storages_.end()) {
      const std::string record = storage_folder_ + "/" + key->s;
      UNROLL_CHECK(reader_.has(record), what_, ": storage record '", record, "' is missing from the archive");
      at::DataPtr ptr;
      size_t nbytes = 0;
      std::tie(ptr, nbytes) = reader_.get(record);
      const size_t elem = c10::elementSize(dtype);
      UNROLL_CHECK(nbytes >= static_cast<size_t>(numel) * elem, what_, ": storage '", key->s, "' has ", nbytes,
                   " bytes, expected ", numel * elem);
      auto t = torch::empty({static_cast<int64_t>(nbytes / elem)}, torch::TensorOptions().dtype(dtype));
      if (nbytes > 0) std::memcpy(t.data_ptr(), ptr.get(), (nbytes / elem) * elem);
      it = storages_.emplace(key->s, t).first;
    }
    auto v = PyObject::make(PyObject::Kind::Storage);
    v->tensor = it->second;
    return v;
  }
};

bool all_tensors(const PyObject& dict) {
  if (dict.entries.empty()) return false;
  for (const auto& e : dict.entries)
    if (e.second->kind != PyObject::Kind::Tensor) return false;
  return true;
}

StateDict to_state_dict(const PyRef& root, const std::string& what) {
  if (root->kind == PyObject::Kind::Object && root->s.rfind("__torch__.", 0) == 0)
    fail(what, " is a TorchScript archive (", root->s.substr(10), "), not a state dict; in Python save "
         "`torch.save(model.state_dict(), f)` instead");
  UNROLL_CHECK(root->kind == PyObject::Kind::Dict, what, ": expected a dict (state dict) at the top level, found a ",
               kind_name(root->kind), root->kind == PyObject::Kind::Object ? " (" + root->s + ")" : std::string());
  const PyObject* dict = root.get();
  if (!all_tensors(*dict)) {
    // A wrapper such as {'model': state_dict, 'optimizer': ..., 'epoch': ...}.
    for (const char* key : {"model", "state_dict", "params", "params_ema", "net", "generator"}) {
      for (const auto& e : root->entries)
        if (e.first->kind == PyObject::Kind::Str && e.first->s == key && e.second->kind == PyObject::Kind::Dict) {
          dict = e.second.get();
          break;
        }
      if (dict != root.get()) break;
    }
  }
  StateDict out;
  std::vector<std::string> skipped;
  for (const auto& e : dict->entries) {
    UNROLL_CHECK(e.first->kind == PyObject::Kind::Str, what, ": state dict key is a ", kind_name(e.first->kind),
                 ", expected str");
    if (e.second->kind == PyObject::Kind::Tensor)
      out.emplace_back(e.first->s, e.second->tensor);
    else
      skipped.push_back(e.first->s + " (" + kind_name(e.second->kind) + ")");
  }
  if (out.empty()) {
    std::string keys;
    for (size_t k = 0; k < dict->entries.size() && k < 8; ++k)
      if (dict->entries[k].first->kind == PyObject::Kind::Str) keys += (k ? ", " : "") + dict->entries[k].first->s;
    fail(what, ": no tensors found (top-level keys: ", keys.empty() ? "none" : keys,
         "); expected a state dict or a {'model'|'state_dict'|'params': state_dict} wrapper");
  }
  if (!skipped.empty()) {
    std::string list;
    for (size_t k = 0; k < skipped.size(); ++k) list += (k ? ", " : "") + skipped[k];
    warn(what + ": skipped " + std::to_string(skipped.size()) + " non-tensor state dict entries: " + list);
  }
  return out;
}

void check_not_legacy(const std::string& head, const std::string& what) {
  if (head.size() >= 4 && head.compare(0, 4, "PK\x03\x04") == 0) return;
  std::string format;
  if (head.size() >= 262 && head.compare(257, 5, "ustar") == 0)
    format = "the legacy tar format of PyTorch < 0.4";
  else if (!head.empty() && static_cast<uint8_t>(head[0]) == 0x80)
    format = "the legacy (pre-1.6, non-zip) PyTorch serialization format";
  if (!format.empty())
    fail(what, " is in ", format, ", which this reader does not support; convert it once in Python with "
         "`import torch; torch.save(torch.load(f, map_location='cpu'), f, _use_new_zipfile_serialization=True)`");
  fail(what, " is not a PyTorch checkpoint (no zip archive signature; the file is ", head.size() < 4 ? "too short" : "of an unknown format", ")");
}

StateDict read_archive(caffe2::serialize::PyTorchStreamReader& zip, const std::vector<ZipEntry>& directory,
                       const std::string& what) {
  const Records reader(zip, directory, what);
  UNROLL_CHECK(reader.has("data.pkl"), what, ": zip archive has no data.pkl record (a TorchScript module? "
               "save the state dict with torch.save(model.state_dict(), f) instead)");
  if (reader.has("byteorder")) {
    at::DataPtr order;
    size_t n = 0;
    std::tie(order, n) = reader.get("byteorder");
    const std::string value(static_cast<const char*>(order.get()), n);
    UNROLL_CHECK(value == "little", what, ": tensors were saved in '", value, "' byte order; only little-endian "
                 "checkpoints are supported");
  }
  at::DataPtr ptr;
  size_t size = 0;
  std::tie(ptr, size) = reader.get("data.pkl");
  Unpickler unpickler(static_cast<const char*>(ptr.get()), size, reader, what);
  StateDict out = to_state_dict(unpickler.run(), what);
  // NaN / Inf weights make an all-black output, not an error, unless refused here (issue 28).
  for (const auto& [name, t] : out) {
    if (!t.is_floating_point() && !t.is_complex()) continue;
    UNROLL_CHECK(t.numel() == 0 || torch::isfinite(t).all().item<bool>(), what, ": '", name,
                 "' holds NaN or Inf values (a corrupt or diverged checkpoint)");
  }
  return out;
}

// The zip directory of a checkpoint, with its decompressed size bounded against the file's (a small file
// must not expand to gigabytes: UNROLL_MAX_CHECKPOINT_EXPANSION, core/limits.h).
std::vector<ZipEntry> checked_directory(std::istream& in, uint64_t size, const std::string& what) {
  auto directory = read_zip_directory(in, size, what);
  const int64_t ratio = limit_value(LimitId::CheckpointExpansion);
  const double allowed = static_cast<double>(ratio) * static_cast<double>(size) + double(1 << 20);
  double total = 0;
  for (const auto& e : directory) total += static_cast<double>(e.uncompressed);
  UNROLL_CHECK(total <= allowed, what, ": the archive's records expand to ", total / 1e6, " MB from a file of ",
               static_cast<double>(size) / 1e6, " MB (more than ", ratio, "x; a decompression bomb or a corrupt file; ",
               limit_hint(LimitId::CheckpointExpansion), ")");
  in.clear();
  in.seekg(0);
  return directory;
}

template <class Open>
StateDict read_guarded(const std::string& what, Open open) {
  try {
    std::vector<ZipEntry> directory;
    auto reader = open(directory);
    return read_archive(*reader, directory, what);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    const auto nl = msg.find('\n');
    fail(what, ": cannot read the checkpoint archive: ", msg.substr(0, nl));
  }
}

}  // namespace

StateDict load_state_dict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  UNROLL_CHECK(in.good(), "cannot open checkpoint ", path);
  std::string head(512, '\0');
  in.read(&head[0], head.size());
  head.resize(in.gcount());
  check_not_legacy(head, path);
  in.clear();
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  return read_guarded(path, [&](std::vector<ZipEntry>& directory) {
    directory = checked_directory(in, size, path);
    in.close();
    return std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  });
}

StateDict load_state_dict_from_bytes(const std::string& bytes, const std::string& what) {
  check_not_legacy(bytes.substr(0, 512), what);
  std::istringstream in(bytes);
  return read_guarded(what, [&](std::vector<ZipEntry>& directory) {
    directory = checked_directory(in, bytes.size(), what);
    return std::make_unique<caffe2::serialize::PyTorchStreamReader>(&in);
  });
}

namespace {

// Walks the tree of a check_torch_archive pickle from its root, each object once: checks every deferred
// tensor view against its storage, naming the entry ("optimizer.state.0.exp_avg"), and the nesting
// depth as first reached from the root -- which also sees nesting built through memo references,
// where Unpickler::nest only counts what it was told while a container was being filled.
void check_views(const PyRef& root, const std::string& what) {
  struct Pending {
    const PyObject* object;
    std::string path;
    int64_t depth;
  };
  std::vector<Pending> pending{{root.get(), "", 0}};
  std::set<const PyObject*> seen;
  auto child = [](const std::string& path, const std::string& name) { return path.empty() ? name : path + "." + name; };
  while (!pending.empty()) {
    Pending p = std::move(pending.back());
    pending.pop_back();
    if (!seen.insert(p.object).second) continue;
    UNROLL_CHECK(p.depth <= kMaxPickleDepth, what, ": corrupt pickle (containers nested deeper than ", kMaxPickleDepth,
                 " levels)");
    const PyObject& o = *p.object;
    if (o.unchecked_view)
      check_view_in_storage(o.view_sizes, o.view_strides, o.view_offset, o.tensor.numel(),
                            what + ": " + (p.path.empty() ? std::string("tensor") : p.path));
    for (size_t k = 0; k < o.items.size(); ++k)
      pending.push_back({o.items[k].get(), child(p.path, std::to_string(k)), p.depth + 1});
    for (const auto& [key, value] : o.entries) {
      const std::string name = key->kind == PyObject::Kind::Str ? key->s
                               : key->kind == PyObject::Kind::Int ? std::to_string(key->i)
                                                                  : std::string("key");
      pending.push_back({key.get(), child(p.path, name + "(key)"), p.depth + 1});
      pending.push_back({value.get(), child(p.path, name), p.depth + 1});
    }
  }
}

}  // namespace

void check_torch_archive(const std::string& path, const std::string& what) {
  try {
    std::ifstream in(path, std::ios::binary);
    UNROLL_CHECK(in.good(), what, ": cannot open");
    in.seekg(0, std::ios::end);
    const auto directory = checked_directory(in, static_cast<uint64_t>(in.tellg()), what);
    in.close();
    caffe2::serialize::PyTorchStreamReader zip(path);
    const Records reader(zip, directory, what);
    UNROLL_CHECK(reader.has("data.pkl"), what, ": zip archive has no data.pkl record");
    for (const auto& [record, folder] : {std::pair<std::string, std::string>{"data.pkl", "data"},
                                         std::pair<std::string, std::string>{"constants.pkl", "constants"}}) {
      if (!reader.has(record)) continue;
      at::DataPtr ptr;
      size_t size = 0;
      std::tie(ptr, size) = reader.get(record);
      Unpickler unpickler(static_cast<const char*>(ptr.get()), size, reader, what + " (" + record + ")", folder);
      unpickler.check_for_libtorch();
      check_views(unpickler.run(), what);
    }
    // LibTorch reads the rest (code/, the .debug_pkl source ranges, the version) without a CRC check.
    reader.verify_all();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    fail(what, ": cannot read the archive (corrupt, truncated or not a zip archive): ", msg.substr(0, msg.find('\n')));
  }
}

std::unordered_map<std::string, torch::Tensor> load_state_dict_map(const std::string& path) {
  std::unordered_map<std::string, torch::Tensor> out;
  for (auto& [name, t] : load_state_dict(path)) out.emplace(name, t);
  return out;
}

void save_state_dict(const std::string& path, const StateDict& tensors) {
  c10::Dict<std::string, torch::Tensor> dict;
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    UNROLL_CHECK(seen.insert(name).second, "save_state_dict: duplicate name '", name, "' for ", path);
    UNROLL_CHECK(t.defined(), "save_state_dict: tensor '", name, "' is undefined");
    dict.insert(name, t.detach().to(torch::kCPU).contiguous());
  }
  const std::vector<char> bytes = torch::pickle_save(dict);
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    UNROLL_CHECK(out.good(), "cannot open ", tmp, " for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    UNROLL_CHECK(out.good(), "failed writing ", path, " (disk full?)");
  });
}

bool written_by_unroll(const StateDict& state, const std::string& what) {
  for (const auto& [name, t] : state) {
    if (name != kUnrollFormatKey) continue;
    UNROLL_CHECK(t.defined() && t.numel() >= 1 && !t.is_floating_point() && t.scalar_type() != torch::kBool, what,
                 ": '", kUnrollFormatKey, "' must be an integer tensor (Unroll's format marker), got ",
                 t.defined() ? c10::toString(t.scalar_type()) : "an undefined tensor");
    return true;
  }
  return false;
}

StateDict with_unroll_marker(StateDict state) {
  state.erase(std::remove_if(state.begin(), state.end(), [](const auto& e) { return e.first == kUnrollFormatKey; }),
              state.end());
  state.emplace_back(kUnrollFormatKey, torch::full({1}, kUnrollFormatVersion, torch::kInt64));
  return state;
}

bool is_architecture_flag(const std::string& name) {
  return name == kGlobalResidualFlag || ends_with(name, std::string(".") + kGlobalResidualFlag);
}

StateDict module_state_dict(const torch::nn::Module& module) {
  StateDict out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

void load_into_module(torch::nn::Module& module, const StateDict& state, bool strict, const std::string& what) {
  std::unordered_map<std::string, const torch::Tensor*> given;
  for (const auto& [name, t] : state) given.emplace(name, &t);
  auto targets = module_state_dict(module);
  std::set<std::string> expected = {kUnrollFormatKey};  // the marker is never one of the module's tensors
  const bool marked = written_by_unroll(state, what);
  // Validate everything before copying anything, so a failed load leaves the module untouched.
  for (const auto& [name, target] : targets) {
    expected.insert(name);
    auto it = given.find(name);
    if (it == given.end()) {
      if (is_architecture_flag(name)) {
        // Official files never carry Unroll's architecture flags (the module keeps the value its options
        // gave it); a file Unroll wrote always does.
        UNROLL_CHECK(!strict || !marked, what, ": missing key '", name, "' (an architecture flag that every file "
                     "Unroll writes carries; this one has Unroll's format marker, so it was altered or truncated)");
        continue;
      }
      UNROLL_CHECK(!strict, what, ": missing key '", name, "' (expected shape ", target.sizes(), "); the checkpoint has ",
                   state.size(), " entries, the model ", targets.size(), " -- is it for another architecture?");
      continue;
    }
    UNROLL_CHECK(it->second->sizes() == target.sizes(), what, ": shape mismatch for '", name, "': model expects ",
                 target.sizes(), ", checkpoint has ", it->second->sizes());
    // An integer tensor where the model has floating-point weights would be converted silently.
    UNROLL_CHECK(!target.is_floating_point() || it->second->is_floating_point(), what, ": '", name, "' is stored as ",
                 it->second->scalar_type(), ", the model's weights are floating point (a corrupt or foreign checkpoint)");
  }
  if (strict)
    for (const auto& [name, t] : state)
      UNROLL_CHECK(expected.count(name), what, ": unexpected key '", name, "' (shape ", t.sizes(),
                   ") not present in the model -- is the checkpoint for another architecture?");
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : targets) {
    auto it = given.find(name);
    if (it != given.end()) target.copy_(*it->second);
  }
}

namespace {
// PyTorch's Python spelling of a floating dtype ("float16", not c10's "Half").
std::string float_type_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat16: return "float16";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    default: return c10::toString(dtype);
  }
}

// The smallest positive normal number of a floating dtype: below it values lose relative precision.
double smallest_normal(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat16: return std::ldexp(1.0, -14);
    case torch::kFloat64: return std::numeric_limits<double>::min();
    default: return std::numeric_limits<float>::min();  // float32 and bfloat16 share the exponent range
  }
}
}  // namespace

StateDict cast_floating(const StateDict& state, torch::ScalarType dtype, const std::string& what,
                        CastSummary* summary) {
  UNROLL_CHECK(dtype == torch::kFloat16 || dtype == torch::kBFloat16 || dtype == torch::kFloat32 || dtype == torch::kFloat64,
               what, ": cast_floating: target dtype must be a floating type (float16, bfloat16, float32, float64), got ",
               float_type_name(dtype));
  CastSummary s;
  StateDict out;
  out.reserve(state.size());
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : state) {
    const int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
    s.bytes_before += bytes;
    if (!t.is_floating_point()) {
      out.emplace_back(name, t);
      s.bytes_after += bytes;
      continue;
    }
    const auto original = t.detach().to(torch::kCPU, torch::kFloat64);
    UNROLL_CHECK(original.isfinite().all().item<bool>(), what, ": '", name, "' holds a non-finite value (NaN or inf)");
    auto cast = original.to(dtype);
    const auto back = cast.to(torch::kFloat64);
    UNROLL_CHECK(back.isfinite().all().item<bool>(), what, ": '", name, "' holds ",
                 original.abs().max().item<double>(), ", beyond the range of ", float_type_name(dtype),
                 "; keep float32 for this file");
    const auto err = (back - original).abs();
    const auto flushed = back.eq(0) & original.ne(0);
    const auto normal = back.abs() >= smallest_normal(dtype);
    s.values_flushed += flushed.sum().item<int64_t>();
    if (err.numel() > 0) s.max_abs_error = std::max(s.max_abs_error, err.max().item<double>());
    if (normal.any().item<bool>())
      s.max_rel_error =
          std::max(s.max_rel_error, (err.masked_select(normal) / original.abs().masked_select(normal)).max().item<double>());
    s.bytes_after += cast.numel() * static_cast<int64_t>(cast.element_size());
    ++s.tensors_cast;
    out.emplace_back(name, cast);
  }
  if (summary) *summary = s;
  return out;
}

StateDict add_prefix(const StateDict& state, const std::string& prefix) {
  StateDict out;
  out.reserve(state.size());
  for (const auto& [name, t] : state) out.emplace_back(prefix + name, t);
  return out;
}

StateDict strip_prefix(const StateDict& state, const std::string& prefix) {
  StateDict out;
  for (const auto& [name, t] : state)
    if (name.compare(0, prefix.size(), prefix) == 0) out.emplace_back(name.substr(prefix.size()), t);
  return out;
}

}  // namespace unroll
