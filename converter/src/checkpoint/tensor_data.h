// Internal to the checkpoint readers: turning raw storage bytes (little-endian
// elements of one dtype) into Tensor::data, for any strided view torch can
// describe. Nothing here knows about file formats.
#ifndef RVGG_CONVERTER_SRC_CHECKPOINT_TENSOR_DATA_H_
#define RVGG_CONVERTER_SRC_CHECKPOINT_TENSOR_DATA_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "converter/src/checkpoint/value.h"

namespace rvgg::convert::ckpt {

// Most dimensions a tensor may have (torch allows 64 as well).
constexpr size_t kMaxDims = 64;

// Bytes per element of `dtype` (bool is one byte, as torch stores it).
size_t DTypeSize(DType dtype);

// Overflow-checked int64 arithmetic; false on overflow.
inline bool CheckedMul(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
inline bool CheckedAdd(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

// Raw storage: `numel` elements of `dtype` at `bytes` (numel * DTypeSize
// bytes, little-endian). Not owned.
struct StorageBytes {
  DType dtype = DType::kFloat32;
  const uint8_t* bytes = nullptr;
  int64_t numel = 0;
};

// A view into a storage as torch describes it: element (i0, ..., in) lives at
// storage index offset + sum(i_k * strides[k]). Strides are in elements.
struct StridedView {
  int64_t offset = 0;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
};

// "size [2, 3], stride [3, 1], storage offset 4"; for messages.
std::string DescribeView(const StridedView& view);

// Checks that the view is well formed (as many strides as sizes, at most
// kMaxDims, nothing negative, element count representable) and that every
// element it addresses lies inside a storage of `storage_numel` elements.
// Sets *numel on success and returns ""; otherwise returns what is wrong
// ("reaches element 12 of a storage holding 12").
std::string CheckView(const StridedView& view, int64_t storage_numel, int64_t* numel);

// Writes the view's elements in row-major order to dst (numel floats).
// Precondition: CheckView(view, storage.numel) succeeded.
void GatherToFloat(const StorageBytes& storage, const StridedView& view, float* dst);

// Converts `count` consecutive elements at `src` to float.
void ConvertToFloat(DType dtype, const uint8_t* src, size_t count, float* dst);

// Replaces control characters so that text from a file cannot break a
// one-line message; long text is cut at `max_length` with "...".
std::string Printable(const std::string& text, size_t max_length = 200);

}  // namespace rvgg::convert::ckpt

#endif  // RVGG_CONVERTER_SRC_CHECKPOINT_TENSOR_DATA_H_
