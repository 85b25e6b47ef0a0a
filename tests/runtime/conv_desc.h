// The geometry of a 3x3, padding-1 convolution layer as the runtime
// describes it, for tests and developer tools that build layers by hand (no
// doctest here, so tools can include it). The caller points weights and bias
// at its own data.
#ifndef RVGG_TESTS_RUNTIME_CONV_DESC_H_
#define RVGG_TESTS_RUNTIME_CONV_DESC_H_

#include <cstdint>
#include <vector>

#include "runtime/src/model.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {

inline LayerDesc Conv3x3Desc(uint32_t h, uint32_t w, uint32_t in_c, uint32_t out_c,
                             uint32_t stride = 1, uint32_t groups = 1, bool relu = false) {
  LayerDesc d;
  d.op = schema::Op::Conv2D;
  d.in_h = h;
  d.in_w = w;
  d.out_h = (h - 1) / stride + 1;
  d.out_w = (w - 1) / stride + 1;
  d.in_c = in_c;
  d.out_c = out_c;
  d.kernel_h = d.kernel_w = 3;
  d.stride = stride;
  d.padding = 1;
  d.groups = groups;
  d.relu = relu;
  return d;
}

// The convolutions of `spec` (3x3, padding 1) as the runtime describes them,
// indexed in model order: shapes only, no weights.
inline std::vector<LayerDesc> ConvLayerDescs(const ModelSpec& spec) {
  std::vector<LayerDesc> layers;
  uint32_t h = spec.height, w = spec.width, c = spec.channels;
  for (size_t i = 0; i < spec.convs.size(); ++i) {
    const ConvSpec& conv = spec.convs[i];
    LayerDesc d = Conv3x3Desc(h, w, c, conv.out_channels, conv.stride, conv.groups);
    d.index = static_cast<uint32_t>(i);
    layers.push_back(d);
    h = d.out_h;
    w = d.out_w;
    c = d.out_c;
  }
  return layers;
}

}  // namespace rvgg::testing

#endif  // RVGG_TESTS_RUNTIME_CONV_DESC_H_
