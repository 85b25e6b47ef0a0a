// Conv2D: its registry row, its verify/describe step, and its reference
// kernels (float32 and int8) over the reference math. The XNNPACK kernels
// are in xnnpack/conv2d.cc, the Winograd one in winograd/.
#include "runtime/reference/reference.h"
#include "runtime/src/ops/reference_kernel.h"
#include "runtime/src/ops/registry.h"
#include "runtime/src/status.h"
#include "runtime/src/verify.h"
#if RVGG_WITH_XNNPACK
#include "runtime/src/kernels/families.h"
#include "runtime/src/ops/qconv.h"
#include "runtime/src/ops/winograd/winograd.h"
#include "runtime/src/ops/xnnpack/xnnpack.h"
#endif

namespace rvgg {
namespace {

ref::Conv2DShape ShapeOf(const LayerDesc& d) {
  return ref::Conv2DShape{d.in_h,     d.in_w,     d.in_c,   d.out_h,   d.out_w,  d.out_c,
                          d.kernel_h, d.kernel_w, d.stride, d.padding, d.groups, d.relu};
}

rvgg_status Describe(const schema::Layer& layer, LayerDesc* d, uint64_t* bytes,
                     rvgg_message* message) {
  const schema::Conv2D* op = layer.op_as_Conv2D();
  if (op == nullptr) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: missing Conv2D options",
                LayerLabel(*d).text);
  }
  d->kernel_h = op->kernel_h();
  d->kernel_w = op->kernel_w();
  d->stride = op->stride();
  d->padding = op->padding();
  d->groups = op->groups();
  d->relu = op->activation() == schema::Activation::Relu;
  const LayerLabel label(*d);
  const bool k3 = d->kernel_h == 3 && d->kernel_w == 3;
  const bool k1 = d->kernel_h == 1 && d->kernel_w == 1;
  if (!k3 && !k1) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: kernel %ux%u is not supported (3x3 or 1x1)",
                label.text, d->kernel_h, d->kernel_w);
  }
  if (d->stride != 1 && d->stride != 2) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: stride %u is not supported (1 or 2)",
                label.text, d->stride);
  }
  if (d->padding >= d->kernel_h) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED,
                "%s: padding %u is not supported for a %ux%u kernel", label.text, d->padding,
                d->kernel_h, d->kernel_w);
  }
  RVGG_RETURN_IF_ERROR(CheckActivation(op->activation(), *d, &d->relu, message));
  if (op->in_channels() != d->in_c) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: in_channels is %u but the previous layer gives %u", label.text,
                op->in_channels(), d->in_c);
  }
  d->out_c = op->out_channels();
  if (d->out_c == 0 || d->out_c > kMaxChannels) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: out_channels %u is outside 1..%u",
                label.text, d->out_c, kMaxChannels);
  }
  if (d->groups == 0 || d->in_c % d->groups != 0 || d->out_c % d->groups != 0) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: groups %u must divide in_channels %u and out_channels %u", label.text,
                d->groups, d->in_c, d->out_c);
  }
  const uint64_t padded_h = uint64_t{d->in_h} + 2u * d->padding;
  const uint64_t padded_w = uint64_t{d->in_w} + 2u * d->padding;
  if (padded_h < d->kernel_h || padded_w < d->kernel_w) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: input %ux%u is smaller than the kernel",
                label.text, d->in_h, d->in_w);
  }
  d->out_h = static_cast<uint32_t>((padded_h - d->kernel_h) / d->stride + 1);
  d->out_w = static_cast<uint32_t>((padded_w - d->kernel_w) / d->stride + 1);

  const uint32_t group_in = d->in_c / d->groups;
  const uint32_t wdims[4] = {d->out_c, d->kernel_h, d->kernel_w, group_in};
  RVGG_RETURN_IF_ERROR(CheckWeightsAndBias(op->weights(), op->bias(), wdims, 4, d, bytes, message));
  d->macs = uint64_t{d->out_h} * d->out_w * d->out_c * group_in * d->kernel_h * d->kernel_w;
  return RVGG_STATUS_OK;
}

rvgg_status CheckInt8(const LayerDesc& d, rvgg_message* message) {
  return CheckAccumulatingInt8(d, uint64_t{d.in_c / d.groups} * d.kernel_h * d.kernel_w, message);
}

// The layer's parameters for the reference math (reference_kernel.h).
struct Reference : WeightedLayerParams {
  explicit Reference(const LayerDesc& d) : WeightedLayerParams(d), shape(ShapeOf(d)) {}
  void operator()(const float* input, float* output, float*) const {
    ref::Conv2D(shape, input, weights, bias, output);
  }
  void operator()(const int8_t* input, int8_t* output) const {
    ref::Conv2DInt8(shape, input_q, output_q, input, weights_q, weight_scales, bias_q, output);
  }

  ref::Conv2DShape shape;
};

#if RVGG_WITH_XNNPACK
bool WinogradApplies(const LayerDesc&, uint32_t tile) {
  return tile != winograd::kDirect && tile != winograd::kGemmDirect;
}
bool GemmDirectApplies(const LayerDesc& desc, uint32_t variant) {
  return variant == winograd::kGemmDirect && winograd::GemmDirectApplies(desc);
}
size_t GemmDirectScratch(const LayerDesc& desc, uint32_t, uint32_t threads) {
  return winograd::GemmDirectScratchBytes(desc, threads);
}
rvgg_status CreateGemmDirect(const LayerDesc& desc, uint32_t, const Bindings& bindings,
                             pthreadpool_t threadpool, Kernel** kernel, rvgg_message* message) {
  return winograd::CreateGemmConv2DKernel(desc, bindings, threadpool, kernel, message);
}
size_t WinogradScratch(const LayerDesc& desc, uint32_t tile, uint32_t threads) {
  return winograd::ScratchBytes(desc, tile, threads);
}
#endif

const KernelImpl kImpls[] = {
#if RVGG_WITH_XNNPACK
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT32, GemmDirectApplies, GemmDirectScratch,
     CreateGemmDirect},
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT32, WinogradApplies, WinogradScratch,
     winograd::CreateConv2DKernel},
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT32, nullptr, nullptr, xnn::CreateConv2DKernel},
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT16, WinogradApplies, WinogradScratch,
     winograd::CreateConv2DKernel},
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT16, nullptr, nullptr, xnn::CreateConv2DF16Kernel},
#if RVGG_HAVE_QCONV_NEONDOT
    QConvImpl<kernels::kQConvNeonDot>::kImpl,
#endif
#if RVGG_HAVE_QCONV_WINOGRAD
    QConvImpl<kernels::kQConvWinogradNeon>::kChosenImpl,
#endif
#if RVGG_HAVE_QCONV_VNNI
    QConvImpl<kernels::kQConvAvx512Vnni>::kImpl,
    QConvImpl<kernels::kQConvAvxVnni>::kImpl,
#endif
    {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_INT8, nullptr, nullptr, xnn::CreateConv2DInt8Kernel},
#endif
    ReferenceImpl<Reference>::kFloat32,
    ReferenceImpl<Reference>::kInt8,
};

}  // namespace

const OpRegistration kConv2DOp = {
    schema::Op::Conv2D, RVGG_LAYER_CONV2D, "conv",    "conv",
    /*in_place=*/false, Describe,          CheckInt8, kImpls, sizeof(kImpls) / sizeof(kImpls[0])};

}  // namespace rvgg
