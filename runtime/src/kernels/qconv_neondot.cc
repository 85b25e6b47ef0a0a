// int8 direct convolution with SDOT (see qconv_neondot.h). Compiled with
// -march=armv8.2-a+dotprod; nothing here runs unless `Applies` saw the dot
// product.
//
// The tiles and the interleaving are inline assembly: with intrinsics GCC
// keeps the 24 accumulators in registers but spends an address computation
// on every load, and an asm statement cannot take 24 read-write vector
// operands, so each tile is one asm block with its registers pinned.
#include "runtime/src/kernels/qconv_neondot.h"

#include <cpuinfo.h>
#include <pthreadpool.h>

#include <atomic>
#include <cstring>

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
  uint32_t segment;         // kernel_w * in_c: one kernel row's bytes
  uint32_t channel_blocks;  // ceil(out_c / 8)
  uint32_t pixels;          // out_h * out_w
  // in_c % 16 == 0: interleave straight from the input. Otherwise each
  // pixel's im2col row is first copied out (16 bytes at a time), then
  // interleaved.
  bool direct;
};

Geometry GeometryOf(const QConvParams& p) {
  Geometry g;
  g.taps = p.kernel_h * p.kernel_w;
  g.k = g.taps * p.in_c;
  g.ksteps = (g.k + 3) / 4;
  g.row_bytes = static_cast<uint32_t>(RoundUp(g.k, 16));
  g.segment = p.kernel_w * p.in_c;
  g.channel_blocks = (p.out_c + kBlockChannels - 1) / kBlockChannels;
  g.pixels = p.out_h * p.out_w;
  g.direct = p.in_c % 16 == 0;
  return g;
}

// Packed: per channel block 16 int32 (the 8 folded biases twice, so that
// one 4-register load seeds two pixels' accumulators), then the weights.
size_t BiasBytes(const Geometry& g) { return RoundUp(size_t{g.channel_blocks} * 64, 64); }
size_t WeightBlockBytes(const Geometry& g) { return size_t{g.ksteps} * 4 * kBlockChannels; }

// One slot's scratch: the interleaved activation block, a row of
// input_zero_point bytes standing for padding pixels (one kernel row long,
// plus the 16-byte copies' over-read), and (when !direct) the plain im2col
// rows.
struct SlotLayout {
  size_t block, zero_row, rows, total;
};

size_t ZeroRowBytes(const Geometry& g) { return RoundUp(g.segment, 16) + 16; }

SlotLayout SlotLayoutOf(const Geometry& g) {
  SlotLayout s;
  s.block = 0;
  s.zero_row = s.block + RoundUp(size_t{kMaxPixels} * g.row_bytes + 16, 64);
  s.rows = s.zero_row + RoundUp(ZeroRowBytes(g), 64);
  s.total = s.rows + (g.direct ? 0 : RoundUp(size_t{kMaxPixels} * (g.row_bytes + 16), 64));
  return s;
}

// Requantization constants, loaded by the tiles with one ld1 {v2-v4}.
struct alignas(16) RequantConsts {
  int16_t zero_point[8];
  int8_t min[16];
  int8_t max[16];
};

// --- activation gathering -----------------------------------------------------

// Interleaves 4 pixels by 4 bytes over `runs` runs of `chunks` 16-byte
// chunks each, pixel i's next run starting skip[i] bytes after the end of
// the previous one: chunk c of the whole becomes dst[4c + s][i] (s < 4),
// rows `step` bytes apart.
inline void InterleaveQuad(const int8_t* const src[4], const size_t skip[4], uint32_t chunks,
                           uint32_t runs, int8_t* dst, size_t step) {
  const int8_t *p0 = src[0], *p1 = src[1], *p2 = src[2], *p3 = src[3];
  uint32_t n;
  __asm__ volatile(
      "1:\n\t"
      "mov %w[n], %w[chunks]\n\t"
      "2:\n\t"
      "ld4 {v0.s, v1.s, v2.s, v3.s}[0], [%[p0]], #16\n\t"
      "ld4 {v0.s, v1.s, v2.s, v3.s}[1], [%[p1]], #16\n\t"
      "ld4 {v0.s, v1.s, v2.s, v3.s}[2], [%[p2]], #16\n\t"
      "ld4 {v0.s, v1.s, v2.s, v3.s}[3], [%[p3]], #16\n\t"
      "st1 {v0.16b}, [%[dst]], %[step]\n\t"
      "st1 {v1.16b}, [%[dst]], %[step]\n\t"
      "st1 {v2.16b}, [%[dst]], %[step]\n\t"
      "st1 {v3.16b}, [%[dst]], %[step]\n\t"
      "subs %w[n], %w[n], #1\n\t"
      "b.ne 2b\n\t"
      "add %[p0], %[p0], %[s0]\n\t"
      "add %[p1], %[p1], %[s1]\n\t"
      "add %[p2], %[p2], %[s2]\n\t"
      "add %[p3], %[p3], %[s3]\n\t"
      "subs %w[runs], %w[runs], #1\n\t"
      "b.ne 1b\n\t"
      : [p0] "+r"(p0), [p1] "+r"(p1), [p2] "+r"(p2), [p3] "+r"(p3), [runs] "+r"(runs),
        [dst] "+r"(dst), [n] "=&r"(n)
      : [chunks] "r"(chunks), [s0] "r"(skip[0]), [s1] "r"(skip[1]), [s2] "r"(skip[2]),
        [s3] "r"(skip[3]), [step] "r"(step)
      : "cc", "memory", "v0", "v1", "v2", "v3");
}

