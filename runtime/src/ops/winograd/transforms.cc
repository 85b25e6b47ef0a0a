// Picks the transform implementation once per call from cpuinfo (the same
// source of truth XNNPACK uses to pick its kernels).
#include "runtime/src/ops/winograd/transforms.h"

#include <cpuinfo.h>

namespace rvgg::winograd {

TransformSet GetWinogradTransforms(int m) {
  TransformSet set{nullptr, nullptr, nullptr};
  const bool cpuinfo_ok = cpuinfo_initialize();
#if defined(__x86_64__) || defined(__i386__)
  if (cpuinfo_ok && cpuinfo_has_x86_avx512f()) set = Avx512Transforms(m);
  if (set.isa == nullptr && cpuinfo_ok && cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3()) {
    set = Avx2Transforms(m);
  }
  if (set.isa == nullptr) set = Sse2Transforms(m);
#elif defined(__aarch64__)
  (void)cpuinfo_ok;
  set = NeonTransforms(m);
#elif defined(__arm__)
  if (cpuinfo_ok && cpuinfo_has_arm_neon()) set = NeonTransforms(m);
#else
  (void)cpuinfo_ok;
#endif
  if (set.isa == nullptr) set = ScalarTransforms(m);
  return set;
}

}  // namespace rvgg::winograd
