// rvgg's own GEMM for the Winograd positions, where XNNPACK's kernels are
// measured to be slow.
//
// Debian's XNNPACK picks a 5x16 "fma3 broadcast" f32 kernel on AVX2 CPUs
// that GCC compiled with one of its ten accumulators spilled to the stack
// (tools/bench/notes.md): it runs at about a third of the FMA peak. The
// kernel here is the same broadcast scheme with six rows (twelve ymm
// accumulators, two weight vectors and one broadcast: fifteen registers, no
// spill) and runs RepVGG's Winograd GEMMs 1.8-2.8x faster (tools/bench/notes.md,
// `rvgg-winograd-tiles --gemm`). It runs on AVX2 CPUs without AVX-512; those
// with it keep XNNPACK's 512-bit kernels (not measured here), and on ARM
// XNNPACK's hand-written NEON kernels stay.
//
// Layout: C[M x N] (row stride ldc) = A[M x K] (row stride lda) x B, with B
// packed at load into panels of kGemmPanel columns, each K rows of
// kGemmPanel floats (columns past N zero), panels one after another.
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_GEMM_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_GEMM_H_

#include <cstddef>
#include <cstdint>

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

// The AVX2 + FMA3 kernel (nullptr where the build has none); only call it
// when cpuinfo reports both.
GemmFn Avx2Gemm();

}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_GEMM_H_