// Copies n bytes 16 at a time: reads and writes up to 15 bytes past n.
inline void Copy16(int8_t* dst, const int8_t* src, size_t n) {
  for (size_t i = 0; i < n; i += 16) std::memcpy(dst + i, src + i, 16);
}

// Copies `runs` runs of `segment` bytes with Copy16, run i from
// src + i * src_step to dst + i * dst_step; one 16-byte copy per run when
// the segment fits.
inline void CopyRuns(int8_t* dst, size_t dst_step, const int8_t* src, size_t src_step,
                     uint32_t runs, size_t segment) {
  if (segment <= 16) {
    for (uint32_t i = 0; i < runs; ++i, src += src_step, dst += dst_step) {
      std::memcpy(dst, src, 16);
    }
  } else {
    for (uint32_t i = 0; i < runs; ++i, src += src_step, dst += dst_step) {
      Copy16(dst, src, segment);
    }
  }
}

// Interleaves `width` im2col rows (row_bytes long, row_pitch apart) into
// the activation block, four pixels at a time.
inline void InterleaveRows(const int8_t* rows, size_t row_pitch, uint32_t row_bytes, uint32_t width,
                           int8_t* block) {
  const size_t no_skip[4] = {0, 0, 0, 0};
  for (uint32_t q = 0; q < width; q += 4) {
    const int8_t* r = rows + q * row_pitch;
    const int8_t* src[4] = {r, r + row_pitch, r + 2 * row_pitch, r + 3 * row_pitch};
    InterleaveQuad(src, no_skip, row_bytes / 16, 1, block + q * 4, size_t{width} * 4);
  }
}

struct PixelOrigin {
  int64_t iy0, ix0;  // input coordinates of the kernel's top-left tap
  // That tap in the input when the whole window is inside the image, else
  // null.
  const int8_t* interior;
};

// Origins of pixels first + j, j < width (pixels past `count` repeat the
// last one).
void Origins(const QConvParams& p, const int8_t* input, uint32_t first, uint32_t count,
             uint32_t width, PixelOrigin* origins) {
  const uint32_t out_w = p.out_w, stride = p.stride, in_c = p.in_c;
  const int64_t padding = p.padding, last_iy0 = int64_t{p.in_h} - p.kernel_h,
                last_ix0 = int64_t{p.in_w} - p.kernel_w;
  const size_t row_stride = size_t{p.in_w} * in_c;
  uint32_t oy = first / out_w, ox = first % out_w;
  for (uint32_t j = 0; j < width; ++j) {
    if (j >= count) {
      origins[j] = origins[j - 1];
      continue;
    }
    const int64_t iy0 = int64_t{oy} * stride - padding, ix0 = int64_t{ox} * stride - padding;
    origins[j].iy0 = iy0;
    origins[j].ix0 = ix0;
    origins[j].interior =
        iy0 >= 0 && ix0 >= 0 && iy0 <= last_iy0 && ix0 <= last_ix0
            ? input + static_cast<size_t>(iy0) * row_stride + static_cast<size_t>(ix0) * in_c
            : nullptr;
    if (++ox == out_w) ox = 0, ++oy;
  }
}

