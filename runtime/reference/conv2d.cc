// Conv2D, float32 and int8.
#include "runtime/reference/reference.h"

namespace rvgg::ref {

void Conv2D(const Conv2DShape& s, const float* input, const float* weights, const float* bias,
            float* output) {
  const uint32_t group_in = s.in_c / s.groups;
  const uint32_t group_out = s.out_c / s.groups;
  for (uint32_t oy = 0; oy < s.out_h; ++oy) {
    for (uint32_t ox = 0; ox < s.out_w; ++ox) {
      float* out = output + (static_cast<size_t>(oy) * s.out_w + ox) * s.out_c;
      for (uint32_t o = 0; o < s.out_c; ++o) {
        const uint32_t g = o / group_out;
        float acc = bias != nullptr ? bias[o] : 0.0f;
        for (uint32_t ky = 0; ky < s.kernel_h; ++ky) {
          const int64_t iy = int64_t{oy} * s.stride - s.padding + ky;
          if (iy < 0 || iy >= s.in_h) continue;
          for (uint32_t kx = 0; kx < s.kernel_w; ++kx) {
            const int64_t ix = int64_t{ox} * s.stride - s.padding + kx;
            if (ix < 0 || ix >= s.in_w) continue;
            const float* x =
                input + (static_cast<size_t>(iy) * s.in_w + ix) * s.in_c + g * group_in;
            const float* w =
                weights + ((static_cast<size_t>(o) * s.kernel_h + ky) * s.kernel_w + kx) * group_in;
            acc += Dot(x, w, group_in);
          }
        }
        out[o] = (s.relu && acc < 0.0f) ? 0.0f : acc;
      }
    }
  }
}

void Conv2DInt8(const Conv2DShape& s, QuantParams input_q, QuantParams output_q,
                const int8_t* input, const int8_t* weights, const float* weight_scales,
                const int32_t* bias, int8_t* output) {
  const uint32_t group_in = s.in_c / s.groups;
  const uint32_t group_out = s.out_c / s.groups;
  const int32_t qmin = s.relu && output_q.zero_point > -128 ? output_q.zero_point : -128;
  for (uint32_t oy = 0; oy < s.out_h; ++oy) {
    for (uint32_t ox = 0; ox < s.out_w; ++ox) {
      int8_t* out = output + (static_cast<size_t>(oy) * s.out_w + ox) * s.out_c;
      for (uint32_t o = 0; o < s.out_c; ++o) {
        const uint32_t g = o / group_out;
        int32_t acc = bias[o];
        // Taps outside the image are zero (the zero point): they add nothing.
        for (uint32_t ky = 0; ky < s.kernel_h; ++ky) {
          const int64_t iy = int64_t{oy} * s.stride - s.padding + ky;
          if (iy < 0 || iy >= s.in_h) continue;
          for (uint32_t kx = 0; kx < s.kernel_w; ++kx) {
            const int64_t ix = int64_t{ox} * s.stride - s.padding + kx;
            if (ix < 0 || ix >= s.in_w) continue;
            const int8_t* x =
                input + (static_cast<size_t>(iy) * s.in_w + ix) * s.in_c + g * group_in;
            const int8_t* w =
                weights + ((static_cast<size_t>(o) * s.kernel_h + ky) * s.kernel_w + kx) * group_in;
            for (uint32_t i = 0; i < group_in; ++i) {
              acc += (int32_t{x[i]} - input_q.zero_point) * int32_t{w[i]};
            }
          }
        }
        const float scale = input_q.scale * weight_scales[o] / output_q.scale;
        out[o] = Requantize(acc, scale, output_q.zero_point, qmin, 127);
      }
    }
  }
}

}  // namespace rvgg::ref
