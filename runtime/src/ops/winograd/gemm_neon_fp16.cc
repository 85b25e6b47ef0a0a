// rvgg's fp16 GEMM for the Winograd positions on ARMv8.2 FP16 (gemm.h's
// layout, in halves): an 8-row by 16-column register block, fmla by element
// (each A register holds 8 consecutive K values of one row and feeds 8
// K-steps), exact row counts at the end of M instead of XNNPACK's clamped
// rows. Built only on aarch64, and this file alone with
// -march=armv8.2-a+fp16 (runtime/CMakeLists.txt); called only where
// GetWinogradTransformsF16() found FP16 arithmetic. Nothing here has external
// linkage but NeonFp16Gemm(), so no FP16 instruction reaches ARMv8.0 code.
#include <cstring>

#include "runtime/src/ops/winograd/gemm.h"

#if defined(__aarch64__) && defined(__ARM_FEATURE_FP16_VECTOR_ARITHMETIC)
#include <arm_neon.h>

namespace rvgg::winograd {
namespace {

// The register block in assembly: GCC turns fmla-by-element intrinsics
// with this many live vectors into dup + fmla pairs. Rows' A vectors live
// in v0-v7 (the by-element operand of an .h fmla must be v0-v15), the
// panel's two vectors of one K-step in v8/v9, row r's accumulators in
// v(16 + 2r) and v(17 + 2r). RVGG_ROWS<n>(lane) is one K-step's fmla for
// the first n rows, RVGG_ZERO<n>, RVGG_LOAD<n> and RVGG_STORE<n> set up,
// load A for 8 K-steps, and write C.
#define RVGG_FMLA(lo, hi, a, lane) \
  "fmla v" #lo ".8h, v8.8h, v" #a ".h[" #lane "]\n" \
  "fmla v" #hi ".8h, v9.8h, v" #a ".h[" #lane "]\n"
#define RVGG_ROWS1(lane) RVGG_FMLA(16, 17, 0, lane)
#define RVGG_ROWS2(lane) RVGG_ROWS1(lane) RVGG_FMLA(18, 19, 1, lane)
#define RVGG_ROWS3(lane) RVGG_ROWS2(lane) RVGG_FMLA(20, 21, 2, lane)
#define RVGG_ROWS4(lane) RVGG_ROWS3(lane) RVGG_FMLA(22, 23, 3, lane)
#define RVGG_ROWS5(lane) RVGG_ROWS4(lane) RVGG_FMLA(24, 25, 4, lane)
#define RVGG_ROWS6(lane) RVGG_ROWS5(lane) RVGG_FMLA(26, 27, 5, lane)
#define RVGG_ROWS7(lane) RVGG_ROWS6(lane) RVGG_FMLA(28, 29, 6, lane)
#define RVGG_ROWS8(lane) RVGG_ROWS7(lane) RVGG_FMLA(30, 31, 7, lane)
#define RVGG_ZERO1 "movi v16.8h, #0\n movi v17.8h, #0\n"
#define RVGG_ZERO2 RVGG_ZERO1 "movi v18.8h, #0\n movi v19.8h, #0\n"
#define RVGG_ZERO3 RVGG_ZERO2 "movi v20.8h, #0\n movi v21.8h, #0\n"
#define RVGG_ZERO4 RVGG_ZERO3 "movi v22.8h, #0\n movi v23.8h, #0\n"
#define RVGG_ZERO5 RVGG_ZERO4 "movi v24.8h, #0\n movi v25.8h, #0\n"
#define RVGG_ZERO6 RVGG_ZERO5 "movi v26.8h, #0\n movi v27.8h, #0\n"
#define RVGG_ZERO7 RVGG_ZERO6 "movi v28.8h, #0\n movi v29.8h, #0\n"
#define RVGG_ZERO8 RVGG_ZERO7 "movi v30.8h, #0\n movi v31.8h, #0\n"
#define RVGG_LOAD1 "ldr q0, [%[a0]], #16\n"
#define RVGG_LOAD2 RVGG_LOAD1 "ldr q1, [%[a1]], #16\n"
#define RVGG_LOAD3 RVGG_LOAD2 "ldr q2, [%[a2]], #16\n"
#define RVGG_LOAD4 RVGG_LOAD3 "ldr q3, [%[a3]], #16\n"
#define RVGG_LOAD5 RVGG_LOAD4 "ldr q4, [%[a4]], #16\n"
#define RVGG_LOAD6 RVGG_LOAD5 "ldr q5, [%[a5]], #16\n"
#define RVGG_LOAD7 RVGG_LOAD6 "ldr q6, [%[a6]], #16\n"
#define RVGG_LOAD8 RVGG_LOAD7 "ldr q7, [%[a7]], #16\n"
#define RVGG_ROW_STORE(lo, hi) "str q" #lo ", [%[c]]\n str q" #hi ", [%[c], #16]\n add %[c], %[c], %[ldc]\n"
#define RVGG_STORE1 RVGG_ROW_STORE(16, 17)
#define RVGG_STORE2 RVGG_STORE1 RVGG_ROW_STORE(18, 19)
#define RVGG_STORE3 RVGG_STORE2 RVGG_ROW_STORE(20, 21)
#define RVGG_STORE4 RVGG_STORE3 RVGG_ROW_STORE(22, 23)
#define RVGG_STORE5 RVGG_STORE4 RVGG_ROW_STORE(24, 25)
#define RVGG_STORE6 RVGG_STORE5 RVGG_ROW_STORE(26, 27)
#define RVGG_STORE7 RVGG_STORE6 RVGG_ROW_STORE(28, 29)
#define RVGG_STORE8 RVGG_STORE7 RVGG_ROW_STORE(30, 31)
#define RVGG_STEP(rows, lane) "ldp q8, q9, [%[b]], #32\n" RVGG_ROWS##rows(lane)
#define RVGG_STEPS(rows)                                                          \
  RVGG_STEP(rows, 0) RVGG_STEP(rows, 1) RVGG_STEP(rows, 2) RVGG_STEP(rows, 3)     \
  RVGG_STEP(rows, 4) RVGG_STEP(rows, 5) RVGG_STEP(rows, 6) RVGG_STEP(rows, 7)
#define RVGG_BLOCK(rows)                                                                    \
  __asm__ volatile(RVGG_ZERO##rows "1:\n" RVGG_LOAD##rows RVGG_STEPS(rows)                 \
                   "subs %[k], %[k], #8\n"                                                 \
                   "b.ne 1b\n" RVGG_STORE##rows                                             \
                   : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),             \
                     [a4] "+r"(a4), [a5] "+r"(a5), [a6] "+r"(a6), [a7] "+r"(a7), [b] "+r"(b), \
                     [c] "+r"(c), [k] "+r"(k)                                                 \
                   : [ldc] "r"(ldc_bytes)                                                     \
                   : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8",   \
                     "v9", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24",    \
                     "v25", "v26", "v27", "v28", "v29", "v30", "v31")

// kRows (1 to 8) x 16 columns of C over all of K (a multiple of 8, at
// least 8); ldc in halves.
template <int kRows>
void Block(size_t k, const Half* a, size_t lda, const Half* b, Half* c, size_t ldc) {
  static_assert(kRows >= 1 && kRows <= 8, "blocks of 1 to 8 rows");
  // Rows past kRows point at row 0 and are never loaded.
  const Half* a0 = a;
  const Half* a1 = a + (kRows > 1 ? lda : 0);
  const Half* a2 = a + (kRows > 2 ? 2 * lda : 0);
  const Half* a3 = a + (kRows > 3 ? 3 * lda : 0);
  const Half* a4 = a + (kRows > 4 ? 4 * lda : 0);
  const Half* a5 = a + (kRows > 5 ? 5 * lda : 0);
  const Half* a6 = a + (kRows > 6 ? 6 * lda : 0);
  const Half* a7 = a + (kRows > 7 ? 7 * lda : 0);
  const size_t ldc_bytes = ldc * sizeof(Half);
  if constexpr (kRows == 1) RVGG_BLOCK(1);
  if constexpr (kRows == 2) RVGG_BLOCK(2);
  if constexpr (kRows == 3) RVGG_BLOCK(3);
  if constexpr (kRows == 4) RVGG_BLOCK(4);
  if constexpr (kRows == 5) RVGG_BLOCK(5);
  if constexpr (kRows == 6) RVGG_BLOCK(6);
  if constexpr (kRows == 7) RVGG_BLOCK(7);
  if constexpr (kRows == 8) RVGG_BLOCK(8);
}

template <int kRows>
void BlockAt(size_t k, const Half* a, size_t lda, const Half* b, Half* c, size_t ldc,
             size_t cols) {
  if (cols == kGemmPanel) {
    Block<kRows>(k, a, lda, b, c, ldc);
    return;
  }
  // The last panel of an N that is no multiple of 16: C's row may end (or
  // the next group's columns begin) inside it, so stage the block.
  alignas(16) Half staged[kRows * kGemmPanel];
  Block<kRows>(k, a, lda, b, staged, kGemmPanel);
  for (int r = 0; r < kRows; ++r) {
    std::memcpy(c + r * ldc, staged + r * kGemmPanel, cols * sizeof(Half));
  }
}

constexpr int kRowsF16 = 8;
using BlockFn = void (*)(size_t, const Half*, size_t, const Half*, Half*, size_t, size_t);
// The block for the rows left after whole 8-row blocks, by count.
constexpr BlockFn kTail[kRowsF16] = {nullptr,    BlockAt<1>, BlockAt<2>, BlockAt<3>,
                                     BlockAt<4>, BlockAt<5>, BlockAt<6>, BlockAt<7>};

void Gemm(size_t m, size_t n, size_t k, const Half* a, size_t lda, const Half* packed, Half* c,
          size_t ldc) {
  // Panel by panel: one panel (k x 16 halves) stays in L1 while every row
  // block passes over it.
  for (size_t col = 0; col < n; col += kGemmPanel) {
    const Half* b = packed + col * k;
    const size_t cols = n - col < kGemmPanel ? n - col : kGemmPanel;
    size_t row = 0;
    for (; row + kRowsF16 <= m; row += kRowsF16) {
      BlockAt<kRowsF16>(k, a + row * lda, lda, b, c + row * ldc + col, ldc, cols);
    }
    // The last rows exactly.
    if (row < m) kTail[m - row](k, a + row * lda, lda, b, c + row * ldc + col, ldc, cols);
  }
}

}  // namespace

GemmFnF16 NeonFp16Gemm() { return Gemm; }

}  // namespace rvgg::winograd

#else

namespace rvgg::winograd {
GemmFnF16 NeonFp16Gemm() { return nullptr; }
}  // namespace rvgg::winograd

#endif
