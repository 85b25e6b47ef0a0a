#include "runtime/src/model_io.h"

#if RVGG_WITH_XNNPACK
#include <pthreadpool.h>
#endif

#include <cstring>

#include "runtime/src/half.h"
#include "runtime/src/kernels/tsan.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace rvgg {
namespace {

#if defined(__aarch64__)
// The common case, three planes (RGB) `plane` floats apart, four pixels per
// step.
size_t InterleaveRgb(const float* input, size_t plane, size_t pixels, float* output) {
  size_t p = 0;
  for (; p + 4 <= pixels; p += 4) {
    float32x4x3_t v;
    v.val[0] = vld1q_f32(input + p);
    v.val[1] = vld1q_f32(input + plane + p);
    v.val[2] = vld1q_f32(input + 2 * plane + p);
    vst3q_f32(output + 3 * p, v);
  }
  return p;
}

size_t InterleaveRgb(const float* input, size_t plane, size_t pixels, Half* output) {
  size_t p = 0;
  for (; p + 4 <= pixels; p += 4) {
    uint16x4x3_t v;
    v.val[0] = vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(input + p)));
    v.val[1] = vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(input + plane + p)));
    v.val[2] = vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(input + 2 * plane + p)));
    vst3_u16(output + 3 * p, v);
  }
  return p;
}
#endif

// `pixels` pixels of planes `plane` values apart, from `input` (the first
// pixel of plane 0) into interleaved `output`.
template <typename T, typename Convert>
void WritePlanes(const float* input, size_t plane, size_t pixels, uint32_t channels, T* output,
                 Convert convert) {
  size_t done = 0;
#if defined(__aarch64__)
  if (channels == 3) done = InterleaveRgb(input, plane, pixels, output);
#endif
  if (done == pixels) return;
  for (uint32_t c = 0; c < channels; ++c) {
    const float* from = input + c * plane;
    for (size_t p = done; p < pixels; ++p) output[p * channels + c] = convert(from[p]);
  }
}

// Pixels [first, first + count) of the image.
void WritePixels(const float* input, rvgg_layout layout, size_t pixels, uint32_t channels,
                 rvgg_dtype type, void* output, size_t first, size_t count) {
  const bool interleaved = layout == RVGG_LAYOUT_NHWC || channels == 1;
  const size_t values = count * channels;
  if (type == RVGG_DTYPE_FLOAT16) {
    Half* out = static_cast<Half*>(output) + first * channels;
    if (interleaved) {
      FloatToHalf(input + first * channels, values, out);
    } else {
      WritePlanes(input + first, pixels, count, channels, out,
                  [](float v) { return FloatToHalf(v); });
    }
    return;
  }
  float* out = static_cast<float*>(output) + first * channels;
  if (interleaved) {
    std::memcpy(out, input + first * channels, values * sizeof(float));
  } else {
    WritePlanes(input + first, pixels, count, channels, out, [](float v) { return v; });
  }
}

#if RVGG_WITH_XNNPACK
struct InputPass {
  const float* input;
  rvgg_layout layout;
  uint32_t height, width, channels;
  rvgg_dtype type;
  void* output;
  size_t parts;
};

// Band `part` of InputPass::parts bands of whole rows.
void WriteBand(void* context, size_t part) {
  kernels::HappensAfter(context);
  const auto* pass = static_cast<const InputPass*>(context);
  const size_t first_row = part * pass->height / pass->parts;
  const size_t end_row = (part + 1) * pass->height / pass->parts;
  WritePixels(pass->input, pass->layout, size_t{pass->height} * pass->width, pass->channels,
              pass->type, pass->output, first_row * pass->width,
              (end_row - first_row) * pass->width);
  kernels::HappensBefore(context);
}
#endif

}  // namespace

void WriteModelInput(const float* input, rvgg_layout layout, uint32_t height, uint32_t width,
                     uint32_t channels, rvgg_dtype type, void* output, pthreadpool_t threadpool) {
#if RVGG_WITH_XNNPACK
  const size_t threads = threadpool != nullptr ? pthreadpool_get_threads_count(threadpool) : 1;
  if (threads > 1 && height >= threads) {
    // One band of rows per thread, top to bottom as the pool hands out its
    // items: the first layer's threads split their output rows the same
    // way, so each mostly reads the band its own core wrote.
    InputPass pass{input, layout, height, width, channels, type, output, threads};
    kernels::HappensBefore(&pass);
    pthreadpool_parallelize_1d(threadpool, WriteBand, &pass, threads, 0);
    kernels::HappensAfter(&pass);
    return;
  }
#else
  (void)threadpool;
#endif
  const size_t pixels = size_t{height} * width;
  WritePixels(input, layout, pixels, channels, type, output, 0, pixels);
}

void ReadModelOutput(const void* input, rvgg_dtype type, size_t count, float* output) {
  if (type == RVGG_DTYPE_FLOAT16) {
    HalfToFloat(static_cast<const Half*>(input), count, output);
  } else {
    std::memcpy(output, input, count * sizeof(float));
  }
}

}  // namespace rvgg
