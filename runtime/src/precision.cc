#include "runtime/src/precision.h"

#include "runtime/src/status.h"

#if RVGG_WITH_XNNPACK
#include <cpuinfo.h>
#endif

namespace rvgg {

bool CpuHasFp16Arithmetic() {
#if RVGG_WITH_XNNPACK && defined(__aarch64__)
  static const bool has = cpuinfo_initialize() && cpuinfo_has_arm_neon_fp16_arith();
  return has;
#else
  // XNNPACK's fp16 kernels and rvgg's fp16 transforms are aarch64 NEON.
  return false;
#endif
}

rvgg_status ChooseHalfPrecision(const rvgg_options& options, const ModelSummary& summary,
                                bool* fp16, rvgg_message* message) {
  *fp16 = false;
  switch (options.precision) {
    case RVGG_PRECISION_FP32:
      return RVGG_STATUS_OK;
    case RVGG_PRECISION_AUTO:
      *fp16 = options.backend == RVGG_BACKEND_XNNPACK && CpuHasFp16Arithmetic() &&
              !summary.has_int8;
      return RVGG_STATUS_OK;
    case RVGG_PRECISION_FP16:
      break;
  }
  if (options.backend != RVGG_BACKEND_XNNPACK) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED,
                "precision fp16 needs the XNNPACK backend (the reference backend computes in "
                "float32)");
  }
  if (!CpuHasFp16Arithmetic()) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED,
                "precision fp16: this CPU has no FP16 arithmetic (ARMv8.2-A FP16, e.g. "
                "Cortex-A55/A76); use precision fp32 or auto");
  }
  if (summary.has_int8) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED,
                "precision fp16: the model has int8 layers; half precision applies to float "
                "models (use auto or fp32)");
  }
  *fp16 = true;
  return RVGG_STATUS_OK;
}

void ApplyHalfPrecision(LayerDesc* layers, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) {
    LayerDesc& d = layers[i];
    if (d.compute_type != RVGG_DTYPE_FLOAT32) continue;
    d.compute_type = RVGG_DTYPE_FLOAT16;
    d.input_type = RVGG_DTYPE_FLOAT16;
    d.output_type = RVGG_DTYPE_FLOAT16;
  }
}

}  // namespace rvgg
