// Conv2D on XNNPACK: the operator is created (weights packed) and set up
// (input/output bound into the arena, indirection buffer built) at load, so
// running it allocates nothing.
#include "runtime/src/ops/xnnpack/xnnpack.h"

#include <cstdint>
#include <limits>

namespace rvgg::xnn {

rvgg_status CreateConv2DKernel(const LayerDesc& d, const Bindings& b, pthreadpool_t threadpool,
                               Kernel** kernel, rvgg_message* message) {
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
                d.index, d.kind_name(), d.name, d.out_h, d.out_w);
  }
  SequenceBuilder builder(d, threadpool);
  xnn_operator_t* op = builder.Next();
  const float output_min = d.relu ? 0.0f : -std::numeric_limits<float>::infinity();
  const float output_max = std::numeric_limits<float>::infinity();
  RVGG_RETURN_IF_ERROR(Check(
      xnn_create_convolution2d_nhwc_f32(d.padding, d.padding, d.padding, d.padding, d.kernel_h,
                                        d.kernel_w, d.stride, d.stride, /*dilation=*/1, 1,
                                        d.groups, d.in_c / d.groups, d.out_c / d.groups, d.in_c,
                                        d.out_c, d.weights, d.bias, output_min, output_max,
                                        /*flags=*/0, op),
      d, "xnn_create_convolution2d_nhwc_f32", message));
  RVGG_RETURN_IF_ERROR(Check(xnn_setup_convolution2d_nhwc_f32(
                                 *op, /*batch_size=*/1, d.in_h, d.in_w,
                                 static_cast<const float*>(b.input),
                                 static_cast<float*>(b.output), threadpool),
                             d, "xnn_setup_convolution2d_nhwc_f32", message));
  return builder.Finish(kernel, message);
}

}  // namespace rvgg::xnn
