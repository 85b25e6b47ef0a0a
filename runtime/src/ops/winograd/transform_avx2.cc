// AVX2 + FMA3 transforms. This file alone is compiled with -mavx2 -mfma
// (runtime/CMakeLists.txt); the library stays baseline x86-64 and calls it
// only when cpuinfo reports both.
#include "runtime/src/ops/winograd/transforms.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "runtime/src/ops/winograd/transform_impl.h"

namespace rvgg::winograd {
namespace {

struct Avx2Vec {
  using Element = float;
  using T = __m256;
  static constexpr uint32_t kWidth = 8;
  static RVGG_WINOGRAD_INLINE T Load(const float* p) { return _mm256_loadu_ps(p); }
  static RVGG_WINOGRAD_INLINE void Store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static RVGG_WINOGRAD_INLINE T Broadcast(float v) { return _mm256_set1_ps(v); }
  static RVGG_WINOGRAD_INLINE T Add(T a, T b) { return _mm256_add_ps(a, b); }
  static RVGG_WINOGRAD_INLINE T Sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static RVGG_WINOGRAD_INLINE T MulAdd(T acc, T a, float s) {
    return _mm256_fmadd_ps(a, _mm256_set1_ps(s), acc);
  }
  static RVGG_WINOGRAD_INLINE T Max(T a, T b) { return _mm256_max_ps(a, b); }
};

}  // namespace

TransformSet Avx2Transforms() {
  TransformSet set = MakeTransformSet<Avx2Vec>("avx2+fma");
  set.gemm = Avx2Gemm();
  set.gemm_bias = Avx2GemmBias();
  return set;
}

}  // namespace rvgg::winograd

#else

namespace rvgg::winograd {
TransformSet Avx2Transforms() { return {}; }
}  // namespace rvgg::winograd

#endif
