// int8 Conv2D on XNNPACK's qc8 convolution (per-channel weight scales),
// created and set up at load like its float32 twin.
#include "runtime/src/ops/xnnpack/xnnpack.h"

namespace rvgg::xnn {

// Also runs int8 fully connected layers with per-channel scales, as a 1x1
// convolution over a 1x1 image (FullyConnected weights [out, in] are OHWI).
rvgg_status AddConv2DQc8(SequenceBuilder& builder, const LayerDesc& d, const Qs8Io& io,
                         rvgg_message* message) {
  const bool fc = d.kind == LayerKind::kFullyConnected;
  const uint32_t kernel_h = fc ? 1 : d.kernel_h, kernel_w = fc ? 1 : d.kernel_w;
  const uint32_t stride = fc ? 1 : d.stride, padding = fc ? 0 : d.padding;
  const uint32_t groups = fc ? 1 : d.groups;
  const int32_t qmin = d.relu && d.output_q.zero_point > INT8_MIN ? d.output_q.zero_point : INT8_MIN;
  xnn_operator_t* op = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(
      xnn_create_convolution2d_nhwc_qc8(
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

rvgg_status CreateConv2DQs8Kernel(const LayerDesc& d, const Bindings& b, pthreadpool_t threadpool,
                                  Kernel** kernel, rvgg_message* message) {
  SequenceBuilder builder(d, threadpool);
  const Qs8Io io = Qs8IoOf(d, b);
  RVGG_RETURN_IF_ERROR(AddInputQuantize(builder, d, io, message));
  RVGG_RETURN_IF_ERROR(AddConv2DQc8(builder, d, io, message));
  RVGG_RETURN_IF_ERROR(AddOutputDequantize(builder, d, io, message));
  return builder.Finish(kernel, message, "xnnpack qc8");
}

}  // namespace rvgg::xnn