// Interleaved block straight from the input (in_c % 16 == 0): per quad of
// pixels, kernel_h runs of kernel_w * in_c bytes when the four windows lie
// inside the image, else one run per kernel row (when the columns do) or
// per tap, with the zero row standing for padding.
void GatherDirect(const QConvParams& p, const Geometry& g, const int8_t* input,
                  const int8_t* zero_row, const PixelOrigin* origins, uint32_t width,
                  int8_t* block) {
  const size_t step = size_t{width} * 4;
  const size_t row_stride = size_t{p.in_w} * p.in_c;
  const size_t skip = row_stride - g.segment;
  const size_t no_skip[4] = {0, 0, 0, 0};
  for (uint32_t q = 0; q < width; q += 4) {
    const PixelOrigin* o = origins + q;
    int8_t* dst = block + size_t{q} * 4;
    const int8_t* src[4];
    if (o[0].interior != nullptr && o[1].interior != nullptr && o[2].interior != nullptr &&
        o[3].interior != nullptr) {
      const size_t skips[4] = {skip, skip, skip, skip};
      for (int i = 0; i < 4; ++i) src[i] = o[i].interior;
      InterleaveQuad(src, skips, g.segment / 16, p.kernel_h, dst, step);
      continue;
    }
    bool columns_inside = true;
    for (int i = 0; i < 4; ++i) {
      columns_inside = columns_inside && o[i].ix0 >= 0 && o[i].ix0 + p.kernel_w <= p.in_w;
    }
    for (uint32_t ky = 0; ky < p.kernel_h; ++ky) {
      if (columns_inside) {
        for (int i = 0; i < 4; ++i) {
          const int64_t iy = o[i].iy0 + ky;
          src[i] = iy >= 0 && iy < p.in_h ? input + static_cast<size_t>(iy) * row_stride +
                                                static_cast<size_t>(o[i].ix0) * p.in_c
                                          : zero_row;
        }
        InterleaveQuad(src, no_skip, g.segment / 16, 1, dst, step);
        dst += size_t{g.segment / 4} * step;
        continue;
      }
      for (uint32_t kx = 0; kx < p.kernel_w; ++kx) {
        for (int i = 0; i < 4; ++i) {
          const int64_t iy = o[i].iy0 + ky, ix = o[i].ix0 + kx;
          src[i] =
              iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w
                  ? input + static_cast<size_t>(iy) * row_stride + static_cast<size_t>(ix) * p.in_c
                  : zero_row;
        }
        InterleaveQuad(src, no_skip, p.in_c / 16, 1, dst, step);
        dst += size_t{p.in_c / 4} * step;
      }
    }
  }
}

// Copies pixel j's im2col row to rows + j * (row_bytes + 16); the 16-byte
// copies' over-writes land on the next run's bytes or past k, where the
// weights are zero.
void GatherRows(const QConvParams& p, const Geometry& g, const int8_t* input,
                const int8_t* zero_row, const PixelOrigin* origins, uint32_t width, int8_t* rows) {
  // Locals, not p's fields: the byte stores below may alias anything.
  const uint32_t kernel_h = p.kernel_h, kernel_w = p.kernel_w, in_c = p.in_c;
  const int64_t in_h = p.in_h, in_w = p.in_w;
  const size_t row_stride = size_t{p.in_w} * in_c, segment = g.segment;
  const size_t row_bytes = g.row_bytes, row_pitch = row_bytes + 16;
  for (uint32_t j = 0; j < width; ++j) {
    int8_t* r = rows + j * row_pitch;
    if (origins[j].interior != nullptr) {
      CopyRuns(r, segment, origins[j].interior, row_stride, kernel_h, segment);
      continue;
    }
    const int64_t iy0 = origins[j].iy0, ix0 = origins[j].ix0;
    if (j > 0 && iy0 == origins[j - 1].iy0 && ix0 == origins[j - 1].ix0) {
      std::memcpy(r, r - row_pitch, row_bytes);
      continue;
    }
    const bool columns_inside = ix0 >= 0 && ix0 + kernel_w <= in_w;
    for (uint32_t ky = 0; ky < kernel_h; ++ky) {
      const int64_t iy = iy0 + ky;
      const bool row_inside = iy >= 0 && iy < in_h;
      if (columns_inside) {
        Copy16(r,
               row_inside
                   ? input + static_cast<size_t>(iy) * row_stride + static_cast<size_t>(ix0) * in_c
                   : zero_row,
               segment);
        r += segment;
        continue;
      }
      for (uint32_t kx = 0; kx < kernel_w; ++kx, r += in_c) {
        const int64_t ix = ix0 + kx;
        const bool inside = row_inside && ix >= 0 && ix < in_w;
        Copy16(r,
               inside
                   ? input + static_cast<size_t>(iy) * row_stride + static_cast<size_t>(ix) * in_c
                   : zero_row,
               in_c);
      }
    }
  }
}

// --- the tiles ------------------------------------------------------------------
//
// Tile<kPx> computes out[j][c] for kPx pixels (rows `stride` bytes apart) and
// 8 channels per channel block, for `blocks` consecutive blocks, reading
// the interleaved block `a` (kPx pixels by 4 bytes per step) and the packed
// weights from `w` on. Registers: weights v0-v3 (two steps of 8 channels;
// v0-v7 four steps for one pixel); activations v4-v7 (v24 for one pixel);
// accumulators from v8 (kPx 12: pixel j's channels 0-3 in v(8+2j), 4-7 in
// v(9+2j)) or v16 (kPx 8 and 4, the same layout; kPx 1: see below); in the
// epilogue v0-v1 the scales, v2 the zero point, v3-v4 the clamp, v5-v6
// temporaries.

// clang-format off
#define RVGG_SD(acc, w, x, lane) "sdot " #acc ".4s, " #w ".16b, " #x ".4b[" #lane "]\n\t"
// Pixels 4q..4q+3 (accumulators c0/d0 .. c3/d3) from activation register x.
#define RVGG_SD_QUAD(c0, d0, c1, d1, c2, d2, c3, d3, w0, w1, x)                         \
  RVGG_SD(c0, w0, x, 0) RVGG_SD(d0, w1, x, 0) RVGG_SD(c1, w0, x, 1) RVGG_SD(d1, w1, x, 1) \
  RVGG_SD(c2, w0, x, 2) RVGG_SD(d2, w1, x, 2) RVGG_SD(c3, w0, x, 3) RVGG_SD(d3, w1, x, 3)
