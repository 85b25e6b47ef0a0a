// Global average pooling: its registry row, its verify/describe step, and
// its reference kernels (float32 and int8) over the reference math.
#include "runtime/reference/reference.h"
#include "runtime/src/ops/reference_kernel.h"
#include "runtime/src/ops/registry.h"
#include "runtime/src/status.h"
#include "runtime/src/verify.h"
#if RVGG_WITH_XNNPACK
#include "runtime/src/ops/xnnpack/xnnpack.h"
#endif

namespace rvgg {
namespace {

rvgg_status Describe(const schema::Layer&, LayerDesc* d, uint64_t*, rvgg_message*) {
  d->out_h = d->out_w = 1;
  d->out_c = d->in_c;
  return RVGG_STATUS_OK;
}

rvgg_status CheckInt8(const LayerDesc& d, rvgg_message* message) {
  const LayerLabel label(d);
  // The int32 sum of (q - zero_point) over the pixels must not overflow.
  if (uint64_t{d.in_h} * d.in_w > kMaxInt8PoolPixels) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: %ux%u pixels are too many to pool in int8",
                label.text, d.in_h, d.in_w);
  }
  const float ratio = d.input_q.scale / d.output_q.scale;
  if (!(ratio >= kMinPoolScaleRatio && ratio < kMaxPoolScaleRatio)) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: input scale / output scale is %g, outside [2^-8, 2^8)", label.text,
                static_cast<double>(ratio));
  }
  return RVGG_STATUS_OK;
}

// The layer's parameters for the reference math (reference_kernel.h).
struct Reference {
  explicit Reference(const LayerDesc& d)
      : h(d.in_h), w(d.in_w), c(d.in_c), input_q(d.input_q), output_q(d.output_q) {}
  void operator()(const float* input, float* output, float*) const {
    ref::GlobalAveragePool(h, w, c, input, output);
  }
  void operator()(const int8_t* input, int8_t* output) const {
    ref::GlobalAveragePoolInt8(h, w, c, input_q, output_q, input, output);
  }

  uint32_t h, w, c;
  QuantParams input_q, output_q;
};

const KernelImpl kImpls[] = {
#if RVGG_WITH_XNNPACK
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT32, nullptr, nullptr,
     xnn::CreateGlobalAveragePoolKernel},
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT16, nullptr, nullptr,
     xnn::CreateGlobalAveragePoolF16Kernel},
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_INT8, nullptr, nullptr,
     xnn::CreateGlobalAveragePoolInt8Kernel},
#endif
    ReferenceImpl<Reference>::kFloat32,
    ReferenceImpl<Reference>::kInt8,
};

}  // namespace

const OpRegistration kGlobalAveragePoolOp = {schema::Op::GlobalAveragePool,
                                             RVGG_LAYER_GLOBAL_AVERAGE_POOL,
                                             "avgpool",
                                             "global avg pool",
                                             /*in_place=*/false,
                                             Describe,
                                             CheckInt8,
                                             kImpls,
                                             sizeof(kImpls) / sizeof(kImpls[0])};

}  // namespace rvgg
