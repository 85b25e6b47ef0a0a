// Winograd data transforms, one dimension at a time ("lines"), on rows of
// channels: every transform position and every pixel is a run of channels
// (NHWC keeps a pixel's channels contiguous), so one call transforms a whole
// line of a tile for all channels, and the SIMD dimension is the channel.
//
// A tile's 2-D transform is two passes of line calls (conv2d.cc): along x
// over each row of the tile window, then along y over each column, in place
// in the transformed tensor. Each dimension has its own transform, so tiles
// may be rectangular and the two dimensions may differ in size.
//
// Line functions take `count` channels, a multiple of kChannelBlock (the
// caller pads or stages the rest), read every source before writing any
// destination (so a destination may alias a source), and are built per ISA
// (transform_scalar.cc, transform_neon.cc, transform_sse2.cc,
// transform_avx2.cc, transform_avx512.cc) from one template, transform_impl.h.
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORMS_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORMS_H_

#include <cstddef>
#include <cstdint>

#include "runtime/src/ops/winograd/gemm.h"

namespace rvgg::winograd {

// Channels per line call are a multiple of this (the widest vector, 16 floats).
constexpr uint32_t kChannelBlock = 16;

// Output tile sizes per dimension: F(2..6, 3) for stride 1, F(2..7) for
// stride 2 (through the polyphase transform, see winograd.h).
constexpr int kMinTile = 2;
constexpr int kMaxTileStride1 = 6;
constexpr int kMaxTileStride2 = 7;

// Transform positions (= input window length) of one dimension with output
// tile m: m + 2 for stride 1, 2m + 1 for stride 2.
constexpr int Positions(int stride, int m) { return stride == 1 ? m + 2 : 2 * m + 1; }
constexpr int kMaxPositions = 2 * kMaxTileStride2 + 1;

// Input: src[0..n) are the window's pixels (or a zero line), dst[0..n) the
// positions.
using InputLineFn = void (*)(const float* const* src, float* const* dst, size_t count);
// Output: src[0..n) positions to dst[0..m) outputs; the epilogue version
// adds bias[count] and clamps below at `lo` (0 for ReLU, -inf for none).
using OutputLineFn = void (*)(const float* const* src, float* const* dst, size_t count,
                              const float* bias, float lo);

struct LineSet {
  InputLineFn input;
  OutputLineFn output;
  OutputLineFn output_epilogue;
};

struct TransformSet {
  const char* isa;                       // nullptr: not built for this CPU
  LineSet stride1[kMaxTileStride1 + 1];  // indexed by m
  LineSet stride2[kMaxTileStride2 + 1];
  // rvgg's GEMM for the positions (gemm.h); nullptr: XNNPACK's
  // fully-connected operators run them.
  GemmFn gemm = nullptr;
  const LineSet& lines(int stride, int m) const { return stride == 1 ? stride1[m] : stride2[m]; }
};

// Implementations per instruction set; isa == nullptr when unavailable in
// this build. ScalarTransforms is compiled into the library only for CPUs
// without a SIMD set (runtime/CMakeLists.txt); tests build it as a baseline.
TransformSet ScalarTransforms();
TransformSet NeonTransforms();
TransformSet Sse2Transforms();
TransformSet Avx2Transforms();
TransformSet Avx512Transforms();

// The fastest set this CPU runs (cpuinfo).
TransformSet GetWinogradTransforms();

// Every set this CPU runs, most portable first (for tests); returns how many
// were written to `sets` (at most `capacity`).
int AvailableWinogradTransforms(TransformSet* sets, int capacity);

}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORMS_H_
