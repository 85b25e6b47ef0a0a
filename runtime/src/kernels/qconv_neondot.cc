// int8 direct convolution with SDOT (see qconv_neondot.h). Compiled with
// -march=armv8.2-a+dotprod; nothing here runs unless `Applies` saw the dot
// product.
#include "runtime/src/kernels/qconv_neondot.h"

#include <arm_neon.h>
#include <cpuinfo.h>
#include <pthreadpool.h>

#include <atomic>
#include <cstring>

#define RVGG_QCONV_INLINE inline __attribute__((always_inline))

namespace rvgg::kernels {
namespace {

constexpr uint32_t kBlockChannels = 8;  // output channels per weight block
constexpr uint32_t kMaxPixels = 12;     // output pixels per activation block

size_t RoundUp(size_t value, size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

struct Geometry {
  uint32_t taps;            // kernel_h * kernel_w
  uint32_t k;               // taps * in_c: one output pixel's dot product length
  uint32_t ksteps;          // ceil(k / 4): SDOT steps
  uint32_t row_bytes;       // round_up(k, 16): one gathered im2col row
  uint32_t channel_blocks;  // ceil(out_c / 8)
  uint32_t pixels;          // out_h * out_w
  // in_c % 16 == 0: gather straight from the input. Otherwise each pixel's
  // im2col row is first copied out (16 bytes at a time), then interleaved.
  bool direct;
};

Geometry GeometryOf(const QConvParams& p) {
  Geometry g;
  g.taps = p.kernel_h * p.kernel_w;
  g.k = g.taps * p.in_c;
  g.ksteps = (g.k + 3) / 4;
  g.row_bytes = static_cast<uint32_t>(RoundUp(g.k, 16));
  g.channel_blocks = (p.out_c + kBlockChannels - 1) / kBlockChannels;
  g.pixels = p.out_h * p.out_w;
  g.direct = p.in_c % 16 == 0;
  return g;
}

size_t BiasBytes(const Geometry& g) {
  return RoundUp(size_t{g.channel_blocks} * kBlockChannels * 4, 64);
}
size_t WeightBlockBytes(const Geometry& g) { return size_t{g.ksteps} * 4 * kBlockChannels; }

// One slot's scratch: the interleaved activation block, the pointers to each
// pixel's taps, a row of input_zero_point bytes standing for padding pixels,
// and (when !direct) the plain im2col rows.
struct SlotLayout {
  size_t block, pointers, zero_row, rows, total;
};

SlotLayout SlotLayoutOf(const QConvParams& p, const Geometry& g) {
  SlotLayout s;
  s.block = 0;
  s.pointers = s.block + RoundUp(size_t{kMaxPixels} * g.row_bytes, 64);
  s.zero_row = s.pointers + RoundUp(size_t{kMaxPixels} * g.taps * sizeof(void*), 64);
  s.rows = s.zero_row + RoundUp(RoundUp(p.in_c, 16), 64);
  s.total = s.rows + (g.direct ? 0 : RoundUp(size_t{kMaxPixels} * (g.row_bytes + 16), 64));
  return s;
}

// --- activation gathering ---------------------------------------------------

// Points pointers[j * taps + t] at tap t of pixel first + j (j < width; pixels
// past `count` repeat the last one), or at the zero row for taps outside the
// image.
void GatherPointers(const QConvParams& p, const Geometry& g, const int8_t* input,
                    const int8_t* zero_row, uint32_t first, uint32_t count, uint32_t width,
                    const int8_t** pointers) {
  uint32_t oy = first / p.out_w, ox = first % p.out_w;
  const size_t row_stride = size_t{p.in_w} * p.in_c;
  for (uint32_t j = 0; j < width; ++j) {
    const int8_t** out = pointers + size_t{j} * g.taps;
    if (j >= count) {
      std::memcpy(out, out - g.taps, g.taps * sizeof(*out));
      continue;
    }
    const int64_t iy0 = int64_t{oy} * p.stride - p.padding;
    const int64_t ix0 = int64_t{ox} * p.stride - p.padding;
    if (iy0 >= 0 && ix0 >= 0 && iy0 + p.kernel_h <= p.in_h && ix0 + p.kernel_w <= p.in_w) {
      const int8_t* row =
          input + static_cast<size_t>(iy0) * row_stride + static_cast<size_t>(ix0) * p.in_c;
      for (uint32_t ky = 0; ky < p.kernel_h; ++ky, row += row_stride) {
        const int8_t* x = row;
        for (uint32_t kx = 0; kx < p.kernel_w; ++kx, x += p.in_c) *out++ = x;
      }
    } else {
      for (uint32_t ky = 0; ky < p.kernel_h; ++ky) {
        const int64_t iy = iy0 + ky;
        for (uint32_t kx = 0; kx < p.kernel_w; ++kx) {
          const int64_t ix = ix0 + kx;
          const bool inside = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
          *out++ = inside ? input + static_cast<size_t>(iy) * row_stride +
                                static_cast<size_t>(ix) * p.in_c
                          : zero_row;
        }
      }
    }
    if (++ox == p.out_w) ox = 0, ++oy;
  }
}

// Interleaves `width` pixels (a multiple of 4) by 4 bytes: block[s][j] holds
// bytes 4s..4s+3 of pixel j's im2col row, where tap t's `channels` bytes
// (a multiple of 16) start at pointers[j * taps + t].
void Interleave(const int8_t* const* pointers, uint32_t taps, uint32_t channels, uint32_t width,
                int8_t* block) {
  const size_t step_bytes = size_t{width} * 4;
  for (uint32_t q = 0; q < width; q += 4) {
    const int8_t* const* pq = pointers + size_t{q} * taps;
    for (uint32_t t = 0; t < taps; ++t) {
      const int32_t* s0 = reinterpret_cast<const int32_t*>(pq[t]);
      const int32_t* s1 = reinterpret_cast<const int32_t*>(pq[taps + t]);
      const int32_t* s2 = reinterpret_cast<const int32_t*>(pq[2 * taps + t]);
      const int32_t* s3 = reinterpret_cast<const int32_t*>(pq[3 * taps + t]);
      int8_t* d = block + size_t{t} * (channels / 4) * step_bytes + size_t{q} * 4;
      for (uint32_t c = 0; c < channels; c += 16) {
        int32x4x4_t v;
        v = vld4q_lane_s32(s0, v, 0);
        v = vld4q_lane_s32(s1, v, 1);
        v = vld4q_lane_s32(s2, v, 2);
        v = vld4q_lane_s32(s3, v, 3);
        s0 += 4, s1 += 4, s2 += 4, s3 += 4;
        vst1q_s8(d, vreinterpretq_s8_s32(v.val[0]));
        vst1q_s8(d + step_bytes, vreinterpretq_s8_s32(v.val[1]));
        vst1q_s8(d + 2 * step_bytes, vreinterpretq_s8_s32(v.val[2]));
        vst1q_s8(d + 3 * step_bytes, vreinterpretq_s8_s32(v.val[3]));
        d += 4 * step_bytes;
      }
    }
  }
}

// Copies n bytes 16 at a time: reads and writes up to 15 bytes past n.
RVGG_QCONV_INLINE void Copy16(int8_t* dst, const int8_t* src, size_t n) {
  for (size_t i = 0; i < n; i += 16) vst1q_s8(dst + i, vld1q_s8(src + i));
}

// Copies each pixel's im2col row out of the input (rows of row_bytes + 16
// bytes; the over-writes land on the next tap's bytes or past k, where the
// weights are zero).
void GatherRows(const QConvParams& p, const Geometry& g, const int8_t* input,
                const int8_t* zero_row, uint32_t first, uint32_t count, uint32_t width,
                int8_t* rows, const int8_t** pointers) {
  uint32_t oy = first / p.out_w, ox = first % p.out_w;
  const size_t row_stride = size_t{p.in_w} * p.in_c;
  const size_t segment = size_t{p.kernel_w} * p.in_c;
  for (uint32_t j = 0; j < width; ++j) {
    int8_t* r = rows + size_t{j} * (g.row_bytes + 16);
    pointers[j] = r;
    if (j >= count) {
      pointers[j] = pointers[j - 1];
      continue;
    }
    const int64_t iy0 = int64_t{oy} * p.stride - p.padding;
    const int64_t ix0 = int64_t{ox} * p.stride - p.padding;
    const bool columns_inside = ix0 >= 0 && ix0 + p.kernel_w <= p.in_w;
    for (uint32_t ky = 0; ky < p.kernel_h; ++ky) {
      const int64_t iy = iy0 + ky;
      const bool row_inside = iy >= 0 && iy < p.in_h;
      if (row_inside && columns_inside) {
        Copy16(r, input + static_cast<size_t>(iy) * row_stride + static_cast<size_t>(ix0) * p.in_c,
               segment);
        r += segment;
        continue;
      }
      for (uint32_t kx = 0; kx < p.kernel_w; ++kx, r += p.in_c) {
        const int64_t ix = ix0 + kx;
        const bool inside = row_inside && ix >= 0 && ix < p.in_w;
        Copy16(r,
               inside
                   ? input + static_cast<size_t>(iy) * row_stride + static_cast<size_t>(ix) * p.in_c
                   : zero_row,
               p.in_c);
      }
    }
    if (++ox == p.out_w) ox = 0, ++oy;
  }
}

// --- the tile ----------------------------------------------------------------

struct Requant {
  int16x8_t zero_point;
  int8x16_t min, max;
};

// acc[j][h] = bias[4h..4h+3] + sum over K of (4 bytes of pixel j) . (4 bytes
// of channels 4h..4h+3), for kPx pixels and 8 channels, into acc (kPx * 8
// int32, pixel-major). Assembly with the accumulators pinned to v8 and up
// (pixel j: channels 0-3 in v(8+2j), 4-7 in v(9+2j)), weights in v0-v3
// (two steps of 8 channels), activations in v4 and up: GCC's own loop spends
// an address computation per load, and an asm statement cannot take 24
// read-write vector operands, so the accumulators go out through memory.
// clang-format off
#define RVGG_SD(acc, w, x, lane) "sdot " #acc ".4s, " #w ".16b, " #x ".4b[" #lane "]\n\t"
// Pixels 4q..4q+3 (accumulators c0/d0 .. c3/d3) with activation register x.
#define RVGG_SD_QUAD(c0, d0, c1, d1, c2, d2, c3, d3, w0, w1, x)                              \
  RVGG_SD(c0, w0, x, 0) RVGG_SD(d0, w1, x, 0) RVGG_SD(c1, w0, x, 1) RVGG_SD(d1, w1, x, 1) \
  RVGG_SD(c2, w0, x, 2) RVGG_SD(d2, w1, x, 2) RVGG_SD(c3, w0, x, 3) RVGG_SD(d3, w1, x, 3)
#define RVGG_SD_PX0_3(w0, w1, x) RVGG_SD_QUAD(v8, v9, v10, v11, v12, v13, v14, v15, w0, w1, x)
#define RVGG_SD_PX4_7(w0, w1, x) RVGG_SD_QUAD(v16, v17, v18, v19, v20, v21, v22, v23, w0, w1, x)
#define RVGG_SD_PX8_11(w0, w1, x) RVGG_SD_QUAD(v24, v25, v26, v27, v28, v29, v30, v31, w0, w1, x)
#define RVGG_MOV_BIAS4(c0, d0, c1, d1, c2, d2, c3, d3)                                    \
  "mov " #c0 ".16b, v0.16b\n\tmov " #d0 ".16b, v1.16b\n\tmov " #c1 ".16b, v0.16b\n\t" \
  "mov " #d1 ".16b, v1.16b\n\tmov " #c2 ".16b, v0.16b\n\tmov " #d2 ".16b, v1.16b\n\t" \
  "mov " #c3 ".16b, v0.16b\n\tmov " #d3 ".16b, v1.16b\n\t"
#define RVGG_BIAS_PX0_3 RVGG_MOV_BIAS4(v8, v9, v10, v11, v12, v13, v14, v15)
#define RVGG_BIAS_PX4_7 RVGG_MOV_BIAS4(v16, v17, v18, v19, v20, v21, v22, v23)
#define RVGG_BIAS_PX8_11 RVGG_MOV_BIAS4(v24, v25, v26, v27, v28, v29, v30, v31)

template <uint32_t kPx>
void Accumulate(const int8_t* a, const int8_t* w, uint32_t ksteps, const int32_t* bias,
                int32_t* acc);

template <>
RVGG_QCONV_INLINE void Accumulate<12>(const int8_t* a, const int8_t* w, uint32_t ksteps,
                                      const int32_t* bias, int32_t* acc) {
#define RVGG_SD_12(w0, w1) RVGG_SD_PX0_3(w0, w1, v4) RVGG_SD_PX4_7(w0, w1, v5) RVGG_SD_PX8_11(w0, w1, v6)
  uint32_t iterations = ksteps / 4;
  __asm__ volatile(
      "ld1 {v0.4s, v1.4s}, [%[bias]]\n\t"
      RVGG_BIAS_PX0_3 RVGG_BIAS_PX4_7 RVGG_BIAS_PX8_11
      "cbz %w[n], 2f\n\t"
      "1:\n\t"
      "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"
      "ld1 {v4.16b-v6.16b}, [%[a]], #48\n\t"
      RVGG_SD_12(v0, v1)
      "ld1 {v4.16b-v6.16b}, [%[a]], #48\n\t"
      RVGG_SD_12(v2, v3)
      "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"
      "ld1 {v4.16b-v6.16b}, [%[a]], #48\n\t"
      RVGG_SD_12(v0, v1)
      "ld1 {v4.16b-v6.16b}, [%[a]], #48\n\t"
      RVGG_SD_12(v2, v3)
      "subs %w[n], %w[n], #1\n\t"
      "b.ne 1b\n\t"
      "2:\n\t"
      "tbz %w[k], #1, 3f\n\t"
      "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"
      "ld1 {v4.16b-v6.16b}, [%[a]], #48\n\t"
      RVGG_SD_12(v0, v1)
      "ld1 {v4.16b-v6.16b}, [%[a]], #48\n\t"
      RVGG_SD_12(v2, v3)
      "3:\n\t"
      "tbz %w[k], #0, 4f\n\t"
      "ld1 {v0.16b, v1.16b}, [%[w]]\n\t"
      "ld1 {v4.16b-v6.16b}, [%[a]]\n\t"
      RVGG_SD_12(v0, v1)
      "4:\n\t"
      "st1 {v8.4s-v11.4s}, [%[acc]], #64\n\t"
      "st1 {v12.4s-v15.4s}, [%[acc]], #64\n\t"
      "st1 {v16.4s-v19.4s}, [%[acc]], #64\n\t"
      "st1 {v20.4s-v23.4s}, [%[acc]], #64\n\t"
      "st1 {v24.4s-v27.4s}, [%[acc]], #64\n\t"
      "st1 {v28.4s-v31.4s}, [%[acc]]\n\t"
      : [a] "+r"(a), [w] "+r"(w), [n] "+r"(iterations), [acc] "+r"(acc)
      : [k] "r"(ksteps), [bias] "r"(bias)
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v8", "v9", "v10", "v11", "v12",
        "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25",
        "v26", "v27", "v28", "v29", "v30", "v31");
#undef RVGG_SD_12
}

template <>
RVGG_QCONV_INLINE void Accumulate<8>(const int8_t* a, const int8_t* w, uint32_t ksteps,
                                     const int32_t* bias, int32_t* acc) {
  uint32_t iterations = ksteps / 4;
  __asm__ volatile(
      "ld1 {v0.4s, v1.4s}, [%[bias]]\n\t"
      RVGG_BIAS_PX0_3 RVGG_BIAS_PX4_7
      "cbz %w[n], 2f\n\t"
      "1:\n\t"
      "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"
      "ld1 {v4.16b-v7.16b}, [%[a]], #64\n\t"
      RVGG_SD_PX0_3(v0, v1, v4) RVGG_SD_PX4_7(v0, v1, v5)
      RVGG_SD_PX0_3(v2, v3, v6) RVGG_SD_PX4_7(v2, v3, v7)
      "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"
      "ld1 {v4.16b-v7.16b}, [%[a]], #64\n\t"
      RVGG_SD_PX0_3(v0, v1, v4) RVGG_SD_PX4_7(v0, v1, v5)
      RVGG_SD_PX0_3(v2, v3, v6) RVGG_SD_PX4_7(v2, v3, v7)
      "subs %w[n], %w[n], #1\n\t"
      "b.ne 1b\n\t"
      "2:\n\t"
      "tbz %w[k], #1, 3f\n\t"
      "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"
      "ld1 {v4.16b-v7.16b}, [%[a]], #64\n\t"
      RVGG_SD_PX0_3(v0, v1, v4) RVGG_SD_PX4_7(v0, v1, v5)
      RVGG_SD_PX0_3(v2, v3, v6) RVGG_SD_PX4_7(v2, v3, v7)
      "3:\n\t"
      "tbz %w[k], #0, 4f\n\t"
      "ld1 {v0.16b, v1.16b}, [%[w]]\n\t"
      "ld1 {v4.16b, v5.16b}, [%[a]]\n\t"
      RVGG_SD_PX0_3(v0, v1, v4) RVGG_SD_PX4_7(v0, v1, v5)
      "4:\n\t"
      "st1 {v8.4s-v11.4s}, [%[acc]], #64\n\t"
      "st1 {v12.4s-v15.4s}, [%[acc]], #64\n\t"
      "st1 {v16.4s-v19.4s}, [%[acc]], #64\n\t"
      "st1 {v20.4s-v23.4s}, [%[acc]]\n\t"
      : [a] "+r"(a), [w] "+r"(w), [n] "+r"(iterations), [acc] "+r"(acc)
      : [k] "r"(ksteps), [bias] "r"(bias)
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11",
        "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23");
}

template <>
RVGG_QCONV_INLINE void Accumulate<4>(const int8_t* a, const int8_t* w, uint32_t ksteps,
                                     const int32_t* bias, int32_t* acc) {
  uint32_t iterations = ksteps / 4;
  __asm__ volatile(
      "ld1 {v0.4s, v1.4s}, [%[bias]]\n\t"
      RVGG_BIAS_PX0_3
      "cbz %w[n], 2f\n\t"
      "1:\n\t"
      "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"
      "ld1 {v4.16b-v7.16b}, [%[a]], #64\n\t"
      RVGG_SD_PX0_3(v0, v1, v4) RVGG_SD_PX0_3(v2, v3, v5)
      "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"
      RVGG_SD_PX0_3(v0, v1, v6) RVGG_SD_PX0_3(v2, v3, v7)
      "subs %w[n], %w[n], #1\n\t"
      "b.ne 1b\n\t"
      "2:\n\t"
      "tbz %w[k], #1, 3f\n\t"
      "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"
      "ld1 {v4.16b, v5.16b}, [%[a]], #32\n\t"
      RVGG_SD_PX0_3(v0, v1, v4) RVGG_SD_PX0_3(v2, v3, v5)
      "3:\n\t"
      "tbz %w[k], #0, 4f\n\t"
      "ld1 {v0.16b, v1.16b}, [%[w]]\n\t"
      "ld1 {v4.16b}, [%[a]]\n\t"
      RVGG_SD_PX0_3(v0, v1, v4)
      "4:\n\t"
      "st1 {v8.4s-v11.4s}, [%[acc]], #64\n\t"
      "st1 {v12.4s-v15.4s}, [%[acc]]\n\t"
      : [a] "+r"(a), [w] "+r"(w), [n] "+r"(iterations), [acc] "+r"(acc)
      : [k] "r"(ksteps), [bias] "r"(bias)
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11",
        "v12", "v13", "v14", "v15");
}

#undef RVGG_BIAS_PX8_11
#undef RVGG_BIAS_PX4_7
#undef RVGG_BIAS_PX0_3
#undef RVGG_MOV_BIAS4
#undef RVGG_SD_PX8_11
#undef RVGG_SD_PX4_7
#undef RVGG_SD_PX0_3
#undef RVGG_SD_QUAD
#undef RVGG_SD
// clang-format on

// Stores 8 bytes to *out and 8 to *(out + stride), advancing out by 2 rows.
RVGG_QCONV_INLINE void StoreRows(int8_t*& out, size_t stride, int8x16_t v) {
  __asm__ volatile(
      "st1 {%[v].d}[0], [%[out]], %[stride]\n\t"
      "st1 {%[v].d}[1], [%[out]], %[stride]\n\t"
      : [out] "+r"(out)
      : [v] "w"(v), [stride] "r"(stride)
      : "memory");
}

// out[j][c] for kPx pixels (rows out_stride apart) and 8 channels.
template <uint32_t kPx>
void Tile(const int8_t* a, const int8_t* w, uint32_t ksteps, const int32_t* bias,
          const float* scale, Requant rq, int8_t* out, size_t out_stride) {
  alignas(16) int32_t acc[kPx * 8];
  Accumulate<kPx>(a, w, ksteps, bias, acc);
  const float32x4_t s0 = vld1q_f32(scale), s1 = vld1q_f32(scale + 4);
#pragma GCC unroll 6
  for (uint32_t j = 0; j < kPx; j += 2) {
    int16x8_t h[2];
#pragma GCC unroll 2
    for (uint32_t i = 0; i < 2; ++i) {
      const int32_t* x = acc + (j + i) * 8;
      const int32x4_t lo = vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(vld1q_s32(x)), s0));
      const int32x4_t hi = vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(vld1q_s32(x + 4)), s1));
      h[i] = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(lo), hi), rq.zero_point);
    }
    int8x16_t o = vqmovn_high_s16(vqmovn_s16(h[0]), h[1]);
    o = vminq_s8(vmaxq_s8(o, rq.min), rq.max);
    StoreRows(out, out_stride, o);
  }
}

