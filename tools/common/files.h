// File helpers for the tools: whole-file reads into 64-byte aligned memory
// (models are read in place by the runtime) and atomic writes.
#ifndef RVGG_TOOLS_COMMON_FILES_H_
#define RVGG_TOOLS_COMMON_FILES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rvgg::tools {

// Reads a whole file. On failure returns false with one line in `error`
// ("MODEL.rvgg: No such file or directory", "... is a directory").
bool ReadFile(const std::string& path, std::vector<uint8_t>* bytes, std::string* error);

// A file's contents in 64-byte aligned memory.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  bool Load(const std::string& path, std::string* error);
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

// Writes to a temporary file next to `path`, then renames it over `path`.
bool WriteFileAtomically(const std::string& path, const std::vector<uint8_t>& bytes,
                         std::string* error);

}  // namespace rvgg::tools

#endif  // RVGG_TOOLS_COMMON_FILES_H_
