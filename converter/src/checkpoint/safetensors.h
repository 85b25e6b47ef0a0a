// Internal to the checkpoint readers: the safetensors format. An 8-byte
// little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {...}}, then the data section; offsets are relative to it.
//
// Accepted: dtypes F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL. Every
// tensor's byte range must lie inside the data section and match
// numel * element size; ranges must not overlap (gaps and trailing bytes are
// tolerated); names must be unique; the header is at most 100 MB (the
// reference implementation's limit). The result keeps the header's order.
#ifndef RVGG_CONVERTER_SRC_CHECKPOINT_SAFETENSORS_H_
#define RVGG_CONVERTER_SRC_CHECKPOINT_SAFETENSORS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "converter/src/checkpoint/value.h"

namespace rvgg::convert::ckpt {

constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

// Reads a safetensors file held in memory into a dict of name -> tensor.
// `name` prefixes every message. Throws ConvertError.
ValuePtr ReadSafetensors(const uint8_t* data, size_t size, const std::string& name);

}  // namespace rvgg::convert::ckpt

#endif  // RVGG_CONVERTER_SRC_CHECKPOINT_SAFETENSORS_H_