using TileFn = void (*)(const int8_t*, const int8_t*, uint32_t, const int32_t*, const float*,
                        Requant, int8_t*, size_t);

// --- the driver --------------------------------------------------------------

struct Work {
  const QConvParams* params;
  Geometry g;
  SlotLayout slot;
  const int32_t* bias;
  const int8_t* weights;
  const int8_t* input;
  int8_t* output;
  uint8_t* scratch;
  uint32_t pixel_blocks;  // ceil(pixels / 12)
  uint32_t chunks;        // channel-block ranges per pixel block
  uint32_t items;         // pixel_blocks * chunks
  std::atomic<uint32_t> next{0};
};

uint32_t BlockWidth(uint32_t count) { return count <= 4 ? 4 : count <= 8 ? 8 : 12; }

void RunSlot(Work* work, size_t slot) {
  const QConvParams& p = *work->params;
  const Geometry& g = work->g;
  uint8_t* base = work->scratch + slot * work->slot.total;
  int8_t* block = reinterpret_cast<int8_t*>(base + work->slot.block);
  const int8_t** pointers = reinterpret_cast<const int8_t**>(base + work->slot.pointers);
  int8_t* zero_row = reinterpret_cast<int8_t*>(base + work->slot.zero_row);
  int8_t* rows = reinterpret_cast<int8_t*>(base + work->slot.rows);
  std::memset(zero_row, p.input_zero_point, RoundUp(p.in_c, 16));

  Requant rq;
  rq.zero_point = vdupq_n_s16(static_cast<int16_t>(p.output_zero_point));
  rq.min = vdupq_n_s8(static_cast<int8_t>(p.output_min));
  rq.max = vdupq_n_s8(static_cast<int8_t>(p.output_max));
  const size_t weight_block_bytes = WeightBlockBytes(g);

  uint32_t gathered = UINT32_MAX;
  for (;;) {
    const uint32_t item = work->next.fetch_add(1, std::memory_order_relaxed);
    if (item >= work->items) break;
    const uint32_t pb = item / work->chunks, chunk = item % work->chunks;
    const uint32_t first = pb * kMaxPixels;
    const uint32_t count = g.pixels - first < kMaxPixels ? g.pixels - first : kMaxPixels;
    const uint32_t width = BlockWidth(count);
    if (pb != gathered) {
      if (g.direct) {
        GatherPointers(p, g, work->input, zero_row, first, count, width, pointers);
        Interleave(pointers, g.taps, p.in_c, width, block);
      } else {
        GatherRows(p, g, work->input, zero_row, first, count, width, rows, pointers);
        Interleave(pointers, 1, g.row_bytes, width, block);
      }
      gathered = pb;
    }
    const TileFn tile = width == 4 ? Tile<4> : width == 8 ? Tile<8> : Tile<12>;
    const uint32_t cb_begin =
        static_cast<uint32_t>(uint64_t{g.channel_blocks} * chunk / work->chunks);
    const uint32_t cb_end =
        static_cast<uint32_t>(uint64_t{g.channel_blocks} * (chunk + 1) / work->chunks);
    for (uint32_t cb = cb_begin; cb < cb_end; ++cb) {
      const uint32_t c0 = cb * kBlockChannels;
      const int8_t* w = work->weights + cb * weight_block_bytes;
      int8_t* out = work->output + size_t{first} * p.out_c + c0;
      if (count == width && c0 + kBlockChannels <= p.out_c) {
        tile(block, w, g.ksteps, work->bias + c0, p.requant_scale + c0, rq, out, p.out_c);
        continue;
      }
      // A partial tile: 8 channels of every pixel into a temporary, then
      // the valid part.
      const uint32_t channels = p.out_c - c0 < kBlockChannels ? p.out_c - c0 : kBlockChannels;
      float scale[kBlockChannels] = {};
      std::memcpy(scale, p.requant_scale + c0, channels * sizeof(float));
      int8_t tmp[kMaxPixels * kBlockChannels];
      tile(block, w, g.ksteps, work->bias + c0, scale, rq, tmp, kBlockChannels);
      for (uint32_t j = 0; j < count; ++j) {
        std::memcpy(out + size_t{j} * p.out_c, tmp + j * kBlockChannels, channels);
      }
    }
  }
}

