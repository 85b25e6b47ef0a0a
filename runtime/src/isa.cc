// Which SIMD level XNNPACK's kernels run at, from the same cpuinfo queries
// XNNPACK's own initialization uses to pick them.
#include "rvgg/rvgg.h"

#if RVGG_WITH_XNNPACK
#include <cpuinfo.h>
#endif

extern "C" const char* rvgg_kernel_isa(void) {
#if !RVGG_WITH_XNNPACK
  return "reference (portable C++, built without XNNPACK)";
#else
  if (!cpuinfo_initialize()) return "unknown (cpuinfo failed to initialize)";
#if defined(__aarch64__)
  const bool fp16 = cpuinfo_has_arm_neon_fp16_arith(), dot = cpuinfo_has_arm_neon_dot();
  if (fp16 && dot) return "aarch64 NEON+FMA (+fp16 arithmetic, +dot product for int8)";
  if (fp16) return "aarch64 NEON+FMA (+fp16 arithmetic)";
  if (dot) return "aarch64 NEON+FMA (+dot product for int8)";
  return "aarch64 NEON+FMA";
#elif defined(__arm__)
  if (!cpuinfo_has_arm_neon()) return "armv7 without NEON (XNNPACK unsupported)";
  if (cpuinfo_has_arm_neon_fma()) return "armv7 NEON+VFPv4 (FMA)";
  return "armv7 NEON";
#elif defined(__x86_64__) || defined(__i386__)
  if (cpuinfo_has_x86_avx512f() && cpuinfo_has_x86_avx512vnni()) {
    return "x86-64 AVX-512F (+VNNI for int8)";
  }
  if (cpuinfo_has_x86_avx512f()) return "x86-64 AVX-512F";
  if (cpuinfo_has_x86_fma3()) return "x86-64 AVX2+FMA3";
  if (cpuinfo_has_x86_avx()) return "x86-64 AVX";
  return "x86-64 SSE2";
#else
  return "portable scalar";
#endif
#endif
}
