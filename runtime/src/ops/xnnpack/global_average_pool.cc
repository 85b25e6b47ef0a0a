#include <limits>

#include "runtime/src/ops/xnnpack/xnnpack.h"

namespace rvgg::xnn {

rvgg_status CreateGlobalAveragePoolKernel(const LayerDesc& d, const Bindings& b,
                                          pthreadpool_t threadpool, Kernel** kernel,
                                          rvgg_message* message) {
  SequenceBuilder builder(d, threadpool);
  xnn_operator_t* op = builder.Next();
  RVGG_RETURN_IF_ERROR(Check(xnn_create_global_average_pooling_nwc_f32(
                                 d.in_c, d.in_c, d.out_c, -std::numeric_limits<float>::infinity(),
                                 std::numeric_limits<float>::infinity(), /*flags=*/0, op),
                             d, "xnn_create_global_average_pooling_nwc_f32", message));
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_global_average_pooling_nwc_f32(
                                 *op, /*batch_size=*/1, size_t{d.in_h} * d.in_w,
                                 static_cast<const float*>(b.input),
                                 static_cast<float*>(b.output), threadpool),
                             d, "xnn_setup_global_average_pooling_nwc_f32", message));
  return builder.Finish(kernel, message);
}

}  // namespace rvgg::xnn
