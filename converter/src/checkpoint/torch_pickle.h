// Internal to the checkpoint readers: a strict, non-executing unpickler for
// the data.pkl that torch.save writes (pickle protocols 2 to 5).
//
// It understands the opcodes Python's pickler emits for state dicts and
// training checkpoints, the globals torch uses to rebuild tensors and
// parameters, and OrderedDict/set/frozenset/torch.Size. Any other global
// becomes an inert Value::Kind::kObject: nothing is looked up or executed.
// Recursive structures are rejected; memo, stack, object count, nesting and
// the bytes materialized for tensors are bounded.
#ifndef RVGG_CONVERTER_SRC_CHECKPOINT_TORCH_PICKLE_H_
#define RVGG_CONVERTER_SRC_CHECKPOINT_TORCH_PICKLE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "converter/src/checkpoint/tensor_data.h"
#include "converter/src/checkpoint/value.h"

namespace rvgg::convert::ckpt {

// Deepest nesting of containers accepted.
constexpr uint32_t kMaxPickleDepth = 1000;
// Most values (of any kind) one pickle may create.
constexpr size_t kMaxPickleValues = size_t{1} << 22;

// Supplies the bytes of the storages that persistent ids name.
class StorageProvider {
 public:
  virtual ~StorageProvider() = default;
  // Returns storage `key` holding `numel` elements of `dtype`; the bytes stay
  // valid while the provider lives. Throws ConvertError whose message is a
  // fragment the caller prefixes with the file and tensor ("needs storage
  // 'archive/data/3', which the zip archive does not have").
  virtual StorageBytes Load(const std::string& key, DType dtype, int64_t numel) = 0;
};

struct UnpickleOptions {
  std::string file_name;    // prefixes every message: "model.pth"
  std::string pickle_name;  // the stream, in opcode messages: "archive/data.pkl"
  // Most floats all reachable tensors together may materialize.
  uint64_t max_tensor_floats = 0;
};

// Unpickles `data` and materializes every tensor reachable from the result
// (tensors only some unreachable popped value held are never read). Throws
// ConvertError with one line naming the byte offset of a bad opcode, or the
// path of a bad tensor ("tensor 'state_dict.conv.weight' ...").
ValuePtr UnpickleTorch(const uint8_t* data, size_t size, const UnpickleOptions& options,
                       StorageProvider* storages);

}  // namespace rvgg::convert::ckpt

#endif  // RVGG_CONVERTER_SRC_CHECKPOINT_TORCH_PICKLE_H_
