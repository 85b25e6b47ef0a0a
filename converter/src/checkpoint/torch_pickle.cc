#include "converter/src/checkpoint/torch_pickle.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "converter/src/error.h"

namespace rvgg::convert::ckpt {
namespace {

// Values are built mutable (dicts fill after they are memoized) and handed
// out as ValuePtr (const) at the end; every Value here was created by
// Unpickler::New, so casting the const away again is sound.
using MutableValue = std::shared_ptr<Value>;

MutableValue Mutable(const ValuePtr& value) { return std::const_pointer_cast<Value>(value); }

constexpr size_t kMaxStack = size_t{1} << 22;
constexpr size_t kMaxMemo = size_t{1} << 22;
constexpr size_t kMaxGlobalLine = 1024;

enum class GlobalKind {
  kNone,
  kOrderedDict,
  kDefaultDict,
  kSet,
  kTorchSize,
  kRebuildTensorV2,
  kRebuildParameter,
  kRebuildParameterWithState,
  kRebuildFromTypeV2,
  kCodecsEncode,
  kBytes,
  kStorageType,
};

struct KnownGlobal {
  const char* name;
  GlobalKind kind;
  DType dtype;  // kStorageType only
};

// Protocol-2 pickles name builtins "__builtin__" (Python 3's fix_imports).
constexpr KnownGlobal kKnownGlobals[] = {
    {"collections.OrderedDict", GlobalKind::kOrderedDict, DType::kFloat32},
    {"collections.defaultdict", GlobalKind::kDefaultDict, DType::kFloat32},
    {"builtins.set", GlobalKind::kSet, DType::kFloat32},
    {"builtins.frozenset", GlobalKind::kSet, DType::kFloat32},
    {"__builtin__.set", GlobalKind::kSet, DType::kFloat32},
    {"__builtin__.frozenset", GlobalKind::kSet, DType::kFloat32},
    {"torch.Size", GlobalKind::kTorchSize, DType::kFloat32},
    // Protocol 2 has no bytes opcode: bytes pickle as _codecs.encode(text,
    // 'latin1'), and b"" as bytes().
    {"_codecs.encode", GlobalKind::kCodecsEncode, DType::kFloat32},
    {"builtins.bytes", GlobalKind::kBytes, DType::kFloat32},
    {"__builtin__.bytes", GlobalKind::kBytes, DType::kFloat32},
    {"builtins.bytearray", GlobalKind::kBytes, DType::kFloat32},
    {"__builtin__.bytearray", GlobalKind::kBytes, DType::kFloat32},
    {"torch._utils._rebuild_tensor_v2", GlobalKind::kRebuildTensorV2, DType::kFloat32},
    {"torch._utils._rebuild_parameter", GlobalKind::kRebuildParameter, DType::kFloat32},
    {"torch._utils._rebuild_parameter_with_state", GlobalKind::kRebuildParameterWithState,
     DType::kFloat32},
    {"torch._tensor._rebuild_from_type_v2", GlobalKind::kRebuildFromTypeV2, DType::kFloat32},
    {"torch.FloatStorage", GlobalKind::kStorageType, DType::kFloat32},
    {"torch.HalfStorage", GlobalKind::kStorageType, DType::kFloat16},
    {"torch.BFloat16Storage", GlobalKind::kStorageType, DType::kBFloat16},
    {"torch.DoubleStorage", GlobalKind::kStorageType, DType::kFloat64},
    {"torch.LongStorage", GlobalKind::kStorageType, DType::kInt64},
    {"torch.IntStorage", GlobalKind::kStorageType, DType::kInt32},
    {"torch.ShortStorage", GlobalKind::kStorageType, DType::kInt16},
    {"torch.CharStorage", GlobalKind::kStorageType, DType::kInt8},
    {"torch.ByteStorage", GlobalKind::kStorageType, DType::kUInt8},
    {"torch.BoolStorage", GlobalKind::kStorageType, DType::kBool},
};

// clang-format off
const char* OpcodeName(uint8_t op) {
  switch (op) {
    case '(': return "MARK";
    case '.': return "STOP";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 'F': return "FLOAT";
    case 'I': return "INT";
    case 'J': return "BININT";
    case 'K': return "BININT1";
    case 'L': return "LONG";
    case 'M': return "BININT2";
    case 'N': return "NONE";
    case 'P': return "PERSID";
    case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";
    case 'S': return "STRING";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";
    case 'X': return "BINUNICODE";
    case 'a': return "APPEND";
    case 'b': return "BUILD";
    case 'c': return "GLOBAL";
    case 'd': return "DICT";
    case '}': return "EMPTY_DICT";
    case 'e': return "APPENDS";
    case 'g': return "GET";
    case 'h': return "BINGET";
    case 'i': return "INST";
    case 'j': return "LONG_BINGET";
    case 'l': return "LIST";
    case ']': return "EMPTY_LIST";
    case 'o': return "OBJ";
    case 'p': return "PUT";
    case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";
    case 't': return "TUPLE";
    case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";
    case 'G': return "BINFLOAT";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}
// clang-format on

std::string Hex2(uint8_t byte) {
  static const char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[byte >> 4] + kHex[byte & 15];
}

// Where a value sits in the tree, rendered only when a message needs it.
struct PathSegment {
  const PathSegment* parent = nullptr;
  const Value* key = nullptr;  // dict entry; otherwise `index` is used
  size_t index = 0;
  bool in_key = false;  // the value is itself a dict key
};

std::string KeyText(const Value& key) {
  switch (key.kind) {
    case Value::Kind::kString:
      return Printable(key.string_value, 80);
    case Value::Kind::kInt:
      return std::to_string(key.int_value);
    case Value::Kind::kBool:
      return key.bool_value ? "True" : "False";
    case Value::Kind::kNone:
      return "None";
    default:
      return std::string("<") + ValueKindName(key.kind) + ">";
  }
}

std::string RenderPath(const PathSegment* segment) {
  std::vector<const PathSegment*> chain;
  for (const PathSegment* s = segment; s != nullptr && s->parent != nullptr; s = s->parent) {
    chain.push_back(s);
  }
  std::string path;
  for (size_t i = chain.size(); i-- > 0;) {
    const PathSegment* s = chain[i];
    if (s->in_key) {
      path += "{key}";
    } else if (s->key != nullptr) {
      if (!path.empty()) path += ".";
      path += KeyText(*s->key);
    } else {
      path += "[" + std::to_string(s->index) + "]";
    }
  }
  return path.empty() ? "(root)" : path;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const UnpickleOptions& options,
            StorageProvider* storages)
      : data_(data), size_(size), options_(options), storages_(storages) {}

  ValuePtr Run() {
    MutableValue root = Parse();
    PathSegment top;
    std::unordered_set<const Value*> visited;
    Walk(root.get(), &top, &visited);
    return root;
  }

 private:
  struct Meta {
    bool sealed = false;  // stored in a container: must not change any more
    uint32_t depth = 0;   // containers: 1 + the deepest child
    GlobalKind global = GlobalKind::kNone;
    DType storage_dtype = DType::kFloat32;  // global == kStorageType
    int32_t storage = -1;                   // a persistent-id result: index into storages_
    int32_t pending = -1;                   // a tensor: index into pending_
  };
  struct StorageRef {
    std::string key;
    std::string type_name;
    DType dtype = DType::kFloat32;
    int64_t numel = 0;
    bool supported = false;
  };
  struct PendingTensor {
    std::shared_ptr<Tensor> tensor;
    int32_t storage = -1;
    StridedView view;
    bool done = false;
  };

  [[noreturn]] void Fail(const std::string& what) const {
    throw ConvertError(options_.file_name + ": " + options_.pickle_name + " byte " +
                       std::to_string(op_offset_) + ": " + what);
  }

  std::string OpName() const {
    const char* name = OpcodeName(op_);
    return name != nullptr ? name : Hex2(op_);
  }

  // ---- values ----------------------------------------------------------

  MutableValue New(Value::Kind kind) {
    if (++value_count_ > kMaxPickleValues) {
      Fail("the pickle creates more than " + std::to_string(kMaxPickleValues) +
           " values (not a model checkpoint?)");
    }
    auto value = std::make_shared<Value>();
    value->kind = kind;
    // A fresh address may reuse a freed value's: forget what was known.
    meta_[value.get()] = Meta{};
    dict_index_.erase(value.get());
    return value;
  }

  Meta& MetaOf(const Value* value) { return meta_.at(value); }

  // Records that `child` is stored in `parent`: the child is frozen from now
  // on, which (with the self-check) makes cycles impossible, and nesting is
  // bounded.
  void Adopt(Value* parent, const Value* child) {
    if (child == parent) {
      Fail(std::string("the pickle builds a recursive structure (a ") +
           ValueKindName(parent->kind) + " that contains itself), which is not supported");
    }
    Meta& child_meta = MetaOf(child);
    child_meta.sealed = true;
    const uint32_t depth = child_meta.depth + 1;
    if (depth > kMaxPickleDepth) {
      Fail("containers nest deeper than " + std::to_string(kMaxPickleDepth) + " levels");
    }
    Meta& parent_meta = MetaOf(parent);
    parent_meta.depth = std::max(parent_meta.depth, depth);
  }

  // Whether `target` may still change. Unknown objects silently stop
  // absorbing state once stored; a list or dict changed after being stored
  // is how pickle builds recursive structures, which a tree cannot hold.
  bool CanModify(const Value* target) {
    if (!MetaOf(target).sealed) return true;
    if (target->kind == Value::Kind::kObject) return false;
    Fail(OpName() + " changes a " + ValueKindName(target->kind) +
         " after it was stored elsewhere (a recursive structure?), which is not supported");
  }

  // Python's notion of equal keys, for the kinds state dicts use.
  static bool HashKey(const Value& key, std::string* out) {
    switch (key.kind) {
      case Value::Kind::kString:
        *out = "s" + key.string_value;
        return true;
      case Value::Kind::kBytes:
        *out = "b" + key.string_value;
        return true;
      case Value::Kind::kInt:
        *out = "i" + std::to_string(key.int_value);
        return true;
      case Value::Kind::kBool:
        *out = key.bool_value ? "i1" : "i0";
        return true;
      case Value::Kind::kNone:
        *out = "n";
        return true;
      case Value::Kind::kFloat: {
        const double f = key.float_value;
        if (std::isnan(f)) return false;
        if (f == std::floor(f) && f >= -9.2e18 && f <= 9.2e18) {
          *out = "i" + std::to_string(static_cast<int64_t>(f));
        } else {
          uint64_t bits;
          std::memcpy(&bits, &f, sizeof(bits));
          *out = "f" + std::to_string(bits);
        }
        return true;
      }
      default:
        return false;
    }
  }

  // dict[key] = value, Python-style: an equal key keeps its place.
  void SetItem(Value* dict, const ValuePtr& key, const ValuePtr& value) {
    Adopt(dict, key.get());
    Adopt(dict, value.get());
    std::string hashed;
    if (HashKey(*key, &hashed)) {
      auto& index = dict_index_[dict];
      auto [it, inserted] = index.emplace(std::move(hashed), dict->entries.size());
      if (!inserted) {
        dict->entries[it->second].second = value;
        return;
      }
    }
    dict->entries.emplace_back(key, value);
  }

  void SetItems(Value* target, const std::vector<MutableValue>& items) {
    if (items.size() % 2 != 0) Fail(OpName() + " has an odd number of keys and values");
    if (target->kind != Value::Kind::kDict && target->kind != Value::Kind::kObject) {
      Fail(OpName() + " on a " + ValueKindName(target->kind) + ", not a dict");
    }
    if (!CanModify(target)) return;
    for (size_t i = 0; i < items.size(); i += 2) SetItem(target, items[i], items[i + 1]);
  }

  void Append(Value* target, const std::vector<MutableValue>& items) {
    if (target->kind != Value::Kind::kList && target->kind != Value::Kind::kObject) {
      Fail(OpName() + " on a " + ValueKindName(target->kind) + ", not a list");
    }
    if (!CanModify(target)) return;
    for (const MutableValue& item : items) {
      Adopt(target, item.get());
      target->items.push_back(item);
    }
  }

  MutableValue MakeSequence(Value::Kind kind, const std::vector<ValuePtr>& items) {
    MutableValue sequence = New(kind);
    for (const ValuePtr& item : items) {
      Adopt(sequence.get(), item.get());
      sequence->items.push_back(item);
    }
    return sequence;
  }

  MutableValue MakeSequence(Value::Kind kind, const std::vector<MutableValue>& items) {
    return MakeSequence(kind, std::vector<ValuePtr>(items.begin(), items.end()));
  }

  // ---- stack -------------------------------------------------------------

  size_t Available() const { return stack_.size() - (marks_.empty() ? 0 : marks_.back()); }

  void Push(MutableValue value) {
    if (stack_.size() >= kMaxStack)
      Fail("the pickle stack grows past " + std::to_string(kMaxStack));
    stack_.push_back(std::move(value));
  }

  MutableValue Pop() {
    if (Available() == 0) Fail(OpName() + " finds too few values on the stack");
    MutableValue value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }

  const MutableValue& Top() {
    if (Available() == 0) Fail(OpName() + " finds too few values on the stack");
    return stack_.back();
  }

  std::vector<MutableValue> PopN(size_t n) {
    if (Available() < n) Fail(OpName() + " finds too few values on the stack");
    std::vector<MutableValue> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    return items;
  }

  std::vector<MutableValue> PopToMark() {
    if (marks_.empty()) Fail(OpName() + " without a MARK");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<MutableValue> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark),
                                    stack_.end());
    stack_.resize(mark);
    return items;
  }

