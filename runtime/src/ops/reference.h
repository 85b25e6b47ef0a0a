// Reference kernels: plain loops, single-threaded, NHWC. They define what each
// operator computes; the optimized backends and the converter's fusion proof
// are checked against them. Keep them simple.
#ifndef RVGG_RUNTIME_SRC_OPS_REFERENCE_H_
#define RVGG_RUNTIME_SRC_OPS_REFERENCE_H_

#include <cstdint>

#include "runtime/src/ops/kernel.h"

namespace rvgg::ref {

struct Conv2DShape {
  uint32_t in_h, in_w, in_c;
  uint32_t out_h, out_w, out_c;
  uint32_t kernel_h, kernel_w, stride, padding, groups;
  bool relu;
};

// Conv2DShape of a verified layer.
Conv2DShape ShapeOf(const LayerDesc& desc);

// output[oy][ox][o] = act(bias[o] + sum_{ky,kx,i} input[iy][ix][g*gin + i] * weights[o][ky][kx][i])
// weights OHWI; zero padding; bias may be null.
void Conv2D(const Conv2DShape& shape, const float* input, const float* weights,
            const float* bias, float* output);

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

// Kernel factories for the reference backend.
rvgg_status CreateConv2DReferenceKernel(const LayerDesc& desc, const Bindings& bindings,
                                        Kernel** kernel, rvgg_message* message);
rvgg_status CreateGlobalAveragePoolReferenceKernel(const LayerDesc& desc,
                                                   const Bindings& bindings, Kernel** kernel,
                                                   rvgg_message* message);
rvgg_status CreateFullyConnectedReferenceKernel(const LayerDesc& desc, const Bindings& bindings,
                                                Kernel** kernel, rvgg_message* message);
rvgg_status CreateSqueezeExciteReferenceKernel(const LayerDesc& desc, const Bindings& bindings,
                                               Kernel** kernel, rvgg_message* message);

}  // namespace rvgg::ref

#endif  // RVGG_RUNTIME_SRC_OPS_REFERENCE_H_
