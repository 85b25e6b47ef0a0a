// runtime/src/ops/squeeze_excite.cc and ops/xnnpack/squeeze_excite.cc.
#include <doctest/doctest.h>

#include <cmath>

#include "tests/runtime/layer_harness.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

LayerDesc MakeSe(uint32_t h, uint32_t w, uint32_t c, uint32_t r, bool relu, LayerData* data) {
  LayerDesc d;
  d.op = schema::Op::SqueezeExcite;
  d.in_h = d.out_h = h;
  d.in_w = d.out_w = w;
  d.in_c = d.out_c = c;
  d.reduced = r;
  d.relu = relu;
  data->down_w = RandomInput(size_t{r} * c, 41);
  data->down_b = RandomInput(r, 42);
  data->up_w = RandomInput(size_t{c} * r, 43);
  data->up_b = RandomInput(c, 44);
  d.se_down_weights = data->down_w.data();
  d.se_down_bias = data->down_b.data();
  d.se_up_weights = data->up_w.data();
  d.se_up_bias = data->up_b.data();
  return d;
}

TEST_CASE("squeeze_excite: reference scales each channel by sigmoid of its excitation") {
  // One channel, reduced 1: pooled mean m = 2; hidden = relu(1 * m + 0) = 2;
  // gate = sigmoid(0.5 * 2 - 1) = 0.5; output = x * 0.5, then ReLU.
  LayerData data;
  LayerDesc d = MakeSe(1, 4, 1, 1, true, &data);
  data.down_w = {1.0f};
  data.down_b = {0.0f};
  data.up_w = {0.5f};
  data.up_b = {-1.0f};
  d.se_down_weights = data.down_w.data();
  d.se_down_bias = data.down_b.data();
  d.se_up_weights = data.up_w.data();
  d.se_up_bias = data.up_b.data();
  const auto out = RunLayer(d, RVGG_BACKEND_REFERENCE, {4, 2, -2, 4});
  CHECK(out == std::vector<float>{2, 1, 0, 2});
}

TEST_CASE("squeeze_excite: xnnpack matches reference (D2se-like 14x14x160, reduced 10)") {
  LayerData data;
  const LayerDesc d = MakeSe(14, 14, 160, 10, true, &data);
  const auto input = RandomInput(d.input_elements(), 45);
  CheckClose(RunLayer(d, RVGG_BACKEND_XNNPACK, input), RunLayer(d, RVGG_BACKEND_REFERENCE, input),
             1e-5);
}

TEST_CASE("squeeze_excite: xnnpack without ReLU keeps negative values like reference") {
  LayerData data;
  const LayerDesc d = MakeSe(3, 5, 24, 8, false, &data);
  const auto input = RandomInput(d.input_elements(), 46);
  const auto ref = RunLayer(d, RVGG_BACKEND_REFERENCE, input);
  CHECK(*std::min_element(ref.begin(), ref.end()) < 0.0f);
  CheckClose(RunLayer(d, RVGG_BACKEND_XNNPACK, input), ref, 1e-5);
}

}  // namespace
}  // namespace rvgg::testing
