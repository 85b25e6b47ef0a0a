// Minimal .npy (NumPy format 1.0-3.0) reading and writing for float32
// C-order arrays: what rvgg-run takes and gives.
#ifndef RVGG_TOOLS_COMMON_NPY_H_
#define RVGG_TOOLS_COMMON_NPY_H_

#include <cstdint>
#include <string>
#include <vector>

namespace rvgg::tools {

struct NpyArray {
  std::vector<uint64_t> shape;
  std::vector<float> data;
};

// Reads a little-endian float32 ('<f4'), C-order array. Returns false and
// sets `error` to one line on any problem (missing file, not .npy, other
// dtype, Fortran order, truncated data).
bool ReadNpy(const std::string& path, NpyArray* array, std::string* error);

// Writes a float32 array (format 1.0) to a temporary file and renames it over
// `path`, so a failure never leaves a partial or clobbered file.
bool WriteNpy(const std::string& path, const std::vector<uint64_t>& shape, const float* data,
              std::string* error);

// "[2, 3, 224, 224]"
std::string ShapeString(const std::vector<uint64_t>& shape);

}  // namespace rvgg::tools

#endif  // RVGG_TOOLS_COMMON_NPY_H_
