// runtime/src/ops/fully_connected.cc and ops/xnnpack/fully_connected.cc.
#include <doctest/doctest.h>

#include "tests/runtime/layer_harness.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

LayerDesc MakeFc(uint32_t in, uint32_t out, bool relu, LayerData* data) {
  LayerDesc d;
  d.op = schema::Op::FullyConnected;
  d.in_h = d.in_w = d.out_h = d.out_w = 1;
  d.in_c = in;
  d.out_c = out;
  d.relu = relu;
  data->weights = RandomInput(size_t{in} * out, 21);
  data->bias = RandomInput(out, 22);
  d.weights = data->weights.data();
  d.bias = data->bias.data();
  return d;
}

TEST_CASE("fully_connected: reference computes W x + b") {
  LayerData data;
  LayerDesc d = MakeFc(3, 2, false, &data);
  data.weights = {1, 2, 3, -1, 0, 1};
  data.bias = {0.5f, -0.5f};
  d.weights = data.weights.data();
  d.bias = data.bias.data();
  const auto out = RunLayer(d, RVGG_BACKEND_REFERENCE, {1, 1, 2});
  CHECK(out == std::vector<float>{9.5f, 0.5f});
}

TEST_CASE("fully_connected: xnnpack matches reference (1280 -> 1000 classifier)") {
  LayerData data;
  const LayerDesc d = MakeFc(1280, 1000, false, &data);
  const auto input = RandomInput(1280, 23);
  CheckClose(RunLayer(d, RVGG_BACKEND_XNNPACK, input), RunLayer(d, RVGG_BACKEND_REFERENCE, input),
             1e-5);
}

TEST_CASE("fully_connected: xnnpack with ReLU matches reference") {
  LayerData data;
  const LayerDesc d = MakeFc(37, 19, true, &data);
  const auto input = RandomInput(37, 24);
  const auto ref = RunLayer(d, RVGG_BACKEND_REFERENCE, input);
  CHECK(*std::min_element(ref.begin(), ref.end()) == 0.0f);
  CheckClose(RunLayer(d, RVGG_BACKEND_XNNPACK, input), ref, 1e-5);
}

}  // namespace
}  // namespace rvgg::testing
