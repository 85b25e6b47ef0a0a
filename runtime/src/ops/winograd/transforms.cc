// Picks the transform implementation from cpuinfo (the same source of truth
// XNNPACK uses to pick its kernels).
#include "runtime/src/ops/winograd/transforms.h"

#include <cpuinfo.h>

#include "runtime/src/precision.h"

namespace rvgg::winograd {

int AvailableWinogradTransforms(TransformSet* sets, int capacity) {
  int count = 0;
  auto add = [&](const TransformSet& set) {
    if (set.isa != nullptr && count < capacity) sets[count++] = set;
  };
#if RVGG_WINOGRAD_SCALAR_TRANSFORMS
  add(ScalarTransforms());
#endif
  const bool cpuinfo_ok = cpuinfo_initialize();
#if defined(__x86_64__) || defined(__i386__)
  add(Sse2Transforms());
  if (cpuinfo_ok && cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3()) add(Avx2Transforms());
  if (cpuinfo_ok && cpuinfo_has_x86_avx512f()) {
    // rvgg's 512-bit GEMM runs the positions (gemm.h).
    TransformSet set = Avx512Transforms();
    set.gemm = Avx512Gemm();
    set.gemm_bias = Avx512GemmBias();
    add(set);
  }
#elif defined(__aarch64__)
  (void)cpuinfo_ok;
  add(NeonTransforms());
#elif defined(__arm__)
  if (cpuinfo_ok && cpuinfo_has_arm_neon()) add(NeonTransforms());
#else
  (void)cpuinfo_ok;
#endif
  return count;
}

// The sets are listed from the most portable to the fastest.
TransformSet GetWinogradTransforms() {
  TransformSet sets[6];
  const int count = AvailableWinogradTransforms(sets, 6);
  return count > 0 ? sets[count - 1] : TransformSet{};
}

TransformSetF16 GetWinogradTransformsF16() {
#if defined(__aarch64__)
  // transform_neon_fp16.cc is built on every aarch64 target.
  if (CpuHasFp16Arithmetic()) {
    TransformSetF16 set = NeonFp16Transforms();
    set.gemm = NeonFp16Gemm();
    return set;
  }
#endif
  return {};
}

}  // namespace rvgg::winograd