#define RVGG_Q08(w0, w1, x) RVGG_SD_QUAD(v8, v9, v10, v11, v12, v13, v14, v15, w0, w1, x)
#define RVGG_Q16(w0, w1, x) RVGG_SD_QUAD(v16, v17, v18, v19, v20, v21, v22, v23, w0, w1, x)
#define RVGG_Q24(w0, w1, x) RVGG_SD_QUAD(v24, v25, v26, v27, v28, v29, v30, v31, w0, w1, x)

// Requantizes two pixels (accumulators c0/d0 and c1/d1) and stores them.
// The contract clamps in float and then rounds; rounding first is the same
// because the bounds are integers. fcvtns rounds half to even (saturating to
// int32), sqxtn saturates to int16 before the zero point is added and to
// int8 after it: every saturation lies outside [output_min, output_max], so
// the final clamp gives the contract's value.
#define RVGG_EPILOGUE_PAIR(c0, d0, c1, d1)                                                       \
  "scvtf " #c0 ".4s, " #c0 ".4s\n\t" "scvtf " #d0 ".4s, " #d0 ".4s\n\t"                          \
  "scvtf " #c1 ".4s, " #c1 ".4s\n\t" "scvtf " #d1 ".4s, " #d1 ".4s\n\t"                          \
  "fmul " #c0 ".4s, " #c0 ".4s, v0.4s\n\t" "fmul " #d0 ".4s, " #d0 ".4s, v1.4s\n\t"              \
  "fmul " #c1 ".4s, " #c1 ".4s, v0.4s\n\t" "fmul " #d1 ".4s, " #d1 ".4s, v1.4s\n\t"              \
  "fcvtns " #c0 ".4s, " #c0 ".4s\n\t" "fcvtns " #d0 ".4s, " #d0 ".4s\n\t"                        \
  "fcvtns " #c1 ".4s, " #c1 ".4s\n\t" "fcvtns " #d1 ".4s, " #d1 ".4s\n\t"                        \
  "sqxtn v5.4h, " #c0 ".4s\n\t" "sqxtn2 v5.8h, " #d0 ".4s\n\t"                                   \
  "sqxtn v6.4h, " #c1 ".4s\n\t" "sqxtn2 v6.8h, " #d1 ".4s\n\t"                                   \
  "sqadd v5.8h, v5.8h, v2.8h\n\t" "sqadd v6.8h, v6.8h, v2.8h\n\t"                                \
  "sqxtn v5.8b, v5.8h\n\t" "sqxtn2 v5.16b, v6.8h\n\t"                                            \
  "smax v5.16b, v5.16b, v3.16b\n\t" "smin v5.16b, v5.16b, v4.16b\n\t"                            \
  "st1 {v5.d}[0], [%[out]], %[stride]\n\t" "st1 {v5.d}[1], [%[out]], %[stride]\n\t"

// The K loop around the steps: 4 * body4 per iteration, then 2 * body4,
// body4, body2, body1 as ksteps' low bits say; then the epilogue's constants.
#define RVGG_K_LOOP(body4, body2, body1)                                      \
  "cbz %w[n], 2f\n\t"                                                         \
  "1:\n\t" body4 body4 body4 body4 "subs %w[n], %w[n], #1\n\t" "b.ne 1b\n\t"  \
  "2:\n\t" "tbz %w[k], #3, 6f\n\t" body4 body4                              \
  "6:\n\t" "tbz %w[k], #2, 3f\n\t" body4                                    \
  "3:\n\t" "tbz %w[k], #1, 4f\n\t" body2                                    \
  "4:\n\t" "tbz %w[k], #0, 5f\n\t" body1                                    \
  "5:\n\t"                                                                  \
  "ld1 {v0.4s, v1.4s}, [%[scale]]\n\t"                                        \
  "ld1 {v2.16b, v3.16b, v4.16b}, [%[rq]]\n\t"

#define RVGG_TILE_OPERANDS                                                             \
  : [a] "+r"(a_), [w] "+r"(w), [n] "+r"(iterations), [out] "+r"(out_)                   \
  : [k] "r"(ksteps), [bias] "r"(bias), [scale] "r"(scale), [rq] "r"(rq), [stride] "r"(stride)

// 12 pixels: activations v4-v6 (12 pixels of one step).
#define RVGG_12_STEP(w0, w1)                                                     \
  "ld1 {v4.16b, v5.16b, v6.16b}, [%[a]], #48\n\t"                                \
  RVGG_Q08(w0, w1, v4) RVGG_Q16(w0, w1, v5) RVGG_Q24(w0, w1, v6)
