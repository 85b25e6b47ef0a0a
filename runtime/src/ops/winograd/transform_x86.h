// The 4-lane SSE2 vector (x86-64 baseline). Internal linkage, like
// transform_impl.h.
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORM_X86_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORM_X86_H_

#include <emmintrin.h>

#include "runtime/src/ops/winograd/transform_impl.h"

namespace rvgg::winograd {
namespace {

struct Sse2Vec {
  using Element = float;
  using T = __m128;
  static constexpr uint32_t kWidth = 4;
  static RVGG_WINOGRAD_INLINE T Load(const float* p) { return _mm_loadu_ps(p); }
  static RVGG_WINOGRAD_INLINE void Store(float* p, T v) { _mm_storeu_ps(p, v); }
  static RVGG_WINOGRAD_INLINE T Broadcast(float v) { return _mm_set1_ps(v); }
  static RVGG_WINOGRAD_INLINE T Add(T a, T b) { return _mm_add_ps(a, b); }
  static RVGG_WINOGRAD_INLINE T Sub(T a, T b) { return _mm_sub_ps(a, b); }
  static RVGG_WINOGRAD_INLINE T MulAdd(T acc, T a, float s) {
    return _mm_add_ps(acc, _mm_mul_ps(a, _mm_set1_ps(s)));
  }
  static RVGG_WINOGRAD_INLINE T Max(T a, T b) { return _mm_max_ps(a, b); }
};

}  // namespace
}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_TRANSFORM_X86_H_