  // ---- input ---------------------------------------------------------------

  const uint8_t* Take(uint64_t n) {
    if (n > size_ - pos_) {
      Fail(OpName() + " needs " + std::to_string(n) + " bytes but " + std::to_string(size_ - pos_) +
           " remain (truncated?)");
    }
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }

  uint64_t ReadLittleEndian(size_t n) {
    const uint8_t* p = Take(n);
    uint64_t value = 0;
    for (size_t i = 0; i < n; ++i) value |= static_cast<uint64_t>(p[i]) << (8 * i);
    return value;
  }

  std::string ReadLine() {
    const size_t limit = std::min(size_ - pos_, kMaxGlobalLine);
    const void* newline = std::memchr(data_ + pos_, '\n', limit);
    if (newline == nullptr) Fail("GLOBAL name is not terminated by a newline");
    const size_t length =
        static_cast<size_t>(static_cast<const uint8_t*>(newline) - (data_ + pos_));
    std::string line(reinterpret_cast<const char*>(data_ + pos_), length);
    pos_ += length + 1;
    return line;
  }

  // LONG1/LONG4: little-endian two's complement of any width; only values
  // that fit in int64 are accepted.
  int64_t ParseLong(const uint8_t* p, uint64_t n) {
    if (n == 0) return 0;
    if (n > 8) {
      const uint8_t extension = (p[7] & 0x80) ? 0xff : 0x00;
      for (uint64_t i = 8; i < n; ++i) {
        if (p[i] != extension) Fail("integer does not fit in 64 bits");
      }
      n = 8;
    }
    uint64_t value = 0;
    for (uint64_t i = 0; i < n; ++i) value |= static_cast<uint64_t>(p[i]) << (8 * i);
    if (n < 8 && (p[n - 1] & 0x80)) value |= ~uint64_t{0} << (8 * n);
    return static_cast<int64_t>(value);
  }

