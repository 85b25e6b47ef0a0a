// NEON transforms (aarch64, and armv7 where this file is built with
// -mfpu=neon and only called when cpuinfo reports NEON). armv7 NEON has no
// fused multiply-add without VFPv4, so it uses vmla (multiply, then add).
#include "runtime/src/ops/winograd/transforms.h"

#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>

#include "runtime/src/ops/winograd/transform_impl.h"

namespace rvgg::winograd {
namespace {

struct NeonVec {
  using Element = float;
  using T = float32x4_t;
  static constexpr uint32_t kWidth = 4;
  static RVGG_WINOGRAD_INLINE T Load(const float* p) { return vld1q_f32(p); }
  static RVGG_WINOGRAD_INLINE void Store(float* p, T v) { vst1q_f32(p, v); }
  static RVGG_WINOGRAD_INLINE T Broadcast(float v) { return vdupq_n_f32(v); }
  static RVGG_WINOGRAD_INLINE T Add(T a, T b) { return vaddq_f32(a, b); }
  static RVGG_WINOGRAD_INLINE T Sub(T a, T b) { return vsubq_f32(a, b); }
  static RVGG_WINOGRAD_INLINE T MulAdd(T acc, T a, float s) {
#if defined(__aarch64__)
    return vfmaq_n_f32(acc, a, s);
#else
    return vmlaq_n_f32(acc, a, s);
#endif
  }
  static RVGG_WINOGRAD_INLINE T Max(T a, T b) { return vmaxq_f32(a, b); }
};

}  // namespace

TransformSet NeonTransforms() { return MakeTransformSet<NeonVec>("neon"); }

}  // namespace rvgg::winograd

#else

namespace rvgg::winograd {
TransformSet NeonTransforms() { return {}; }
}  // namespace rvgg::winograd

#endif
