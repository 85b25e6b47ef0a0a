// Global average pooling, float32 and int8.
#include "runtime/reference/reference.h"

namespace rvgg::ref {

void GlobalAveragePool(uint32_t height, uint32_t width, uint32_t channels, const float* input,
                       float* output) {
  const size_t pixels = static_cast<size_t>(height) * width;
  for (uint32_t c = 0; c < channels; ++c) output[c] = 0.0f;
  for (size_t p = 0; p < pixels; ++p) {
    const float* x = input + p * channels;
    for (uint32_t c = 0; c < channels; ++c) output[c] += x[c];
  }
  const float scale = 1.0f / static_cast<float>(pixels);
  for (uint32_t c = 0; c < channels; ++c) output[c] *= scale;
}

void GlobalAveragePoolInt8(uint32_t height, uint32_t width, uint32_t channels, QuantParams input_q,
                           QuantParams output_q, const int8_t* input, int8_t* output) {
  const size_t pixels = static_cast<size_t>(height) * width;
  // XNNPACK folds the zero point into the accumulator's start value and the
  // 1/pixels into the requantization scale, evaluated in this order.
  const int32_t start = -static_cast<int32_t>(pixels) * input_q.zero_point;
  const float scale = input_q.scale / (output_q.scale * static_cast<float>(pixels));
  for (uint32_t c = 0; c < channels; ++c) {
    int32_t acc = start;
    for (size_t p = 0; p < pixels; ++p) acc += input[p * channels + c];
    output[c] = Requantize(acc, scale, output_q.zero_point, -128, 127);
  }
}

}  // namespace rvgg::ref
