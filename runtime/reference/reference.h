// The reference math: what each operator computes, as plain single-threaded
// loops over NHWC tensors. A leaf library with no runtime state (no layer
// descriptions, arena or backend): the runtime's reference backend runs it,
// the optimized kernels are tested against it, and the converter proves its
// fusion and calibrates int8 with it. Keep it simple: it is the oracle.
#ifndef RVGG_RUNTIME_REFERENCE_REFERENCE_H_
#define RVGG_RUNTIME_REFERENCE_REFERENCE_H_

#include <cstddef>
#include <cstdint>

#include "runtime/reference/quant.h"

namespace rvgg::ref {

// Output length of a convolution along one dimension.
constexpr uint32_t ConvOutputSize(uint32_t in, uint32_t kernel, uint32_t stride, uint32_t padding) {
  return (in + 2 * padding - kernel) / stride + 1;
}

struct Conv2DShape {
  uint32_t in_h, in_w, in_c;
  uint32_t out_h, out_w, out_c;
  uint32_t kernel_h, kernel_w, stride, padding, groups;
  bool relu;
};

// --- float32 ----------------------------------------------------------------

// output[oy][ox][o] = act(bias[o] + sum_{ky,kx,i} input[iy][ix][g*gin + i] * weights[o][ky][kx][i])
// weights OHWI; zero padding; bias may be null.
void Conv2D(const Conv2DShape& shape, const float* input, const float* weights, const float* bias,
            float* output);

// output[c] = mean over H*W of input[h][w][c].
void GlobalAveragePool(uint32_t height, uint32_t width, uint32_t channels, const float* input,
                       float* output);

// output[o] = act(bias[o] + sum_i weights[o][i] * input[i]); bias may be null.
void FullyConnected(uint32_t in_features, uint32_t out_features, const float* input,
                    const float* weights, const float* bias, bool relu, float* output);

// In place on [height*width, channels]:
//   s = sigmoid(up_w relu(down_w mean(x) + down_b) + up_b);  x = act(x * s)
// `scratch` holds channels + reduced floats.
void SqueezeExcite(uint32_t height, uint32_t width, uint32_t channels, uint32_t reduced,
                   const float* down_weights, const float* down_bias, const float* up_weights,
                   const float* up_bias, bool relu, float* data, float* scratch);

// Dot product with independent partial sums (fixed order, deterministic).
float Dot(const float* a, const float* b, uint32_t n);

// --- int8 -----------------------------------------------------------------
// Activations are signed int8 with one affine QuantParams per tensor (real =
// scale * (q - zero_point)); weights are symmetric int8 with one scale per
// output channel, biases int32 in units of input_scale * weight_scale[o].
// Accumulation is exact in int32 (verification bounds it); requantization
// is XNNPACK's fp32 scheme: float(acc) * scale, clamped to the output range,
// rounded half to even, plus the zero point. XNNPACK matches these loops
// within 1 LSB (bit-exact where it also uses fp32 requantization).

// clamp(round_half_even(acc * scale), qmin - zero_point, qmax - zero_point) + zero_point.
int8_t Requantize(int32_t acc, float scale, int32_t zero_point, int32_t qmin, int32_t qmax);

// q = Requantize-style rounding of x * (1 / q.scale), saturated to int8
// (NaN becomes -128). The reciprocal is taken once in float, as XNNPACK does.
void QuantizeF32(size_t count, const float* input, QuantParams q, int8_t* output);

// x = (q - zero_point) * scale.
void DequantizeInt8(size_t count, const int8_t* input, QuantParams q, float* output);

// Conv2D with per-output-channel weight scales. ReLU clamps at the output
// zero point. Requantization scale: input.scale * weight_scales[o] /
// output.scale, evaluated in that order.
void Conv2DInt8(const Conv2DShape& shape, QuantParams input_q, QuantParams output_q,
                const int8_t* input, const int8_t* weights, const float* weight_scales,
                const int32_t* bias, int8_t* output);

// output[c] = requantize(sum_p (input[p][c] - zero_point)) with scale
// input.scale / (output.scale * pixels).
void GlobalAveragePoolInt8(uint32_t height, uint32_t width, uint32_t channels, QuantParams input_q,
                           QuantParams output_q, const int8_t* input, int8_t* output);

// Fully connected with per-output-channel weight scales (equal scales give
// the per-tensor case).
void FullyConnectedInt8(uint32_t in_features, uint32_t out_features, QuantParams input_q,
                        QuantParams output_q, const int8_t* input, const int8_t* weights,
                        const float* weight_scales, const int32_t* bias, bool relu, int8_t* output);

}  // namespace rvgg::ref

#endif  // RVGG_RUNTIME_REFERENCE_REFERENCE_H_
