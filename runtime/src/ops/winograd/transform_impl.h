// The Winograd line transforms written once, over a vector type, and
// instantiated by each transform_<isa>.cc with that ISA's vectors. The
// matrices are not written out: they follow from the points in points.h and
// are unrolled here at compile time, with the even/odd factorization the
// symmetric points allow (the same operation counts as ncnn's hand-written
// F(4, 3) and F(6, 3)).
//
// A vector type V provides: Element (the tensors' type: float, or Half for
// the fp16 lines), T (the register type), kWidth (elements per vector),
// Load(const Element*), Store(Element*, T), Broadcast(float), Add, Sub,
// MulAdd(acc, a, s) = acc + a * s for a float constant s (exact in every
// element type: transforms.h), Max. The arithmetic happens in T's precision.
//
// Everything here has internal linkage on purpose: each ISA's file is
// compiled with its own -m flags, and nothing instantiated in one may be
// merged with another's by the linker.
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORM_IMPL_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORM_IMPL_H_

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "runtime/src/half.h"
#include "runtime/src/ops/winograd/points.h"
#include "runtime/src/ops/winograd/transforms.h"

#define RVGG_WINOGRAD_INLINE inline __attribute__((always_inline))

namespace rvgg::winograd {
namespace {

struct ScalarVec {
  using Element = float;
  using T = float;
  static constexpr uint32_t kWidth = 1;
  static RVGG_WINOGRAD_INLINE T Load(const float* p) { return *p; }
  static RVGG_WINOGRAD_INLINE void Store(float* p, T v) { *p = v; }
  static RVGG_WINOGRAD_INLINE T Broadcast(float v) { return v; }
  static RVGG_WINOGRAD_INLINE T Add(T a, T b) { return a + b; }
  static RVGG_WINOGRAD_INLINE T Sub(T a, T b) { return a - b; }
  static RVGG_WINOGRAD_INLINE T MulAdd(T acc, T a, float s) { return acc + a * s; }
  static RVGG_WINOGRAD_INLINE T Max(T a, T b) { return a > b ? a : b; }
};

// fp16 storage, float arithmetic: every stored value rounds once (through
// half.h's out-of-line conversions: this is a test baseline, not a kernel).
struct ScalarHalfVec : ScalarVec {
  using Element = Half;
  static RVGG_WINOGRAD_INLINE T Load(const Half* p) { return HalfToFloat(*p); }
  static RVGG_WINOGRAD_INLINE void Store(Half* p, T v) { *p = FloatToHalf(v); }
};

// Whether c is a binary16 value (normal range): at most 11 significant bits.
constexpr bool ExactInHalf(double c) {
  double a = c < 0 ? -c : c;
  if (a == 0.0) return true;
  if (a > 65504.0 || a < 1.0 / 16384.0) return false;
  while (a < 1024.0) a *= 2.0;
  while (a >= 2048.0) a /= 2.0;
  return a == static_cast<double>(static_cast<int64_t>(a));
}

// acc + c * x for a compile-time constant c (skipped when 0, an add or a
// subtraction when +-1).
template <class V, class C>
RVGG_WINOGRAD_INLINE typename V::T Term(typename V::T acc, typename V::T x) {
  constexpr double c = C::value;
  static_assert(!std::is_same_v<typename V::Element, Half> || ExactInHalf(c),
                "the fp16 lines need every coefficient exact in fp16");
  if constexpr (c == 0.0) {
    return acc;
  } else if constexpr (c == 1.0) {
    return V::Add(acc, x);
  } else if constexpr (c == -1.0) {
    return V::Sub(acc, x);
  } else {
    return V::MulAdd(acc, x, static_cast<float>(c));
  }
}

// sum_i R_i d[kOffset + 2 i] for R = PairProduct(kPairs, kSkip) (monic: the
// leading term starts the sum).
template <int kPairs, int kSkip>
struct Even {
  static constexpr EvenPoly kPoly = PairProduct(kPairs, kSkip);
  template <size_t I>
  struct Coefficient {
    static constexpr double value = kPoly.c[I];
  };
  template <class V, int kOffset, size_t... I>
  static RVGG_WINOGRAD_INLINE typename V::T SumImpl(const typename V::T* d,
                                                    std::index_sequence<I...>) {
    typename V::T acc = d[kOffset + 2 * kPoly.degree];
    ((acc = Term<V, Coefficient<I>>(acc, d[kOffset + 2 * I])), ...);
    return acc;
  }
  template <class V, int kOffset>
  static RVGG_WINOGRAD_INLINE typename V::T Sum(const typename V::T* d) {
    return SumImpl<V, kOffset>(d, std::make_index_sequence<kPoly.degree>());
  }
};

template <size_t J, int kSign>
struct PairPoint {
  static constexpr double value = kSign * kPairPoint[J];
};

// The degree-S transform (points.h): S + 1 positions.
template <class V, int S>
struct Core {
  using T = typename V::T;
  static constexpr int kZ = S % 2;
  static constexpr int kPairs = S / 2;

