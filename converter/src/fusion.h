// Structural re-parameterization: each multi-branch block becomes one 3x3
// convolution with bias (followed by squeeze-excite when present, then ReLU),
// and the proof that the fused network computes what the branches did.
#ifndef RVGG_CONVERTER_SRC_FUSION_H_
#define RVGG_CONVERTER_SRC_FUSION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "converter/src/repvgg.h"
#include "rvgg/rvgg.h"

namespace rvgg::convert {

// One layer of the plain network, in the runtime's layouts.
struct FusedLayer {
  rvgg_layer_type type = RVGG_LAYER_CONV2D;
  std::string name;
  uint32_t in_channels = 0;
  uint32_t out_channels = 0;
  uint32_t kernel = 3, stride = 1, padding = 1, groups = 1;
  bool relu = false;
  std::vector<float> weight;  // conv: OHWI; fully connected: [out, in]
  std::vector<float> bias;
  SqueezeExciteWeights se;    // squeeze-excite: down [r, C], up [C, r]
};

struct FusedNet {
  uint32_t in_channels = 0;
  std::vector<FusedLayer> layers;
};

// Folds BatchNorm into each branch (eps 1e-5), pads the 1x1 kernel to the
// 3x3 centre, adds the identity as k[o][o % (in/groups)][1][1], sums kernels
// and biases (in double precision), and converts OIHW to OHWI.
FusedNet Fuse(const RepVGGNet& net);

// The fused 3x3 kernel (OIHW) and bias of one block, in double precision.
void FuseBlock(const Block& block, std::vector<double>* weight_oihw, std::vector<double>* bias);

// OIHW -> OHWI.
std::vector<float> ToOhwi(const std::vector<float>& oihw, uint32_t out, uint32_t in,
                          uint32_t kh, uint32_t kw);

// Runs one fused layer on the runtime's reference kernels: `input` is NHWC
// *height x *width x *channels; returns the output and updates the shape.
std::vector<float> RunFusedLayer(const FusedLayer& layer, uint32_t* height, uint32_t* width,
                                 uint32_t* channels, const std::vector<float>& input);

// Called with each layer's output activation (NHWC) during RunFused.
using ActivationObserver =
    std::function<void(size_t layer, uint32_t h, uint32_t w, const std::vector<float>& output)>;

// Runs the fused network on the runtime's reference kernels. `input` is one
// NHWC image; returns the logits.
std::vector<float> RunFused(const FusedNet& net, uint32_t height, uint32_t width,
                            const std::vector<float>& input,
                            const ActivationObserver& observer = nullptr);

// Runs the original multi-branch network (conv + BN per branch, identity BN,
// sum, squeeze-excite, ReLU) on the same reference convolution.
std::vector<float> RunMultiBranch(const RepVGGNet& net, uint32_t height, uint32_t width,
                                  const std::vector<float>& input);

struct FusionCheck {
  uint32_t height = 0, width = 0;
  double max_abs_diff = 0.0;
  double max_abs_logit = 0.0;
  double relative() const { return max_abs_logit > 0 ? max_abs_diff / max_abs_logit : max_abs_diff; }
};

// Both networks on one random N(0, 1) input of height x width.
FusionCheck CheckFusion(const RepVGGNet& net, const FusedNet& fused, uint32_t height,
                        uint32_t width, uint32_t seed);

}  // namespace rvgg::convert

#endif  // RVGG_CONVERTER_SRC_FUSION_H_
