// The AVX2 + FMA3 GEMM of gemm.h. This file alone is compiled with -mavx2
// -mfma (runtime/CMakeLists.txt), like transform_avx2.cc.
#include <cstring>

#include "runtime/src/ops/winograd/gemm.h"
#include "runtime/src/ops/winograd/gemm_rows.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace rvgg::winograd {
namespace {

// Rows x 16 columns of C over all of K: per k one 16-float row of the
// panel (two loads) against each row's broadcast A value. The loops over
// rows are unrolled, so the accumulators stay in registers.
// What a block does to its sums before storing them: nothing (the
// Winograd positions), or bias and clamp (the direct convolution).
struct Plain {
  Plain At(size_t) const { return *this; }
  __m256 Apply(__m256 v, int) const { return v; }
};
struct BiasClamp {
  const float* bias;  // the block's first column, a whole panel readable
  float lo;
  BiasClamp At(size_t col) const { return {bias + col, lo}; }
  __m256 Apply(__m256 v, int half) const {
    return _mm256_max_ps(_mm256_add_ps(v, _mm256_loadu_ps(bias + half * 8)), _mm256_set1_ps(lo));
  }
};

template <int kRows, class Epi, class Src>
inline __attribute__((always_inline)) void Block(size_t segments, size_t run, Src src,
                                                 const float* b, float* c, size_t ldc, Epi epi) {
  __m256 lo[kRows], hi[kRows];
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r) {
    lo[r] = _mm256_setzero_ps();
    hi[r] = _mm256_setzero_ps();
  }
  for (size_t s = 0; s < segments; ++s) {
    const float* ar[kRows];
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) ar[r] = src.Row(r, s);
    for (size_t i = 0; i < run; ++i) {
      const __m256 b0 = _mm256_load_ps(b);
      const __m256 b1 = _mm256_load_ps(b + 8);
      b += kGemmPanel;
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r) {
        const __m256 x = _mm256_broadcast_ss(ar[r] + i);
        lo[r] = _mm256_fmadd_ps(x, b0, lo[r]);
        hi[r] = _mm256_fmadd_ps(x, b1, hi[r]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r) {
    _mm256_storeu_ps(c + r * ldc, epi.Apply(lo[r], 0));
    _mm256_storeu_ps(c + r * ldc + 8, epi.Apply(hi[r], 1));
  }
}

template <int kRows, class Epi, class Src>
void BlockAt(size_t segments, size_t run, Src src, const float* b, float* c, size_t ldc,
             size_t cols, Epi epi) {
  if (cols == kGemmPanel) {
    Block<kRows>(segments, run, src, b, c, ldc, epi);
    return;
  }
  // The last panel of an N that is no multiple of 16: C's row may end (or
  // the next group's columns begin) inside it, so stage the block.
  alignas(32) float staged[kRows * kGemmPanel];
  Block<kRows>(segments, run, src, b, staged, kGemmPanel, epi);
  for (int r = 0; r < kRows; ++r) std::memcpy(c + r * ldc, staged + r * kGemmPanel, cols * 4);
}

template <class Epi, class Src>
using BlockFn = void (*)(size_t, size_t, Src, const float*, float*, size_t, size_t, Epi);

// The block for the rows left after whole 6-row blocks, by count.
static_assert(kGemmRows == 6, "kTail lists the blocks of 1 to 5 rows");
template <class Epi, class Src>
constexpr BlockFn<Epi, Src> kTail[kGemmRows] = {nullptr,
                                                BlockAt<1, Epi, Src>,
                                                BlockAt<2, Epi, Src>,
                                                BlockAt<3, Epi, Src>,
                                                BlockAt<4, Epi, Src>,
                                                BlockAt<5, Epi, Src>};

// Rows of A per pass over B's panels: about 96 KiB of A, which stays in
// L2 while every panel passes over it (a whole multiple of the row block).
size_t ChunkRows(size_t k) {
  const size_t rows = (96u << 10) / (k * sizeof(float)) / kGemmRows * kGemmRows;
  return rows > kGemmRows ? rows : kGemmRows;
}

template <class Epi, class Src>
void GemmWith(size_t m, size_t n, size_t segments, size_t run, Src src, const float* packed,
              float* c, size_t ldc, Epi epi) {
  // Panel by panel: one panel (k x 16 floats) stays in L1 while every row
  // block of the chunk passes over it, so B is read from memory once per
  // chunk (RepVGG-A0's Winograd GEMMs at 224 each fit one chunk).
  const size_t k = segments * run;
  const size_t chunk = ChunkRows(k);
  for (size_t first = 0; first < m; first += chunk) {
    const size_t last = m - first < chunk ? m : first + chunk;
    for (size_t col = 0; col < n; col += kGemmPanel) {
      const float* b = packed + col * k;
      const size_t cols = n - col < kGemmPanel ? n - col : kGemmPanel;
      const Epi at = epi.At(col);
      size_t row = first;
      for (; row + kGemmRows <= last; row += kGemmRows) {
        BlockAt<kGemmRows>(segments, run, src.Offset(row), b, c + row * ldc + col, ldc, cols, at);
      }
      // The last rows: a narrower block.
      if (row < last) {
        kTail<Epi, Src>[last - row](segments, run, src.Offset(row), b, c + row * ldc + col, ldc,
                                    cols, at);
      }
    }
  }
}

void Gemm(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* packed, float* c,
          size_t ldc) {
  GemmWith(m, n, 1, k, Rows1{a, lda}, packed, c, ldc, Plain{});
}

void GemmBias(size_t m, size_t n, size_t segments, size_t run, const float* const* rows,
              const float* packed, float* c, size_t ldc, const float* bias, float lo) {
  GemmWith(m, n, segments, run, RowsIndirect{rows, segments}, packed, c, ldc, BiasClamp{bias, lo});
}

}  // namespace

GemmFn Avx2Gemm() { return Gemm; }
GemmBiasFn Avx2GemmBias() { return GemmBias; }

}  // namespace rvgg::winograd

#else

namespace rvgg::winograd {
GemmFn Avx2Gemm() { return nullptr; }
GemmBiasFn Avx2GemmBias() { return nullptr; }
}  // namespace rvgg::winograd

#endif
