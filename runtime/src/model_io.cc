#include "runtime/src/model_io.h"

#include <cstring>

#include "runtime/src/half.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace rvgg {
namespace {

#if defined(__aarch64__)
// The common case, three planes (RGB), four pixels per step.
size_t InterleaveRgb(const float* input, size_t pixels, float* output) {
  size_t p = 0;
  for (; p + 4 <= pixels; p += 4) {
    float32x4x3_t v;
    v.val[0] = vld1q_f32(input + p);
    v.val[1] = vld1q_f32(input + pixels + p);
    v.val[2] = vld1q_f32(input + 2 * pixels + p);
    vst3q_f32(output + 3 * p, v);
  }
  return p;
}

size_t InterleaveRgb(const float* input, size_t pixels, Half* output) {
  size_t p = 0;
  for (; p + 4 <= pixels; p += 4) {
    uint16x4x3_t v;
    v.val[0] = vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(input + p)));
    v.val[1] = vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(input + pixels + p)));
    v.val[2] = vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(input + 2 * pixels + p)));
    vst3_u16(output + 3 * p, v);
  }
  return p;
}
#endif

template <typename T, typename Convert>
void WritePlanes(const float* input, size_t pixels, uint32_t channels, T* output,
                 Convert convert) {
  size_t done = 0;
#if defined(__aarch64__)
  if (channels == 3) done = InterleaveRgb(input, pixels, output);
#endif
  if (done == pixels) return;
  for (uint32_t c = 0; c < channels; ++c) {
    const float* plane = input + c * pixels;
    for (size_t p = done; p < pixels; ++p) output[p * channels + c] = convert(plane[p]);
  }
}

}  // namespace

void WriteModelInput(const float* input, rvgg_layout layout, uint32_t height, uint32_t width,
                     uint32_t channels, rvgg_dtype type, void* output) {
  const size_t pixels = size_t{height} * width;
  const bool interleaved = layout == RVGG_LAYOUT_NHWC || channels == 1;
  if (type == RVGG_DTYPE_FLOAT16) {
    Half* out = static_cast<Half*>(output);
    if (interleaved) {
      FloatToHalf(input, pixels * channels, out);
    } else {
      WritePlanes(input, pixels, channels, out, [](float v) { return FloatToHalf(v); });
    }
    return;
  }
  float* out = static_cast<float*>(output);
  if (interleaved) {
    std::memcpy(out, input, pixels * channels * sizeof(float));
  } else {
    WritePlanes(input, pixels, channels, out, [](float v) { return v; });
  }
}

void ReadModelOutput(const void* input, rvgg_dtype type, size_t count, float* output) {
  if (type == RVGG_DTYPE_FLOAT16) {
    HalfToFloat(static_cast<const Half*>(input), count, output);
  } else {
    std::memcpy(output, input, count * sizeof(float));
  }
}

}  // namespace rvgg
