// Conv2D on XNNPACK, float32 and int8 (qc8: per-channel weight scales): the
// operator is created (weights packed) and set up (input/output bound into
// the arena, indirection buffer built) at load, so running it allocates
// nothing.
#include <cstdint>
#include <limits>

#include "runtime/src/ops/xnnpack/xnnpack.h"

namespace rvgg::xnn {

namespace {

// A float convolution in float32 or, with `half`, fp16 activations (the
// weights and bias stay float32 in the file; XNNPACK converts them while
// packing).
rvgg_status CreateFloatConv2D(const LayerDesc& d, const Bindings& b, pthreadpool_t threadpool,
                              bool half, Kernel** kernel, rvgg_message* message) {
  // XNNPACK sizes the indirection buffer (a pointer per kernel tap per output
  // pixel, rounded up to its tiles) in size_t without an overflow check; on a
  // 32-bit target a large enough layer would wrap that product and get a
  // short buffer. Refuse first, with a bound above any tiling it uses.
  const uint64_t indirection_bound =
      (uint64_t{d.out_h} + 1) * (uint64_t{d.out_w} + 64) * 32 * sizeof(void*);
  if (indirection_bound > SIZE_MAX / 2) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED,
                "layer %u (%s '%.80s'): %ux%u outputs need more indirection memory than this "
                "target can address",
                d.index, d.label(), d.name, d.out_h, d.out_w);
  }
  SequenceBuilder builder(d, threadpool);
  xnn_operator_t* op = builder.Next();
  const float output_min = d.relu ? 0.0f : -std::numeric_limits<float>::infinity();
  const float output_max = std::numeric_limits<float>::infinity();
  const uint32_t p = d.padding, k_h = d.kernel_h, k_w = d.kernel_w, s = d.stride, g = d.groups;
  if (half) {
    RVGG_RETURN_IF_ERROR(Check(
        xnn_create_convolution2d_nhwc_f16(p, p, p, p, k_h, k_w, s, s, /*dilation=*/1, 1, g,
                                          d.in_c / g, d.out_c / g, d.in_c, d.out_c, d.weights,
                                          d.bias, output_min, output_max,
                                          XNN_FLAG_FP32_STATIC_WEIGHTS, op),
        d, "xnn_create_convolution2d_nhwc_f16", message));
    RVGG_RETURN_IF_ERROR(Check(xnn_setup_convolution2d_nhwc_f16(*op, /*batch_size=*/1, d.in_h,
                                                                d.in_w, b.input, b.output,
                                                                threadpool),
                               d, "xnn_setup_convolution2d_nhwc_f16", message));
  } else {
    RVGG_RETURN_IF_ERROR(Check(
        xnn_create_convolution2d_nhwc_f32(p, p, p, p, k_h, k_w, s, s, /*dilation=*/1, 1, g,
                                          d.in_c / g, d.out_c / g, d.in_c, d.out_c, d.weights,
                                          d.bias, output_min, output_max, /*flags=*/0, op),
        d, "xnn_create_convolution2d_nhwc_f32", message));
    RVGG_RETURN_IF_ERROR(Check(
        xnn_setup_convolution2d_nhwc_f32(*op, /*batch_size=*/1, d.in_h, d.in_w,
                                         static_cast<const float*>(b.input),
                                         static_cast<float*>(b.output), threadpool),
        d, "xnn_setup_convolution2d_nhwc_f32", message));
  }
  return builder.Finish(kernel, message);
}

}  // namespace

rvgg_status CreateConv2DKernel(const LayerDesc& d, uint32_t, const Bindings& b,
                               pthreadpool_t threadpool, Kernel** kernel, rvgg_message* message) {
  return CreateFloatConv2D(d, b, threadpool, /*half=*/false, kernel, message);
}

rvgg_status CreateConv2DF16Kernel(const LayerDesc& d, uint32_t, const Bindings& b,
                                  pthreadpool_t threadpool, Kernel** kernel,
                                  rvgg_message* message) {
  return CreateFloatConv2D(d, b, threadpool, /*half=*/true, kernel, message);
}

// Also runs int8 fully connected layers with per-channel scales, as a 1x1
// convolution over a 1x1 image (FullyConnected weights [out, in] are OHWI).
rvgg_status AddConv2DQc8(SequenceBuilder& builder, const LayerDesc& d, const Int8Io& io,
                         rvgg_message* message) {
  const bool fc = d.op == schema::Op::FullyConnected;
  const uint32_t kernel_h = fc ? 1 : d.kernel_h, kernel_w = fc ? 1 : d.kernel_w;
  const uint32_t stride = fc ? 1 : d.stride, padding = fc ? 0 : d.padding;
  const uint32_t groups = fc ? 1 : d.groups;
  const int32_t qmin =
      d.relu && d.output_q.zero_point > INT8_MIN ? d.output_q.zero_point : INT8_MIN;
  xnn_operator_t* op = builder.Next();
  RVGG_RETURN_IF_ERROR(
      Check(xnn_create_convolution2d_nhwc_qc8(
                padding, padding, padding, padding, kernel_h, kernel_w, stride, stride,
                /*dilation=*/1, 1, groups, d.in_c / groups, d.out_c / groups, d.in_c, d.out_c,
                static_cast<int8_t>(d.input_q.zero_point), d.input_q.scale, d.weight_scales,
                d.weights_q, d.bias_q, static_cast<int8_t>(d.output_q.zero_point), d.output_q.scale,
                static_cast<int8_t>(qmin), INT8_MAX, /*flags=*/0, op),
            d, "xnn_create_convolution2d_nhwc_qc8", message));
  return Check(xnn_setup_convolution2d_nhwc_qc8(*op, /*batch_size=*/1, d.in_h, d.in_w, io.input,
                                                io.output, builder.threadpool()),
               d, "xnn_setup_convolution2d_nhwc_qc8", message);
}

rvgg_status CreateConv2DInt8Kernel(const LayerDesc& d, uint32_t, const Bindings& b,
                                   pthreadpool_t threadpool, Kernel** kernel,
                                   rvgg_message* message) {
  SequenceBuilder builder(d, threadpool);
  const Int8Io io = Int8IoOf(d, b);
  RVGG_RETURN_IF_ERROR(AddInputQuantize(builder, d, io, message));
  RVGG_RETURN_IF_ERROR(AddConv2DQc8(builder, d, io, message));
  RVGG_RETURN_IF_ERROR(AddOutputDequantize(builder, d, io, message));
  return builder.Finish(kernel, message, "xnnpack qc8");
}

}  // namespace rvgg::xnn
