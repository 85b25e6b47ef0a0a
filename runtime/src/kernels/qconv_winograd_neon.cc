// The NEON form of the int8 Winograd kernel (qconv_winograd.h): the same
// packed weights, scratch and arithmetic as the portable form, with the line
// transforms factorized (the even/odd pairs of the symmetric points) and the
// GEMM on smlal / smlal2 by element.
//
// GEMM register block: up to 8 tiles x 8 output channels, 16 int32x4
// accumulators. Per group of 8 input channels it loads the 8 tiles' V (one
// int16x8 per tile, channels along the lanes: the by-element operand, which
// must sit in v0-v15) and the 8 channels' U rows (one int16x8 per input
// channel, output channels along the lanes) with two 4-register ld1 each,
// then does 128 smlal/smlal2.
#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "runtime/src/kernels/qconv_winograd.h"

#define RVGG_QW_INLINE inline __attribute__((always_inline))

namespace rvgg::kernels {
namespace qwinograd {
namespace {

// int16 between positions of V, and between its channel groups.
constexpr size_t kPositionStride = kBlockTiles * kChannelGroup;
constexpr size_t kGroupStride = kPositions * kPositionStride;
// int32 between tiles of M.
constexpr size_t kTileStride = kPositions * kChannelGroup;

// r = B^T d for one line. Exact in int16: every intermediate is part of one
// row's sum, bounded by that row's absolute sum (at most 10x the inputs).
RVGG_QW_INLINE void InputLine(const int16x8_t* d, int16x8_t* r) {
  const int16x8_t hi1 = vmlsq_n_s16(d[4], d[2], 4);  // d4 - 4 d2
  const int16x8_t lo1 = vmlsq_n_s16(d[3], d[1], 4);  // d3 - 4 d1
  const int16x8_t hi2 = vsubq_s16(d[4], d[2]);
  const int16x8_t lo2 = vsubq_s16(d[3], d[1]);
  r[0] = vsubq_s16(vmlaq_n_s16(hi1, d[0], 4), d[2]);  // 4 d0 - 5 d2 + d4
  r[1] = vaddq_s16(hi1, lo1);
  r[2] = vsubq_s16(hi1, lo1);
  r[3] = vmlaq_n_s16(hi2, lo2, 2);
  r[4] = vmlsq_n_s16(hi2, lo2, 2);
  r[5] = vmlsq_n_s16(vsubq_s16(d[5], d[3]), lo2, 4);  // 4 d1 - 5 d3 + d5
}

// Window columns [kC0, kC1) are inside the image (the others are padding);
// rows[r] points at window row r's column kC0 (or at the zero-point row).
template <int kC0, int kC1>
void InputTile(const int8_t* const* rows, size_t pixel, uint32_t groups, int8x8_t zp, int16_t* v) {
  for (uint32_t g = 0; g < groups; ++g, v += kGroupStride) {
    int16x8_t t[kWindow][kWindow];
#pragma GCC unroll 6
    for (int r = 0; r < kWindow; ++r) {
      const int8_t* s = rows[r] + size_t{g} * kChannelGroup;
      int16x8_t d[kWindow];
#pragma GCC unroll 6
      for (int c = 0; c < kWindow; ++c) {
        d[c] = c >= kC0 && c < kC1 ? vsubl_s8(vld1_s8(s + (c - kC0) * pixel), zp) : vdupq_n_s16(0);
      }
      InputLine(d, t[r]);
    }
#pragma GCC unroll 6
    for (int b = 0; b < kWindow; ++b) {
      int16x8_t x[kWindow], y[kWindow];
#pragma GCC unroll 6
      for (int r = 0; r < kWindow; ++r) x[r] = t[r][b];
      InputLine(x, y);
#pragma GCC unroll 6
      for (int a = 0; a < kWindow; ++a) vst1q_s16(v + (a * kWindow + b) * kPositionStride, y[a]);
    }
  }
}

using InputTileFn = void (*)(const int8_t* const*, size_t, uint32_t, int8x8_t, int16_t*);
// [first inside column][end of the inside columns]; a tile always has at
// least its first output column inside, so the end is at least 2.
constexpr InputTileFn kInputTiles[2][kWindow + 1] = {
    {nullptr, nullptr, InputTile<0, 2>, InputTile<0, 3>, InputTile<0, 4>, InputTile<0, 5>,
     InputTile<0, 6>},
    {nullptr, nullptr, InputTile<1, 2>, InputTile<1, 3>, InputTile<1, 4>, InputTile<1, 5>,
     InputTile<1, 6>},
};

template <int kTiles>
RVGG_QW_INLINE void LoadTiles(const int16_t* v, int16x8_t* x) {
  constexpr int kRest = kTiles % 4;
  int base = 0;
  if constexpr (kTiles >= 4) {
    const int16x8x4_t a = vld1q_s16_x4(v);
    x[0] = a.val[0], x[1] = a.val[1], x[2] = a.val[2], x[3] = a.val[3];
    base = 4;
  }
  if constexpr (kTiles == 8) {
    const int16x8x4_t a = vld1q_s16_x4(v + 32);
    x[4] = a.val[0], x[5] = a.val[1], x[6] = a.val[2], x[7] = a.val[3];
  } else if constexpr (kRest == 3) {
    const int16x8x3_t a = vld1q_s16_x3(v + base * 8);
    x[base] = a.val[0], x[base + 1] = a.val[1], x[base + 2] = a.val[2];
  } else if constexpr (kRest == 2) {
    const int16x8x2_t a = vld1q_s16_x2(v + base * 8);
    x[base] = a.val[0], x[base + 1] = a.val[1];
  } else if constexpr (kRest == 1) {
    x[base] = vld1q_s16(v + base * 8);
  }
}

template <int kTiles, int kLane>
RVGG_QW_INLINE void Step(int32x4_t* lo, int32x4_t* hi, int16x8_t w, const int16x8_t* x) {
#pragma GCC unroll 8
  for (int t = 0; t < kTiles; ++t) {
    lo[t] = vmlal_laneq_s16(lo[t], vget_low_s16(w), x[t], kLane);
    hi[t] = vmlal_high_laneq_s16(hi[t], w, x[t], kLane);
  }
}

// M[tile][8] (tile stride kTileStride) = sum over channels of U x V at one
// position, for kTiles tiles and one output block; wraps mod 2^32.
template <int kTiles>
void Gemm(const int16_t* v, const int16_t* u, uint32_t groups, int32_t* m) {
  int32x4_t lo[kTiles], hi[kTiles];
#pragma GCC unroll 8
  for (int t = 0; t < kTiles; ++t) lo[t] = hi[t] = vdupq_n_s32(0);
  for (uint32_t g = 0; g < groups; ++g) {
    int16x8_t x[kTiles];
    LoadTiles<kTiles>(v, x);
    v += kGroupStride;
    const int16x8x4_t w0 = vld1q_s16_x4(u);
    Step<kTiles, 0>(lo, hi, w0.val[0], x);
    Step<kTiles, 1>(lo, hi, w0.val[1], x);
    Step<kTiles, 2>(lo, hi, w0.val[2], x);
    Step<kTiles, 3>(lo, hi, w0.val[3], x);
    const int16x8x4_t w1 = vld1q_s16_x4(u + 32);
    Step<kTiles, 4>(lo, hi, w1.val[0], x);
    Step<kTiles, 5>(lo, hi, w1.val[1], x);
    Step<kTiles, 6>(lo, hi, w1.val[2], x);
    Step<kTiles, 7>(lo, hi, w1.val[3], x);
    u += 64;
  }
#pragma GCC unroll 8
  for (int t = 0; t < kTiles; ++t) vst1q_s32_x2(m + t * kTileStride, int32x4x2_t{{lo[t], hi[t]}});
}

using GemmFn = void (*)(const int16_t*, const int16_t*, uint32_t, int32_t*);
constexpr GemmFn kGemms[kBlockTiles + 1] = {nullptr, Gemm<1>, Gemm<2>, Gemm<3>, Gemm<4>,
                                            Gemm<5>, Gemm<6>, Gemm<7>, Gemm<8>};

// y = O s for one line (int32, wrapping).
RVGG_QW_INLINE void OutputLine(const int32x4_t* s, int32x4_t* y) {
  const int32x4_t a1 = vaddq_s32(s[1], s[2]), b1 = vsubq_s32(s[1], s[2]);
  const int32x4_t a2 = vaddq_s32(s[3], s[4]), b2 = vsubq_s32(s[3], s[4]);
  y[0] = vmlsq_n_s32(vmlaq_n_s32(a2, s[0], 6), a1, 4);            // 6 s0 - 4 a1 + a2
  y[1] = vmlsq_n_s32(b2, b1, 2);                                  // b2 - 2 b1
  y[2] = vsubq_s32(a2, a1);                                       // a2 - a1
  y[3] = vaddq_s32(vmlaq_n_s32(vsubq_s32(b2, b1), s[5], 6), b2);  // 2 b2 - b1 + 6 s5
}

// float(X / 2^shift), exact in the division (X = 2^shift acc).
RVGG_QW_INLINE float32x4_t ToFloat(int32x4_t x, int shift) {
  switch (shift) {
    case 2:
      return vcvtq_n_f32_s32(x, 2);
    case 3:
      return vcvtq_n_f32_s32(x, 3);
    case 4:
      return vcvtq_n_f32_s32(x, 4);
    case 5:
      return vcvtq_n_f32_s32(x, 5);
    default:
      return vcvtq_n_f32_s32(x, 6);
  }
}

struct OutputBlock {
  int32x4_t bias[2];
  float32x4_t scale[2];
  int32x4_t inverse;
  int16x8_t zero_point;
  int8x8_t min, max;
  uint32_t channels;  // of this block that exist (1..8)
};

RVGG_QW_INLINE void FinishPixel(int32x4_t z0, int32x4_t z1, int shift, const OutputBlock& k,
                                int8_t* out) {
  const float32x4_t f0 = vmulq_f32(ToFloat(vmulq_s32(z0, k.inverse), shift), k.scale[0]);
  const float32x4_t f1 = vmulq_f32(ToFloat(vmulq_s32(z1, k.inverse), shift), k.scale[1]);
  // fcvtns rounds half to even, as the reference's nearbyint; the saturating
  // narrowing and the clamp give the reference's float clamp.
  const int16x8_t h = vqmovn_high_s32(vqmovn_s32(vcvtnq_s32_f32(f0)), vcvtnq_s32_f32(f1));
  const int8x8_t q = vmin_s8(vmax_s8(vqmovn_s16(vqaddq_s16(h, k.zero_point)), k.min), k.max);
  if (k.channels == kChannelGroup) {
    vst1_s8(out, q);
  } else {
    int8_t staged[kChannelGroup];
    vst1_s8(staged, q);
    std::memcpy(out, staged, k.channels);
  }
}

// One tile's outputs from M[36][8]: kCols output columns, `rows` rows.
template <int kCols>
void OutputTile(const int32_t* m, const OutputBlock& k, int8_t* out, size_t row_stride,
                size_t pixel, uint32_t rows) {
  int32x4_t t[kWindow][kTile][2];  // M O^T
#pragma GCC unroll 6
  for (int a = 0; a < kWindow; ++a) {
    int32x4_t s0[kWindow], s1[kWindow], y0[kTile], y1[kTile];
#pragma GCC unroll 6
    for (int b = 0; b < kWindow; ++b) {
      const int32x4x2_t v = vld1q_s32_x2(m + (a * kWindow + b) * kChannelGroup);
      s0[b] = v.val[0];
      s1[b] = v.val[1];
    }
    if (a == kBiasPosition / kWindow) {
      s0[kBiasPosition % kWindow] = vaddq_s32(s0[kBiasPosition % kWindow], k.bias[0]);
      s1[kBiasPosition % kWindow] = vaddq_s32(s1[kBiasPosition % kWindow], k.bias[1]);
    }
    OutputLine(s0, y0);
    OutputLine(s1, y1);
#pragma GCC unroll 4
    for (int j = 0; j < kTile; ++j) t[a][j][0] = y0[j], t[a][j][1] = y1[j];
  }
#pragma GCC unroll 4
  for (int j = 0; j < kCols; ++j) {
    int32x4_t s0[kWindow], s1[kWindow], z0[kTile], z1[kTile];
#pragma GCC unroll 6
    for (int a = 0; a < kWindow; ++a) s0[a] = t[a][j][0], s1[a] = t[a][j][1];
    OutputLine(s0, z0);
    OutputLine(s1, z1);
#pragma GCC unroll 4
    for (int i = 0; i < kTile; ++i) {
      if (static_cast<uint32_t>(i) < rows) {
        FinishPixel(z0[i], z1[i], kOutputShift[i] + kOutputShift[j], k,
                    out + i * row_stride + j * pixel);
      }
    }
  }
}

using OutputTileFn = void (*)(const int32_t*, const OutputBlock&, int8_t*, size_t, size_t,
                              uint32_t);
constexpr OutputTileFn kOutputTiles[kTile + 1] = {nullptr, OutputTile<1>, OutputTile<2>,
                                                  OutputTile<3>, OutputTile<4>};

void NeonUnit(const UnitArgs& args, uint32_t first_tile, uint32_t count, uint32_t ob_begin,
              uint32_t ob_end) {
  const QConvParams& p = *args.params;
  const Plan& plan = *args.plan;
  int16_t* v = reinterpret_cast<int16_t*>(args.slot + plan.slot_v_offset);
  int32_t* m = reinterpret_cast<int32_t*>(args.slot + plan.slot_m_offset);
  const int8_t* zero_row = reinterpret_cast<const int8_t*>(args.slot + plan.slot_zero_offset);
  const int8x8_t zp = vdup_n_s8(static_cast<int8_t>(p.input_zero_point));
  const size_t in_pixel = p.in_c, in_row = size_t{p.in_w} * p.in_c;

  for (uint32_t j = 0; j < count; ++j) {
    const uint32_t tile = first_tile + j;
    const int64_t y0 = int64_t{tile / plan.tiles_x} * kTile - 1;
    const int64_t x0 = int64_t{tile % plan.tiles_x} * kTile - 1;
    const int c0 = x0 < 0 ? 1 : 0;
    const int c1 = static_cast<int>(std::min<int64_t>(kWindow, p.in_w - x0));
    const int8_t* rows[kWindow];
    for (int r = 0; r < kWindow; ++r) {
      const int64_t y = y0 + r;
      rows[r] = y >= 0 && y < p.in_h ? args.input + static_cast<size_t>(y) * in_row +
                                           static_cast<size_t>(x0 + c0) * in_pixel
                                     : zero_row;
    }
    kInputTiles[c0][c1](rows, in_pixel, plan.groups, zp, v + size_t{j} * kChannelGroup);
  }

  const GemmFn gemm = kGemms[count];
  OutputBlock k;
  k.inverse = vdupq_n_s32(static_cast<int32_t>(kInverseOf9));
  k.zero_point = vdupq_n_s16(static_cast<int16_t>(p.output_zero_point));
  k.min = vdup_n_s8(static_cast<int8_t>(p.output_min));
  k.max = vdup_n_s8(static_cast<int8_t>(p.output_max));
  const size_t out_pixel = p.out_c, out_row = size_t{p.out_w} * p.out_c;
  for (uint32_t ob = ob_begin; ob < ob_end; ++ob) {
    for (int pos = 0; pos < kPositions; ++pos) {
      gemm(v + pos * kPositionStride, PackedU(plan, args.weights, pos, ob), plan.groups,
           m + pos * kChannelGroup);
    }
    const size_t o = size_t{ob} * kChannelGroup;
    k.bias[0] = vld1q_s32(args.weights.bias + o);
    k.bias[1] = vld1q_s32(args.weights.bias + o + 4);
    k.scale[0] = vld1q_f32(args.weights.scale + o);
    k.scale[1] = vld1q_f32(args.weights.scale + o + 4);
    k.channels = std::min<uint32_t>(kChannelGroup, p.out_c - static_cast<uint32_t>(o));
    for (uint32_t j = 0; j < count; ++j) {
      const uint32_t tile = first_tile + j;
      const uint32_t oy = tile / plan.tiles_x * kTile, ox = tile % plan.tiles_x * kTile;
      const uint32_t cols = std::min<uint32_t>(kTile, p.out_w - ox);
      const uint32_t rows = std::min<uint32_t>(kTile, p.out_h - oy);
      kOutputTiles[cols](m + j * kTileStride, k, args.output + oy * out_row + ox * out_pixel + o,
                         out_row, out_pixel, rows);
    }
  }
}

void RunNeon(const QConvParams& p, const void* packed, const int8_t* input, int8_t* output,
             void* scratch, pthreadpool_t pool) {
  Run(p, packed, input, output, scratch, pool, NeonUnit);
}

}  // namespace
}  // namespace qwinograd

const QConvFamily kQConvWinogradNeon = {
    "int8 winograd f4 neon", qwinograd::Applies,      qwinograd::PackedBytes,
    qwinograd::Pack,         qwinograd::ScratchBytes, qwinograd::RunNeon,
};

}  // namespace rvgg::kernels
