// Squeeze-excite as five XNNPACK operators over scratch vectors:
// pool -> fc(relu) -> fc -> sigmoid -> broadcast multiply (with the block's
// ReLU as the multiply's output clamp), in place on the activation. In fp16
// the same, with the sigmoid in float32 between two conversions (this
// XNNPACK has no fp16 sigmoid; it runs on one vector of channels).
#include <limits>

#include "runtime/src/memory.h"
#include "runtime/src/ops/xnnpack/xnnpack.h"
#include "runtime/src/plan.h"

namespace rvgg::xnn {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Vector slots inside the scratch area, each padded for XNNPACK's over-reads.
size_t SlotBytes(uint32_t count) {
  return AlignUp(count * sizeof(float) + kTensorTailBytes, kAlignment);
}

}  // namespace

size_t SqueezeExciteScratchBytes(const LayerDesc& d) {
  return 3 * SlotBytes(d.in_c) + SlotBytes(d.reduced);
}

rvgg_status CreateSqueezeExciteKernel(const LayerDesc& d, uint32_t, const Bindings& b,
                                      pthreadpool_t threadpool, Kernel** kernel,
                                      rvgg_message* message) {
  auto* scratch = static_cast<uint8_t*>(b.scratch);
  auto* pooled = reinterpret_cast<float*>(scratch);
  auto* hidden = reinterpret_cast<float*>(scratch + SlotBytes(d.in_c));
  auto* logits = reinterpret_cast<float*>(scratch + SlotBytes(d.in_c) + SlotBytes(d.reduced));
  auto* gate = reinterpret_cast<float*>(scratch + 2 * SlotBytes(d.in_c) + SlotBytes(d.reduced));
  auto* data = static_cast<float*>(b.output);
  const size_t pixels = size_t{d.in_h} * d.in_w;

  SequenceBuilder builder(d, threadpool);
  xnn_operator_t* pool = builder.Next();
  RVGG_RETURN_IF_ERROR(
      Check(xnn_create_global_average_pooling_nwc_f32(d.in_c, d.in_c, d.in_c, -kInf, kInf, 0, pool),
            d, "xnn_create_global_average_pooling_nwc_f32", message));
  RVGG_RETURN_IF_ERROR(
      Check(xnn_setup_global_average_pooling_nwc_f32(*pool, 1, pixels, data, pooled, threadpool), d,
            "xnn_setup_global_average_pooling_nwc_f32", message));

  xnn_operator_t* down = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(
      xnn_create_fully_connected_nc_f32(d.in_c, d.reduced, d.in_c, d.reduced, d.se_down_weights,
                                        d.se_down_bias, 0.0f, kInf, 0, down),
      d, "xnn_create_fully_connected_nc_f32", message));
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_fully_connected_nc_f32(*down, 1, pooled, hidden, threadpool),
                             d, "xnn_setup_fully_connected_nc_f32", message));

  xnn_operator_t* up = builder.Next();
  RVGG_RETURN_IF_ERROR(
      Check(xnn_create_fully_connected_nc_f32(d.reduced, d.in_c, d.reduced, d.in_c, d.se_up_weights,
                                              d.se_up_bias, -kInf, kInf, 0, up),
            d, "xnn_create_fully_connected_nc_f32", message));
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_fully_connected_nc_f32(*up, 1, hidden, logits, threadpool),
                             d, "xnn_setup_fully_connected_nc_f32", message));

  xnn_operator_t* sigmoid = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(xnn_create_sigmoid_nc_f32(d.in_c, d.in_c, d.in_c, 0, sigmoid), d,
                             "xnn_create_sigmoid_nc_f32", message));
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_sigmoid_nc_f32(*sigmoid, 1, logits, gate, threadpool), d,
                             "xnn_setup_sigmoid_nc_f32", message));

  xnn_operator_t* multiply = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(xnn_create_multiply_nd_f32(d.relu ? 0.0f : -kInf, kInf, 0, multiply),
                             d, "xnn_create_multiply_nd_f32", message));
  const size_t data_shape[2] = {pixels, d.in_c};
  const size_t gate_shape[2] = {1, d.in_c};
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_multiply_nd_f32(*multiply, 2, data_shape, 2, gate_shape,
                                                       data, gate, data, threadpool),
                             d, "xnn_setup_multiply_nd_f32", message));
  return builder.Finish(kernel, message);
}

size_t SqueezeExciteF16ScratchBytes(const LayerDesc& d) {
  // Four half vectors of channels and one of the reduced width (each in a
  // float slot), and the float32 logits and gate for the sigmoid.
  return 4 * SlotBytes(d.in_c) + SlotBytes(d.reduced) + 2 * SlotBytes(d.in_c);
}

