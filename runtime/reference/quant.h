// int8 quantization parameters and the limits of int8 arithmetic that every
// side of the project shares: the converter chooses scales within them, the
// runtime's verification enforces them, every int8 kernel relies on them.
#ifndef RVGG_RUNTIME_REFERENCE_QUANT_H_
#define RVGG_RUNTIME_REFERENCE_QUANT_H_

#include <cstdint>

namespace rvgg {

// Affine int8 quantization: real = scale * (q - zero_point).
struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// A convolution or fully connected layer's requantization scale,
// input_scale * weight_scale / output_scale, lies in [2^-32, 256) (XNNPACK
// refuses operators outside it); a global average pool's input_scale /
// output_scale in [2^-8, 2^8).
constexpr float kMinRequantScale = 0x1.0p-32f;
constexpr float kMaxRequantScale = 256.0f;
constexpr float kMinPoolScaleRatio = 0x1.0p-8f;
constexpr float kMaxPoolScaleRatio = 0x1.0p+8f;
// An int8 global average pool sums (q - zero_point), |.| <= 255, in int32.
constexpr uint64_t kMaxInt8PoolPixels = (uint64_t{1} << 31) / 256;

}  // namespace rvgg

#endif  // RVGG_RUNTIME_REFERENCE_QUANT_H_
