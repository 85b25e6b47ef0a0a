// A convolution case as the conv2d suites list them (square kernel, any
// stride, padding and groups), described as the runtime describes the layer;
// the caller points the weights and bias at its own data.
#ifndef RVGG_TESTS_RUNTIME_CONV_CASE_H_
#define RVGG_TESTS_RUNTIME_CONV_CASE_H_

#include <cstdint>

#include "runtime/src/model.h"

namespace rvgg::testing {

struct ConvCase {
  uint32_t h, w, in_c, out_c, kernel, stride, padding, groups;
  bool relu;
};

inline LayerDesc ConvCaseDesc(const ConvCase& c) {
  LayerDesc d;
  d.op = schema::Op::Conv2D;
  d.in_h = c.h;
  d.in_w = c.w;
  d.in_c = c.in_c;
  d.out_c = c.out_c;
  d.kernel_h = d.kernel_w = c.kernel;
  d.stride = c.stride;
  d.padding = c.padding;
  d.groups = c.groups;
  d.relu = c.relu;
  d.out_h = (c.h + 2 * c.padding - c.kernel) / c.stride + 1;
  d.out_w = (c.w + 2 * c.padding - c.kernel) / c.stride + 1;
  return d;
}

}  // namespace rvgg::testing

#endif  // RVGG_TESTS_RUNTIME_CONV_CASE_H_
