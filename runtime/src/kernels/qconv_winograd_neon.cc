// The NEON form of the int8 Winograd kernel (qconv_winograd.h): the same
// packed weights, scratch and arithmetic as the portable form, with the line
// transforms factorized (the even/odd pairs of the symmetric points, the
// phases at stride 2) and the GEMM in assembly on smlal / smlal2 by element.
//
// GEMM register block: up to 8 tiles x 8 output channels, 16 int32x4
// accumulators. Per group of 8 input channels it loads the tiles' V (one
// int16x8 per tile, channels along the lanes: the by-element operand, which
// must sit in v0-v15) and the 8 channels' U rows (one int16x8 per input
// channel, output channels along the lanes) with 4-register ld1s, then does
// 16 smlal/smlal2 per tile: about 1.05 instructions per smlal at 8 tiles.
//
// Built with -fno-schedule-insns (runtime/CMakeLists.txt): GCC's first
// scheduling pass hoists the transforms' loads and spills what it hoisted.
#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "runtime/src/kernels/qconv_winograd.h"

#define RVGG_QW_INLINE inline __attribute__((always_inline))

namespace rvgg::kernels {
namespace qwinograd {
namespace {

// int16 between positions of V, and between its channel groups at stride 1
// and 2 (36 and 81 positions).
constexpr size_t kPositionStride = kBlockTiles * kChannelGroup;
constexpr size_t kGroupStride = kPositions * kPositionStride;
constexpr size_t kS2GroupStride = kS2Positions * kPositionStride;

// One tile dimension by its window size N, which tells the stride too:
// 6 and 4 (F(4, 3), F(2, 3)) at stride 1, 9 and 5 (their polyphase forms) at
// stride 2.
constexpr int DimPositions(int n) {
  return n == kS2Window || n == kS2SmallWindow ? kS2Window : kWindow;
}
constexpr int Outputs(int n) { return n == kWindow || n == kS2Window ? kTile : kSmallTile; }
constexpr bool IsSmall(int n) { return n == kSmallWindow || n == kS2SmallWindow; }
template <int N>
constexpr int PositionOf(int a) {
  return N == kSmallWindow ? kSmallPositions[a] : (N == kS2SmallWindow ? kS2SmallPositions[a] : a);
}
template <int N>
constexpr int ShiftOf(int i) {
  return N == kWindow ? kOutputShift[i]
                      : (N == kS2Window ? kS2OutputShift[i] : kSmallOutputShift[i]);
}
// (+1, +1).
constexpr int BiasPosition(int n) {
  return DimPositions(n) == kS2Window ? 4 * kS2Window + 4 : kWindow + 1;
}

// r = B^T d for one line. Exact in int16: every intermediate is part of one
// row's sum, bounded by that row's absolute sum (at most 10x the inputs).
template <int N>
RVGG_QW_INLINE void InputLine(const int16x8_t* d, int16x8_t* r) {
  if constexpr (N == kWindow) {
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
  } else {
    r[0] = vsubq_s16(d[2], d[0]);
    r[1] = vaddq_s16(d[2], d[1]);
    r[2] = vsubq_s16(d[2], d[1]);
    r[3] = vsubq_s16(d[3], d[1]);
  }
}

// A tile's window is kRowN x kColN pixels; window columns [kC0, kC1) are
// inside the image (the others are padding); rows[r] points at window row
// r's column kC0 (or at the zero-point row).
template <int kRowN, int kColN, int kC0, int kC1>
void InputTile(const int8_t* const* rows, size_t pixel, uint32_t groups, int8x8_t zp, int16_t* v) {
  for (uint32_t g = 0; g < groups; ++g, v += kGroupStride) {
    int16x8_t t[kRowN][kColN];
#pragma GCC unroll 6
    for (int r = 0; r < kRowN; ++r) {
      const int8_t* s = rows[r] + size_t{g} * kChannelGroup;
      int16x8_t d[kColN];
#pragma GCC unroll 6
      for (int c = 0; c < kColN; ++c) {
        d[c] = c >= kC0 && c < kC1 ? vsubl_s8(vld1_s8(s + (c - kC0) * pixel), zp) : vdupq_n_s16(0);
      }
      InputLine<kColN>(d, t[r]);
    }
#pragma GCC unroll 6
    for (int b = 0; b < kColN; ++b) {
      int16x8_t x[kRowN], y[kRowN];
#pragma GCC unroll 6
      for (int r = 0; r < kRowN; ++r) x[r] = t[r][b];
      InputLine<kRowN>(x, y);
#pragma GCC unroll 6
      for (int a = 0; a < kRowN; ++a) {
        vst1q_s16(v + (PositionOf<kRowN>(a) * kWindow + PositionOf<kColN>(b)) * kPositionStride,
                  y[a]);
      }
    }
  }
}

using InputTileFn = void (*)(const int8_t* const*, size_t, uint32_t, int8x8_t, int16_t*);

// By [first inside column][end of the inside columns - 2]; a tile always
// has its first output column inside, so the end is at least 2.
template <int kRowN, int kColN>
struct InputTiles {
  static constexpr int Clip(int c) { return c < kColN ? c : kColN; }
  static InputTileFn Pick(int c0, int c1) {
    static constexpr InputTileFn kTable[2][5] = {
        {InputTile<kRowN, kColN, 0, 2>, InputTile<kRowN, kColN, 0, Clip(3)>,
         InputTile<kRowN, kColN, 0, Clip(4)>, InputTile<kRowN, kColN, 0, Clip(5)>,
         InputTile<kRowN, kColN, 0, Clip(6)>},
        {InputTile<kRowN, kColN, 1, 2>, InputTile<kRowN, kColN, 1, Clip(3)>,
         InputTile<kRowN, kColN, 1, Clip(4)>, InputTile<kRowN, kColN, 1, Clip(5)>,
         InputTile<kRowN, kColN, 1, Clip(6)>},
    };
    return kTable[c0][c1 - 2];
  }
};

InputTileFn PickInputTile(bool small_row, bool small_col, int c0, int c1) {
  if (small_col) c1 = std::min(c1, kSmallWindow);
  if (!small_row) {
    return small_col ? InputTiles<kWindow, kSmallWindow>::Pick(c0, c1)
                     : InputTiles<kWindow, kWindow>::Pick(c0, c1);
  }
  return small_col ? InputTiles<kSmallWindow, kSmallWindow>::Pick(c0, c1)
                   : InputTiles<kSmallWindow, kWindow>::Pick(c0, c1);
}

// Stride 2: r = B^T e for F(m, 2) on a line's even pixels (N = 5 or 3 of
// them); exact in int16 as above.
template <int N>
RVGG_QW_INLINE void PhaseLine(const int16x8_t* e, int16x8_t* r) {
  if constexpr (N == 5) {
    const int16x8_t a = vmlsq_n_s16(e[2], e[0], 4), b = vmlsq_n_s16(e[3], e[1], 4);
    const int16x8_t c = vsubq_s16(e[2], e[0]), d = vsubq_s16(e[3], e[1]);
    r[0] = vaddq_s16(b, a);                           // +1
    r[1] = vsubq_s16(b, a);                           // -1
    r[2] = vmlaq_n_s16(d, c, 2);                      // +2
    r[3] = vmlsq_n_s16(d, c, 2);                      // -2
    r[4] = vmlsq_n_s16(vsubq_s16(e[4], e[2]), c, 4);  // infinity
  } else {
    r[0] = vaddq_s16(e[0], e[1]);
    r[1] = vsubq_s16(e[1], e[0]);
    r[2] = vsubq_s16(e[2], e[0]);
  }
}

// A stride-2 tile's kRowN x kColN window (9 or 5 each), every pixel inside
// the image or on a zero-point row; rows[r] points at window row r's first
// pixel. By phase: odd rows and columns are copied, even ones go through
// F(m, 2), so no more than 25 vectors are live.
template <int kRowN, int kColN>
void InputTileS2(const int8_t* const* rows, size_t pixel, uint32_t groups, int8x8_t zp,
                 int16_t* v) {
  constexpr int kRowM = Outputs(kRowN), kColM = Outputs(kColN);  // copied pixels
  constexpr int kRowP = kRowN - kRowM, kColP = kColN - kColM;    // F(m, 2) positions
  for (uint32_t g = 0; g < groups; ++g, v += kS2GroupStride) {
    const size_t offset = size_t{g} * kChannelGroup;
    auto load = [&](int r, int c) { return vsubl_s8(vld1_s8(rows[r] + c * pixel + offset), zp); };
    auto store = [&](int a, int b, int16x8_t x) {
      vst1q_s16(v + (PositionOf<kRowN>(a) * kS2Window + PositionOf<kColN>(b)) * kPositionStride, x);
    };
#pragma GCC unroll 4
    for (int a = 0; a < kRowM; ++a) {
      const int r = 2 * a + 1;
#pragma GCC unroll 4
      for (int b = 0; b < kColM; ++b) store(a, b, load(r, 2 * b + 1));
      int16x8_t e[kColP], y[kColP];
#pragma GCC unroll 5
      for (int j = 0; j < kColP; ++j) e[j] = load(r, 2 * j);
      PhaseLine<kColP>(e, y);
#pragma GCC unroll 5
      for (int j = 0; j < kColP; ++j) store(a, kColM + j, y[j]);
    }
#pragma GCC unroll 4
    for (int b = 0; b < kColM; ++b) {
      int16x8_t e[kRowP], y[kRowP];
#pragma GCC unroll 5
      for (int i = 0; i < kRowP; ++i) e[i] = load(2 * i, 2 * b + 1);
      PhaseLine<kRowP>(e, y);
#pragma GCC unroll 5
      for (int i = 0; i < kRowP; ++i) store(kRowM + i, b, y[i]);
    }
    int16x8_t t[kRowP][kColP];
#pragma GCC unroll 5
    for (int i = 0; i < kRowP; ++i) {
      int16x8_t e[kColP];
#pragma GCC unroll 5
      for (int j = 0; j < kColP; ++j) e[j] = load(2 * i, 2 * j);
      PhaseLine<kColP>(e, t[i]);
    }
#pragma GCC unroll 5
    for (int j = 0; j < kColP; ++j) {
      int16x8_t x[kRowP], y[kRowP];
#pragma GCC unroll 5
      for (int i = 0; i < kRowP; ++i) x[i] = t[i][j];
      PhaseLine<kRowP>(x, y);
#pragma GCC unroll 5
      for (int i = 0; i < kRowP; ++i) store(kRowM + i, kColM + j, y[i]);
    }
  }
}

// The same for a window that crosses the image's left or right edge: each
// group's pixels are gathered into a zero-point-filled copy first.
// image_rows[r] is window row r's image row (null outside the image).
template <int kRowN, int kColN>
void InputTileS2Edge(const int8_t* const* image_rows, int64_t x0, uint32_t width, size_t pixel,
                     uint32_t groups, int8x8_t zp, int16_t* v) {
  int8_t window[kRowN][kColN][kChannelGroup];
  const int8_t* rows[kRowN];
  for (int r = 0; r < kRowN; ++r) rows[r] = &window[r][0][0];
  for (uint32_t g = 0; g < groups; ++g) {
    for (int r = 0; r < kRowN; ++r) {
      for (int c = 0; c < kColN; ++c) {
        const int64_t x = x0 + c;
        if (image_rows[r] != nullptr && x >= 0 && x < width) {
          std::memcpy(window[r][c],
                      image_rows[r] + static_cast<size_t>(x) * pixel + size_t{g} * kChannelGroup,
                      kChannelGroup);
        } else {
          vst1_s8(window[r][c], zp);
        }
      }
    }
    InputTileS2<kRowN, kColN>(rows, kChannelGroup, 1, zp, v + g * kS2GroupStride);
  }
}

// The GEMM is assembly: GCC's register allocation of the intrinsics version
// (ld1 x4 structures and 32 live vectors) adds register moves and spills to
// the inner loop. Registers: V of tile t in v<t> (the by-element operand
// must be in v0-v15), U of input channel l of the group in v<8 + l>,
// accumulators of tile t in v<16 + 2t> (output channels 0-3) and
// v<17 + 2t> (4-7). The first channel of a position starts the sums with
// smull, so nothing is zeroed. The assembler macros are defined and purged
// inside each asm statement.
#define RVGG_QW_GEMM_MACROS                                   \
  ".macro qw_mac op, u, lane, tiles\n"                        \
  "  \\op     v16.4s, \\u\\().4h, v0.h[\\lane]\n"             \
  "  \\op\\()2 v17.4s, \\u\\().8h, v0.h[\\lane]\n"            \
  " .if \\tiles > 1\n"                                        \
  "  \\op     v18.4s, \\u\\().4h, v1.h[\\lane]\n"             \
  "  \\op\\()2 v19.4s, \\u\\().8h, v1.h[\\lane]\n"            \
  " .endif\n"                                                 \
  " .if \\tiles > 2\n"                                        \
  "  \\op     v20.4s, \\u\\().4h, v2.h[\\lane]\n"             \
  "  \\op\\()2 v21.4s, \\u\\().8h, v2.h[\\lane]\n"            \
  " .endif\n"                                                 \
  " .if \\tiles > 3\n"                                        \
  "  \\op     v22.4s, \\u\\().4h, v3.h[\\lane]\n"             \
  "  \\op\\()2 v23.4s, \\u\\().8h, v3.h[\\lane]\n"            \
  " .endif\n"                                                 \
  " .if \\tiles > 4\n"                                        \
  "  \\op     v24.4s, \\u\\().4h, v4.h[\\lane]\n"             \
  "  \\op\\()2 v25.4s, \\u\\().8h, v4.h[\\lane]\n"            \
  " .endif\n"                                                 \
  " .if \\tiles > 5\n"                                        \
  "  \\op     v26.4s, \\u\\().4h, v5.h[\\lane]\n"             \
  "  \\op\\()2 v27.4s, \\u\\().8h, v5.h[\\lane]\n"            \
  " .endif\n"                                                 \
  " .if \\tiles > 6\n"                                        \
  "  \\op     v28.4s, \\u\\().4h, v6.h[\\lane]\n"             \
  "  \\op\\()2 v29.4s, \\u\\().8h, v6.h[\\lane]\n"            \
  " .endif\n"                                                 \
  " .if \\tiles > 7\n"                                        \
  "  \\op     v30.4s, \\u\\().4h, v7.h[\\lane]\n"             \
  "  \\op\\()2 v31.4s, \\u\\().8h, v7.h[\\lane]\n"            \
  " .endif\n"                                                 \
  ".endm\n"                                                   \
  ".macro qw_group first, tiles, lanes\n"                     \
  " .if \\tiles == 1\n"                                       \
  "  ld1 {v0.8h}, [%[vp]], %[group]\n"                        \
  " .elseif \\tiles == 2\n"                                   \
  "  ld1 {v0.8h, v1.8h}, [%[vp]], %[group]\n"                 \
  " .elseif \\tiles == 3\n"                                   \
  "  ld1 {v0.8h, v1.8h, v2.8h}, [%[vp]], %[group]\n"          \
  " .elseif \\tiles == 4\n"                                   \
  "  ld1 {v0.8h, v1.8h, v2.8h, v3.8h}, [%[vp]], %[group]\n"   \
  " .else\n"                                                  \
  "  ld1 {v0.8h, v1.8h, v2.8h, v3.8h}, [%[vp]], #64\n"        \
  "  .if \\tiles == 5\n"                                      \
  "  ld1 {v4.8h}, [%[vp]], %[group64]\n"                      \
  "  .elseif \\tiles == 6\n"                                  \
  "  ld1 {v4.8h, v5.8h}, [%[vp]], %[group64]\n"               \
  "  .elseif \\tiles == 7\n"                                  \
  "  ld1 {v4.8h, v5.8h, v6.8h}, [%[vp]], %[group64]\n"        \
  "  .else\n"                                                 \
  "  ld1 {v4.8h, v5.8h, v6.8h, v7.8h}, [%[vp]], %[group64]\n" \
  "  .endif\n"                                                \
  " .endif\n"                                                 \
  "  ld1 {v8.8h, v9.8h, v10.8h, v11.8h}, [%[up]], #64\n"      \
  " .if \\lanes > 4\n"                                        \
  "  ld1 {v12.8h, v13.8h, v14.8h, v15.8h}, [%[up]], #64\n"    \
  " .endif\n"                                                 \
  " .if \\first\n"                                            \
  "  qw_mac smull, v8, 0, \\tiles\n"                          \
  " .else\n"                                                  \
  "  qw_mac smlal, v8, 0, \\tiles\n"                          \
  " .endif\n"                                                 \
  "  qw_mac smlal, v9, 1, \\tiles\n"                          \
  "  qw_mac smlal, v10, 2, \\tiles\n"                         \
  "  qw_mac smlal, v11, 3, \\tiles\n"                         \
  " .if \\lanes > 4\n"                                        \
  "  qw_mac smlal, v12, 4, \\tiles\n"                         \
  "  qw_mac smlal, v13, 5, \\tiles\n"                         \
  "  qw_mac smlal, v14, 6, \\tiles\n"                         \
  "  qw_mac smlal, v15, 7, \\tiles\n"                         \
  " .endif\n"                                                 \
  ".endm\n"                                                   \
  ".macro qw_store tiles\n"                                   \
  "  st1 {v16.4s, v17.4s}, [%[mp]], %[tile]\n"                \
  " .if \\tiles > 1\n"                                        \
  "  st1 {v18.4s, v19.4s}, [%[mp]], %[tile]\n"                \
  " .endif\n"                                                 \
  " .if \\tiles > 2\n"                                        \
  "  st1 {v20.4s, v21.4s}, [%[mp]], %[tile]\n"                \
  " .endif\n"                                                 \
  " .if \\tiles > 3\n"                                        \
  "  st1 {v22.4s, v23.4s}, [%[mp]], %[tile]\n"                \
  " .endif\n"                                                 \
  " .if \\tiles > 4\n"                                        \
  "  st1 {v24.4s, v25.4s}, [%[mp]], %[tile]\n"                \
  " .endif\n"                                                 \
  " .if \\tiles > 5\n"                                        \
  "  st1 {v26.4s, v27.4s}, [%[mp]], %[tile]\n"                \
  " .endif\n"                                                 \
  " .if \\tiles > 6\n"                                        \
  "  st1 {v28.4s, v29.4s}, [%[mp]], %[tile]\n"                \
  " .endif\n"                                                 \
  " .if \\tiles > 7\n"                                        \
  "  st1 {v30.4s, v31.4s}, [%[mp]], %[tile]\n"                \
  " .endif\n"                                                 \
  ".endm\n"

// M[tile][position][8] = sum over channels of U x V at `count` consecutive
// positions, for kTiles tiles and one output block, mod 2^32. v: V of the
// first tile and position (group 0); u: U of the first position for this
// output block, the next position `u_position` bytes on; m: M of the first
// tile and position.
struct GemmStrides {
  size_t u_position;  // bytes between positions of U
  size_t group;       // bytes between channel groups of V
  size_t tile;        // bytes between tiles of M
};

template <int kTiles, bool kHalfTail>
void Gemm(const int16_t* v, const int16_t* u, const GemmStrides& strides, uint32_t groups,
          int32_t* m, uint32_t count) {
  static_assert(kPositionStride * sizeof(int16_t) == 128 && kChannelGroup * sizeof(int32_t) == 32,
                "the assembly hard-codes these");
  const size_t group = strides.group, group64 = group - 64, tile = strides.tile;
  const size_t u_position = strides.u_position;
  const int16_t *vp, *up;
  int32_t* mp;
  uint64_t g, positions = count;
  // With kHalfTail the last group holds at most 4 channels: only its first
  // 4 lanes are multiplied.
  asm volatile(RVGG_QW_GEMM_MACROS
               "0:\n"
               "  mov %[vp], %[v]\n"
               "  mov %[up], %[u]\n"
               "  mov %[mp], %[m]\n"
               "  mov %[g], %[groups]\n"
               ".if %[half]\n"
               "  subs %[g], %[g], #1\n"
               "  b.ne 3f\n"
               "  qw_group 1, %[tiles], 4\n"
               "  b 2f\n"
               "3:\n"
               "  qw_group 1, %[tiles], 8\n"
               "  subs %[g], %[g], #1\n"
               "  b.eq 4f\n"
               "1:\n"
               "  qw_group 0, %[tiles], 8\n"
               "  subs %[g], %[g], #1\n"
               "  b.ne 1b\n"
               "4:\n"
               "  qw_group 0, %[tiles], 4\n"
               ".else\n"
               "  qw_group 1, %[tiles], 8\n"
               "  subs %[g], %[g], #1\n"
               "  b.eq 2f\n"
               "1:\n"
               "  qw_group 0, %[tiles], 8\n"
               "  subs %[g], %[g], #1\n"
               "  b.ne 1b\n"
               ".endif\n"
               "2:\n"
               "  qw_store %[tiles]\n"
               "  add %[v], %[v], #128\n"
               "  add %[u], %[u], %[u_position]\n"
               "  add %[m], %[m], #32\n"
               "  subs %[positions], %[positions], #1\n"
               "  b.ne 0b\n"
               ".purgem qw_mac\n"
               ".purgem qw_group\n"
               ".purgem qw_store\n"
               : [v] "+r"(v), [u] "+r"(u), [m] "+r"(m), [vp] "=&r"(vp), [up] "=&r"(up),
                 [mp] "=&r"(mp), [g] "=&r"(g), [positions] "+r"(positions)
               : [groups] "r"(uint64_t{groups}), [group] "r"(group), [group64] "r"(group64),
                 [tile] "r"(tile), [u_position] "r"(u_position), [tiles] "i"(kTiles),
                 [half] "i"(kHalfTail ? 1 : 0)
               : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10",
                 "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22",
                 "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
}

using GemmFn = void (*)(const int16_t*, const int16_t*, const GemmStrides&, uint32_t, int32_t*,
                        uint32_t);
// By [last group has at most 4 channels][tiles].
constexpr GemmFn kGemms[2][kBlockTiles + 1] = {
    {nullptr, Gemm<1, false>, Gemm<2, false>, Gemm<3, false>, Gemm<4, false>, Gemm<5, false>,
     Gemm<6, false>, Gemm<7, false>, Gemm<8, false>},
    {nullptr, Gemm<1, true>, Gemm<2, true>, Gemm<3, true>, Gemm<4, true>, Gemm<5, true>,
     Gemm<6, true>, Gemm<7, true>, Gemm<8, true>},
};

// y = O s for one line (int32, wrapping), N = 6 or 4; no register copies.
template <int N>
RVGG_QW_INLINE void OutputLine(const int32x4_t* s, int32x4_t* y) {
  const int32x4_t a1 = vaddq_s32(s[1], s[2]), b1 = vsubq_s32(s[1], s[2]);
  if constexpr (N == kWindow) {
    const int32x4_t a2 = vaddq_s32(s[3], s[4]), b2 = vsubq_s32(s[3], s[4]);
    const int32x4_t c = vsubq_s32(b2, b1);
    y[0] = vmlsq_n_s32(vaddq_s32(vmulq_n_s32(s[0], 6), a2), a1, 4);  // 6 s0 - 4 a1 + a2
    y[1] = vsubq_s32(c, b1);                                         // b2 - 2 b1
    y[2] = vsubq_s32(a2, a1);                                        // a2 - a1
    y[3] = vmlaq_n_s32(vaddq_s32(c, b2), s[5], 6);                   // 2 b2 - b1 + 6 s5
  } else if constexpr (N == kSmallWindow) {
    y[0] = vmlsq_n_s32(a1, s[0], 2);  // a1 - 2 s0
    y[1] = vmlaq_n_s32(b1, s[3], 2);  // b1 + 2 s3
  }
}

// Stride 2: the F(m, 2) part of O (its last N - m columns) on s = those
// positions' values; the first phase adds its diagonal (PhaseDiagonal).
template <int N>
RVGG_QW_INLINE void PhaseOutput(const int32x4_t* s, int32x4_t* y) {
  if constexpr (N == kS2Window) {
    const int32x4_t a1 = vaddq_s32(s[0], s[1]), b1 = vsubq_s32(s[0], s[1]);
    const int32x4_t a2 = vaddq_s32(s[2], s[3]), b2 = vsubq_s32(s[2], s[3]);
    const int32x4_t c = vsubq_s32(b2, b1);
    y[0] = vsubq_s32(c, b1);                                         // b2 - 2 b1
    y[1] = vsubq_s32(a2, a1);                                        // a2 - a1
    y[2] = vaddq_s32(c, b2);                                         // 2 b2 - b1
    y[3] = vmlaq_n_s32(vsubq_s32(vshlq_n_s32(a2, 2), a1), s[4], 6);  // 4 a2 - a1 + 6 inf
  } else {
    y[0] = vsubq_s32(s[0], s[1]);                        // m1 - m2
    y[1] = vmlaq_n_s32(vaddq_s32(s[0], s[1]), s[2], 2);  // m1 + m2 + 2 inf
  }
}

constexpr int32_t PhaseDiagonal(int n, int i) {
  return n == kS2Window ? kS2OutputTransform[i][i] : kS2SmallOutputTransform[i][i];
}

template <>
RVGG_QW_INLINE void OutputLine<kS2Window>(const int32x4_t* s, int32x4_t* y) {
  PhaseOutput<kS2Window>(s + kTile, y);
#pragma GCC unroll 4
  for (int i = 0; i < kTile; ++i) y[i] = vmlaq_n_s32(y[i], s[i], PhaseDiagonal(kS2Window, i));
}

template <>
RVGG_QW_INLINE void OutputLine<kS2SmallWindow>(const int32x4_t* s, int32x4_t* y) {
  PhaseOutput<kS2SmallWindow>(s + kSmallTile, y);
#pragma GCC unroll 2
  for (int i = 0; i < kSmallTile; ++i) {
    y[i] = vmlaq_n_s32(y[i], s[i], PhaseDiagonal(kS2SmallWindow, i));
  }
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
  int32x4_t bias[3][2];  // per tile kind, per half
  float32x4_t scale[2];
  int16x8_t zero_point;
  int8x8_t min, max;
  uint32_t channels;  // of this block that exist (1..8)
};

// X = Z / 3^c mod 2^32 = 2^shift acc; float(acc) as the reference converts
// it, times the requantization scale; fcvtns rounds half to even as the
// reference's nearbyint; int16 saturated into `staged`.
template <int kKind>
RVGG_QW_INLINE void Stage(int32x4_t z, int shift, int32x4_t inverse, float32x4_t scale,
                          int16_t* staged) {
  if constexpr (kKind < 2) z = vmulq_s32(z, inverse);
  const float32x4_t f = vmulq_f32(ToFloat(z, shift), scale);
  vst1_s16(staged, vqmovn_s32(vcvtnq_s32_f32(f)));
}

// The second half of a tile's output: the staged int16 halves to int8. The
// saturating narrowings and the clamp give the reference's float clamp.
template <int kCols>
void Narrow(const OutputBlock& k, int8_t* out, size_t row_stride, size_t pixel, uint32_t rows,
            const int16_t* staged) {
  const int16x8_t zero_point = k.zero_point;
  const int8x8_t min = k.min, max = k.max;
  const uint32_t channels = k.channels;
  for (uint32_t i = 0; i < rows; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < kCols; ++j) {
      const int16x8_t h = vqaddq_s16(vld1q_s16(staged + (i * kTile + j) * 8), zero_point);
      const int8x8_t r = vmin_s8(vmax_s8(vqmovn_s16(h), min), max);
      int8_t* o = out + i * row_stride + j * pixel;
      if (channels == kChannelGroup) {
        vst1_s8(o, r);
      } else {
        int8_t part[kChannelGroup];
        vst1_s8(part, r);
        std::memcpy(o, part, channels);
      }
    }
  }
}

// One tile's outputs from M[36][8]: kCols output columns, `rows` rows. Each
// half of the output block (4 channels) goes through both passes on its own
// (24 live vectors between them) and is requantized to int16 into
// `staged`; the halves meet there for the narrowing to int8.
template <int kRowN, int kColN, int kCols>
void OutputTile(const int32_t* m, const OutputBlock& k, int8_t* out, size_t row_stride,
                size_t pixel, uint32_t rows, int16_t* staged) {
  constexpr int kRowOutputs = Outputs(kRowN), kColOutputs = Outputs(kColN);
  constexpr int kKind = IsSmall(kRowN) + IsSmall(kColN);
  constexpr int kDim = DimPositions(kRowN);
  // Locals, not k's fields: the stores to `staged` could alias those.
  const int32x4_t inverse = vdupq_n_s32(static_cast<int32_t>(kInverse[kKind]));
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const int32x4_t bias = k.bias[kKind][h];
    const float32x4_t scale = k.scale[h];
    int32x4_t t[kRowN][kColOutputs];  // M O^T
#pragma GCC unroll 9
    for (int a = 0; a < kRowN; ++a) {
      int32x4_t s[kColN];
#pragma GCC unroll 9
      for (int b = 0; b < kColN; ++b) {
        const int pos = PositionOf<kRowN>(a) * kDim + PositionOf<kColN>(b);
        s[b] = vld1q_s32(m + pos * kChannelGroup + 4 * h);
        if (pos == BiasPosition(kRowN)) s[b] = vaddq_s32(s[b], bias);
      }
      OutputLine<kColN>(s, t[a]);
    }
#pragma GCC unroll 4
    for (int j = 0; j < kCols; ++j) {
      int32x4_t s[kRowN], z[kRowOutputs];
#pragma GCC unroll 9
      for (int a = 0; a < kRowN; ++a) s[a] = t[a][j];
      OutputLine<kRowN>(s, z);
#pragma GCC unroll 4
      for (int i = 0; i < kRowOutputs; ++i) {
        Stage<kKind>(z[i], ShiftOf<kRowN>(i) + ShiftOf<kColN>(j), inverse, scale,
                     staged + ((i * kTile + j) * 2 + h) * 4);
      }
    }
  }
  Narrow<kCols>(k, out, row_stride, pixel, rows, staged);
}

// The same at stride 2, by phase: the F(m, 2) rows first (both passes on
// them leave 16 vectors), then each copied row adds its diagonal term and
// finishes its output row, so nothing spills.
template <int kRowN, int kColN, int kCols>
void OutputTileS2(const int32_t* m, const OutputBlock& k, int8_t* out, size_t row_stride,
                  size_t pixel, uint32_t rows, int16_t* staged) {
  constexpr int kRowM = Outputs(kRowN), kColM = Outputs(kColN);
  constexpr int kRowP = kRowN - kRowM;
  constexpr int kKind = IsSmall(kRowN) + IsSmall(kColN);
  const int32x4_t inverse = vdupq_n_s32(static_cast<int32_t>(kInverse[kKind]));
  auto load_row = [&](int a, int h, int32x4_t bias, int32x4_t* t) {
    int32x4_t s[kColN];
#pragma GCC unroll 9
    for (int b = 0; b < kColN; ++b) {
      const int pos = PositionOf<kRowN>(a) * kS2Window + PositionOf<kColN>(b);
      s[b] = vld1q_s32(m + pos * kChannelGroup + 4 * h);
      if (pos == BiasPosition(kRowN)) s[b] = vaddq_s32(s[b], bias);
    }
    OutputLine<kColN>(s, t);
  };
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const int32x4_t bias = k.bias[kKind][h];
    const float32x4_t scale = k.scale[h];
    int32x4_t z[kRowM][kColM];
    {
      int32x4_t t[kRowP][kColM];
#pragma GCC unroll 5
      for (int i = 0; i < kRowP; ++i) load_row(kRowM + i, h, bias, t[i]);
#pragma GCC unroll 4
      for (int j = 0; j < kCols; ++j) {
        int32x4_t x[kRowP], y[kRowM];
#pragma GCC unroll 5
        for (int i = 0; i < kRowP; ++i) x[i] = t[i][j];
        PhaseOutput<kRowN>(x, y);
#pragma GCC unroll 4
        for (int i = 0; i < kRowM; ++i) z[i][j] = y[i];
      }
    }
#pragma GCC unroll 4
    for (int i = 0; i < kRowM; ++i) {
      int32x4_t t[kColM];
      load_row(i, h, bias, t);
#pragma GCC unroll 4
      for (int j = 0; j < kCols; ++j) {
        Stage<kKind>(vmlaq_n_s32(z[i][j], t[j], PhaseDiagonal(kRowN, i)),
                     ShiftOf<kRowN>(i) + ShiftOf<kColN>(j), inverse, scale,
                     staged + ((i * kTile + j) * 2 + h) * 4);
      }
    }
  }
  Narrow<kCols>(k, out, row_stride, pixel, rows, staged);
}

using OutputTileFn = void (*)(const int32_t*, const OutputBlock&, int8_t*, size_t, size_t, uint32_t,
                              int16_t*);

template <int kRowN, int kColN, int kCols>
constexpr OutputTileFn OutputTileOf() {
  if constexpr (DimPositions(kRowN) == kS2Window) {
    return OutputTileS2<kRowN, kColN, kCols>;
  } else {
    return OutputTile<kRowN, kColN, kCols>;
  }
}

template <int kRowN, int kColN>
OutputTileFn PickOutputTileOf(uint32_t cols) {
  if constexpr (Outputs(kColN) == kTile) {
    constexpr OutputTileFn kTiles[] = {
        OutputTileOf<kRowN, kColN, 1>(), OutputTileOf<kRowN, kColN, 2>(),
        OutputTileOf<kRowN, kColN, 3>(), OutputTileOf<kRowN, kColN, 4>()};
    return kTiles[cols - 1];
  } else {
    constexpr OutputTileFn kTiles[] = {OutputTileOf<kRowN, kColN, 1>(),
                                       OutputTileOf<kRowN, kColN, 2>()};
    return kTiles[cols - 1];
  }
}

OutputTileFn PickOutputTile(uint32_t stride, bool small_row, bool small_col, uint32_t cols) {
  if (stride == 2) {
    if (!small_row) {
      return small_col ? PickOutputTileOf<kS2Window, kS2SmallWindow>(cols)
                       : PickOutputTileOf<kS2Window, kS2Window>(cols);
    }
    return small_col ? PickOutputTileOf<kS2SmallWindow, kS2SmallWindow>(cols)
                     : PickOutputTileOf<kS2SmallWindow, kS2Window>(cols);
  }
  if (!small_row) {
    return small_col ? PickOutputTileOf<kWindow, kSmallWindow>(cols)
                     : PickOutputTileOf<kWindow, kWindow>(cols);
  }
  return small_col ? PickOutputTileOf<kSmallWindow, kSmallWindow>(cols)
                   : PickOutputTileOf<kSmallWindow, kWindow>(cols);
}

void NeonUnit(const UnitArgs& args, uint32_t first_tile, uint32_t count, uint32_t ob_begin,
              uint32_t ob_end) {
  const QConvParams& p = *args.params;
  const Plan& plan = *args.plan;
  int16_t* v = reinterpret_cast<int16_t*>(args.slot + plan.slot_v_offset);
  int32_t* m = reinterpret_cast<int32_t*>(args.slot + plan.slot_m_offset);
  int16_t* staged = reinterpret_cast<int16_t*>(args.slot + plan.slot_staged_offset);
  const int8_t* zero_row = reinterpret_cast<const int8_t*>(args.slot + plan.slot_zero_offset);
  const int8x8_t zp = vdup_n_s8(static_cast<int8_t>(p.input_zero_point));
  const size_t in_pixel = p.in_c, in_row = size_t{p.in_w} * p.in_c;

  TileCoords coords[kBlockTiles];
  for (uint32_t j = 0; j < count; ++j) {
    const TileCoords tc = coords[j] = TileAt(plan, first_tile + j);
    const int64_t y0 = int64_t{tc.ty} * plan.step - 1, x0 = int64_t{tc.tx} * plan.step - 1;
    int16_t* vj = v + size_t{j} * kChannelGroup;
    if (plan.stride == 1) {
      const int c0 = x0 < 0 ? 1 : 0;
      const int c1 = static_cast<int>(std::min<int64_t>(kWindow, p.in_w - x0));
      const int8_t* rows[kWindow];
      for (int r = 0; r < kWindow; ++r) {
        const int64_t y = y0 + r;
        rows[r] = y >= 0 && y < p.in_h ? args.input + static_cast<size_t>(y) * in_row +
                                             static_cast<size_t>(x0 + c0) * in_pixel
                                       : zero_row;
      }
      PickInputTile(tc.small_row, tc.small_col, c0, c1)(rows, in_pixel, plan.groups, zp, vj);
      continue;
    }
    const int rn = tc.small_row ? kS2SmallWindow : kS2Window;
    const int cn = tc.small_col ? kS2SmallWindow : kS2Window;
    const int8_t* image_rows[kS2Window];
    for (int r = 0; r < rn; ++r) {
      const int64_t y = y0 + r;
      image_rows[r] = y >= 0 && y < p.in_h ? args.input + static_cast<size_t>(y) * in_row : nullptr;
    }
    if (x0 >= 0 && x0 + cn <= p.in_w) {
      const int8_t* rows[kS2Window];
      for (int r = 0; r < rn; ++r) {
        rows[r] = image_rows[r] != nullptr ? image_rows[r] + static_cast<size_t>(x0) * in_pixel
                                           : zero_row;
      }
      using Fn = void (*)(const int8_t* const*, size_t, uint32_t, int8x8_t, int16_t*);
      const Fn fn = tc.small_row ? (tc.small_col ? InputTileS2<5, 5> : InputTileS2<5, 9>)
                                 : (tc.small_col ? InputTileS2<9, 5> : InputTileS2<9, 9>);
      fn(rows, in_pixel, plan.groups, zp, vj);
    } else {
      using Fn =
          void (*)(const int8_t* const*, int64_t, uint32_t, size_t, uint32_t, int8x8_t, int16_t*);
      const Fn fn = tc.small_row ? (tc.small_col ? InputTileS2Edge<5, 5> : InputTileS2Edge<5, 9>)
                                 : (tc.small_col ? InputTileS2Edge<9, 5> : InputTileS2Edge<9, 9>);
      fn(image_rows, x0, p.in_w, in_pixel, plan.groups, zp, vj);
    }
  }

  // The GEMM calls: runs of consecutive positions with the same tiles of
  // this block (one run of 36 when no tile is F(2, 3)).
  struct Run {
    uint32_t position, positions, tile, tiles;
  };
  Run runs[kS2Positions];
  uint32_t run_count = 0;
  const bool all_big = plan.group_end[0] == 0 && plan.group_end[1] == plan.tiles;
  if (all_big) runs[run_count++] = {0, plan.positions, 0, count};
  for (int pos = 0; !all_big && pos < static_cast<int>(plan.positions); ++pos) {
    uint32_t first, last;
    PositionTiles(plan, pos, &first, &last);
    first = std::max(first, first_tile);
    last = std::min(last, first_tile + count);
    if (first >= last) continue;
    const uint32_t tile = first - first_tile, tiles = last - first;
    if (run_count > 0) {
      Run& r = runs[run_count - 1];
      if (r.position + r.positions == static_cast<uint32_t>(pos) && r.tile == tile &&
          r.tiles == tiles) {
        ++r.positions;
        continue;
      }
    }
    runs[run_count++] = {static_cast<uint32_t>(pos), 1, tile, tiles};
  }

  const GemmStrides strides = {size_t{plan.out_blocks} * plan.groups * 64 * sizeof(int16_t),
                               size_t{plan.positions} * kPositionStride * sizeof(int16_t),
                               size_t{plan.positions} * kChannelGroup * sizeof(int32_t)};
  const size_t tile_stride = size_t{plan.positions} * kChannelGroup;  // int32 of M
  const uint32_t tail = p.in_c % kChannelGroup;
  const GemmFn* gemms = kGemms[tail != 0 && tail <= 4];
  OutputBlock k;
  k.zero_point = vdupq_n_s16(static_cast<int16_t>(p.output_zero_point));
  k.min = vdup_n_s8(static_cast<int8_t>(p.output_min));
  k.max = vdup_n_s8(static_cast<int8_t>(p.output_max));
  const size_t out_pixel = p.out_c, out_row = size_t{p.out_w} * p.out_c;
  struct TileOutput {
    OutputTileFn fn;
    int8_t* out;
    uint32_t rows;
  };
  TileOutput outputs[kBlockTiles];
  for (uint32_t j = 0; j < count; ++j) {
    const TileCoords& tc = coords[j];
    const uint32_t oy = tc.ty * kTile, ox = tc.tx * kTile;
    const uint32_t cols = std::min<uint32_t>(tc.small_col ? kSmallTile : kTile, p.out_w - ox);
    outputs[j] = {PickOutputTile(plan.stride, tc.small_row, tc.small_col, cols),
                  args.output + oy * out_row + ox * out_pixel,
                  std::min<uint32_t>(tc.small_row ? kSmallTile : kTile, p.out_h - oy)};
  }
  for (uint32_t ob = ob_begin; ob < ob_end; ++ob) {
    for (uint32_t i = 0; i < run_count; ++i) {
      const Run& r = runs[i];
      gemms[r.tiles](v + r.position * kPositionStride + r.tile * kChannelGroup,
                     PackedU(plan, args.weights, static_cast<int>(r.position), ob), strides,
                     plan.groups, m + r.position * kChannelGroup + r.tile * tile_stride,
                     r.positions);
    }
    const size_t o = size_t{ob} * kChannelGroup;
    for (int kind = 0; kind < 3; ++kind) {
      k.bias[kind][0] = vld1q_s32(args.weights.bias[kind] + o);
      k.bias[kind][1] = vld1q_s32(args.weights.bias[kind] + o + 4);
    }
    k.scale[0] = vld1q_f32(args.weights.scale + o);
    k.scale[1] = vld1q_f32(args.weights.scale + o + 4);
    k.channels = std::min<uint32_t>(kChannelGroup, p.out_c - static_cast<uint32_t>(o));
    for (uint32_t j = 0; j < count; ++j) {
      outputs[j].fn(m + j * tile_stride, k, outputs[j].out + o, out_row, out_pixel, outputs[j].rows,
                    staged);
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
    qwinograd::Accepts,
};

}  // namespace rvgg::kernels
