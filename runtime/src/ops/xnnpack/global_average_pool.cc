// Global average pooling on XNNPACK, float32 and int8.
#include <limits>

#include "runtime/src/ops/xnnpack/xnnpack.h"

namespace rvgg::xnn {

rvgg_status CreateGlobalAveragePoolKernel(const LayerDesc& d, uint32_t, const Bindings& b,
                                          pthreadpool_t threadpool, Kernel** kernel,
                                          rvgg_message* message) {
  SequenceBuilder builder(d, threadpool);
  xnn_operator_t* op = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(xnn_create_global_average_pooling_nwc_f32(
                                 d.in_c, d.in_c, d.out_c, -std::numeric_limits<float>::infinity(),
                                 std::numeric_limits<float>::infinity(), /*flags=*/0, op),
                             d, "xnn_create_global_average_pooling_nwc_f32", message));
  RVGG_RETURN_IF_ERROR(
      Check(xnn_setup_global_average_pooling_nwc_f32(*op, /*batch_size=*/1, size_t{d.in_h} * d.in_w,
                                                     static_cast<const float*>(b.input),
                                                     static_cast<float*>(b.output), threadpool),
            d, "xnn_setup_global_average_pooling_nwc_f32", message));
  return builder.Finish(kernel, message);
}

rvgg_status CreateGlobalAveragePoolF16Kernel(const LayerDesc& d, uint32_t, const Bindings& b,
                                             pthreadpool_t threadpool, Kernel** kernel,
                                             rvgg_message* message) {
  SequenceBuilder builder(d, threadpool);
  xnn_operator_t* op = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(xnn_create_global_average_pooling_nwc_f16(
                                 d.in_c, d.in_c, d.out_c, -std::numeric_limits<float>::infinity(),
                                 std::numeric_limits<float>::infinity(), /*flags=*/0, op),
                             d, "xnn_create_global_average_pooling_nwc_f16", message));
  RVGG_RETURN_IF_ERROR(Check(
      xnn_setup_global_average_pooling_nwc_f16(*op, /*batch_size=*/1, size_t{d.in_h} * d.in_w,
                                               b.input, b.output, threadpool),
      d, "xnn_setup_global_average_pooling_nwc_f16", message));
  return builder.Finish(kernel, message);
}

rvgg_status CreateGlobalAveragePoolInt8Kernel(const LayerDesc& d, uint32_t, const Bindings& b,
                                              pthreadpool_t threadpool, Kernel** kernel,
                                              rvgg_message* message) {
  SequenceBuilder builder(d, threadpool);
  const Int8Io io = Int8IoOf(d, b);
  RVGG_RETURN_IF_ERROR(AddInputQuantize(builder, d, io, message));
  xnn_operator_t* op = builder.Next();
  RVGG_RETURN_IF_ERROR(
      Check(xnn_create_global_average_pooling_nwc_qs8(
                d.in_c, d.in_c, d.out_c, static_cast<int8_t>(d.input_q.zero_point), d.input_q.scale,
                static_cast<int8_t>(d.output_q.zero_point), d.output_q.scale, INT8_MIN, INT8_MAX,
                /*flags=*/0, op),
            d, "xnn_create_global_average_pooling_nwc_qs8", message));
  RVGG_RETURN_IF_ERROR(
      Check(xnn_setup_global_average_pooling_nwc_qs8(*op, /*batch_size=*/1, size_t{d.in_h} * d.in_w,
                                                     io.input, io.output, threadpool),
            d, "xnn_setup_global_average_pooling_nwc_qs8", message));
  RVGG_RETURN_IF_ERROR(AddOutputDequantize(builder, d, io, message));
  return builder.Finish(kernel, message, "xnnpack qs8");
}

}  // namespace rvgg::xnn
