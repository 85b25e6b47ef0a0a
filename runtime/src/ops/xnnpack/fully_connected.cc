#include <limits>

#include "runtime/src/ops/xnnpack/xnnpack.h"

namespace rvgg::xnn {

rvgg_status CreateFullyConnectedKernel(const LayerDesc& d, const Bindings& b,
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

}  // namespace rvgg::xnn
