// Winograd F(m x m, 3 x 3) input and output transforms on NHWC data, for
// stride-1, padding-1 3x3 convolutions (m = 2, 4, 6; n = m + 2).
//
// Layout of the transformed tensors (the GEMM operands, in the arena scratch):
//   V[n*n][tiles][in_c]   transformed input: position-major, so position p
//                         is one [tiles x in_c] matrix (row stride in_c)
//   M[n*n][tiles][out_c]  GEMM results per position, same layout
// Tile t = ty * tiles_x + tx covers output rows ty*m .. ty*m+m-1 (clipped at
// the image border) and reads input rows ty*m-1 .. ty*m+m (zero outside).
//
// One implementation per instruction set (transform_scalar.cc,
// transform_neon.cc, transform_sse2.cc, transform_avx2.cc, transform_avx512.cc),
// all instantiated from transform_impl.h; GetWinogradTransforms() picks the
// best the CPU has, once.
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORMS_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORMS_H_

#include <cstddef>
#include <cstdint>

namespace rvgg::winograd {

struct InputTransformParams {
  const float* input;  // [h][w][c]
  uint32_t h, w, c;
  uint32_t tiles_x;
  size_t position_stride;  // floats between positions of V: tiles * c
  float* v;
};

struct OutputTransformParams {
  const float* m;     // [n*n][tiles][c]
  const float* bias;  // c values, or null
  bool relu;
  uint32_t h, w, c;
  uint32_t tiles_x;
  size_t position_stride;  // tiles * c
  float* output;           // [h][w][c]
};

// Transform tiles [tile_begin, tile_end).
using InputTransformFn = void (*)(const InputTransformParams& p, size_t tile_begin,
                                  size_t tile_end);
using OutputTransformFn = void (*)(const OutputTransformParams& p, size_t tile_begin,
                                   size_t tile_end);

struct TransformSet {
  InputTransformFn input;
  OutputTransformFn output;
  const char* isa;
};

// Implementations for output tile `m`; isa == nullptr when unavailable in
// this build. ScalarTransforms is compiled into the library only for CPUs
// without a SIMD set (runtime/CMakeLists.txt); tests build it as a baseline.
TransformSet ScalarTransforms(int m);
TransformSet NeonTransforms(int m);
TransformSet Sse2Transforms(int m);
TransformSet Avx2Transforms(int m);
TransformSet Avx512Transforms(int m);

// The fastest set this CPU runs (cpuinfo), for m in {2, 4, 6}.
TransformSet GetWinogradTransforms(int m);

// Every set this CPU runs for m, most portable first (for tests); returns how
// many were written to `sets` (at most `capacity`).
int AvailableWinogradTransforms(int m, TransformSet* sets, int capacity);

}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORMS_H_