#define RVGG_12_BODY2 "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t" RVGG_12_STEP(v0, v1) RVGG_12_STEP(v2, v3)
#define RVGG_12_BODY4 RVGG_12_BODY2 RVGG_12_BODY2
#define RVGG_12_BODY1 "ld1 {v0.16b, v1.16b}, [%[w]], #32\n\t" RVGG_12_STEP(v0, v1)

// 8 pixels: activations v4-v7 (two steps).
#define RVGG_8_BODY2                                                             \
  "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"                                         \
  "ld1 {v4.16b-v7.16b}, [%[a]], #64\n\t"                                         \
  RVGG_Q16(v0, v1, v4) RVGG_Q24(v0, v1, v5) RVGG_Q16(v2, v3, v6) RVGG_Q24(v2, v3, v7)
#define RVGG_8_BODY4 RVGG_8_BODY2 RVGG_8_BODY2
#define RVGG_8_BODY1                                                             \
  "ld1 {v0.16b, v1.16b}, [%[w]], #32\n\t"                                        \
  "ld1 {v4.16b, v5.16b}, [%[a]], #32\n\t"                                        \
  RVGG_Q16(v0, v1, v4) RVGG_Q24(v0, v1, v5)

// 4 pixels: activations v4-v7 (four steps).
#define RVGG_4_BODY4                                                             \
  "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"                                         \
  "ld1 {v4.16b-v7.16b}, [%[a]], #64\n\t"                                         \
  RVGG_Q16(v0, v1, v4) RVGG_Q16(v2, v3, v5)                                      \
  "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"                                         \
  RVGG_Q16(v0, v1, v6) RVGG_Q16(v2, v3, v7)
#define RVGG_4_BODY2                                                             \
  "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"                                         \
  "ld1 {v4.16b, v5.16b}, [%[a]], #32\n\t"                                        \
  RVGG_Q16(v0, v1, v4) RVGG_Q16(v2, v3, v5)
#define RVGG_4_BODY1                                                             \
  "ld1 {v0.16b, v1.16b}, [%[w]], #32\n\t"                                        \
  "ld1 {v4.16b}, [%[a]], #16\n\t"                                                \
  RVGG_Q16(v0, v1, v4)

// 1 pixel: the activation row itself, 4 steps per register (v24); four
// accumulator pairs (one per step of 4) summed at the end: v16/v17 ...
// v22/v23.
#define RVGG_1_BODY4                                                             \
  "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"                                         \
  "ld1 {v4.16b-v7.16b}, [%[w]], #64\n\t"                                         \
  "ld1 {v24.16b}, [%[a]], #16\n\t"                                               \
  RVGG_SD(v16, v0, v24, 0) RVGG_SD(v17, v1, v24, 0)                              \
  RVGG_SD(v18, v2, v24, 1) RVGG_SD(v19, v3, v24, 1)                              \
  RVGG_SD(v20, v4, v24, 2) RVGG_SD(v21, v5, v24, 2)                              \
  RVGG_SD(v22, v6, v24, 3) RVGG_SD(v23, v7, v24, 3)
#define RVGG_1_BODY2                                                             \
  "ld1 {v0.16b-v3.16b}, [%[w]], #64\n\t"                                         \
  "ld1 {v24.8b}, [%[a]], #8\n\t"                                                 \
  RVGG_SD(v16, v0, v24, 0) RVGG_SD(v17, v1, v24, 0)                              \
  RVGG_SD(v18, v2, v24, 1) RVGG_SD(v19, v3, v24, 1)
#define RVGG_1_BODY1                                                             \
  "ld1 {v0.16b, v1.16b}, [%[w]], #32\n\t"                                        \
  "ld1 {v24.s}[0], [%[a]], #4\n\t"                                               \
  RVGG_SD(v16, v0, v24, 0) RVGG_SD(v17, v1, v24, 0)

// Accumulator banks: 8 registers, four pixels' 8 channels each. Seeding
// loads the bias block (the 8 folded biases twice) once per pixel pair.
#define RVGG_SEED_08 "ld1 {v8.4s-v11.4s}, [%[bias]]\n\t" "ld1 {v12.4s-v15.4s}, [%[bias]]\n\t"
#define RVGG_SEED_16 "ld1 {v16.4s-v19.4s}, [%[bias]]\n\t" "ld1 {v20.4s-v23.4s}, [%[bias]]\n\t"
#define RVGG_SEED_24 "ld1 {v24.4s-v27.4s}, [%[bias]]\n\t" "ld1 {v28.4s-v31.4s}, [%[bias]]\n\t"
#define RVGG_EPILOGUE_08 RVGG_EPILOGUE_PAIR(v8, v9, v10, v11) RVGG_EPILOGUE_PAIR(v12, v13, v14, v15)
#define RVGG_EPILOGUE_16 RVGG_EPILOGUE_PAIR(v16, v17, v18, v19) RVGG_EPILOGUE_PAIR(v20, v21, v22, v23)
#define RVGG_EPILOGUE_24 RVGG_EPILOGUE_PAIR(v24, v25, v26, v27) RVGG_EPILOGUE_PAIR(v28, v29, v30, v31)
#define RVGG_BANK_08 "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15"
#define RVGG_BANK_16 "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23"
#define RVGG_BANK_24 "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31"
// clang-format on

