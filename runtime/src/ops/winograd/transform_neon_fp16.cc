// fp16 transforms in fp16 arithmetic (ARMv8.2-A FP16: vector add, subtract,
// fused multiply-add and max on 8 halves). Built only on aarch64, and this
// file alone with -march=armv8.2-a+fp16 (runtime/CMakeLists.txt): the library
// stays ARMv8.0 and calls it only when cpuinfo reports FP16 arithmetic
// (GetWinogradTransformsF16, through CpuHasFp16Arithmetic).
//
// Nothing with external linkage may be instantiated here (transform_impl.h
// keeps its templates in an anonymous namespace, and this file calls no
// inline function of the shared headers), so no FP16 instruction can reach
// code an ARMv8.0 CPU runs.
#include "runtime/src/ops/winograd/transforms.h"

#if defined(__aarch64__) && defined(__ARM_FEATURE_FP16_VECTOR_ARITHMETIC)
#include <arm_neon.h>

#include "runtime/src/ops/winograd/transform_impl.h"

namespace rvgg::winograd {
namespace {

struct NeonFp16Vec {
  using Element = Half;
  using T = float16x8_t;
  static constexpr uint32_t kWidth = 8;
  // Through uint16 loads and stores: the tensors are Half (uint16_t) objects.
  static RVGG_WINOGRAD_INLINE T Load(const Half* p) { return vreinterpretq_f16_u16(vld1q_u16(p)); }
  static RVGG_WINOGRAD_INLINE void Store(Half* p, T v) { vst1q_u16(p, vreinterpretq_u16_f16(v)); }
  static RVGG_WINOGRAD_INLINE T Broadcast(float v) {
    return vdupq_n_f16(static_cast<float16_t>(v));
  }
  static RVGG_WINOGRAD_INLINE T Add(T a, T b) { return vaddq_f16(a, b); }
  static RVGG_WINOGRAD_INLINE T Sub(T a, T b) { return vsubq_f16(a, b); }
  static RVGG_WINOGRAD_INLINE T MulAdd(T acc, T a, float s) {
    return vfmaq_n_f16(acc, a, static_cast<float16_t>(s));
  }
  static RVGG_WINOGRAD_INLINE T Max(T a, T b) { return vmaxq_f16(a, b); }
};

}  // namespace

TransformSetF16 NeonFp16Transforms() { return MakeTransformSet<NeonFp16Vec>("neon-fp16"); }

}  // namespace rvgg::winograd

#else

namespace rvgg::winograd {
TransformSetF16 NeonFp16Transforms() { return {}; }
}  // namespace rvgg::winograd

#endif