  // r = B^T d.
  template <size_t J>
  static RVGG_WINOGRAD_INLINE void InputPair(const T* d, T* r) {
    constexpr int j = static_cast<int>(J);
    const T lo = Even<kPairs, j>::template Sum<V, kZ>(d);
    const T hi = Even<kPairs, j>::template Sum<V, kZ + 1>(d);
    r[kZ + 2 * j] = Term<V, PairPoint<J, 1>>(hi, lo);
    r[kZ + 2 * j + 1] = Term<V, PairPoint<J, -1>>(hi, lo);
  }
  template <size_t... J>
  static RVGG_WINOGRAD_INLINE void InputPairs(const T* d, T* r, std::index_sequence<J...>) {
    (InputPair<J>(d, r), ...);
  }
  static RVGG_WINOGRAD_INLINE void Input(const T* d, T* r) {
    if constexpr (kZ == 1) r[0] = Even<kPairs, -1>::template Sum<V, 0>(d);
    InputPairs(d, r, std::make_index_sequence<kPairs>());
    r[S] = Even<kPairs, -1>::template Sum<V, kZ>(d);
  }

  // o = A^T s, M outputs: o_i = sum_p p^i s_p (+ s_0 for i = 0, + s_inf for
  // the last), through the sums a and differences b of each pair.
  template <int I, size_t J>
  struct PairPower {
    static constexpr double value = Power(kPairPoint[J], I);
  };
  template <int I, int M, size_t... J>
  static RVGG_WINOGRAD_INLINE T OutputRow(const T* s, const T* a, const T* b,
                                          std::index_sequence<0, J...>) {
    const T* ab = I % 2 == 0 ? a : b;
    T acc = ab[0];  // p = 1
    ((acc = Term<V, PairPower<I, J>>(acc, ab[J])), ...);
    if constexpr (kZ == 1 && I == 0) acc = V::Add(acc, s[0]);
    if constexpr (I == M - 1) acc = V::Add(acc, s[S]);
    return acc;
  }
  template <int M, size_t... I>
  static RVGG_WINOGRAD_INLINE void OutputRows(const T* s, const T* a, const T* b, T* o,
                                              std::index_sequence<I...>) {
    ((o[I] = OutputRow<static_cast<int>(I), M>(s, a, b, std::make_index_sequence<kPairs>())), ...);
  }
  template <int M>
  static RVGG_WINOGRAD_INLINE void Output(const T* s, T* o) {
    T a[kPairs], b[kPairs];
    for (int j = 0; j < kPairs; ++j) {
      a[j] = V::Add(s[kZ + 2 * j], s[kZ + 2 * j + 1]);
      b[j] = V::Sub(s[kZ + 2 * j], s[kZ + 2 * j + 1]);
    }
    OutputRows<M>(s, a, b, o, std::make_index_sequence<M>());
  }
};

// Stride 1, F(m, 3): the window is the m + 2 positions.
template <class V, int M>
void InputLineStride1(const typename V::Element* const* src, typename V::Element* const* dst,
                      size_t count) {
  constexpr int N = M + 2;
  using T = typename V::T;
  using E = typename V::Element;
  const E* s[N];
  E* d[N];
  for (int k = 0; k < N; ++k) {
    s[k] = src[k];
    d[k] = dst[k];
  }
  for (size_t i = 0; i < count; i += V::kWidth) {
    T x[N], r[N];
    for (int k = 0; k < N; ++k) x[k] = V::Load(s[k] + i);
    Core<V, M + 1>::Input(x, r);
    for (int k = 0; k < N; ++k) V::Store(d[k] + i, r[k]);
  }
}

// Stride 2 (polyphase, see winograd.h): of the 2m + 1 window pixels the odd
// ones (the even input phase) pass unchanged to positions 0..m-1, and the
// even ones go through F(m, 2) to positions m..2m.
template <class V, int M>
void InputLineStride2(const typename V::Element* const* src, typename V::Element* const* dst,
                      size_t count) {
  constexpr int N = 2 * M + 1;
  using T = typename V::T;
  using E = typename V::Element;
  const E* s[N];
  E* d[N];
  for (int k = 0; k < N; ++k) {
    s[k] = src[k];
    d[k] = dst[k];
  }
  for (size_t i = 0; i < count; i += V::kWidth) {
    T x[M + 1], r[M + 1], e[M];
    for (int k = 0; k < M; ++k) e[k] = V::Load(s[2 * k + 1] + i);
    for (int k = 0; k <= M; ++k) x[k] = V::Load(s[2 * k] + i);
    Core<V, M>::Input(x, r);
    for (int k = 0; k < M; ++k) V::Store(d[k] + i, e[k]);
    for (int k = 0; k <= M; ++k) V::Store(d[M + k] + i, r[k]);
  }
}

template <class V, bool kEpilogue>
RVGG_WINOGRAD_INLINE typename V::T Finish(typename V::T y, const typename V::Element* bias,
                                          size_t i, typename V::T lo) {
  // Without the epilogue `bias` may be null: no arithmetic on it then.
  if constexpr (kEpilogue) return V::Max(V::Add(y, V::Load(bias + i)), lo);
  return y;
}

template <class V, int M, bool kEpilogue>
void OutputLineStride1(const typename V::Element* const* src, typename V::Element* const* dst,
                       size_t count, const typename V::Element* bias, float lo) {
  constexpr int N = M + 2;
  using T = typename V::T;
  using E = typename V::Element;
  const E* s[N];
  E* d[M];
  for (int k = 0; k < N; ++k) s[k] = src[k];
  for (int k = 0; k < M; ++k) d[k] = dst[k];
  const T low = V::Broadcast(lo);
  for (size_t i = 0; i < count; i += V::kWidth) {
    T x[N], o[M];
    for (int k = 0; k < N; ++k) x[k] = V::Load(s[k] + i);
    Core<V, M + 1>::template Output<M>(x, o);
    for (int k = 0; k < M; ++k) V::Store(d[k] + i, Finish<V, kEpilogue>(o[k], bias, i, low));
  }
}

// Stride 2: output i = position i (even phase) + F(m, 2)'s output i of
// positions m..2m (odd phase).
template <class V, int M, bool kEpilogue>
void OutputLineStride2(const typename V::Element* const* src, typename V::Element* const* dst,
                       size_t count, const typename V::Element* bias, float lo) {
  constexpr int N = 2 * M + 1;
  using T = typename V::T;
  using E = typename V::Element;
  const E* s[N];
  E* d[M];
  for (int k = 0; k < N; ++k) s[k] = src[k];
  for (int k = 0; k < M; ++k) d[k] = dst[k];
  const T low = V::Broadcast(lo);
  for (size_t i = 0; i < count; i += V::kWidth) {
    T x[M + 1], o[M];
    for (int k = 0; k <= M; ++k) x[k] = V::Load(s[M + k] + i);
    Core<V, M>::template Output<M>(x, o);
    for (int k = 0; k < M; ++k) {
      const T y = V::Add(o[k], V::Load(s[k] + i));
      V::Store(d[k] + i, Finish<V, kEpilogue>(y, bias, i, low));
    }
  }
}

template <class V, int M>
constexpr LineSetOf<typename V::Element> Stride1Lines() {
  return {InputLineStride1<V, M>, OutputLineStride1<V, M, false>, OutputLineStride1<V, M, true>};
}

template <class V, int M>
constexpr LineSetOf<typename V::Element> Stride2Lines() {
  return {InputLineStride2<V, M>, OutputLineStride2<V, M, false>, OutputLineStride2<V, M, true>};
}

// TransformSet for float vectors, TransformSetF16 for Half ones.
template <class V>
using SetOf =
    std::conditional_t<std::is_same_v<typename V::Element, Half>, TransformSetF16, TransformSet>;

template <class V>
SetOf<V> MakeTransformSet(const char* isa) {
  static_assert(kChannelBlock % V::kWidth == 0, "line counts must be whole vectors");
  static_assert(kMaxTileStride1 + 1 <= kMaxDegree && kMaxTileStride2 <= kMaxDegree, "points.h");
  return {isa,
          {{},
           {},
           Stride1Lines<V, 2>(),
           Stride1Lines<V, 3>(),
           Stride1Lines<V, 4>(),
           Stride1Lines<V, 5>(),
           Stride1Lines<V, 6>()},
          {{},
           {},
           Stride2Lines<V, 2>(),
           Stride2Lines<V, 3>(),
           Stride2Lines<V, 4>(),
           Stride2Lines<V, 5>(),
           Stride2Lines<V, 6>(),
           Stride2Lines<V, 7>()}};
}

}  // namespace
}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORM_IMPL_H_
