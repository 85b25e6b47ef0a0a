// Global average pooling: its registry row, its verify/describe step, and
// its reference kernels (float32 and int8) over the reference math.
#include "runtime/reference/reference.h"
#include "runtime/src/ops/int8_io.h"
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

class ReferenceKernel final : public Kernel {
 public:
  ReferenceKernel(const LayerDesc& d, const Bindings& b)
      : h_(d.in_h),
        w_(d.in_w),
        c_(d.in_c),
        input_(static_cast<const float*>(b.input)),
        output_(static_cast<float*>(b.output)) {}
  rvgg_status Run() override {
    ref::GlobalAveragePool(h_, w_, c_, input_, output_);
    return RVGG_STATUS_OK;
  }
  const char* name() const override { return "reference"; }

 private:
  uint32_t h_, w_, c_;
  const float* input_;
  float* output_;
};

rvgg_status CreateReference(const LayerDesc& desc, uint32_t, const Bindings& bindings,
                            pthreadpool_t, Kernel** kernel, rvgg_message* message) {
  return MakeKernel<ReferenceKernel>(desc, kernel, message, desc, bindings);
}

rvgg_status CreateReferenceInt8(const LayerDesc& desc, uint32_t, const Bindings& bindings,
                                pthreadpool_t, Kernel** kernel, rvgg_message* message) {
  struct Op {
    uint32_t h, w, c;
    QuantParams input_q, output_q;
    void operator()(const int8_t* input, int8_t* output) const {
      ref::GlobalAveragePoolInt8(h, w, c, input_q, output_q, input, output);
    }
  };
  const Op op{desc.in_h, desc.in_w, desc.in_c, desc.input_q, desc.output_q};
  return MakeInt8ReferenceKernel(desc, bindings, op, kernel, message);
}

const KernelImpl kImpls[] = {
#if RVGG_WITH_XNNPACK
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT32, nullptr, nullptr,
     xnn::CreateGlobalAveragePoolKernel},
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT16, nullptr, nullptr,
     xnn::CreateGlobalAveragePoolF16Kernel},
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_INT8, nullptr, nullptr,
     xnn::CreateGlobalAveragePoolInt8Kernel},
#endif
    {RVGG_BACKEND_REFERENCE, RVGG_DTYPE_FLOAT32, nullptr, nullptr, CreateReference},
    {RVGG_BACKEND_REFERENCE, RVGG_DTYPE_INT8, nullptr, nullptr, CreateReferenceInt8},
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