template <uint32_t kPx>
void Tile(const int8_t* a, const int8_t* w, uint32_t ksteps, const int32_t* bias,
          const float* scale, const RequantConsts* rq, int8_t* out, size_t stride,
          uint32_t blocks) {
  static_assert(kPx == 12 || kPx == 8 || kPx == 4 || kPx == 1, "tile widths are 12, 8, 4, 1");
  for (uint32_t b = 0; b < blocks; ++b, bias += 16, scale += 8, out += 8) {
    const int8_t* a_ = a;
    int8_t* out_ = out;
    uint32_t iterations = ksteps / 16;
    // clang-format off
    if constexpr (kPx == 12) {
      __asm__ volatile(
          RVGG_SEED_08 RVGG_SEED_16 RVGG_SEED_24
          RVGG_K_LOOP(RVGG_12_BODY4, RVGG_12_BODY2, RVGG_12_BODY1)
          RVGG_EPILOGUE_08 RVGG_EPILOGUE_16 RVGG_EPILOGUE_24
          RVGG_TILE_OPERANDS
          : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", RVGG_BANK_08, RVGG_BANK_16,
            RVGG_BANK_24);
    } else if constexpr (kPx == 8) {
      __asm__ volatile(
          RVGG_SEED_16 RVGG_SEED_24
          RVGG_K_LOOP(RVGG_8_BODY4, RVGG_8_BODY2, RVGG_8_BODY1)
          RVGG_EPILOGUE_16 RVGG_EPILOGUE_24
          RVGG_TILE_OPERANDS
          : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", RVGG_BANK_16,
            RVGG_BANK_24);
    } else if constexpr (kPx == 4) {
      __asm__ volatile(
          RVGG_SEED_16
          RVGG_K_LOOP(RVGG_4_BODY4, RVGG_4_BODY2, RVGG_4_BODY1)
          RVGG_EPILOGUE_16
          RVGG_TILE_OPERANDS
          : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", RVGG_BANK_16);
    } else {
      // One pixel: the four accumulator pairs summed, then the epilogue on
      // 8 bytes.
      __asm__ volatile(
          "ld1 {v16.4s, v17.4s}, [%[bias]]\n\t"
          "movi v18.4s, #0\n\t" "movi v19.4s, #0\n\t" "movi v20.4s, #0\n\t"
          "movi v21.4s, #0\n\t" "movi v22.4s, #0\n\t" "movi v23.4s, #0\n\t"
          RVGG_K_LOOP(RVGG_1_BODY4, RVGG_1_BODY2, RVGG_1_BODY1)
          "add v16.4s, v16.4s, v18.4s\n\t" "add v17.4s, v17.4s, v19.4s\n\t"
          "add v20.4s, v20.4s, v22.4s\n\t" "add v21.4s, v21.4s, v23.4s\n\t"
          "add v16.4s, v16.4s, v20.4s\n\t" "add v17.4s, v17.4s, v21.4s\n\t"
          "scvtf v16.4s, v16.4s\n\t" "scvtf v17.4s, v17.4s\n\t"
          "fmul v16.4s, v16.4s, v0.4s\n\t" "fmul v17.4s, v17.4s, v1.4s\n\t"
          "fcvtns v16.4s, v16.4s\n\t" "fcvtns v17.4s, v17.4s\n\t"
          "sqxtn v5.4h, v16.4s\n\t" "sqxtn2 v5.8h, v17.4s\n\t"
          "sqadd v5.8h, v5.8h, v2.8h\n\t"
          "sqxtn v5.8b, v5.8h\n\t"
          "smax v5.8b, v5.8b, v3.8b\n\t" "smin v5.8b, v5.8b, v4.8b\n\t"
          "st1 {v5.8b}, [%[out]]\n\t"
          RVGG_TILE_OPERANDS
          : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", RVGG_BANK_16, "v24");
    }
    // clang-format on
  }
}

#undef RVGG_BANK_24
#undef RVGG_BANK_16
#undef RVGG_BANK_08
#undef RVGG_EPILOGUE_24
#undef RVGG_EPILOGUE_16
#undef RVGG_EPILOGUE_08
#undef RVGG_SEED_24
#undef RVGG_SEED_16
#undef RVGG_SEED_08
#undef RVGG_1_BODY1
#undef RVGG_1_BODY2
#undef RVGG_1_BODY4
#undef RVGG_4_BODY1
#undef RVGG_4_BODY2
#undef RVGG_4_BODY4
#undef RVGG_8_BODY1
#undef RVGG_8_BODY4
#undef RVGG_8_BODY2
#undef RVGG_12_BODY1
#undef RVGG_12_BODY4
#undef RVGG_12_BODY2
#undef RVGG_12_STEP
#undef RVGG_TILE_OPERANDS
#undef RVGG_K_LOOP
#undef RVGG_EPILOGUE_PAIR
#undef RVGG_Q24
#undef RVGG_Q16
#undef RVGG_Q08
#undef RVGG_SD_QUAD
#undef RVGG_SD

using TileFn = void (*)(const int8_t*, const int8_t*, uint32_t, const int32_t*, const float*,
                        const RequantConsts*, int8_t*, size_t, uint32_t);

// --- the driver -----------------------------------------------------------------

struct Work {
  const QConvParams* params;
  Geometry g;
  SlotLayout slot;
  RequantConsts rq;
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

uint32_t BlockWidth(uint32_t count) {
  return count == 1 ? 1 : count <= 4 ? 4 : count <= 8 ? 8 : 12;
}

// Gathers pixels first .. first + count - 1 for a tile of `width`; returns
// the activations the tile reads (the block, or the input itself when one
// pixel's im2col row is a contiguous run of it).
const int8_t* Gather(const Work& work, uint32_t first, uint32_t count, uint32_t width,
                     int8_t* block, const int8_t* zero_row, int8_t* rows) {
  const QConvParams& p = *work.params;
  const Geometry& g = work.g;
  const size_t row_pitch = g.row_bytes + 16;
  const size_t row_stride = size_t{p.in_w} * p.in_c;
  // The common case: the pixels lie in one output row with every window
  // inside the image, so pixel j's window starts pixel_step * j bytes after
  // the first one's.
  const uint32_t oy = first / p.out_w, ox = first % p.out_w;
  const int64_t iy0 = int64_t{oy} * p.stride - p.padding;
  const int64_t ix0 = int64_t{ox} * p.stride - p.padding;
  if (ox + count <= p.out_w && iy0 >= 0 && iy0 + p.kernel_h <= p.in_h && ix0 >= 0 &&
      ix0 + int64_t{count - 1} * p.stride + p.kernel_w <= p.in_w) {
    const int8_t* s0 =
        work.input + static_cast<size_t>(iy0) * row_stride + static_cast<size_t>(ix0) * p.in_c;
    const size_t pixel_step = size_t{p.stride} * p.in_c;
    if (width == 1 && p.kernel_h == 1) return s0;
    if (g.direct && width > 1) {
      const size_t skip = row_stride - g.segment;
      const size_t skips[4] = {skip, skip, skip, skip};
      for (uint32_t q = 0; q < width; q += 4) {
        const int8_t* src[4];
        for (uint32_t i = 0; i < 4; ++i) {
          src[i] = s0 + (q + i < count ? q + i : count - 1) * pixel_step;
        }
        InterleaveQuad(src, skips, g.segment / 16, p.kernel_h, block + q * 4, size_t{width} * 4);
      }
      return block;
    }
    // Rows (the block itself for one pixel), one kernel row at a time; the
    // pixels past `count` repeat the last row.
    int8_t* out = width == 1 ? block : rows;
    const uint32_t kernel_h = p.kernel_h;
    const size_t segment = g.segment;
    for (uint32_t ky = 0; ky < kernel_h; ++ky) {
      CopyRuns(out + ky * segment, row_pitch, s0 + ky * row_stride, pixel_step, count, segment);
    }
    for (uint32_t j = count; j < width; ++j) {
      std::memcpy(out + j * row_pitch, out + (j - 1) * row_pitch, g.row_bytes);
    }
    if (width == 1) return block;
    InterleaveRows(rows, row_pitch, g.row_bytes, width, block);
    return block;
  }

  PixelOrigin origins[kMaxPixels];
  Origins(p, work.input, first, count, width, origins);
  if (width == 1) {
    if (p.kernel_h == 1 && origins[0].interior != nullptr) return origins[0].interior;
    GatherRows(p, g, work.input, zero_row, origins, 1, block);
    return block;
  }
  if (g.direct) {
    GatherDirect(p, g, work.input, zero_row, origins, width, block);
    return block;
  }
  GatherRows(p, g, work.input, zero_row, origins, width, rows);
  InterleaveRows(rows, row_pitch, g.row_bytes, width, block);
  return block;
}

void RunSlot(Work* work, size_t slot) {
  const QConvParams& p = *work->params;
  const Geometry& g = work->g;
  uint8_t* base = work->scratch + slot * work->slot.total;
  int8_t* block = reinterpret_cast<int8_t*>(base + work->slot.block);
  int8_t* zero_row = reinterpret_cast<int8_t*>(base + work->slot.zero_row);
  int8_t* rows = reinterpret_cast<int8_t*>(base + work->slot.rows);
  std::memset(zero_row, p.input_zero_point, ZeroRowBytes(g));
  const size_t weight_block_bytes = WeightBlockBytes(g);
  const uint32_t full_blocks = p.out_c / kBlockChannels;

  uint32_t gathered = UINT32_MAX;
  const int8_t* a = nullptr;
  for (;;) {
    const uint32_t item = work->next.fetch_add(1, std::memory_order_relaxed);
    if (item >= work->items) break;
    const uint32_t pb = item / work->chunks, chunk = item % work->chunks;
    const uint32_t first = pb * kMaxPixels;
    const uint32_t count = g.pixels - first < kMaxPixels ? g.pixels - first : kMaxPixels;
    const uint32_t width = BlockWidth(count);
    if (pb != gathered) {
      a = Gather(*work, first, count, width, block, zero_row, rows);
      gathered = pb;
    }
    const TileFn tile = width == 1   ? Tile<1>
                        : width == 4 ? Tile<4>
                        : width == 8 ? Tile<8>
                                     : Tile<12>;
    const uint32_t begin = static_cast<uint32_t>(uint64_t{g.channel_blocks} * chunk / work->chunks);
    const uint32_t end =
        static_cast<uint32_t>(uint64_t{g.channel_blocks} * (chunk + 1) / work->chunks);
    int8_t* out = work->output + size_t{first} * p.out_c;
    uint32_t cb = begin;
    if (count == width) {
      // Whole tiles straight into the output.
      const uint32_t whole_end = end < full_blocks ? end : full_blocks;
      if (whole_end > cb) {
        tile(a, work->weights + cb * weight_block_bytes, g.ksteps, work->bias + cb * 16,
             p.requant_scale + cb * kBlockChannels, &work->rq, out + cb * kBlockChannels, p.out_c,
             whole_end - cb);
        cb = whole_end;
      }
    }
    // Partial tiles (fewer pixels or channels): 8 channels of every pixel
    // into a temporary, then the valid part.
    for (; cb < end; ++cb) {
      const uint32_t c0 = cb * kBlockChannels;
      const uint32_t channels = p.out_c - c0 < kBlockChannels ? p.out_c - c0 : kBlockChannels;
      float scale[kBlockChannels] = {};
      std::memcpy(scale, p.requant_scale + c0, channels * sizeof(float));
      int8_t tmp[kMaxPixels * kBlockChannels];
      tile(a, work->weights + cb * weight_block_bytes, g.ksteps, work->bias + cb * 16, scale,
           &work->rq, tmp, kBlockChannels, 1);
      for (uint32_t j = 0; j < count; ++j) {
        std::memcpy(out + size_t{j} * p.out_c + c0, tmp + j * kBlockChannels, channels);
      }
    }
  }
}

void RunSlotTask(void* context, size_t slot) { RunSlot(static_cast<Work*>(context), slot); }

// --- the family -----------------------------------------------------------------

bool Applies(const QConvParams& p) {
  if (!cpuinfo_initialize() || !cpuinfo_has_arm_neon_dot()) return false;
  // K and the pixel count bounded so that the geometry fits in uint32.
  const uint64_t k = uint64_t{p.kernel_h} * p.kernel_w * p.in_c;
  return p.in_c > 0 && p.out_c > 0 && p.out_h > 0 && p.out_w > 0 && p.kernel_h > 0 &&
         p.kernel_w > 0 && p.stride > 0 && k <= (uint64_t{1} << 24) &&
         uint64_t{p.out_h} * p.out_w <= (uint64_t{1} << 30) && p.input_zero_point >= -128 &&
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
    const int32_t value =
        static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(folded)));
    const uint32_t cb = o / kBlockChannels, c = o % kBlockChannels;
    packed_bias[cb * 16 + c] = packed_bias[cb * 16 + 8 + c] = value;
    int8_t* block = packed_weights + cb * WeightBlockBytes(g);
    for (uint32_t i = 0; i < g.k; ++i) {
      block[(i / 4) * 4 * kBlockChannels + c * 4 + i % 4] = w[i];
    }
  }
  return true;
}

uint32_t Slots(pthreadpool_t pool) {
  const size_t threads = pool != nullptr ? pthreadpool_get_threads_count(pool) : 1;
  return threads > 1 ? static_cast<uint32_t>(threads) : 1;
}

size_t ScratchBytes(const QConvParams& p, uint32_t threads) {
  return SlotLayoutOf(GeometryOf(p)).total * (threads > 1 ? threads : 1);
}

void Run(const QConvParams& p, const void* packed, const int8_t* input, int8_t* output,
         void* scratch, pthreadpool_t pool) {
  Work work;
  work.params = &p;
  work.g = GeometryOf(p);
  work.slot = SlotLayoutOf(work.g);
  for (int i = 0; i < 8; ++i) work.rq.zero_point[i] = static_cast<int16_t>(p.output_zero_point);
  std::memset(work.rq.min, p.output_min, sizeof(work.rq.min));
  std::memset(work.rq.max, p.output_max, sizeof(work.rq.max));
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

const QConvFamily kQConvNeonDot = {"int8 sdot", Applies,      PackedBytes, Pack,
                                   ScratchBytes, Run, nullptr};

}  // namespace rvgg::kernels
