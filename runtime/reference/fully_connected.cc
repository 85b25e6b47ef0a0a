// Fully connected layers, float32 and int8.
#include "runtime/reference/reference.h"

namespace rvgg::ref {

float Dot(const float* a, const float* b, uint32_t n) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (uint32_t j = 0; j < 8; ++j) partial[j] += a[i + j] * b[i + j];
  }
  for (; i < n; ++i) partial[0] += a[i] * b[i];
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

void FullyConnected(uint32_t in_features, uint32_t out_features, const float* input,
                    const float* weights, const float* bias, bool relu, float* output) {
  for (uint32_t o = 0; o < out_features; ++o) {
    float acc = (bias != nullptr ? bias[o] : 0.0f) +
                Dot(weights + static_cast<size_t>(o) * in_features, input, in_features);
    output[o] = (relu && acc < 0.0f) ? 0.0f : acc;
  }
}

void FullyConnectedInt8(uint32_t in_features, uint32_t out_features, QuantParams input_q,
                        QuantParams output_q, const int8_t* input, const int8_t* weights,
                        const float* weight_scales, const int32_t* bias, bool relu,
                        int8_t* output) {
  const int32_t qmin = relu && output_q.zero_point > -128 ? output_q.zero_point : -128;
  for (uint32_t o = 0; o < out_features; ++o) {
    const int8_t* w = weights + static_cast<size_t>(o) * in_features;
    int32_t acc = bias[o];
    for (uint32_t i = 0; i < in_features; ++i) {
      acc += (int32_t{input[i]} - input_q.zero_point) * int32_t{w[i]};
    }
    const float scale = input_q.scale * weight_scales[o] / output_q.scale;
    output[o] = Requantize(acc, scale, output_q.zero_point, qmin, 127);
  }
}

}  // namespace rvgg::ref
