// What checkpoint readers produce: a tree of Python-like values whose leaves
// include tensors already converted to contiguous fp32. Readers know file
// formats and nothing about RepVGG.
#ifndef RVGG_CONVERTER_SRC_CHECKPOINT_VALUE_H_
#define RVGG_CONVERTER_SRC_CHECKPOINT_VALUE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rvgg::convert {

enum class DType {
  kFloat32,
  kFloat16,
  kBFloat16,
  kFloat64,
  kInt64,
  kInt32,
  kInt16,
  kInt8,
  kUInt8,
  kBool
};

// torch's name: "float32", "bfloat16", "int64", "bool", ...
const char* DTypeName(DType dtype);

// A dense tensor, row-major (C-contiguous), values upcast to float (exact
// for float16/bfloat16 and small integers; float64 and large int64 values
// round to nearest, as torch's .float() does). data.size() == numel().
struct Tensor {
  std::vector<int64_t> shape;
  DType source_dtype = DType::kFloat32;
  std::vector<float> data;

  int64_t numel() const;
  std::string ShapeString() const;  // "[64, 3, 3, 3]"
};

struct Value;
using ValuePtr = std::shared_ptr<const Value>;

// A value from a checkpoint. Objects the readers do not understand (an
// argparse.Namespace in a training script's checkpoint, an optimizer class)
// become kObject with their qualified name; nothing is ever executed.
//
// How pickled Python maps onto it: None, bool, int (64-bit), float, str,
// bytes and bytearray (kBytes), tensors and nn.Parameters (kTensor), list, set
// and frozenset (kList), tuple and torch.Size (kTuple), dict, OrderedDict and
// defaultdict (kDict; keys may be any kind, in insertion order, a repeated
// key replaces the earlier value as in Python). Anything else is kObject:
// `string_value` is the qualified name ("argparse.Namespace", "torch.device",
// "numpy.core.multiarray.scalar"); for an instance, `items` holds the
// arguments it was constructed with and `entries` the attribute state the
// pickle gave it (a dict), for information only. A class or function that is
// referenced but never called is a kObject with empty items and entries.
// The tree is acyclic (the readers reject recursive structures), nesting is
// at most 1000 levels, and values may be shared (the same tensor reached
// twice). It owns all its data: nothing points into the file's bytes.
struct Value {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kBytes,
    kTensor,
    kList,
    kTuple,
    kDict,
    kObject
  };
  Kind kind = Kind::kNone;
  bool bool_value = false;
  int64_t int_value = 0;
  double float_value = 0.0;
  std::string string_value;  // kString, kBytes, kObject (qualified name)
  std::shared_ptr<const Tensor> tensor;
  std::vector<ValuePtr> items;                         // kList, kTuple; kObject args
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // kDict, in order; kObject state

  // Dict lookup by string key (linear); nullptr when absent or not a dict.
  // The returned pointer lives as long as this value.
  const Value* Get(const std::string& key) const;
};

// "none", "bool", "int", ..., "object"; for messages.
const char* ValueKindName(Value::Kind kind);

// A checkpoint file, read completely.
struct Checkpoint {
  std::string container;  // "torch-zip", "safetensors"
  ValuePtr root;          // safetensors: a dict of name -> tensor, in the
                          // order of the file's JSON header
};

// Reads any supported container, detected from the bytes (never from the
// file name): PyTorch's torch.save zip format (>= 1.6; pickle protocols 2 to
// 5) and safetensors. Every tensor reachable from the root is materialized.
// What a crafted file can make it allocate is bounded: tensors get at most 4
// floats per storage byte plus 2^24 in all, a pickle at most 2^22 values,
// a zip entry at most 1032 times its compressed size.
// Throws ConvertError with one line, prefixed with `path`, naming the
// problem: missing file, directory, empty file, legacy (pre-1.6) torch.save
// format with how to re-save it, unrecognized content, truncated or corrupt
// archive, big-endian archive, unsupported pickle opcode (with its byte
// offset), recursive structure, unsupported dtype, a tensor view or
// safetensors offsets outside the data (naming the tensor).
// Reentrant: no global state.
Checkpoint ReadCheckpoint(const std::string& path);

// The same, from bytes in memory (`name` is used in messages). The bytes are
// only read during the call. Fuzz targets and tests use this.
Checkpoint ReadCheckpointBytes(const uint8_t* data, size_t size, const std::string& name);

}  // namespace rvgg::convert

#endif  // RVGG_CONVERTER_SRC_CHECKPOINT_VALUE_H_
