// float32 <-> int8 and requantization.
#include <cmath>

#include "runtime/reference/reference.h"

namespace rvgg::ref {

int8_t Requantize(int32_t acc, float scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
  const float lo = static_cast<float>(qmin - zero_point);
  const float hi = static_cast<float>(qmax - zero_point);
  float v = static_cast<float>(acc) * scale;
  v = v < lo ? lo : (v > hi ? hi : v);
  return static_cast<int8_t>(static_cast<int32_t>(std::nearbyint(v)) + zero_point);
}

void QuantizeF32(size_t count, const float* input, QuantParams q, int8_t* output) {
  const float inverse = 1.0f / q.scale;
  const float lo = static_cast<float>(-128 - q.zero_point);
  const float hi = static_cast<float>(127 - q.zero_point);
  for (size_t i = 0; i < count; ++i) {
    float v = input[i] * inverse;
    v = v >= lo ? v : lo;  // also maps NaN to the lowest value
    v = v <= hi ? v : hi;
    output[i] = static_cast<int8_t>(static_cast<int32_t>(std::nearbyint(v)) + q.zero_point);
  }
}

void DequantizeInt8(size_t count, const int8_t* input, QuantParams q, float* output) {
  for (size_t i = 0; i < count; ++i) {
    output[i] = static_cast<float>(int32_t{input[i]} - q.zero_point) * q.scale;
  }
}

}  // namespace rvgg::ref