void RunSlotTask(void* context, size_t slot) { RunSlot(static_cast<Work*>(context), slot); }

// --- the family --------------------------------------------------------------

bool Applies(const QConvParams& p) {
  if (!cpuinfo_initialize() || !cpuinfo_has_arm_neon_dot()) return false;
  return p.in_c > 0 && p.out_c > 0 && p.out_h > 0 && p.out_w > 0 && p.kernel_h > 0 &&
         p.kernel_w > 0 && p.stride > 0 && p.input_zero_point >= -128 &&
         p.input_zero_point <= 127 && p.output_zero_point >= -128 && p.output_zero_point <= 127 &&
         p.output_min >= -128 && p.output_max <= 127 && p.output_min <= p.output_max;
}

size_t PackedBytes(const QConvParams& p) {
  const Geometry g = GeometryOf(p);
  return BiasBytes(g) + size_t{g.channel_blocks} * WeightBlockBytes(g);
}

bool Pack(const QConvParams& p, const int8_t* weights, const int32_t* bias, void* packed) {
  const Geometry g = GeometryOf(p);
  int32_t* packed_bias = static_cast<int32_t*>(packed);
  int8_t* packed_weights = static_cast<int8_t*>(packed) + BiasBytes(g);
  std::memset(packed, 0, PackedBytes(p));
  for (uint32_t o = 0; o < p.out_c; ++o) {
    const int8_t* w = weights + size_t{o} * g.k;
    int64_t sum = 0;
    for (uint32_t i = 0; i < g.k; ++i) sum += w[i];
    // Wraps like the int32 accumulator it seeds.
    const int64_t folded =
        int64_t{bias != nullptr ? bias[o] : 0} - int64_t{p.input_zero_point} * sum;
    packed_bias[o] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(folded)));
    int8_t* block = packed_weights + (o / kBlockChannels) * WeightBlockBytes(g);
    for (uint32_t i = 0; i < g.k; ++i) {
      block[(i / 4) * 4 * kBlockChannels + (o % kBlockChannels) * 4 + i % 4] = w[i];
    }
  }
  return true;
}

