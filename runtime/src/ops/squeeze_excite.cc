// Squeeze-excite (float32 only): its registry row, its verify/describe step,
// and its reference kernel over the reference math.
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

rvgg_status Describe(const schema::Layer& layer, LayerDesc* d, uint64_t* bytes,
                     rvgg_message* message) {
  const schema::SqueezeExcite* op = layer.op_as_SqueezeExcite();
  const LayerLabel label(*d);
  if (op == nullptr) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: missing SqueezeExcite options",
                label.text);
  }
  if (op->channels() != d->in_c) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: channels is %u but the previous layer gives %u", label.text, op->channels(),
                d->in_c);
  }
  d->reduced = op->reduced();
  if (d->reduced == 0 || d->reduced > kMaxChannels) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: reduced width %u is outside 1..%u",
                label.text, d->reduced, kMaxChannels);
  }
  RVGG_RETURN_IF_ERROR(CheckActivation(op->activation(), *d, &d->relu, message));
  d->out_h = d->in_h;
  d->out_w = d->in_w;
  d->out_c = d->in_c;
  const uint32_t down_dims[2] = {d->reduced, d->in_c};
  const uint32_t down_bias_dims[1] = {d->reduced};
  const uint32_t up_dims[2] = {d->in_c, d->reduced};
  const uint32_t up_bias_dims[1] = {d->in_c};
  RVGG_RETURN_IF_ERROR(CheckF32(op->down_weights(), *d, "down weights", down_dims, 2,
                                &d->se_down_weights, &d->parameters, bytes, message));
  RVGG_RETURN_IF_ERROR(CheckF32(op->down_bias(), *d, "down bias", down_bias_dims, 1,
                                &d->se_down_bias, &d->parameters, bytes, message));
  RVGG_RETURN_IF_ERROR(CheckF32(op->up_weights(), *d, "up weights", up_dims, 2, &d->se_up_weights,
                                &d->parameters, bytes, message));
  RVGG_RETURN_IF_ERROR(CheckF32(op->up_bias(), *d, "up bias", up_bias_dims, 1, &d->se_up_bias,
                                &d->parameters, bytes, message));
  d->macs = 2 * uint64_t{d->in_c} * d->reduced;
  return RVGG_STATUS_OK;
}

// The layer's parameters for the reference math (reference_kernel.h): in
// place on the output, with the pooled and hidden vectors in the scratch.
struct Reference {
  explicit Reference(const LayerDesc& d) : desc(d) {}
  void operator()(const float*, float* data, float* scratch) const {
    ref::SqueezeExcite(desc.in_h, desc.in_w, desc.in_c, desc.reduced, desc.se_down_weights,
                       desc.se_down_bias, desc.se_up_weights, desc.se_up_bias, desc.relu, data,
                       scratch);
  }

  LayerDesc desc;
};

size_t ReferenceScratch(const LayerDesc& desc, uint32_t, uint32_t) {
  return (size_t{desc.in_c} + desc.reduced) * sizeof(float);
}

#if RVGG_WITH_XNNPACK
size_t XnnpackScratch(const LayerDesc& desc, uint32_t, uint32_t) {
  return xnn::SqueezeExciteScratchBytes(desc);
}
size_t XnnpackF16Scratch(const LayerDesc& desc, uint32_t, uint32_t) {
  return xnn::SqueezeExciteF16ScratchBytes(desc);
}
#endif

const KernelImpl kImpls[] = {
#if RVGG_WITH_XNNPACK
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT32, nullptr, XnnpackScratch,
     xnn::CreateSqueezeExciteKernel},
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT16, nullptr, XnnpackF16Scratch,
     xnn::CreateSqueezeExciteF16Kernel},
#endif
    {RVGG_BACKEND_REFERENCE, RVGG_DTYPE_FLOAT32, nullptr, ReferenceScratch,
     ReferenceImpl<Reference>::CreateFloat32},
};

}  // namespace

const OpRegistration kSqueezeExciteOp = {schema::Op::SqueezeExcite,
                                         RVGG_LAYER_SQUEEZE_EXCITE,
                                         "se",
                                         "squeeze-excite",
                                         /*in_place=*/true,
                                         Describe,
                                         /*check_int8=*/nullptr,
                                         kImpls,
                                         sizeof(kImpls) / sizeof(kImpls[0])};

}  // namespace rvgg
