// The geometry of a 3x3, padding-1 convolution layer as the runtime
// describes it, for tests and developer tools that build layers by hand (no
// doctest here, so tools can include it). The caller points weights and bias
// at its own data.
#ifndef RVGG_TESTS_RUNTIME_CONV_DESC_H_
#define RVGG_TESTS_RUNTIME_CONV_DESC_H_

#include <cstdint>

#include "runtime/src/model.h"

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

}  // namespace rvgg::testing

#endif  // RVGG_TESTS_RUNTIME_CONV_DESC_H_
