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
//
// The same template, over fp16 vectors, gives the fp16 lines (LineSetF16):
// the same shapes, points and operation order on binary16 tensors (Half,
// runtime/src/half.h), computed in fp16 arithmetic on ARMv8.2 CPUs with the FP16
// extension (transform_neon_fp16.cc, ARMv8.2-A FP16 instructions; the only
// file built with them).
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORMS_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORMS_H_

#include <cstddef>
#include <cstdint>

#include "runtime/src/half.h"
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

// Lines over elements E (float, or Half for the fp16 lines):
// Input: src[0..n) are the window's pixels (or a zero line), dst[0..n) the
// positions.
template <class E>
using InputLineFnOf = void (*)(const E* const* src, E* const* dst, size_t count);
// Output: src[0..n) positions to dst[0..m) outputs; the epilogue version
// adds bias[count] (of the lines' element type) and clamps below at `lo`
// (0 for ReLU, -inf for none; the fp16 lines round it to fp16, exactly for
// both).
template <class E>
using OutputLineFnOf = void (*)(const E* const* src, E* const* dst, size_t count, const E* bias,
                                float lo);

template <class E>
struct LineSetOf {
  InputLineFnOf<E> input;
  OutputLineFnOf<E> output;
  OutputLineFnOf<E> output_epilogue;
};

using InputLineFn = InputLineFnOf<float>;
using OutputLineFn = OutputLineFnOf<float>;
using LineSet = LineSetOf<float>;

struct TransformSet {
  const char* isa;                       // nullptr: not built for this CPU
  LineSet stride1[kMaxTileStride1 + 1];  // indexed by m
  LineSet stride2[kMaxTileStride2 + 1];
  // rvgg's GEMM for the positions (gemm.h); nullptr: XNNPACK's
  // fully-connected operators run them.
  GemmFn gemm = nullptr;
  // The same GEMM with bias and ReLU at the store, for the direct
  // convolution on it (gemm_conv.cc); set with `gemm`.
  GemmBiasFn gemm_bias = nullptr;
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

// The fp16 lines: pointers are binary16 tensors (Half), channel rows padded
// to kChannelBlock halves like the fp32 ones (an fp16 vector holds 8). The
// transforms' coefficients (0, +-1, +-2, +-1/2 and their products, at most
// 64 in magnitude) are exact in fp16; every addition and multiply-add rounds
// to fp16, so an output's error is about (positions + 2) units of fp16
// roundoff of the sum of its terms' magnitudes (tests/runtime/winograd_fp16_test.cc).
using LineSetF16 = LineSetOf<Half>;

struct TransformSetF16 {
  const char* isa;                          // nullptr: not available on this CPU
  LineSetF16 stride1[kMaxTileStride1 + 1];  // indexed by m
  LineSetF16 stride2[kMaxTileStride2 + 1];
  // rvgg's fp16 GEMM for the positions (gemm.h); nullptr: XNNPACK's f16
  // fully-connected operators run them.
  GemmFnF16 gemm = nullptr;
  const LineSetF16& lines(int stride, int m) const { return stride == 1 ? stride1[m] : stride2[m]; }
};

// fp16 arithmetic on NEON (isa "neon-fp16"): defined only in aarch64 builds
// (transform_neon_fp16.cc, compiled with -march=armv8.2-a+fp16); call it
// only when cpuinfo_has_arm_neon_fp16_arith(), as GetWinogradTransformsF16
// does.
TransformSetF16 NeonFp16Transforms();
// fp16 storage with float arithmetic (isa "scalar-f16"), one rounding per
// stored value: portable and slow, the baseline the fp16 lines are tested
// against on any CPU. In transform_scalar.cc, so in the library only where
// that file is (CPUs without a SIMD set); tests and tools add it.
TransformSetF16 ScalarF16Transforms();

// The fp16 lines this CPU runs in fp16 arithmetic (CpuHasFp16Arithmetic(),
// precision.h: ARMv8.2 FP16 arithmetic, e.g. Cortex-A55/A75/A76/A78,
// Raspberry Pi 5); isa == nullptr elsewhere (ARMv8.0 cores such as
// Cortex-A53/A72, armv7, x86), where the fp16 path does not run.
TransformSetF16 GetWinogradTransformsF16();

}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORMS_H_