  MutableValue MakeInt(int64_t v) {
    MutableValue value = New(Value::Kind::kInt);
    value->int_value = v;
    return value;
  }

  MutableValue MakeBytes(Value::Kind kind, uint64_t length) {
    const uint8_t* p = Take(length);
    MutableValue value = New(kind);
    value->string_value.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(length));
    return value;
  }

  // ---- globals, calls, persistent ids --------------------------------------

  MutableValue MakeGlobal(const std::string& module, const std::string& name) {
    MutableValue value = New(Value::Kind::kObject);
    value->string_value = module + "." + name;
    Meta& meta = MetaOf(value.get());
    for (const KnownGlobal& known : kKnownGlobals) {
      if (value->string_value == known.name) {
        meta.global = known.kind;
        meta.storage_dtype = known.dtype;
        break;
      }
    }
    return value;
  }

  static bool IsSequence(const Value& v) {
    return v.kind == Value::Kind::kTuple || v.kind == Value::Kind::kList;
  }

  std::vector<int64_t> IntList(const Value& v, const char* what) {
    if (!IsSequence(v)) {
      Fail(std::string("_rebuild_tensor_v2's ") + what + " is a " + ValueKindName(v.kind) +
           ", not a tuple of ints");
    }
    std::vector<int64_t> out;
    for (const ValuePtr& item : v.items) {
      if (item->kind != Value::Kind::kInt) {
        Fail(std::string("_rebuild_tensor_v2's ") + what + " holds a " + ValueKindName(item->kind));
      }
      out.push_back(item->int_value);
    }
    return out;
  }

  // persistent_load for ('storage', storage_type, key, location, numel).
  MutableValue PersistentLoad(const Value& pid) {
    if (pid.kind != Value::Kind::kTuple || pid.items.empty()) {
      Fail(std::string("persistent id is a ") + ValueKindName(pid.kind) +
           ", not a ('storage', type, key, location, numel) tuple");
    }
    const Value& tag = *pid.items[0];
    if (tag.kind != Value::Kind::kString || tag.string_value != "storage") {
      Fail("persistent id of kind '" +
           (tag.kind == Value::Kind::kString ? Printable(tag.string_value, 40)
                                             : std::string(ValueKindName(tag.kind))) +
           "' is not supported (only 'storage')");
    }
    if (pid.items.size() != 5) {
      Fail("storage persistent id has " + std::to_string(pid.items.size()) +
           " fields, not 5 ('storage', type, key, location, numel)");
    }
    const Value& type = *pid.items[1];
    const Value& key = *pid.items[2];
    const Value& numel = *pid.items[4];
    if (type.kind != Value::Kind::kObject) Fail("storage persistent id: the type is not a class");
    if (key.kind != Value::Kind::kString) Fail("storage persistent id: the key is not a string");
    if (numel.kind != Value::Kind::kInt || numel.int_value < 0) {
      Fail("storage persistent id: the element count is not a non-negative int");
    }
    StorageRef ref;
    ref.key = key.string_value;
    ref.type_name = type.string_value;
    ref.numel = numel.int_value;
    const Meta& type_meta = MetaOf(&type);
    ref.supported = type_meta.global == GlobalKind::kStorageType;
    ref.dtype = type_meta.storage_dtype;

    int32_t index;
    auto found = storage_by_key_.find(ref.key);
    if (found != storage_by_key_.end()) {
      index = found->second;
      const StorageRef& known = storage_refs_[static_cast<size_t>(index)];
      if (known.type_name != ref.type_name || known.numel != ref.numel) {
        Fail("storage '" + Printable(ref.key, 40) + "' is described twice differently (" +
             known.type_name + " of " + std::to_string(known.numel) + ", then " + ref.type_name +
             " of " + std::to_string(ref.numel) + ")");
      }
    } else {
      index = static_cast<int32_t>(storage_refs_.size());
      storage_by_key_.emplace(ref.key, index);
      storage_refs_.push_back(ref);
    }
    MutableValue storage = New(Value::Kind::kObject);
    storage->string_value = ref.type_name;
    MetaOf(storage.get()).storage = index;
    return storage;
  }

  MutableValue RebuildTensor(const std::vector<ValuePtr>& args) {
    if (args.size() != 6 && args.size() != 7) {
      Fail("_rebuild_tensor_v2 takes 6 or 7 arguments, got " + std::to_string(args.size()));
    }
    const int32_t storage_index = MetaOf(args[0].get()).storage;
    if (storage_index < 0) {
      Fail(std::string("_rebuild_tensor_v2's first argument is a ") + ValueKindName(args[0]->kind) +
           ", not a storage");
    }
    const StorageRef& storage = storage_refs_[static_cast<size_t>(storage_index)];
    if (!storage.supported) {
      Fail("a tensor is stored as " + Printable(storage.type_name, 80) +
           ", which is not supported (float32, float16, bfloat16, float64, int64, int32, int16, "
           "int8, uint8 and bool are)");
    }
    if (args[1]->kind != Value::Kind::kInt)
      Fail("_rebuild_tensor_v2's storage offset is not an int");
    PendingTensor pending;
    pending.storage = storage_index;
    pending.view.offset = args[1]->int_value;
    pending.view.sizes = IntList(*args[2], "size");
    pending.view.strides = IntList(*args[3], "stride");
    // Checked in full (against the storage) when materialized; the shape
    // must be sane already.
    if (pending.view.sizes.size() > kMaxDims) Fail("a tensor has more than 64 dimensions");
    pending.tensor = std::make_shared<Tensor>();
    pending.tensor->shape = pending.view.sizes;
    pending.tensor->source_dtype = storage.dtype;

    MutableValue value = New(Value::Kind::kTensor);
    value->tensor = pending.tensor;
    MetaOf(value.get()).pending = static_cast<int32_t>(pending_.size());
    pending_.push_back(std::move(pending));
    return value;
  }

  MutableValue MakeDict(const std::vector<ValuePtr>& args, size_t source_arg) {
    MutableValue dict = New(Value::Kind::kDict);
    if (args.size() <= source_arg) return dict;
    const Value& source = *args[source_arg];
    if (source.kind == Value::Kind::kDict) {
      for (const auto& [k, v] : source.entries) SetItem(dict.get(), k, v);
    } else if (IsSequence(source)) {
      for (const ValuePtr& pair : source.items) {
        if (!IsSequence(*pair) || pair->items.size() != 2) Fail("dict() from something not pairs");
        SetItem(dict.get(), pair->items[0], pair->items[1]);
      }
    } else {
      Fail(std::string("dict() from a ") + ValueKindName(source.kind));
    }
    return dict;
  }

  MutableValue Call(const Value& callable, const Value& args, bool nested = false) {
    if (args.kind != Value::Kind::kTuple) {
      Fail(OpName() + "'s arguments are a " + ValueKindName(args.kind) + ", not a tuple");
    }
    const std::vector<ValuePtr>& a = args.items;
    switch (MetaOf(&callable).global) {
      case GlobalKind::kOrderedDict:
        if (a.size() > 1) Fail("OrderedDict() with more than one argument");
        return MakeDict(a, 0);
      case GlobalKind::kDefaultDict:
        if (a.size() > 2) Fail("defaultdict() with more than two arguments");
        return MakeDict(a, 1);  // the default factory is dropped
      case GlobalKind::kSet:
        if (a.empty()) return New(Value::Kind::kList);
        if (a.size() != 1 || !IsSequence(*a[0])) Fail("set() from something not a list");
        return MakeSequence(Value::Kind::kList, a[0]->items);
      case GlobalKind::kTorchSize:
        if (a.size() != 1 || !IsSequence(*a[0])) Fail("torch.Size() from something not a tuple");
        return MakeSequence(Value::Kind::kTuple, a[0]->items);
      case GlobalKind::kRebuildTensorV2:
        return RebuildTensor(a);
      case GlobalKind::kRebuildParameter:
      case GlobalKind::kRebuildParameterWithState:
        if (a.empty() || a[0]->kind != Value::Kind::kTensor) {
          Fail(callable.string_value + "'s first argument is not a tensor");
        }
        return Mutable(a[0]);
      case GlobalKind::kRebuildFromTypeV2:
        // (func, new_type, args, state): a tensor subclass; keep the tensor.
        if (nested || a.size() != 4 || a[0]->kind != Value::Kind::kObject) {
          Fail("_rebuild_from_type_v2 with unexpected arguments");
        }
        return Call(*a[0], *a[2], true);
      case GlobalKind::kCodecsEncode:
      case GlobalKind::kBytes: {
        // _codecs.encode(text, 'latin1'), bytes(), bytearray(),
        // bytearray(text, 'latin-1') (protocol 2), bytearray(b'...') (3+).
        const bool is_encode = MetaOf(&callable).global == GlobalKind::kCodecsEncode;
        std::string bytes;
        bool ok = false;
        if (a.empty()) {
          ok = !is_encode;
        } else if (a.size() == 1 && a[0]->kind == Value::Kind::kBytes) {
          ok = !is_encode;
          bytes = a[0]->string_value;
        } else if (a.size() == 2 && a[0]->kind == Value::Kind::kString &&
                   a[1]->kind == Value::Kind::kString &&
                   (a[1]->string_value == "latin1" || a[1]->string_value == "latin-1")) {
          ok = Latin1(a[0]->string_value, &bytes);
        }
        if (!ok) break;  // anything else stays an inert call record
        MutableValue value = New(Value::Kind::kBytes);
        value->string_value = std::move(bytes);
        return value;
      }
      case GlobalKind::kStorageType:
      case GlobalKind::kNone:
        break;
    }
    if (callable.kind != Value::Kind::kObject) {
      Fail(OpName() + " calls a " + ValueKindName(callable.kind) +
           ", which is not a class or function");
    }
    // Unknown: an inert record of the call.
    MutableValue object = MakeSequence(Value::Kind::kObject, a);
    object->string_value = callable.string_value;
    return object;
  }

  // UTF-8 text whose code points are all below 256, as those bytes.
  static bool Latin1(const std::string& text, std::string* out) {
    for (size_t i = 0; i < text.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      if (c < 0x80) {
        out->push_back(static_cast<char>(c));
      } else if ((c == 0xc2 || c == 0xc3) && i + 1 < text.size() &&
                 (static_cast<unsigned char>(text[i + 1]) & 0xc0) == 0x80) {
        out->push_back(static_cast<char>(((c & 0x03) << 6) |
                                         (static_cast<unsigned char>(text[i + 1]) & 0x3f)));
        ++i;
      } else {
        return false;
      }
    }
    return true;
  }

  void Build(Value* object, const Value& state) {
    switch (object->kind) {
      case Value::Kind::kDict:    // OrderedDict's state, e.g. _metadata
      case Value::Kind::kTensor:  // Python attributes of a tensor
        return;
      case Value::Kind::kObject:
        if (!CanModify(object)) return;
        if (state.kind == Value::Kind::kDict) {
          for (const auto& [k, v] : state.entries) SetItem(object, k, v);
        } else if (state.kind == Value::Kind::kTuple && state.items.size() == 2) {
          // (instance dict, slot dict)
          for (const ValuePtr& part : state.items) {
            if (part->kind != Value::Kind::kDict) continue;
            for (const auto& [k, v] : part->entries) SetItem(object, k, v);
          }
        }
        return;
      default:
        Fail(std::string("BUILD on a ") + ValueKindName(object->kind));
    }
  }

  void Memoize(uint64_t index, const MutableValue& value) {
    if (memo_.size() >= kMaxMemo && memo_.find(index) == memo_.end()) {
      Fail("the pickle memoizes more than " + std::to_string(kMaxMemo) + " values");
    }
    memo_[index] = value;
  }

  void Fetch(uint64_t index) {
    auto found = memo_.find(index);
    if (found == memo_.end()) {
      Fail(OpName() + " " + std::to_string(index) + " refers to nothing memoized");
    }
    Push(found->second);
  }

  // ---- the opcode loop ---------------------------------------------------

  MutableValue Parse() {
    if (size_ == 0 || data_[0] != 0x80) {
      Fail("does not start with a pickle PROTO opcode (protocol 2 to 5 expected)");
    }
    for (;;) {
      op_offset_ = pos_;
      if (pos_ >= size_) Fail("ends without a STOP opcode (truncated?)");
      op_ = data_[pos_++];
      switch (op_) {
        case 0x80: {  // PROTO
          const uint64_t protocol = ReadLittleEndian(1);
          if (protocol < 2 || protocol > 5) {
            Fail("pickle protocol " + std::to_string(protocol) + " is not supported (2 to 5 are)");
          }
          break;
        }
        case 0x95: {  // FRAME: framing is only a hint for buffered readers
          const uint64_t length = ReadLittleEndian(8);
          if (length > size_ - pos_) Fail("FRAME runs past the end of the pickle (truncated?)");
          break;
        }
        case '.': {  // STOP
          if (!marks_.empty() || stack_.size() != 1) {
            Fail("STOP with " + std::to_string(stack_.size()) + " values on the stack and " +
                 std::to_string(marks_.size()) + " open MARKs (expected one value)");
          }
          return stack_.back();
        }
        case '(':  // MARK
          if (marks_.size() >= kMaxStack) Fail("too many open MARKs");
          marks_.push_back(stack_.size());
          break;
        case '0':  // POP (an empty frame above a MARK drops the MARK)
          if (Available() == 0 && !marks_.empty()) {
            marks_.pop_back();
          } else {
            Pop();
          }
          break;
        case '1':  // POP_MARK
          PopToMark();
          break;
        case '2':  // DUP
          Push(Top());
          break;
        case '}':
          Push(New(Value::Kind::kDict));
          break;
        case ']':
        case 0x8f:  // EMPTY_SET: sets are lists
          Push(New(Value::Kind::kList));
          break;
        case ')':
          Push(New(Value::Kind::kTuple));
          break;
        case 'd': {  // DICT
          std::vector<MutableValue> items = PopToMark();
          MutableValue dict = New(Value::Kind::kDict);
          SetItems(dict.get(), items);
          Push(std::move(dict));
          break;
        }
        case 'l':   // LIST
        case 0x91:  // FROZENSET
          Push(MakeSequence(Value::Kind::kList, PopToMark()));
          break;
        case 't':  // TUPLE
          Push(MakeSequence(Value::Kind::kTuple, PopToMark()));
          break;
        case 0x85:
        case 0x86:
        case 0x87:  // TUPLE1..3
          Push(MakeSequence(Value::Kind::kTuple, PopN(static_cast<size_t>(op_ - 0x84))));
          break;
        case 'a': {  // APPEND
          MutableValue item = Pop();
          Append(Top().get(), {item});
          break;
        }
        case 'e':     // APPENDS
        case 0x90: {  // ADDITEMS
          std::vector<MutableValue> items = PopToMark();
          Append(Top().get(), items);
          break;
        }
        case 's': {  // SETITEM
          std::vector<MutableValue> pair = PopN(2);
          SetItems(Top().get(), pair);
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<MutableValue> items = PopToMark();
          SetItems(Top().get(), items);
          break;
        }
        case 'J':
          Push(MakeInt(static_cast<int32_t>(static_cast<uint32_t>(ReadLittleEndian(4)))));
          break;
        case 'K':
          Push(MakeInt(static_cast<int64_t>(ReadLittleEndian(1))));
          break;
        case 'M':
          Push(MakeInt(static_cast<int64_t>(ReadLittleEndian(2))));
          break;
        case 0x8a: {  // LONG1
          const uint64_t n = ReadLittleEndian(1);
          const uint8_t* p = Take(n);
          Push(MakeInt(ParseLong(p, n)));
          break;
        }
        case 0x8b: {  // LONG4
          const int64_t n = static_cast<int32_t>(static_cast<uint32_t>(ReadLittleEndian(4)));
          if (n < 0) Fail("LONG4 with a negative length");
          const uint8_t* p = Take(static_cast<uint64_t>(n));
          Push(MakeInt(ParseLong(p, static_cast<uint64_t>(n))));
          break;
        }
        case 'G': {  // BINFLOAT: big-endian double
          const uint8_t* p = Take(8);
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
          MutableValue value = New(Value::Kind::kFloat);
          std::memcpy(&value->float_value, &bits, sizeof(bits));
          Push(std::move(value));
          break;
        }
        case 'N':
          Push(New(Value::Kind::kNone));
          break;
        case 0x88:
        case 0x89: {
          MutableValue value = New(Value::Kind::kBool);
          value->bool_value = op_ == 0x88;
          Push(std::move(value));
          break;
        }
        case 'X':
          Push(MakeBytes(Value::Kind::kString, ReadLittleEndian(4)));
          break;
        case 0x8c:
          Push(MakeBytes(Value::Kind::kString, ReadLittleEndian(1)));
          break;
        case 0x8d:
          Push(MakeBytes(Value::Kind::kString, ReadLittleEndian(8)));
          break;
        case 'B':
          Push(MakeBytes(Value::Kind::kBytes, ReadLittleEndian(4)));
          break;
        case 'C':
          Push(MakeBytes(Value::Kind::kBytes, ReadLittleEndian(1)));
          break;
        case 0x8e:
        case 0x96:  // BINBYTES8, BYTEARRAY8
          Push(MakeBytes(Value::Kind::kBytes, ReadLittleEndian(8)));
          break;
        case 'c': {  // GLOBAL
          std::string module = ReadLine();
          std::string name = ReadLine();
          Push(MakeGlobal(module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          MutableValue name = Pop();
          MutableValue module = Pop();
          if (module->kind != Value::Kind::kString || name->kind != Value::Kind::kString) {
            Fail("STACK_GLOBAL needs a module and a name string");
          }
          Push(MakeGlobal(module->string_value, name->string_value));
          break;
        }
        case 'R':     // REDUCE
        case 0x81: {  // NEWOBJ
          MutableValue args = Pop();
          MutableValue callable = Pop();
          Push(Call(*callable, *args));
          break;
        }
        case 0x92: {  // NEWOBJ_EX: keyword arguments are dropped
          MutableValue kwargs = Pop();
          MutableValue args = Pop();
          MutableValue callable = Pop();
          if (kwargs->kind != Value::Kind::kDict)
            Fail("NEWOBJ_EX keyword arguments are not a dict");
          Push(Call(*callable, *args));
          break;
        }
        case 'b': {  // BUILD
          MutableValue state = Pop();
          Build(Top().get(), *state);
          break;
        }
        case 'q':
          Memoize(ReadLittleEndian(1), Top());
          break;
        case 'r':
          Memoize(ReadLittleEndian(4), Top());
          break;
        case 0x94:
          Memoize(memo_.size(), Top());
          break;
        case 'h':
          Fetch(ReadLittleEndian(1));
          break;
        case 'j':
          Fetch(ReadLittleEndian(4));
          break;
        case 'Q': {  // BINPERSID
          MutableValue pid = Pop();
          Push(PersistentLoad(*pid));
          break;
        }
        default: {
          const char* name = OpcodeName(op_);
          Fail("unsupported pickle opcode " + Hex2(op_) +
               (name != nullptr ? std::string(" (") + name + ")"
                                : std::string(" (not a pickle opcode)")));
        }
      }
    }
  }

  // ---- tensors -------------------------------------------------------------

  [[noreturn]] void FailTensor(const PathSegment* where, const std::string& what) const {
    throw ConvertError(options_.file_name + ": tensor '" + RenderPath(where) + "' " + what);
  }

  void Materialize(int32_t index, const PathSegment* where) {
    PendingTensor& pending = pending_[static_cast<size_t>(index)];
    if (pending.done) return;
    pending.done = true;
    const StorageRef& storage = storage_refs_[static_cast<size_t>(pending.storage)];
    int64_t numel = 0;
    const std::string problem = CheckView(pending.view, storage.numel, &numel);
    if (!problem.empty()) {
      FailTensor(where, std::string("(") + DTypeName(storage.dtype) + ", " +
                            DescribeView(pending.view) + ", storage '" +
                            Printable(storage.key, 40) + "') " + problem);
    }
    if (numel == 0) return;
    if (static_cast<uint64_t>(numel) > options_.max_tensor_floats - floats_used_) {
      FailTensor(where,
                 "would bring the checkpoint's tensors to more than " +
                     std::to_string(options_.max_tensor_floats) +
                     " values, more than its storages can hold (a corrupt or crafted file?)");
    }
    floats_used_ += static_cast<uint64_t>(numel);
    StorageBytes bytes;
    try {
      bytes = storages_->Load(storage.key, storage.dtype, storage.numel);
    } catch (const ConvertError& e) {
      FailTensor(where, e.what());
    }
    pending.tensor->data.resize(static_cast<size_t>(numel));
    GatherToFloat(bytes, pending.view, pending.tensor->data.data());
  }

  // Materializes every tensor reachable from `value`, each once.
  void Walk(const Value* value, const PathSegment* where,
            std::unordered_set<const Value*>* visited) {
    if (!visited->insert(value).second) return;
    switch (value->kind) {
      case Value::Kind::kTensor:
        Materialize(MetaOf(value).pending, where);
        return;
      case Value::Kind::kList:
      case Value::Kind::kTuple:
      case Value::Kind::kDict:
      case Value::Kind::kObject:
        for (size_t i = 0; i < value->items.size(); ++i) {
          PathSegment child{where, nullptr, i, false};
          Walk(value->items[i].get(), &child, visited);
        }
        for (const auto& [k, v] : value->entries) {
          PathSegment key_segment{where, nullptr, 0, true};
          Walk(k.get(), &key_segment, visited);
          PathSegment child{where, k.get(), 0, false};
          Walk(v.get(), &child, visited);
        }
        return;
      default:
        return;
    }
  }

  const uint8_t* data_;
  size_t size_;
  const UnpickleOptions& options_;
  StorageProvider* storages_;

  size_t pos_ = 0;
  size_t op_offset_ = 0;
  uint8_t op_ = 0;
  size_t value_count_ = 0;
  uint64_t floats_used_ = 0;

  std::vector<MutableValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, MutableValue> memo_;
  std::unordered_map<const Value*, Meta> meta_;
  std::unordered_map<const Value*, std::unordered_map<std::string, size_t>> dict_index_;
  std::vector<StorageRef> storage_refs_;
  std::unordered_map<std::string, int32_t> storage_by_key_;
  std::vector<PendingTensor> pending_;
};

}  // namespace

ValuePtr UnpickleTorch(const uint8_t* data, size_t size, const UnpickleOptions& options,
                       StorageProvider* storages) {
  Unpickler unpickler(data, size, options, storages);
  return unpickler.Run();
}

}  // namespace rvgg::convert::ckpt
