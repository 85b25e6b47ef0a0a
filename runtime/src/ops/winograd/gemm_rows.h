// Where the GEMM kernels (gemm_avx2.cc, gemm_avx512.cc) find a register
// block's rows of A: rows of a matrix (the Winograd positions), or, for the
// direct convolution (gemm.h's GemmBiasFn), `segments` pointers per row to
// runs of K / segments floats (its window rows, read in place from the
// image). Plain C++, shared by files compiled for different ISAs.
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_GEMM_ROWS_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_GEMM_ROWS_H_

#include <cstddef>

namespace rvgg::winograd {

struct Rows1 {
  const float* a;
  size_t lda;
  Rows1 Offset(size_t row) const { return {a + row * lda, lda}; }
  const float* Row(int r, size_t) const { return a + r * lda; }
};

struct RowsIndirect {
  const float* const* rows;
  size_t segments;
  RowsIndirect Offset(size_t row) const { return {rows + row * segments, segments}; }
  const float* Row(int r, size_t s) const { return rows[r * segments + s]; }
};

}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_GEMM_ROWS_H_