uint32_t Slots(pthreadpool_t pool) {
  const size_t threads = pool != nullptr ? pthreadpool_get_threads_count(pool) : 1;
  return threads > 1 ? static_cast<uint32_t>(threads) : 1;
}

size_t ScratchBytes(const QConvParams& p, uint32_t threads) {
  return SlotLayoutOf(p, GeometryOf(p)).total * (threads > 1 ? threads : 1);
}

void Run(const QConvParams& p, const void* packed, const int8_t* input, int8_t* output,
         void* scratch, pthreadpool_t pool) {
  Work work;
  work.params = &p;
  work.g = GeometryOf(p);
  work.slot = SlotLayoutOf(p, work.g);
  work.bias = static_cast<const int32_t*>(packed);
  work.weights = static_cast<const int8_t*>(packed) + BiasBytes(work.g);
  work.input = input;
  work.output = output;
  work.scratch = static_cast<uint8_t*>(scratch);
  work.pixel_blocks = (work.g.pixels + kMaxPixels - 1) / kMaxPixels;
  const uint32_t slots = Slots(pool);
  // Several threads: at least 8 items per thread where the channel blocks
  // allow, each item regathering its pixel block.
  uint32_t chunks = 1;
  if (slots > 1) {
    chunks = (8 * slots + work.pixel_blocks - 1) / work.pixel_blocks;
    if (chunks > work.g.channel_blocks) chunks = work.g.channel_blocks;
  }
  work.chunks = chunks;
  work.items = work.pixel_blocks * chunks;
  if (slots == 1) {
    RunSlot(&work, 0);
  } else {
    pthreadpool_parallelize_1d(pool, RunSlotTask, &work, slots, 0);
  }
}

}  // namespace

const QConvFamily kQConvNeonDot = {"int8 sdot", Applies, PackedBytes, Pack, ScratchBytes, Run};

}  // namespace rvgg::kernels
