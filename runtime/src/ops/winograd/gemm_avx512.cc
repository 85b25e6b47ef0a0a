// The AVX-512F GEMM of gemm.h: 12 rows by 32 columns of C per register
// block (24 zmm accumulators, two weight vectors, one broadcast), reading
// two consecutive 16-column panels of gemm.h's layout at once, so the
// packing is the AVX2 kernel's; where N has an odd number of panels, the
// last three run as 8 rows by 48 columns (24 accumulators again). Row tails
// run exact narrower blocks and column tails (N not a multiple of 16)
// masked stores. This file alone is compiled with -mavx512f -mavx2 -mfma
// (runtime/CMakeLists.txt), like transform_avx512.cc; call it only where
// cpuinfo reports AVX-512F.
#include "runtime/src/ops/winograd/gemm.h"
#include "runtime/src/ops/winograd/gemm_rows.h"

#if defined(__AVX512F__)
#include <immintrin.h>

namespace rvgg::winograd {
namespace {

constexpr int kRows = 12;
// The weights stream from L3 or memory once per layer run, so each panel is
// fetched ahead at two distances, in K-steps (64-byte weight rows): near
// into L1, and far into L2, where more misses can be in flight than L1's
// few fill buffers allow. The far distance runs into the next panel pair
// when K is short (two panels ahead at K = 192, the 14x14 Winograd
// layers), so the next pair's weights arrive while this pair's row blocks
// compute.
constexpr size_t kPrefetchL1 = 16;
constexpr size_t kPrefetchL2 = 384;

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

// kR rows x (kPanels x 16) columns of C over all of K (`segments` runs of
// `run` values); `b` is the first panel, panel p starts p * K * 16 floats
// later. Columns at or past `cols` are not stored.
template <int kR, int kPanels, class Epi, class Src>
inline __attribute__((always_inline)) void Block(size_t segments, size_t run, Src src,
                                                 const float* b, float* c, size_t ldc, size_t cols,
                                                 Epi epi) {
  __m512 acc[kR][kPanels];
  const float* bp[kPanels];
  const size_t k = segments * run;
#pragma GCC unroll 3
  for (int p = 0; p < kPanels; ++p) bp[p] = b + p * k * kGemmPanel;
#pragma GCC unroll 12
  for (int r = 0; r < kR; ++r) {
#pragma GCC unroll 3
    for (int p = 0; p < kPanels; ++p) acc[r][p] = _mm512_setzero_ps();
  }
  for (size_t s = 0; s < segments; ++s) {
    const float* ar[kR];
#pragma GCC unroll 12
    for (int r = 0; r < kR; ++r) ar[r] = src.Row(r, s);
    for (size_t i = 0; i < run; ++i) {
      __m512 w[kPanels];
#pragma GCC unroll 3
      for (int p = 0; p < kPanels; ++p) {
        _mm_prefetch(reinterpret_cast<const char*>(bp[p] + kPrefetchL1 * kGemmPanel), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(bp[p] + kPrefetchL2 * kGemmPanel), _MM_HINT_T1);
        w[p] = _mm512_load_ps(bp[p]);
        bp[p] += kGemmPanel;
      }
#pragma GCC unroll 12
      for (int r = 0; r < kR; ++r) {
        const __m512 x = _mm512_set1_ps(ar[r][i]);
#pragma GCC unroll 3
        for (int p = 0; p < kPanels; ++p) acc[r][p] = _mm512_fmadd_ps(x, w[p], acc[r][p]);
      }
    }
  }
  if (cols >= kPanels * kGemmPanel) {
#pragma GCC unroll 12
    for (int r = 0; r < kR; ++r) {
#pragma GCC unroll 3
      for (int p = 0; p < kPanels; ++p) {
        _mm512_storeu_ps(c + r * ldc + p * 16, epi.Apply(acc[r][p], p));
      }
    }
    return;
  }
  // The last columns of an N that is no multiple of 16: C's row may end (or
  // the next group's columns begin) inside the block. Unrolled like the
  // stores above, so that the accumulators stay in registers on both paths
  // (a loop here would make every block spill them first).
#pragma GCC unroll 3
  for (int p = 0; p < kPanels; ++p) {
    const size_t left = cols > size_t(p) * 16 ? cols - size_t(p) * 16 : 0;
    const __mmask16 mask =
        left >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
#pragma GCC unroll 12
    for (int r = 0; r < kR; ++r) {
      _mm512_mask_storeu_ps(c + r * ldc + p * 16, mask, epi.Apply(acc[r][p], p));
    }
  }
}

// A panel pair (or the lone last panel) for kR rows.
template <int kR, class Epi, class Src>
void Pair(size_t segments, size_t run, Src src, const float* b, float* c, size_t ldc, size_t cols,
          Epi epi) {
  if (cols > kGemmPanel) {
    Block<kR, 2>(segments, run, src, b, c, ldc, cols, epi);
  } else {
    Block<kR, 1>(segments, run, src, b, c, ldc, cols, epi);
  }
}

// Three panels for kR rows: the last 48 columns where N has an odd number of
// panels (48-channel layers). A lone 16-column panel would load one
// broadcast per multiply-add and run at about half the FMA rate; three
// panels of 8 rows keep 24 accumulators busy like the 12x32 block.
template <int kR, class Epi, class Src>
void Triple(size_t segments, size_t run, Src src, const float* b, float* c, size_t ldc, size_t cols,
            Epi epi) {
  Block<kR, 3>(segments, run, src, b, c, ldc, cols, epi);
}

template <class Epi, class Src>
using BlockFn = void (*)(size_t, size_t, Src, const float*, float*, size_t, size_t, Epi);

// The block for a row count of 1 to 12 (panel pairs) and 1 to 8 (three
// panels).
constexpr int kRows3 = 8;
template <class Epi, class Src>
constexpr BlockFn<Epi, Src> kPairs[kRows + 1] = {
    nullptr,           Pair<1, Epi, Src>, Pair<2, Epi, Src>,  Pair<3, Epi, Src>,
    Pair<4, Epi, Src>, Pair<5, Epi, Src>, Pair<6, Epi, Src>,  Pair<7, Epi, Src>,
    Pair<8, Epi, Src>, Pair<9, Epi, Src>, Pair<10, Epi, Src>, Pair<11, Epi, Src>,
    Pair<12, Epi, Src>};
template <class Epi, class Src>
constexpr BlockFn<Epi, Src> kTriples[kRows3 + 1] = {nullptr,
                                                    Triple<1, Epi, Src>,
                                                    Triple<2, Epi, Src>,
                                                    Triple<3, Epi, Src>,
                                                    Triple<4, Epi, Src>,
                                                    Triple<5, Epi, Src>,
                                                    Triple<6, Epi, Src>,
                                                    Triple<7, Epi, Src>,
                                                    Triple<8, Epi, Src>};

// Rows of A per pass over B's panels: about 512 KiB of A, which stays in L2
// (1 MiB or more on the CPUs with AVX-512) while every panel pair passes
// over it (a whole multiple of the row block). Each chunk reads all of B
// again: the 7x7 layer after a stride-2 step (49 rows of 1728 values, B
// 8.8 MB) is one chunk, not three.
size_t ChunkRows(size_t k) {
  const size_t rows = (512u << 10) / (k * sizeof(float)) / kRows * kRows;
  return rows > kRows ? rows : kRows;
}

template <class Epi, class Src>
void GemmWith(size_t m, size_t n, size_t segments, size_t run, Src src, const float* packed,
              float* c, size_t ldc, Epi epi) {
  // Column block by column block: panel pairs, and the last three panels
  // together where their count is odd (and more than one); 2 (or 3) x k x
  // 16 floats stay in L1 while every row block of a chunk of A passes over
  // them. A chunk's rows are split into blocks of even size (49 rows: 10,
  // 10, 10, 10, 9 rather than four of 12 and one of 1, whose single
  // accumulator row waits on FMA latency). Chunks of even size too (1601
  // rows of 300 values, 432-row chunks: 401, 401, 401, 398).
  const size_t k = segments * run;
  const size_t panels = (n + kGemmPanel - 1) / kGemmPanel;
  const size_t chunks = (m + ChunkRows(k) - 1) / ChunkRows(k);
  const size_t chunk = (m + chunks - 1) / chunks;
  for (size_t first = 0; first < m; first += chunk) {
    const size_t rows = m - first < chunk ? m - first : chunk;
    for (size_t col = 0; col < n;) {
      const bool triple = panels - col / kGemmPanel == 3;
      const size_t width = triple ? 3 * kGemmPanel : 2 * kGemmPanel;
      const float* b = packed + col * k;
      const size_t cols = n - col < width ? n - col : width;
      const Epi at = epi.At(col);
      const size_t max_rows = triple ? kRows3 : kRows;
      const size_t blocks = (rows + max_rows - 1) / max_rows;
      const size_t base = rows / blocks, longer = rows % blocks;  // `longer` blocks get base + 1
      size_t row = first;
      for (size_t i = 0; i < blocks; ++i) {
        const size_t count = base + (i < longer ? 1 : 0);
        const auto block = triple ? kTriples<Epi, Src>[count] : kPairs<Epi, Src>[count];
        block(segments, run, src.Offset(row), b, c + row * ldc + col, ldc, cols, at);
        row += count;
      }
      col += width;
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

GemmFn Avx512Gemm() { return Gemm; }
GemmBiasFn Avx512GemmBias() { return GemmBias; }

}  // namespace rvgg::winograd

#else

namespace rvgg::winograd {
GemmFn Avx512Gemm() { return nullptr; }
GemmBiasFn Avx512GemmBias() { return nullptr; }
}  // namespace rvgg::winograd

#endif
