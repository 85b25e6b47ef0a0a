// Squeeze-excite (float32 only), built from the pooling and fully connected
// reference ops.
#include <cmath>

#include "runtime/reference/reference.h"

namespace rvgg::ref {

void SqueezeExcite(uint32_t height, uint32_t width, uint32_t channels, uint32_t reduced,
                   const float* down_weights, const float* down_bias, const float* up_weights,
                   const float* up_bias, bool relu, float* data, float* scratch) {
  float* pooled = scratch;             // channels
  float* hidden = scratch + channels;  // reduced
  GlobalAveragePool(height, width, channels, data, pooled);
  FullyConnected(channels, reduced, pooled, down_weights, down_bias, /*relu=*/true, hidden);
  // The channel scales overwrite `pooled`, which is no longer needed.
  float* scale = pooled;
  FullyConnected(reduced, channels, hidden, up_weights, up_bias, /*relu=*/false, scale);
  for (uint32_t c = 0; c < channels; ++c) scale[c] = 1.0f / (1.0f + std::exp(-scale[c]));
  const size_t pixels = static_cast<size_t>(height) * width;
  for (size_t p = 0; p < pixels; ++p) {
    float* x = data + p * channels;
    for (uint32_t c = 0; c < channels; ++c) {
      const float y = x[c] * scale[c];
      x[c] = (relu && y < 0.0f) ? 0.0f : y;
    }
  }
}

}  // namespace rvgg::ref
