// The AVX-512F GEMM of gemm.h: 12 rows by 32 columns of C per register
// block (24 zmm accumulators, two weight vectors, one broadcast), reading
// two consecutive 16-column panels of gemm.h's layout at once, so the
// packing is the AVX2 kernel's. Row tails run exact narrower blocks and
// column tails (N not a multiple of 16) masked stores. This file alone is
// compiled with -mavx512f -mavx2 -mfma (runtime/CMakeLists.txt), like
// transform_avx512.cc; call it only where cpuinfo reports AVX-512F.
#include "runtime/src/ops/winograd/gemm.h"

#if defined(__AVX512F__)
#include <immintrin.h>

namespace rvgg::winograd {
namespace {

constexpr int kRows = 12;
// K-steps (64-byte weight rows) fetched ahead of use.
constexpr size_t kPrefetch = 48;

// What a block does to its sums before storing them: nothing (the
// Winograd positions), or bias and clamp (the direct convolution).
struct Plain {
  Plain At(size_t) const { return *this; }
  __m512 Apply(__m512 v, int) const { return v; }
};
struct BiasClamp {
  const float* bias;  // the block's first column, whole panels readable
  float lo;
  BiasClamp At(size_t col) const { return {bias + col, lo}; }
  __m512 Apply(__m512 v, int panel) const {
    // maskz_max: GCC 12 warns on _mm512_max_ps's undefined pass-through.
    return _mm512_maskz_max_ps(__mmask16(0xFFFF),
                               _mm512_add_ps(v, _mm512_loadu_ps(bias + panel * 16)),
                               _mm512_set1_ps(lo));
  }
};

// kR rows x (kPanels x 16) columns of C over all of K; `b` is the first
// panel, the second (kPanels == 2) starts k * 16 floats later. Columns at
// or past `cols` are not stored.
template <int kR, int kPanels, class Epi>
inline __attribute__((always_inline)) void Block(size_t k, const float* a, size_t lda,
                                                 const float* b, float* c, size_t ldc, size_t cols,
                                                 Epi epi) {
  __m512 acc[kR][kPanels];
  const float* ar[kR];
#pragma GCC unroll 12
  for (int r = 0; r < kR; ++r) {
    ar[r] = a + r * lda;
#pragma GCC unroll 2
    for (int p = 0; p < kPanels; ++p) acc[r][p] = _mm512_setzero_ps();
  }
  const float* b1 = b + k * kGemmPanel;
  for (size_t i = 0; i < k; ++i) {
    // The weights stream from memory once per layer run: fetch them ahead.
    _mm_prefetch(reinterpret_cast<const char*>(b + (i + kPrefetch) * kGemmPanel), _MM_HINT_T0);
    if (kPanels == 2) {
      _mm_prefetch(reinterpret_cast<const char*>(b1 + (i + kPrefetch) * kGemmPanel), _MM_HINT_T0);
    }
    const __m512 w0 = _mm512_load_ps(b + i * kGemmPanel);
    const __m512 w1 = kPanels == 2 ? _mm512_load_ps(b1 + i * kGemmPanel) : w0;
#pragma GCC unroll 12
    for (int r = 0; r < kR; ++r) {
      const __m512 x = _mm512_set1_ps(ar[r][i]);
      acc[r][0] = _mm512_fmadd_ps(x, w0, acc[r][0]);
      if (kPanels == 2) acc[r][kPanels - 1] = _mm512_fmadd_ps(x, w1, acc[r][kPanels - 1]);
    }
  }
  if (cols >= kPanels * kGemmPanel) {
#pragma GCC unroll 12
    for (int r = 0; r < kR; ++r) {
#pragma GCC unroll 2
      for (int p = 0; p < kPanels; ++p) {
        _mm512_storeu_ps(c + r * ldc + p * 16, epi.Apply(acc[r][p], p));
      }
    }
    return;
  }
  // The last columns of an N that is no multiple of 16: C's row may end (or
  // the next group's columns begin) inside the block.
  for (int p = 0; p < kPanels; ++p) {
    const size_t left = cols > size_t(p) * 16 ? cols - size_t(p) * 16 : 0;
    const __mmask16 mask =
        left >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
    for (int r = 0; r < kR; ++r) {
      _mm512_mask_storeu_ps(c + r * ldc + p * 16, mask, epi.Apply(acc[r][p], p));
    }
  }
}

template <int kR, class Epi>
void Rows(size_t k, const float* a, size_t lda, const float* b, float* c, size_t ldc, size_t cols,
          Epi epi) {
  if (cols > kGemmPanel) {
    Block<kR, 2>(k, a, lda, b, c, ldc, cols, epi);
  } else {
    Block<kR, 1>(k, a, lda, b, c, ldc, cols, epi);
  }
}

template <class Epi>
using RowsFn = void (*)(size_t, const float*, size_t, const float*, float*, size_t, size_t, Epi);

// The block for a row count of 1 to 12.
template <class Epi>
constexpr RowsFn<Epi> kBlocks[kRows + 1] = {
    nullptr,       Rows<1, Epi>,  Rows<2, Epi>, Rows<3, Epi>, Rows<4, Epi>,
    Rows<5, Epi>,  Rows<6, Epi>,  Rows<7, Epi>, Rows<8, Epi>, Rows<9, Epi>,
    Rows<10, Epi>, Rows<11, Epi>, Rows<12, Epi>};

// Rows of A per pass over B's panels: about 192 KiB of A, which stays in L2
// while every panel pair passes over it (a whole multiple of the row block).
size_t ChunkRows(size_t k) {
  const size_t rows = (192u << 10) / (k * sizeof(float)) / kRows * kRows;
  return rows > kRows ? rows : kRows;
}

template <class Epi>
void GemmWith(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* packed,
              float* c, size_t ldc, Epi epi) {
  // Panel pair by panel pair: 2 x k x 16 floats stay in L1 while every row
  // block of the chunk passes over them. A chunk's rows are split into
  // blocks of even size (49 rows: 10, 10, 10, 10, 9 rather than four of 12
  // and one of 1, whose single accumulator row waits on FMA latency).
  // Chunks of even size too (49 rows of a 24-row chunk: 17, 16, 16).
  const size_t chunks = (m + ChunkRows(k) - 1) / ChunkRows(k);
  const size_t chunk = (m + chunks - 1) / chunks;
  for (size_t first = 0; first < m; first += chunk) {
    const size_t last = m - first < chunk ? m : first + chunk;
    const size_t rows = last - first;
    const size_t blocks = (rows + kRows - 1) / kRows;
    const size_t base = rows / blocks, longer = rows % blocks;  // `longer` blocks get base + 1
    for (size_t col = 0; col < n; col += 2 * kGemmPanel) {
      const float* b = packed + col * k;
      const size_t cols = n - col < 2 * kGemmPanel ? n - col : 2 * kGemmPanel;
      const Epi at = epi.At(col);
      size_t row = first;
      for (size_t i = 0; i < blocks; ++i) {
        const size_t count = base + (i < longer ? 1 : 0);
        kBlocks<Epi>[count](k, a + row * lda, lda, b, c + row * ldc + col, ldc, cols, at);
        row += count;
      }
    }
  }
}

void Gemm(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* packed, float* c,
          size_t ldc) {
  GemmWith(m, n, k, a, lda, packed, c, ldc, Plain{});
}

void GemmBias(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* packed,
              float* c, size_t ldc, const float* bias, float lo) {
  GemmWith(m, n, k, a, lda, packed, c, ldc, BiasClamp{bias, lo});
}

}  // namespace

GemmFn Avx512Gemm() { return Gemm; }
GemmBiasFn Avx512GemmBias() { return GemmBias; }

}  // namespace rvgg::winograd

#else

namespace rvgg::winograd {
GemmFn Avx512Gemm() { return nullptr; }
GemmBiasFn Avx512GemmBias() { return nullptr; }
}  // namespace rvgg::winograd

#endif
