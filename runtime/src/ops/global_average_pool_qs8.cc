// int8 global average pooling, reference.
#include "runtime/src/ops/qs8.h"
#include "runtime/src/ops/reference.h"

namespace rvgg::ref {

void GlobalAveragePoolQs8(uint32_t height, uint32_t width, uint32_t channels,
                          QuantParams input_q, QuantParams output_q, const int8_t* input,
                          int8_t* output) {
  const size_t pixels = static_cast<size_t>(height) * width;
  // XNNPACK folds the zero point into the accumulator's start value and the
  // 1/pixels into the requantization scale, evaluated in this order.
  const int32_t start = -static_cast<int32_t>(pixels) * input_q.zero_point;
  const float scale = input_q.scale / (output_q.scale * static_cast<float>(pixels));
  for (uint32_t c = 0; c < channels; ++c) {
    int32_t acc = start;
    for (size_t p = 0; p < pixels; ++p) acc += input[p * channels + c];
    output[c] = Requantize(acc, scale, output_q.zero_point, -128, 127);
  }
}

rvgg_status CreateGlobalAveragePoolQs8ReferenceKernel(const LayerDesc& desc,
                                                      const Bindings& bindings, Kernel** kernel,
                                                      rvgg_message* message) {
  struct Op {
    uint32_t h, w, c;
    QuantParams input_q, output_q;
    void operator()(const int8_t* input, int8_t* output) const {
      GlobalAveragePoolQs8(h, w, c, input_q, output_q, input, output);
    }
  };
  const Op op{desc.in_h, desc.in_w, desc.in_c, desc.input_q, desc.output_q};
  return MakeQs8ReferenceKernel(desc, bindings, op, kernel, message);
}

}  // namespace rvgg::ref
