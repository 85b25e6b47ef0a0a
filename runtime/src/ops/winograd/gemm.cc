// What runs the Winograd positions on this CPU, and the weight packing of
// rvgg's own GEMM (gemm.h).
#include "runtime/src/ops/winograd/gemm.h"

#include <cpuinfo.h>

#include "runtime/src/ops/winograd/transforms.h"

namespace rvgg::winograd {

GemmShape XnnpackGemmShape(rvgg_dtype type) {
#if defined(__aarch64__)
  if (type == RVGG_DTYPE_FLOAT16) return {6, 16};
  return {6, 8};
#elif defined(__arm__)
  return {4, 8};
#elif defined(__x86_64__) || defined(__i386__)
  if (cpuinfo_initialize()) {
    if (cpuinfo_has_x86_avx512f()) return {7, 16};
    if (cpuinfo_has_x86_fma3()) return {5, 16};
  }
  return {4, 8};
#else
  return {4, 4};
#endif
}

bool OwnGemm(rvgg_dtype type) {
  static const bool own = GetWinogradTransforms().gemm != nullptr;
  static const bool own_f16 = GetWinogradTransformsF16().gemm != nullptr;
  return type == RVGG_DTYPE_FLOAT16 ? own_f16 : own;
}

uint32_t OwnGemmRows(rvgg_dtype type) {
  if (type == RVGG_DTYPE_FLOAT16) return 8;
#if defined(__x86_64__) || defined(__i386__)
  if (cpuinfo_initialize() && cpuinfo_has_x86_avx512f()) return 12;
#endif
  return kGemmRows;
}

void PackGemmWeights(const float* w, size_t k, size_t n, float* packed) {
  for (size_t col = 0; col < n; col += kGemmPanel) {
    float* panel = packed + col * k;
    for (size_t i = 0; i < k; ++i) {
      for (size_t j = 0; j < kGemmPanel; ++j) {
        panel[i * kGemmPanel + j] = col + j < n ? w[(col + j) * k + i] : 0.0f;
      }
    }
  }
}

void PackGemmWeightsF16(const float* w, size_t k, size_t n, Half* packed) {
  for (size_t col = 0; col < n; col += kGemmPanel) {
    Half* panel = packed + col * k;
    for (size_t i = 0; i < k; ++i) {
      for (size_t j = 0; j < kGemmPanel; ++j) {
        panel[i * kGemmPanel + j] = FloatToHalf(col + j < n ? w[(col + j) * k + i] : 0.0f);
      }
    }
  }
}

}  // namespace rvgg::winograd
