// AVX-512F transforms. This file alone is compiled with -mavx512f -mavx2
// -mfma (runtime/CMakeLists.txt) and called only when cpuinfo reports AVX-512F.
#include "runtime/src/ops/winograd/transforms.h"

#if defined(__AVX512F__)
#include <immintrin.h>

#include "runtime/src/ops/winograd/transform_impl.h"

namespace rvgg::winograd {
namespace {

struct Avx512Vec {
  using Element = float;
  using T = __m512;
  static constexpr uint32_t kWidth = 16;
  static RVGG_WINOGRAD_INLINE T Load(const float* p) { return _mm512_loadu_ps(p); }
  static RVGG_WINOGRAD_INLINE void Store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static RVGG_WINOGRAD_INLINE T Broadcast(float v) { return _mm512_set1_ps(v); }
  static RVGG_WINOGRAD_INLINE T Add(T a, T b) { return _mm512_add_ps(a, b); }
  static RVGG_WINOGRAD_INLINE T Sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static RVGG_WINOGRAD_INLINE T MulAdd(T acc, T a, float s) {
    return _mm512_fmadd_ps(a, _mm512_set1_ps(s), acc);
  }
  // The masked form: GCC 12's _mm512_max_ps trips -Wmaybe-uninitialized.
  static RVGG_WINOGRAD_INLINE T Max(T a, T b) { return _mm512_mask_max_ps(a, 0xFFFF, a, b); }
};

}  // namespace

TransformSet Avx512Transforms() { return MakeTransformSet<Avx512Vec>("avx512f"); }

}  // namespace rvgg::winograd

#else

namespace rvgg::winograd {
TransformSet Avx512Transforms() { return {}; }
}  // namespace rvgg::winograd

#endif
