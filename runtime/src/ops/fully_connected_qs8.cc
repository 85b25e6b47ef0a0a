// int8 fully connected layer, reference: per-output-channel weight scales.
#include "runtime/src/ops/qs8.h"
#include "runtime/src/ops/reference.h"

namespace rvgg::ref {

void FullyConnectedQs8(uint32_t in_features, uint32_t out_features, QuantParams input_q,
                       QuantParams output_q, const int8_t* input, const int8_t* weights,
                       const float* weight_scales, const int32_t* bias, bool relu,
                       int8_t* output) {
  const int32_t qmin = relu && output_q.zero_point > -128 ? output_q.zero_point : -128;
  for (uint32_t o = 0; o < out_features; ++o) {
    const int8_t* w = weights + static_cast<size_t>(o) * in_features;
    int32_t acc = bias[o];
    for (uint32_t i = 0; i < in_features; ++i) {
      acc += (int32_t{input[i]} - input_q.zero_point) * int32_t{w[i]};
    }
    const float scale = input_q.scale * weight_scales[o] / output_q.scale;
    output[o] = Requantize(acc, scale, output_q.zero_point, qmin, 127);
  }
}

rvgg_status CreateFullyConnectedQs8ReferenceKernel(const LayerDesc& desc,
                                                   const Bindings& bindings, Kernel** kernel,
                                                   rvgg_message* message) {
  struct Op {
    uint32_t in, out;
    QuantParams input_q, output_q;
    const int8_t* weights;
    const float* weight_scales;
    const int32_t* bias;
    bool relu;
    void operator()(const int8_t* input, int8_t* output) const {
      FullyConnectedQs8(in, out, input_q, output_q, input, weights, weight_scales, bias, relu,
                        output);
    }
  };
  const Op op{desc.in_c,    desc.out_c,         desc.input_q, desc.output_q,
              desc.weights_q, desc.weight_scales, desc.bias_q, desc.relu};
  return MakeQs8ReferenceKernel(desc, bindings, op, kernel, message);
}

}  // namespace rvgg::ref
