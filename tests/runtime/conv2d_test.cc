// runtime/src/ops/conv2d.cc (reference) and ops/xnnpack/conv2d.cc.
#include <doctest/doctest.h>

#include "tests/runtime/conv_case.h"
#include "tests/runtime/layer_harness.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

LayerDesc MakeConv(const ConvCase& c, LayerData* data) {
  LayerDesc d = ConvCaseDesc(c);
  data->weights = RandomInput(size_t{c.out_c} * c.kernel * c.kernel * (c.in_c / c.groups), 11);
  data->bias = RandomInput(c.out_c, 12);
  d.weights = data->weights.data();
  d.bias = data->bias.data();
  return d;
}

void CheckXnnpackMatchesReference(const ConvCase& c) {
  LayerData data;
  const LayerDesc d = MakeConv(c, &data);
  const auto input = RandomInput(d.input_elements(), 13);
  const auto ref = RunLayer(d, RVGG_BACKEND_REFERENCE, input);
  const auto xnn = RunLayer(d, RVGG_BACKEND_XNNPACK, input);
  CheckClose(xnn, ref, 1e-5);
}

TEST_CASE("conv2d: reference computes a hand-checked 3x3 convolution with padding") {
  // 1 channel 3x3 input, all-ones kernel, bias 0.5: each output is the sum
  // of the in-bounds neighbourhood plus 0.5.
  LayerData data;
  LayerDesc d = MakeConv({3, 3, 1, 1, 3, 1, 1, 1, false}, &data);
  data.weights.assign(9, 1.0f);
  data.bias = {0.5f};
  d.weights = data.weights.data();
  d.bias = data.bias.data();
  const std::vector<float> input = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const auto out = RunLayer(d, RVGG_BACKEND_REFERENCE, input);
  const std::vector<float> expected = {12.5f, 21.5f, 16.5f, 27.5f, 45.5f, 33.5f, 24.5f, 39.5f, 28.5f};
  CHECK(out == expected);
}

TEST_CASE("conv2d: reference ReLU clamps negatives and stride 2 subsamples") {
  LayerData data;
  LayerDesc d = MakeConv({4, 4, 1, 1, 1, 2, 0, 1, true}, &data);
  data.weights = {-1.0f};
  data.bias = {0.0f};
  d.weights = data.weights.data();
  d.bias = data.bias.data();
  const std::vector<float> input = {1, -2, -3, -4, -5, 6, -7, 8, 9, -10, -11, -12, -13, 14, -15, 16};
  const auto out = RunLayer(d, RVGG_BACKEND_REFERENCE, input);
  // 1x1 stride 2 picks (0,0), (0,2), (2,0), (2,2) = 1, -3, 9, -11; negated, then ReLU.
  CHECK(out == std::vector<float>{0, 3, 0, 11});
}

TEST_CASE("conv2d: xnnpack 3x3 stride 1 matches reference") {
  CheckXnnpackMatchesReference({9, 7, 8, 16, 3, 1, 1, 1, true});
}

TEST_CASE("conv2d: xnnpack 3x3 stride 2 with odd sizes matches reference") {
  CheckXnnpackMatchesReference({15, 11, 3, 24, 3, 2, 1, 1, true});
}

TEST_CASE("conv2d: xnnpack 3x3 groups 2 matches reference") {
  CheckXnnpackMatchesReference({8, 8, 16, 16, 3, 1, 1, 2, true});
}

TEST_CASE("conv2d: xnnpack 3x3 stride 2 groups 4 matches reference") {
  CheckXnnpackMatchesReference({10, 10, 32, 64, 3, 2, 1, 4, false});
}

TEST_CASE("conv2d: xnnpack 1x1 matches reference, with and without ReLU") {
  CheckXnnpackMatchesReference({6, 5, 12, 20, 1, 1, 0, 1, true});
  CheckXnnpackMatchesReference({6, 5, 12, 20, 1, 2, 0, 1, false});
}

TEST_CASE("conv2d: xnnpack wide channels (RepVGG stage widths) match reference") {
  CheckXnnpackMatchesReference({7, 7, 192, 160, 3, 1, 1, 1, true});
}

}  // namespace
}  // namespace rvgg::testing
