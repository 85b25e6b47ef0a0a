// Fully connected layers on XNNPACK, float32 and int8. This XNNPACK's qs8
// fully connected operator takes one weight scale for the whole matrix; a
// classifier with per-channel scales runs as a qc8 1x1 convolution instead
// (same GEMM).
#include <limits>

#include "runtime/src/memory.h"
#include "runtime/src/ops/xnnpack/xnnpack.h"
#include "runtime/src/plan.h"

namespace rvgg::xnn {

rvgg_status CreateFullyConnectedKernel(const LayerDesc& d, uint32_t, const Bindings& b,
                                       pthreadpool_t threadpool, Kernel** kernel,
                                       rvgg_message* message) {
  SequenceBuilder builder(d, threadpool);
  xnn_operator_t* op = builder.Next();
  const float output_min = d.relu ? 0.0f : -std::numeric_limits<float>::infinity();
  RVGG_RETURN_IF_ERROR(Check(xnn_create_fully_connected_nc_f32(
                                 d.in_c, d.out_c, d.in_c, d.out_c, d.weights, d.bias, output_min,
                                 std::numeric_limits<float>::infinity(), /*flags=*/0, op),
                             d, "xnn_create_fully_connected_nc_f32", message));
  RVGG_RETURN_IF_ERROR(Check(
      xnn_setup_fully_connected_nc_f32(*op, /*batch_size=*/1, static_cast<const float*>(b.input),
                                       static_cast<float*>(b.output), threadpool),
      d, "xnn_setup_fully_connected_nc_f32", message));
  return builder.Finish(kernel, message);
}

namespace {

bool PerTensorWeights(const LayerDesc& d) {
  for (uint32_t o = 1; o < d.out_c; ++o) {
    if (d.weight_scales[o] != d.weight_scales[0]) return false;
  }
  return true;
}

}  // namespace

size_t FullyConnectedF16ScratchBytes(const LayerDesc& d) {
  return AlignUp((size_t{d.in_c} + d.out_c) * sizeof(float) + kTensorTailBytes, kAlignment);
}

// fp16 activations in and out, float32 arithmetic: a classifier sums
// in_features products, and an fp16 accumulator's rounding over a
// thousand of them would move the logits (the layer is a small part of
// the work). Its float32 vectors live in the scratch.
rvgg_status CreateFullyConnectedF16Kernel(const LayerDesc& d, uint32_t, const Bindings& b,
                                          pthreadpool_t threadpool, Kernel** kernel,
                                          rvgg_message* message) {
  float* input32 = static_cast<float*>(b.scratch);
  float* output32 = input32 + d.in_c;
  SequenceBuilder builder(d, threadpool);
  xnn_operator_t* widen = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(xnn_create_convert_nc_f16_f32(d.in_c, d.in_c, d.in_c, 0, widen), d,
                             "xnn_create_convert_nc_f16_f32", message));
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_convert_nc_f16_f32(*widen, 1, b.input, input32, threadpool),
                             d, "xnn_setup_convert_nc_f16_f32", message));
  xnn_operator_t* op = builder.Next();
  const float output_min = d.relu ? 0.0f : -std::numeric_limits<float>::infinity();
  RVGG_RETURN_IF_ERROR(Check(
      xnn_create_fully_connected_nc_f32(d.in_c, d.out_c, d.in_c, d.out_c, d.weights, d.bias,
                                        output_min, std::numeric_limits<float>::infinity(),
                                        /*flags=*/0, op),
      d, "xnn_create_fully_connected_nc_f32", message));
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_fully_connected_nc_f32(*op, /*batch_size=*/1, input32,
                                                              output32, threadpool),
                             d, "xnn_setup_fully_connected_nc_f32", message));
  xnn_operator_t* narrow = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(xnn_create_convert_nc_f32_f16(d.out_c, d.out_c, d.out_c, 0, narrow),
                             d, "xnn_create_convert_nc_f32_f16", message));
  RVGG_RETURN_IF_ERROR(
      Check(xnn_setup_convert_nc_f32_f16(*narrow, 1, output32, b.output, threadpool), d,
            "xnn_setup_convert_nc_f32_f16", message));
  return builder.Finish(kernel, message);
}

rvgg_status CreateFullyConnectedInt8Kernel(const LayerDesc& d, uint32_t, const Bindings& b,
                                           pthreadpool_t threadpool, Kernel** kernel,
                                           rvgg_message* message) {
  SequenceBuilder builder(d, threadpool);
  const Int8Io io = Int8IoOf(d, b);
  RVGG_RETURN_IF_ERROR(AddInputQuantize(builder, d, io, message));
  const bool per_tensor = PerTensorWeights(d);
  if (per_tensor) {
    const int32_t qmin =
        d.relu && d.output_q.zero_point > INT8_MIN ? d.output_q.zero_point : INT8_MIN;
    xnn_operator_t* op = builder.Next();
    RVGG_RETURN_IF_ERROR(
        Check(xnn_create_fully_connected_nc_qs8(
                  d.in_c, d.out_c, d.in_c, d.out_c, static_cast<int8_t>(d.input_q.zero_point),
                  d.input_q.scale, d.weight_scales[0], d.weights_q, d.bias_q,
                  static_cast<int8_t>(d.output_q.zero_point), d.output_q.scale,
                  static_cast<int8_t>(qmin), INT8_MAX, /*flags=*/0, op),
              d, "xnn_create_fully_connected_nc_qs8", message));
    RVGG_RETURN_IF_ERROR(Check(
        xnn_setup_fully_connected_nc_qs8(*op, /*batch_size=*/1, io.input, io.output, threadpool), d,
        "xnn_setup_fully_connected_nc_qs8", message));
  } else {
    RVGG_RETURN_IF_ERROR(AddConv2DQc8(builder, d, io, message));
  }
  RVGG_RETURN_IF_ERROR(AddOutputDequantize(builder, d, io, message));
  return builder.Finish(kernel, message, per_tensor ? "xnnpack qs8" : "xnnpack qc8 1x1");
}

}  // namespace rvgg::xnn
