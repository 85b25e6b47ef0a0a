// AVX-512F transforms. This file alone is compiled with -mavx512f -mavx2
// -mfma (runtime/CMakeLists.txt) and called only when cpuinfo reports AVX-512F.
#include "runtime/src/ops/winograd/transforms.h"

#if defined(__AVX512F__)
#include <immintrin.h>

#include "runtime/src/ops/winograd/transform_impl.h"
#include "runtime/src/ops/winograd/transform_x86.h"

namespace rvgg::winograd {
namespace {

struct Avx512Vec {
  using T = __m512;
  static constexpr uint32_t kWidth = 16;
  static RVGG_WINOGRAD_INLINE T Load(const float* p) { return _mm512_loadu_ps(p); }
  static RVGG_WINOGRAD_INLINE void Store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static RVGG_WINOGRAD_INLINE T Zero() { return _mm512_setzero_ps(); }
  static RVGG_WINOGRAD_INLINE T Add(T a, T b) { return _mm512_add_ps(a, b); }
  static RVGG_WINOGRAD_INLINE T Sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static RVGG_WINOGRAD_INLINE T Mul(T a, float s) { return _mm512_mul_ps(a, _mm512_set1_ps(s)); }
  static RVGG_WINOGRAD_INLINE T MulAdd(T acc, T a, float s) {
    return _mm512_fmadd_ps(a, _mm512_set1_ps(s), acc);
  }
  // The masked form: GCC 12's _mm512_max_ps trips -Wmaybe-uninitialized.
  static RVGG_WINOGRAD_INLINE T Max0(T a) {
    return _mm512_mask_max_ps(a, 0xFFFF, a, _mm512_setzero_ps());
  }
};

struct Avx8Vec {
  using T = __m256;
  static constexpr uint32_t kWidth = 8;
  static RVGG_WINOGRAD_INLINE T Load(const float* p) { return _mm256_loadu_ps(p); }
  static RVGG_WINOGRAD_INLINE void Store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static RVGG_WINOGRAD_INLINE T Zero() { return _mm256_setzero_ps(); }
  static RVGG_WINOGRAD_INLINE T Add(T a, T b) { return _mm256_add_ps(a, b); }
  static RVGG_WINOGRAD_INLINE T Sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static RVGG_WINOGRAD_INLINE T Mul(T a, float s) { return _mm256_mul_ps(a, _mm256_set1_ps(s)); }
  static RVGG_WINOGRAD_INLINE T MulAdd(T acc, T a, float s) {
    return _mm256_fmadd_ps(a, _mm256_set1_ps(s), acc);
  }
  static RVGG_WINOGRAD_INLINE T Max0(T a) { return _mm256_max_ps(a, _mm256_setzero_ps()); }
};

}  // namespace

TransformSet Avx512Transforms(int m) {
  return MakeTransformSet<Avx512Vec, Avx8Vec, Sse2Vec>(m, "avx512f");
}

}  // namespace rvgg::winograd

#else

namespace rvgg::winograd {
TransformSet Avx512Transforms(int) { return {nullptr, nullptr, nullptr}; }
}  // namespace rvgg::winograd

#endif
