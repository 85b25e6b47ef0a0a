// float32 <-> int8 conversions at the edges of int8 layers, on XNNPACK.
#include "runtime/src/ops/xnnpack/xnnpack.h"

namespace rvgg::xnn {
namespace {

// Activations are [pixels, channels]; the conversions see them as such.
size_t Pixels(size_t elements, uint32_t channels) { return elements / channels; }

}  // namespace

rvgg_status CreateInputQuantize(const LayerDesc& d, const Int8Io& io, pthreadpool_t threadpool,
                                xnn_operator_t* op, rvgg_message* message) {
  if (io.float_input == nullptr) return RVGG_STATUS_OK;
  RVGG_RETURN_IF_ERROR(
      Check(xnn_create_convert_nc_f32_qs8(d.in_c, d.in_c, d.in_c, io.input_q.scale,
                                          static_cast<int8_t>(io.input_q.zero_point), INT8_MIN,
                                          INT8_MAX, /*flags=*/0, op),
            d, "xnn_create_convert_nc_f32_qs8", message));
  return Check(xnn_setup_convert_nc_f32_qs8(*op, Pixels(io.input_elements, d.in_c), io.float_input,
                                            io.quantized_input, threadpool),
               d, "xnn_setup_convert_nc_f32_qs8", message);
}

rvgg_status AddInputQuantize(SequenceBuilder& builder, const LayerDesc& d, const Int8Io& io,
                             rvgg_message* message) {
  if (io.float_input == nullptr) return RVGG_STATUS_OK;
  return CreateInputQuantize(d, io, builder.threadpool(), builder.Next(), message);
}

rvgg_status CreateOutputDequantize(const LayerDesc& d, const Int8Io& io, pthreadpool_t threadpool,
                                   xnn_operator_t* op, rvgg_message* message) {
  if (io.float_output == nullptr) return RVGG_STATUS_OK;
  RVGG_RETURN_IF_ERROR(Check(
      xnn_create_convert_nc_qs8_f32(d.out_c, d.out_c, d.out_c, io.output_q.scale,
                                    static_cast<int8_t>(io.output_q.zero_point), /*flags=*/0, op),
      d, "xnn_create_convert_nc_qs8_f32", message));
  return Check(xnn_setup_convert_nc_qs8_f32(*op, Pixels(io.output_elements, d.out_c), io.output,
                                            io.float_output, threadpool),
               d, "xnn_setup_convert_nc_qs8_f32", message);
}

rvgg_status AddOutputDequantize(SequenceBuilder& builder, const LayerDesc& d, const Int8Io& io,
                                rvgg_message* message) {
  if (io.float_output == nullptr) return RVGG_STATUS_OK;
  return CreateOutputDequantize(d, io, builder.threadpool(), builder.Next(), message);
}

}  // namespace rvgg::xnn
