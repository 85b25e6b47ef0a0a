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

const char* DTypeName(DType dtype);

// A dense tensor, row-major (C-contiguous), values upcast to float.
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
// bytes/bytearray (kBytes), tensors and nn.Parameters (kTensor), list, set
// and frozenset (kList), tuple and torch.Size (kTuple), dict, OrderedDict and
// defaultdict (kDict; keys may be any kind, in insertion order, a repeated
// key replaces the earlier value as in Python). Anything else is kObject:
// `string_value` is the qualified name ("argparse.Namespace", "torch.device",
// "numpy.core.multiarray.scalar"); for an instance, `items` holds the
// arguments it was constructed with and `entries` the attribute state the
// pickle gave it (a dict), for information only. A class or function that is
// referenced but never called is a kObject with empty items and entries.
// The tree is acyclic (the readers reject recursive structures), nesting is
// bounded, and values may be shared (the same tensor reached twice).
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
  std::vector<ValuePtr> items;                        // kList, kTuple
  std::vector<std::pair<ValuePtr, ValuePtr>> entries; // kDict, in order

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
// file name): PyTorch's torch.save zip format (>= 1.6) and safetensors.
// Throws ConvertError with one line naming the problem: missing file,
// directory, empty file, legacy (pre-1.6) torch.save format with how to
// re-save it, truncated or corrupt archive, unsupported pickle content,
// out-of-range offsets.
Checkpoint ReadCheckpoint(const std::string& path);

// The same, from bytes in memory (`name` is used in messages). Fuzz targets
// and tests use this.
Checkpoint ReadCheckpointBytes(const uint8_t* data, size_t size,
                               const std::string& name);

}  // namespace rvgg::convert

#endif  // RVGG_CONVERTER_SRC_CHECKPOINT_VALUE_H_
