// The Winograd transforms written once, over a vector type, and instantiated
// by each transform_<isa>.cc with that ISA's vectors (channels are the SIMD
// dimension: NHWC keeps a pixel's channels contiguous).
//
// A vector type V provides: T, kWidth (floats per vector), Load, Store, Zero,
// Add, Sub, Mul(T, float), MulAdd(acc, a, s) = acc + a * s, Max0.
//
// Everything here has internal linkage on purpose: each ISA's file is
// compiled with its own -m flags, and the scalar tail loops instantiated in
// every file must not be merged across them by the linker.
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORM_IMPL_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORM_IMPL_H_

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "runtime/src/ops/winograd/transforms.h"

#define RVGG_WINOGRAD_INLINE inline __attribute__((always_inline))

namespace rvgg::winograd {
namespace {

struct ScalarVec {
  using T = float;
  static constexpr uint32_t kWidth = 1;
  static RVGG_WINOGRAD_INLINE T Load(const float* p) { return *p; }
  static RVGG_WINOGRAD_INLINE void Store(float* p, T v) { *p = v; }
  static RVGG_WINOGRAD_INLINE T Zero() { return 0.0f; }
  static RVGG_WINOGRAD_INLINE T Add(T a, T b) { return a + b; }
  static RVGG_WINOGRAD_INLINE T Sub(T a, T b) { return a - b; }
  static RVGG_WINOGRAD_INLINE T Mul(T a, float s) { return a * s; }
  static RVGG_WINOGRAD_INLINE T MulAdd(T acc, T a, float s) { return acc + a * s; }
  static RVGG_WINOGRAD_INLINE T Max0(T a) { return a > 0.0f ? a : 0.0f; }
};

// One-dimensional transforms: d[n] -> r[n] (input, r = B^T d) and
// s[n] -> o[m] (output, o = A^T s). The matrices (Lavin & Gray; points
// 0, +-1, +-2, +-1/2 and infinity) are spelled out in weights.cc, and the
// factorizations below follow ncnn's. tests/runtime/winograd_test.cc checks
// them against a direct convolution.
template <int M>
struct Transform1D;

template <>
struct Transform1D<2> {
  template <class V, class T>
  static RVGG_WINOGRAD_INLINE void Input(const T* d, T* r) {
    r[0] = V::Sub(d[0], d[2]);
    r[1] = V::Add(d[1], d[2]);
    r[2] = V::Sub(d[2], d[1]);
    r[3] = V::Sub(d[1], d[3]);
  }
  template <class V, class T>
  static RVGG_WINOGRAD_INLINE void Output(const T* s, T* o) {
    o[0] = V::Add(V::Add(s[0], s[1]), s[2]);
    o[1] = V::Sub(V::Sub(s[1], s[2]), s[3]);
  }
};

template <>
struct Transform1D<4> {
  template <class V, class T>
  static RVGG_WINOGRAD_INLINE void Input(const T* d, T* r) {
    const T t0 = V::MulAdd(d[4], d[2], -4.0f);
    const T t1 = V::MulAdd(d[3], d[1], -4.0f);
    const T t2 = V::Sub(d[4], d[2]);
    const T t3 = V::Mul(V::Sub(d[3], d[1]), 2.0f);
    r[0] = V::MulAdd(V::MulAdd(d[4], d[0], 4.0f), d[2], -5.0f);
    r[1] = V::Add(t0, t1);
    r[2] = V::Sub(t0, t1);
    r[3] = V::Add(t2, t3);
    r[4] = V::Sub(t2, t3);
    r[5] = V::MulAdd(V::MulAdd(d[5], d[1], 4.0f), d[3], -5.0f);
  }
  template <class V, class T>
  static RVGG_WINOGRAD_INLINE void Output(const T* s, T* o) {
    const T a = V::Add(s[1], s[2]);
    const T b = V::Sub(s[1], s[2]);
    const T c = V::Add(s[3], s[4]);
    const T d = V::Sub(s[3], s[4]);
    o[0] = V::Add(V::Add(s[0], a), c);
    o[1] = V::MulAdd(b, d, 2.0f);
    o[2] = V::MulAdd(a, c, 4.0f);
    o[3] = V::MulAdd(V::Add(b, s[5]), d, 8.0f);
  }
};

template <>
struct Transform1D<6> {
  template <class V, class T>
  static RVGG_WINOGRAD_INLINE void Input(const T* d, T* r) {
    r[0] = V::MulAdd(V::Sub(d[0], d[6]), V::Sub(d[4], d[2]), 5.25f);
    r[7] = V::MulAdd(V::Sub(d[7], d[1]), V::Sub(d[3], d[5]), 5.25f);
    const T t1a = V::MulAdd(V::Add(d[2], d[6]), d[4], -4.25f);
    const T t1b = V::MulAdd(V::Add(d[1], d[5]), d[3], -4.25f);
    r[1] = V::Add(t1a, t1b);
    r[2] = V::Sub(t1a, t1b);
    const T t2a = V::MulAdd(V::MulAdd(d[6], d[2], 0.25f), d[4], -1.25f);
    const T t2b = V::MulAdd(V::MulAdd(V::Mul(d[1], 0.5f), d[3], -2.5f), d[5], 2.0f);
    r[3] = V::Add(t2a, t2b);
    r[4] = V::Sub(t2a, t2b);
    const T t3a = V::MulAdd(d[6], V::MulAdd(d[2], d[4], -1.25f), 4.0f);
    const T t3b = V::MulAdd(V::MulAdd(V::Mul(d[1], 2.0f), d[3], -2.5f), d[5], 0.5f);
    r[5] = V::Add(t3a, t3b);
    r[6] = V::Sub(t3a, t3b);
  }
  template <class V, class T>
  static RVGG_WINOGRAD_INLINE void Output(const T* s, T* o) {
    const T a = V::Add(s[1], s[2]);
    const T b = V::Sub(s[1], s[2]);
    const T c = V::Add(s[3], s[4]);
    const T d = V::Sub(s[3], s[4]);
    const T e = V::Add(s[5], s[6]);
    const T f = V::Sub(s[5], s[6]);
    o[0] = V::Add(V::Add(s[0], a), V::Add(c, e));
    o[1] = V::MulAdd(V::MulAdd(b, d, 2.0f), f, 0.5f);
    o[2] = V::MulAdd(V::MulAdd(a, c, 4.0f), e, 0.25f);
    o[3] = V::MulAdd(V::MulAdd(b, d, 8.0f), f, 0.125f);
    o[4] = V::MulAdd(V::MulAdd(a, c, 16.0f), e, 0.0625f);
    o[5] = V::MulAdd(V::MulAdd(V::Add(b, s[7]), d, 32.0f), f, 0.03125f);
  }
};

// Which rows/columns of a tile's (m+2)^2 input window lie inside the image.
struct Window {
  int lo_y, hi_y, lo_x, hi_x;  // valid i in [lo_y, hi_y), j in [lo_x, hi_x)
};

// One tile, kWidth channels. `in` points at channel c0 of pixel (0, 0) and
// `base` is the offset of the window's pixel (y0, x0), which may lie outside
// the image: offsets are summed as integers so that only in-window pixels are
// ever addressed. `v` points at channel c0 of this tile in position 0.
template <int M, class V, bool kFull>
RVGG_WINOGRAD_INLINE void InputTile(const float* in, ptrdiff_t base, ptrdiff_t row_stride,
                                    ptrdiff_t c, const Window& win, float* v,
                                    size_t position_stride) {
  constexpr int N = M + 2;
  using T = typename V::T;
  T tmp[N][N];
  for (int i = 0; i < N; ++i) {
    T d[N];
    const bool row_ok = kFull || (i >= win.lo_y && i < win.hi_y);
    for (int j = 0; j < N; ++j) {
      if (row_ok && (kFull || (j >= win.lo_x && j < win.hi_x))) {
        d[j] = V::Load(in + (base + i * row_stride + j * c));
      } else {
        d[j] = V::Zero();
      }
    }
    Transform1D<M>::template Input<V>(d, tmp[i]);
  }
  for (int j = 0; j < N; ++j) {
    T col[N], r[N];
    for (int i = 0; i < N; ++i) col[i] = tmp[i][j];
    Transform1D<M>::template Input<V>(col, r);
    for (int i = 0; i < N; ++i) V::Store(v + (i * N + j) * position_stride, r[i]);
  }
}

template <int M, class V, bool kFull, bool kRelu>
RVGG_WINOGRAD_INLINE void OutputTile(const float* mm, size_t position_stride, typename V::T bias,
                                     float* out, ptrdiff_t row_stride, ptrdiff_t c, int rows,
                                     int cols) {
  constexpr int N = M + 2;
  using T = typename V::T;
  T tmp[N][M];
  for (int i = 0; i < N; ++i) {
    T s[N];
    for (int j = 0; j < N; ++j) s[j] = V::Load(mm + (i * N + j) * position_stride);
    Transform1D<M>::template Output<V>(s, tmp[i]);
  }
  for (int j = 0; j < M; ++j) {
    if (!kFull && j >= cols) break;
    T col[N], o[M];
    for (int i = 0; i < N; ++i) col[i] = tmp[i][j];
    Transform1D<M>::template Output<V>(col, o);
    for (int i = 0; i < M; ++i) {
      if (!kFull && i >= rows) break;
      T y = V::Add(o[i], bias);
      if (kRelu) y = V::Max0(y);
      V::Store(out + i * row_stride + j * c, y);
    }
  }
}

template <int M, class V, bool kFull>
RVGG_WINOGRAD_INLINE uint32_t InputChannels(const InputTransformParams& p, uint32_t c0,
                                            ptrdiff_t base, const Window& win, float* v) {
  const ptrdiff_t c = p.c;
  const ptrdiff_t row_stride = static_cast<ptrdiff_t>(p.w) * c;
  for (; c0 + V::kWidth <= p.c; c0 += V::kWidth) {
    InputTile<M, V, kFull>(p.input + c0, base, row_stride, c, win, v + c0, p.position_stride);
  }
  return c0;
}

template <class V>
constexpr bool kIsScalar = std::is_same<V, ScalarVec>::value;

// The scalar channel tail stays out of line: it runs only for channel counts
// that are not a multiple of the vector width, and inlining it into every
// tile variant would double the code size of the transforms.
template <int M, bool kFull>
__attribute__((noinline)) void InputScalarTail(const InputTransformParams& p, uint32_t c0,
                                               ptrdiff_t base, const Window& win, float* v) {
  InputChannels<M, ScalarVec, kFull>(p, c0, base, win, v);
}

// Tiles [begin, end): the widest vector V1 first, then V2 and V3 for the
// channel tail, then scalars.
template <int M, class V1, class V2, class V3>
void InputRange(const InputTransformParams& p, size_t begin, size_t end) {
  constexpr int N = M + 2;
  for (size_t t = begin; t < end; ++t) {
    const int ty = static_cast<int>(t / p.tiles_x), tx = static_cast<int>(t % p.tiles_x);
    const int y0 = ty * M - 1, x0 = tx * M - 1;
    const int h = static_cast<int>(p.h), w = static_cast<int>(p.w);
    Window win;
    win.lo_y = y0 < 0 ? -y0 : 0;
    win.hi_y = h - y0 < N ? h - y0 : N;
    win.lo_x = x0 < 0 ? -x0 : 0;
    win.hi_x = w - x0 < N ? w - x0 : N;
    const bool full = win.lo_y == 0 && win.hi_y == N && win.lo_x == 0 && win.hi_x == N;
    const ptrdiff_t base = (ptrdiff_t{y0} * w + x0) * static_cast<ptrdiff_t>(p.c);
    float* v = p.v + t * p.c;
    uint32_t c0 = 0;
    if (full) {
      c0 = InputChannels<M, V1, true>(p, c0, base, win, v);
      if constexpr (!kIsScalar<V2>) c0 = InputChannels<M, V2, true>(p, c0, base, win, v);
      if constexpr (!kIsScalar<V3>) c0 = InputChannels<M, V3, true>(p, c0, base, win, v);
      if (c0 < p.c) InputScalarTail<M, true>(p, c0, base, win, v);
    } else {
      c0 = InputChannels<M, V1, false>(p, c0, base, win, v);
      if constexpr (!kIsScalar<V2>) c0 = InputChannels<M, V2, false>(p, c0, base, win, v);
      if constexpr (!kIsScalar<V3>) c0 = InputChannels<M, V3, false>(p, c0, base, win, v);
      if (c0 < p.c) InputScalarTail<M, false>(p, c0, base, win, v);
    }
  }
}

template <int M, class V, bool kFull, bool kRelu>
RVGG_WINOGRAD_INLINE uint32_t OutputChannels(const OutputTransformParams& p, uint32_t c0,
                                             const float* mm, float* out, int rows, int cols) {
  const ptrdiff_t c = p.c;
  const ptrdiff_t row_stride = static_cast<ptrdiff_t>(p.w) * c;
  for (; c0 + V::kWidth <= p.c; c0 += V::kWidth) {
    const typename V::T bias = p.bias != nullptr ? V::Load(p.bias + c0) : V::Zero();
    OutputTile<M, V, kFull, kRelu>(mm + c0, p.position_stride, bias, out + c0, row_stride, c, rows,
                                   cols);
  }
  return c0;
}

template <int M, bool kFull, bool kRelu>
__attribute__((noinline)) void OutputScalarTail(const OutputTransformParams& p, uint32_t c0,
                                                const float* mm, float* out, int rows, int cols) {
  OutputChannels<M, ScalarVec, kFull, kRelu>(p, c0, mm, out, rows, cols);
}

template <int M, class V1, class V2, class V3, bool kFull, bool kRelu>
RVGG_WINOGRAD_INLINE void OutputAllChannels(const OutputTransformParams& p, const float* mm,
                                            float* out, int rows, int cols) {
  uint32_t c0 = 0;
  c0 = OutputChannels<M, V1, kFull, kRelu>(p, c0, mm, out, rows, cols);
  if constexpr (!kIsScalar<V2>) c0 = OutputChannels<M, V2, kFull, kRelu>(p, c0, mm, out, rows, cols);
  if constexpr (!kIsScalar<V3>) c0 = OutputChannels<M, V3, kFull, kRelu>(p, c0, mm, out, rows, cols);
  if (c0 < p.c) OutputScalarTail<M, kFull, kRelu>(p, c0, mm, out, rows, cols);
}

template <int M, class V1, class V2, class V3, bool kRelu>
void OutputRange(const OutputTransformParams& p, size_t begin, size_t end) {
  for (size_t t = begin; t < end; ++t) {
    const int ty = static_cast<int>(t / p.tiles_x), tx = static_cast<int>(t % p.tiles_x);
    const int y0 = ty * M, x0 = tx * M;
    const int rows = static_cast<int>(p.h) - y0 < M ? static_cast<int>(p.h) - y0 : M;
    const int cols = static_cast<int>(p.w) - x0 < M ? static_cast<int>(p.w) - x0 : M;
    const float* mm = p.m + t * p.c;
    float* out = p.output + (size_t{static_cast<uint32_t>(y0)} * p.w + x0) * p.c;
    if (rows == M && cols == M) {
      OutputAllChannels<M, V1, V2, V3, true, kRelu>(p, mm, out, rows, cols);
    } else {
      OutputAllChannels<M, V1, V2, V3, false, kRelu>(p, mm, out, rows, cols);
    }
  }
}

template <int M, class V1, class V2, class V3>
void OutputRangeDispatch(const OutputTransformParams& p, size_t begin, size_t end) {
  if (p.relu) {
    OutputRange<M, V1, V2, V3, true>(p, begin, end);
  } else {
    OutputRange<M, V1, V2, V3, false>(p, begin, end);
  }
}

template <class V1, class V2, class V3>
TransformSet MakeTransformSet(int m, const char* isa) {
  switch (m) {
    case 2:
      return {InputRange<2, V1, V2, V3>, OutputRangeDispatch<2, V1, V2, V3>, isa};
    case 4:
      return {InputRange<4, V1, V2, V3>, OutputRangeDispatch<4, V1, V2, V3>, isa};
    case 6:
      return {InputRange<6, V1, V2, V3>, OutputRangeDispatch<6, V1, V2, V3>, isa};
  }
  return {nullptr, nullptr, nullptr};
}

}  // namespace
}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORM_IMPL_H_
