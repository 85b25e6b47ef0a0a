// Internal to the checkpoint readers: the torch.save zip format (PyTorch >=
// 1.6). The archive holds <prefix>/data.pkl (the pickled object),
// <prefix>/data/<key> (one raw little-endian storage per key) and optionally
// <prefix>/version and <prefix>/byteorder; <prefix> is arbitrary (torch uses
// the file's stem, or "archive").
#ifndef RVGG_CONVERTER_SRC_CHECKPOINT_TORCH_ZIP_H_
#define RVGG_CONVERTER_SRC_CHECKPOINT_TORCH_ZIP_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "converter/src/checkpoint/value.h"

namespace rvgg::convert::ckpt {

// Reads a torch.save zip archive held in memory (`data` must stay valid for
// the call only; nothing points into it afterwards). `name` prefixes every
// message. Throws ConvertError.
ValuePtr ReadTorchZip(const uint8_t* data, size_t size, const std::string& name);

}  // namespace rvgg::convert::ckpt

#endif  // RVGG_CONVERTER_SRC_CHECKPOINT_TORCH_ZIP_H_
