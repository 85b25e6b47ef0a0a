#include "converter/src/checkpoint/tensor_data.h"

#include <cstring>
#include <string>

namespace rvgg::convert::ckpt {
namespace {

// Storage bytes are little-endian whatever the host is.
template <typename T>
T LoadLittleEndian(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  if constexpr (sizeof(T) == 2) {
    value = static_cast<T>(__builtin_bswap16(static_cast<uint16_t>(value)));
  } else if constexpr (sizeof(T) == 4) {
    value = static_cast<T>(__builtin_bswap32(static_cast<uint32_t>(value)));
  } else if constexpr (sizeof(T) == 8) {
    value = static_cast<T>(__builtin_bswap64(static_cast<uint64_t>(value)));
  }
#endif
  return value;
}

float BitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

double BitsToDouble(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

// IEEE binary16 to binary32, exact (every half is a float); NaN payloads are
// kept, as torch's conversion does.
float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-08f;
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return BitsToFloat(sign | 0x7f800000u | (mantissa << 13));
  return BitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

struct LoadF32 {
  static float Load(const uint8_t* p) { return BitsToFloat(LoadLittleEndian<uint32_t>(p)); }
};
struct LoadF16 {
  static float Load(const uint8_t* p) { return HalfToFloat(LoadLittleEndian<uint16_t>(p)); }
};
struct LoadBF16 {
  static float Load(const uint8_t* p) {
    return BitsToFloat(static_cast<uint32_t>(LoadLittleEndian<uint16_t>(p)) << 16);
  }
};
struct LoadF64 {
  static float Load(const uint8_t* p) {
    return static_cast<float>(BitsToDouble(LoadLittleEndian<uint64_t>(p)));
  }
};
struct LoadI64 {
  static float Load(const uint8_t* p) {
    return static_cast<float>(static_cast<int64_t>(LoadLittleEndian<uint64_t>(p)));
  }
};
struct LoadI32 {
  static float Load(const uint8_t* p) {
    return static_cast<float>(static_cast<int32_t>(LoadLittleEndian<uint32_t>(p)));
  }
};
struct LoadI16 {
  static float Load(const uint8_t* p) {
    return static_cast<float>(static_cast<int16_t>(LoadLittleEndian<uint16_t>(p)));
  }
};
struct LoadI8 {
  static float Load(const uint8_t* p) { return static_cast<float>(static_cast<int8_t>(*p)); }
};
struct LoadU8 {
  static float Load(const uint8_t* p) { return static_cast<float>(*p); }
};
struct LoadBool {
  static float Load(const uint8_t* p) { return *p != 0 ? 1.0f : 0.0f; }
};

template <typename Loader>
void ConvertRun(const uint8_t* src, size_t count, size_t element_size, float* dst) {
  for (size_t i = 0; i < count; ++i) dst[i] = Loader::Load(src + i * element_size);
}

// Row-major walk over an arbitrary strided view: an odometer over the outer
// dimensions, a plain loop over the last one. `position` only ever moves by
// stride steps that CheckView proved stay in [offset, last element], so it
// cannot overflow even when a size-1 dimension has an absurd stride.
template <typename Loader>
void GatherRun(const uint8_t* base, size_t element_size, int64_t offset,
               const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides, float* dst) {
  const size_t ndim = sizes.size();
  if (ndim == 0) {
    dst[0] = Loader::Load(base + static_cast<size_t>(offset) * element_size);
    return;
  }
  const int64_t inner = sizes[ndim - 1];
  const int64_t inner_stride = strides[ndim - 1];
  std::vector<int64_t> index(ndim, 0);
  int64_t position = offset;
  for (;;) {
    for (int64_t j = 0; j < inner; ++j) {
      *dst++ = Loader::Load(base + static_cast<size_t>(position + j * inner_stride) * element_size);
    }
    // Advance the outer dimensions, last to first; done when all wrap.
    size_t d = ndim - 1;
    for (;;) {
      if (d == 0) return;
      --d;
      if (++index[d] < sizes[d]) {
        position += strides[d];
        break;
      }
      position -= strides[d] * (sizes[d] - 1);
      index[d] = 0;
    }
  }
}

template <typename Loader>
void Gather(const StorageBytes& storage, const StridedView& view, float* dst) {
  const size_t element_size = DTypeSize(storage.dtype);
  // Contiguous (the usual case): one linear run. The stride of a size-1
  // dimension never matters.
  bool contiguous = true;
  int64_t expected = 1;
  for (size_t i = view.sizes.size(); i-- > 0;) {
    if (view.sizes[i] != 1 && view.strides[i] != expected) contiguous = false;
    expected *= view.sizes[i];
  }
  if (contiguous) {
    ConvertRun<Loader>(storage.bytes + static_cast<size_t>(view.offset) * element_size,
                       static_cast<size_t>(expected), element_size, dst);
    return;
  }
  GatherRun<Loader>(storage.bytes, element_size, view.offset, view.sizes, view.strides, dst);
}

std::string JoinInts(const std::vector<int64_t>& values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(values[i]);
  }
  return s + "]";
}

}  // namespace

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat64:
    case DType::kInt64:
      return 8;
    case DType::kFloat32:
    case DType::kInt32:
      return 4;
    case DType::kFloat16:
    case DType::kBFloat16:
    case DType::kInt16:
      return 2;
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kBool:
      return 1;
  }
  return 1;
}

