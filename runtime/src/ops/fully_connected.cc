// Fully connected layer: its registry row, its verify/describe step, and its
// reference kernels (float32 and int8) over the reference math.
#include "runtime/reference/reference.h"
#include "runtime/src/ops/reference_kernel.h"
#include "runtime/src/ops/registry.h"
#include "runtime/src/status.h"
#include "runtime/src/verify.h"
#if RVGG_WITH_XNNPACK
#include "runtime/src/kernels/families.h"
#include "runtime/src/ops/qconv.h"
#include "runtime/src/ops/xnnpack/xnnpack.h"
#endif

namespace rvgg {
namespace {

rvgg_status Describe(const schema::Layer& layer, LayerDesc* d, uint64_t* bytes,
                     rvgg_message* message) {
  const schema::FullyConnected* op = layer.op_as_FullyConnected();
  const LayerLabel label(*d);
  if (op == nullptr) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: missing FullyConnected options",
                label.text);
  }
  if (d->in_h != 1 || d->in_w != 1) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: input is %ux%ux%u; a fully connected layer needs a pooled 1x1 input",
                label.text, d->in_h, d->in_w, d->in_c);
  }
  if (op->in_features() != d->in_c) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: in_features is %u but the previous layer gives %u", label.text,
                op->in_features(), d->in_c);
  }
  RVGG_RETURN_IF_ERROR(CheckActivation(op->activation(), *d, &d->relu, message));
  d->out_h = d->out_w = 1;
  d->out_c = op->out_features();
  if (d->out_c == 0 || d->out_c > kMaxChannels) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: out_features %u is outside 1..%u",
                label.text, d->out_c, kMaxChannels);
  }
  const uint32_t wdims[2] = {d->out_c, d->in_c};
  RVGG_RETURN_IF_ERROR(CheckWeightsAndBias(op->weights(), op->bias(), wdims, 2, d, bytes, message));
  d->macs = uint64_t{d->in_c} * d->out_c;
  return RVGG_STATUS_OK;
}

rvgg_status CheckInt8(const LayerDesc& d, rvgg_message* message) {
  return CheckAccumulatingInt8(d, d.in_c, message);
}

// The layer's parameters for the reference math (reference_kernel.h).
struct Reference : WeightedLayerParams {
  explicit Reference(const LayerDesc& d)
      : WeightedLayerParams(d), in(d.in_c), out(d.out_c), relu(d.relu) {}
  void operator()(const float* input, float* output, float*) const {
    ref::FullyConnected(in, out, input, weights, bias, relu, output);
  }
  void operator()(const int8_t* input, int8_t* output) const {
    ref::FullyConnectedInt8(in, out, input_q, output_q, input, weights_q, weight_scales, bias_q,
                            relu, output);
  }

  uint32_t in, out;
  bool relu;
};

#if RVGG_WITH_XNNPACK
size_t XnnpackF16Scratch(const LayerDesc& desc, uint32_t, uint32_t) {
  return xnn::FullyConnectedF16ScratchBytes(desc);
}
#endif

const KernelImpl kImpls[] = {
#if RVGG_WITH_XNNPACK
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT32, nullptr, nullptr, xnn::CreateFullyConnectedKernel},
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT16, nullptr, XnnpackF16Scratch,
     xnn::CreateFullyConnectedF16Kernel},
#if RVGG_HAVE_QCONV_NEONDOT
    QConvImpl<kernels::kQConvNeonDot>::kImpl,
#endif
#if RVGG_HAVE_QCONV_VNNI
    QConvImpl<kernels::kQConvAvx512Vnni>::kImpl,
    QConvImpl<kernels::kQConvAvxVnni>::kImpl,
#endif
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_INT8, nullptr, nullptr, xnn::CreateFullyConnectedInt8Kernel},
#endif
    ReferenceImpl<Reference>::kFloat32,
    ReferenceImpl<Reference>::kInt8,
};

}  // namespace

const OpRegistration kFullyConnectedOp = {schema::Op::FullyConnected,
                                          RVGG_LAYER_FULLY_CONNECTED,
                                          "fc",
                                          "fully connected",
                                          /*in_place=*/false,
                                          Describe,
                                          CheckInt8,
                                          kImpls,
                                          sizeof(kImpls) / sizeof(kImpls[0])};

}  // namespace rvgg
