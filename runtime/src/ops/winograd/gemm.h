// The GEMMs that run the Winograd positions: which one runs on this CPU,
// the shape of its register block (the cost model and the weight budget
// depend on it), and rvgg's own GEMM with its weight packing.
//
// rvgg's own GEMM runs where XNNPACK's kernel is slow: Debian's XNNPACK
// picks a 5x16 "fma3 broadcast" f32 kernel on AVX2 CPUs that GCC compiled
// with one of its accumulators spilled to the stack. The kernel here is the
// same broadcast scheme with six rows (twelve ymm accumulators, two weight
// vectors and one broadcast: fifteen registers, no spill); its speed against
// XNNPACK's is measured in tools/bench/notes.md (`rvgg-winograd-tiles
// --gemm`). AVX-512 CPUs run a 12x32 form of it (gemm_avx512.cc), faster
// than XNNPACK's 7x16 kernel on the Winograd shapes; ARM keeps XNNPACK's
// hand-written NEON ones for fp32 (fp16 has its own, gemm_neon_fp16.cc).
// Owning the GEMM is also what lets the kernel run a layer tile block by
// tile block on any thread (winograd.h, BlockPlan): XNNPACK's operators are
// bound to fixed V and M at load. On x86 it also runs the direct
// convolution of layers Winograd does not win (gemm_conv.cc), through the
// form that adds bias and clamps as it stores.
//
// Layout: C[M x N] (row stride ldc) = A[M x K] (row stride lda) x B, with B
// packed at load into panels of kGemmPanel columns, each K rows of
// kGemmPanel floats (columns past N zero), panels one after another.
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_GEMM_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_GEMM_H_

#include <cstddef>
#include <cstdint>

#include "runtime/src/half.h"
#include "rvgg/rvgg.h"

namespace rvgg::winograd {

constexpr uint32_t kGemmPanel = 16;

// Rows per register block of the kernel (fewer rows at the end of M run a
// narrower block).
constexpr uint32_t kGemmRows = 6;

// Floats of one packed B of K x N; a multiple of kGemmPanel, so every panel
// of a 64-byte aligned block stays 64-byte aligned.
inline size_t PackedGemmFloats(size_t k, size_t n) {
  return (n + kGemmPanel - 1) / kGemmPanel * kGemmPanel * k;
}

// Packs w (N rows of K floats: output channel-major, as XNNPACK's
// fully-connected operator takes it) into `packed` (PackedGemmFloats(k, n)).
void PackGemmWeights(const float* w, size_t k, size_t n, float* packed);

// Computes C = A x B for the packed B; writes only the M x N block of C.
// `packed` is 32-byte aligned.
using GemmFn = void (*)(size_t m, size_t n, size_t k, const float* a, size_t lda,
                        const float* packed, float* c, size_t ldc);

// The same GEMM for the direct convolution (gemm_conv.cc), whose A is read
// in place: row r of A is `segments` runs of `run` floats (K = segments x
// run), run s at rows[r * segments + s] (a window row of the image, or of
// zeros), and each stored value is max(C + bias[column], lo); `bias` holds
// N values rounded up to a whole kGemmPanel (zeros past N).
using GemmBiasFn = void (*)(size_t m, size_t n, size_t segments, size_t run,
                            const float* const* rows, const float* packed, float* c, size_t ldc,
                            const float* bias, float lo);

// The AVX2 + FMA3 kernel (nullptr where the build has none); only call it
// when cpuinfo reports both.
GemmFn Avx2Gemm();
GemmBiasFn Avx2GemmBias();

// The AVX-512F kernel (gemm_avx512.cc; same packing, 12 x 32 blocks over
// panel pairs, 8 x 48 over the last three panels of an odd count); nullptr
// where the build has none; only call it when cpuinfo reports AVX-512F.
GemmFn Avx512Gemm();
GemmBiasFn Avx512GemmBias();

// The fp16 GEMM (same layout, in halves; K a multiple of 8) for ARMv8.2
// FP16 arithmetic: nullptr where the build has none; only call it where
// GetWinogradTransformsF16() finds the instructions.
using GemmFnF16 = void (*)(size_t m, size_t n, size_t k, const Half* a, size_t lda,
                           const Half* packed, Half* c, size_t ldc);
GemmFnF16 NeonFp16Gemm();

// PackGemmWeights into halves (rounded to nearest even).
void PackGemmWeightsF16(const float* w, size_t k, size_t n, Half* packed);

// Rows (mr) and columns (nr) of the register block of the GEMM that runs the
// positions: GEMM rows (tiles here, pixels in the direct convolution) are
// rounded up to mr, so 16 tiles on a 6-row kernel cost 18.
struct GemmShape {
  uint32_t mr, nr;
};

// XNNPACK's GEMM kernel on this CPU for f32 or (type FLOAT16) f16 (its
// init.c). A heuristic only: it steers the choice, never correctness.
GemmShape XnnpackGemmShape(rvgg_dtype type = RVGG_DTYPE_FLOAT32);

// Rows of the register block of rvgg's own GEMM for `type` on this CPU
// (12 with AVX-512F, 6 with AVX2, 8 for fp16 on ARMv8.2).
uint32_t OwnGemmRows(rvgg_dtype type = RVGG_DTYPE_FLOAT32);

// Whether rvgg's own GEMM runs the positions of `type` layers on this CPU
// (fixed per process): float on AVX2 and AVX-512 CPUs, fp16 where the CPU
// has FP16 arithmetic.
bool OwnGemm(rvgg_dtype type = RVGG_DTYPE_FLOAT32);

}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_GEMM_H_