rvgg_status CreateSqueezeExciteF16Kernel(const LayerDesc& d, uint32_t, const Bindings& b,
                                         pthreadpool_t threadpool, Kernel** kernel,
                                         rvgg_message* message) {
  auto* scratch = static_cast<uint8_t*>(b.scratch);
  const size_t c_slot = SlotBytes(d.in_c);
  void* pooled = scratch;
  void* hidden = scratch + c_slot;
  void* logits = scratch + c_slot + SlotBytes(d.reduced);
  void* gate = scratch + 2 * c_slot + SlotBytes(d.reduced);
  auto* logits32 = reinterpret_cast<float*>(scratch + 4 * c_slot + SlotBytes(d.reduced));
  auto* gate32 = reinterpret_cast<float*>(scratch + 5 * c_slot + SlotBytes(d.reduced));
  void* data = b.output;
  const size_t pixels = size_t{d.in_h} * d.in_w;
  constexpr uint32_t kStatic = XNN_FLAG_FP32_STATIC_WEIGHTS;

  SequenceBuilder builder(d, threadpool);
  xnn_operator_t* pool = builder.Next();
  RVGG_RETURN_IF_ERROR(
      Check(xnn_create_global_average_pooling_nwc_f16(d.in_c, d.in_c, d.in_c, -kInf, kInf, 0, pool),
            d, "xnn_create_global_average_pooling_nwc_f16", message));
  RVGG_RETURN_IF_ERROR(
      Check(xnn_setup_global_average_pooling_nwc_f16(*pool, 1, pixels, data, pooled, threadpool), d,
            "xnn_setup_global_average_pooling_nwc_f16", message));

  xnn_operator_t* down = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(
      xnn_create_fully_connected_nc_f16(d.in_c, d.reduced, d.in_c, d.reduced, d.se_down_weights,
                                        d.se_down_bias, 0.0f, kInf, kStatic, down),
      d, "xnn_create_fully_connected_nc_f16", message));
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_fully_connected_nc_f16(*down, 1, pooled, hidden, threadpool),
                             d, "xnn_setup_fully_connected_nc_f16", message));

  xnn_operator_t* up = builder.Next();
  RVGG_RETURN_IF_ERROR(
      Check(xnn_create_fully_connected_nc_f16(d.reduced, d.in_c, d.reduced, d.in_c, d.se_up_weights,
                                              d.se_up_bias, -kInf, kInf, kStatic, up),
            d, "xnn_create_fully_connected_nc_f16", message));
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_fully_connected_nc_f16(*up, 1, hidden, logits, threadpool),
                             d, "xnn_setup_fully_connected_nc_f16", message));

  xnn_operator_t* widen = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(xnn_create_convert_nc_f16_f32(d.in_c, d.in_c, d.in_c, 0, widen), d,
                             "xnn_create_convert_nc_f16_f32", message));
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_convert_nc_f16_f32(*widen, 1, logits, logits32, threadpool),
                             d, "xnn_setup_convert_nc_f16_f32", message));

  xnn_operator_t* sigmoid = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(xnn_create_sigmoid_nc_f32(d.in_c, d.in_c, d.in_c, 0, sigmoid), d,
                             "xnn_create_sigmoid_nc_f32", message));
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_sigmoid_nc_f32(*sigmoid, 1, logits32, gate32, threadpool),
                             d, "xnn_setup_sigmoid_nc_f32", message));

  xnn_operator_t* narrow = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(xnn_create_convert_nc_f32_f16(d.in_c, d.in_c, d.in_c, 0, narrow), d,
                             "xnn_create_convert_nc_f32_f16", message));
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_convert_nc_f32_f16(*narrow, 1, gate32, gate, threadpool),
                             d, "xnn_setup_convert_nc_f32_f16", message));

  xnn_operator_t* multiply = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(xnn_create_multiply_nd_f16(d.relu ? 0.0f : -kInf, kInf, 0, multiply),
                             d, "xnn_create_multiply_nd_f16", message));
  const size_t data_shape[2] = {pixels, d.in_c};
  const size_t gate_shape[2] = {1, d.in_c};
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_multiply_nd_f16(*multiply, 2, data_shape, 2, gate_shape,
                                                       data, gate, data, threadpool),
                             d, "xnn_setup_multiply_nd_f16", message));
  return builder.Finish(kernel, message);
}

}  // namespace rvgg::xnn
