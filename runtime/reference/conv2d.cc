// Conv2D, float32 and int8.
#include "runtime/reference/reference.h"

namespace rvgg::ref {
namespace {

// Calls add(x, w) for each kernel tap of output pixel (oy, ox), channel o
// (of group g), that lies inside the image (a tap outside adds nothing: zero
// padding, or the input zero point in int8), x pointing at the tap's
// group_in inputs of group g and w at o's weights for them.
template <typename T, typename Add>
[[gnu::always_inline]] inline void ForEachTap(const Conv2DShape& s, const T* input,
                                              const T* weights, uint32_t oy, uint32_t ox,
                                              uint32_t o, uint32_t group_in, uint32_t g, Add add) {
  for (uint32_t ky = 0; ky < s.kernel_h; ++ky) {
    const int64_t iy = int64_t{oy} * s.stride - s.padding + ky;
    if (iy < 0 || iy >= s.in_h) continue;
    for (uint32_t kx = 0; kx < s.kernel_w; ++kx) {
      const int64_t ix = int64_t{ox} * s.stride - s.padding + kx;
      if (ix < 0 || ix >= s.in_w) continue;
      add(input + (static_cast<size_t>(iy) * s.in_w + ix) * s.in_c + g * group_in,
          weights + ((static_cast<size_t>(o) * s.kernel_h + ky) * s.kernel_w + kx) * group_in);
    }
  }
}

}  // namespace

void Conv2D(const Conv2DShape& s, const float* input, const float* weights, const float* bias,
            float* output) {
  const uint32_t group_in = s.in_c / s.groups;
  const uint32_t group_out = s.out_c / s.groups;
  for (uint32_t oy = 0; oy < s.out_h; ++oy) {
    for (uint32_t ox = 0; ox < s.out_w; ++ox) {
      float* out = output + (static_cast<size_t>(oy) * s.out_w + ox) * s.out_c;
      for (uint32_t o = 0; o < s.out_c; ++o) {
        float acc = bias != nullptr ? bias[o] : 0.0f;
        ForEachTap(s, input, weights, oy, ox, o, group_in, o / group_out,
                   [&](const float* x, const float* w) { acc += Dot(x, w, group_in); });
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
        int32_t acc = bias[o];
        ForEachTap(s, input, weights, oy, ox, o, group_in, o / group_out,
                   [&](const int8_t* x, const int8_t* w) {
                     for (uint32_t i = 0; i < group_in; ++i) {
                       acc += (int32_t{x[i]} - input_q.zero_point) * int32_t{w[i]};
                     }
                   });
        const float scale = input_q.scale * weight_scales[o] / output_q.scale;
        out[o] = Requantize(acc, scale, output_q.zero_point, qmin, 127);
      }
    }
  }
}

}  // namespace rvgg::ref
