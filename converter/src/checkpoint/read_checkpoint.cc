// Format detection and file access; the formats live in torch_zip.cc and
// safetensors.cc.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "converter/src/checkpoint/safetensors.h"
#include "converter/src/checkpoint/tensor_data.h"
#include "converter/src/checkpoint/torch_zip.h"
#include "converter/src/checkpoint/value.h"
#include "converter/src/error.h"

namespace rvgg::convert {
namespace {

bool StartsWith(const uint8_t* data, size_t size, const char* prefix, size_t length) {
  return size >= length && std::memcmp(data, prefix, length) == 0;
}

// torch.save before PyTorch 1.6 (or with _use_new_zipfile_serialization=
// False) writes a bare pickle stream whose first object is this magic
// number, as LONG1 with 10 little-endian bytes.
bool IsLegacyTorch(const uint8_t* data, size_t size) {
  static const uint8_t kMagic[] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                   0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  if (size < 2 || data[0] != 0x80) return false;
  size_t pos = 2;
  if (size > pos && data[pos] == 0x95) pos += 9;  // protocol >= 4 FRAME
  return size >= pos + sizeof(kMagic) && std::memcmp(data + pos, kMagic, sizeof(kMagic)) == 0;
}

std::string FirstBytes(const uint8_t* data, size_t size) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < size && i < 8; ++i) {
    if (i > 0) s += ' ';
    s += kHex[data[i] >> 4];
    s += kHex[data[i] & 15];
  }
  return s;
}

}  // namespace

Checkpoint ReadCheckpointBytes(const uint8_t* data, size_t size, const std::string& name) {
  if (size == 0) throw ConvertError(name + ": file is empty");
  Checkpoint checkpoint;
  // Local file header, or the end-of-directory record of an empty archive.
  if (StartsWith(data, size, "PK\x03\x04", 4) || StartsWith(data, size, "PK\x05\x06", 4)) {
    checkpoint.container = "torch-zip";
    checkpoint.root = ckpt::ReadTorchZip(data, size, name);
    return checkpoint;
  }
  if (IsLegacyTorch(data, size)) {
    throw ConvertError(name +
                       ": legacy torch.save format (PyTorch < 1.6, or "
                       "_use_new_zipfile_serialization=False), which is not supported; re-save it "
                       "with PyTorch >= 1.6, which writes the zip format: "
                       "torch.save(torch.load(f), f2)");
  }
  if (size >= 9 && data[8] == '{') {
    checkpoint.container = "safetensors";
    checkpoint.root = ckpt::ReadSafetensors(data, size, name);
    return checkpoint;
  }
  std::string hint;
  if (data[0] == 0x80) {
    hint = "a Python pickle, but without torch.save's magic number";
  } else if (StartsWith(data, size, "version https://git-lfs", 23)) {
    hint = "a Git LFS pointer, not the file itself: fetch it with 'git lfs pull'";
  } else if (StartsWith(data, size, "\x1f\x8b", 2)) {
    hint = "gzip-compressed: decompress it first";
  } else if (StartsWith(data, size, "\x89HDF", 4)) {
    hint = "an HDF5 file (Keras?)";
  } else {
    hint = "starts with " + FirstBytes(data, size);
  }
  throw ConvertError(name + ": not a PyTorch or safetensors checkpoint (" + hint + ")");
}

Checkpoint ReadCheckpoint(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    throw ConvertError(path + ": no such file");
  }
  if (status.type() == std::filesystem::file_type::directory) {
    throw ConvertError(path +
                       ": is a directory, not a checkpoint file (name the file inside it, e.g. "
                       "model.safetensors or pytorch_model.bin)");
  }
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) throw ConvertError(path + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> bytes;
  if (status.type() == std::filesystem::file_type::regular) {
    const uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec) bytes.reserve(static_cast<size_t>(size));
  }
  uint8_t buffer[1 << 16];
  for (;;) {
    const size_t n = std::fread(buffer, 1, sizeof(buffer), file.get());
    bytes.insert(bytes.end(), buffer, buffer + n);
    if (n < sizeof(buffer)) {
      if (std::ferror(file.get()))
        throw ConvertError(path + ": cannot read: " + std::strerror(errno));
      break;
    }
  }
  return ReadCheckpointBytes(bytes.data(), bytes.size(), path);
}

}  // namespace rvgg::convert