std::string DescribeView(const StridedView& view) {
  return "size " + JoinInts(view.sizes) + ", stride " + JoinInts(view.strides) +
         ", storage offset " + std::to_string(view.offset);
}

std::string CheckView(const StridedView& view, int64_t storage_numel, int64_t* numel) {
  if (view.sizes.size() != view.strides.size()) {
    return "has " + std::to_string(view.sizes.size()) + " sizes but " +
           std::to_string(view.strides.size()) + " strides";
  }
  if (view.sizes.size() > kMaxDims) {
    return "has " + std::to_string(view.sizes.size()) + " dimensions (at most " +
           std::to_string(kMaxDims) + " supported)";
  }
  if (view.offset < 0) return "has a negative storage offset";
  int64_t count = 1;
  for (size_t i = 0; i < view.sizes.size(); ++i) {
    if (view.sizes[i] < 0) return "has a negative size";
    if (view.strides[i] < 0) return "has a negative stride";
    if (!CheckedMul(count, view.sizes[i], &count)) return "has more elements than int64 can count";
  }
  if (count == 0) {
    *numel = 0;  // addresses nothing, so any offset is harmless
    return "";
  }
  int64_t last = view.offset;
  for (size_t i = 0; i < view.sizes.size(); ++i) {
    int64_t reach;
    if (!CheckedMul(view.sizes[i] - 1, view.strides[i], &reach) ||
        !CheckedAdd(last, reach, &last)) {
      return "addresses elements beyond int64 range";
    }
  }
  if (last >= storage_numel) {
    return "reaches element " + std::to_string(last) + " of a storage holding " +
           std::to_string(storage_numel) + " elements";
  }
  *numel = count;
  return "";
}

void GatherToFloat(const StorageBytes& storage, const StridedView& view, float* dst) {
  switch (storage.dtype) {
    case DType::kFloat32:
      return Gather<LoadF32>(storage, view, dst);
    case DType::kFloat16:
      return Gather<LoadF16>(storage, view, dst);
    case DType::kBFloat16:
      return Gather<LoadBF16>(storage, view, dst);
    case DType::kFloat64:
      return Gather<LoadF64>(storage, view, dst);
    case DType::kInt64:
      return Gather<LoadI64>(storage, view, dst);
    case DType::kInt32:
      return Gather<LoadI32>(storage, view, dst);
    case DType::kInt16:
      return Gather<LoadI16>(storage, view, dst);
    case DType::kInt8:
      return Gather<LoadI8>(storage, view, dst);
    case DType::kUInt8:
      return Gather<LoadU8>(storage, view, dst);
    case DType::kBool:
      return Gather<LoadBool>(storage, view, dst);
  }
}

void ConvertToFloat(DType dtype, const uint8_t* src, size_t count, float* dst) {
  StorageBytes storage;
  storage.dtype = dtype;
  storage.bytes = src;
  storage.numel = static_cast<int64_t>(count);
  StridedView view;
  view.sizes = {static_cast<int64_t>(count)};
  view.strides = {1};
  if (count > 0) GatherToFloat(storage, view, dst);
}

std::string Printable(const std::string& text, size_t max_length) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= max_length) {
      out += "...";
      break;
    }
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace rvgg::convert::ckpt
