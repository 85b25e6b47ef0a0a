// runtime/src/ops/global_average_pool.cc and ops/xnnpack/global_average_pool.cc.
#include <doctest/doctest.h>

#include "tests/runtime/layer_harness.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

LayerDesc MakePool(uint32_t h, uint32_t w, uint32_t c) {
  LayerDesc d;
  d.op = schema::Op::GlobalAveragePool;
  d.in_h = h;
  d.in_w = w;
  d.in_c = d.out_c = c;
  d.out_h = d.out_w = 1;
  return d;
}

TEST_CASE("global_average_pool: reference averages each channel") {
  // 2x2 pixels, 2 channels (NHWC): channel 0 = 1,2,3,4; channel 1 = 10,20,30,40.
  const auto out = RunLayer(MakePool(2, 2, 2), RVGG_BACKEND_REFERENCE, {1, 10, 2, 20, 3, 30, 4, 40});
  CHECK(out == std::vector<float>{2.5f, 25.0f});
}

TEST_CASE("global_average_pool: xnnpack matches reference (7x7x1280)") {
  const LayerDesc d = MakePool(7, 7, 1280);
  const auto input = RandomInput(d.input_elements(), 31);
  CheckClose(RunLayer(d, RVGG_BACKEND_XNNPACK, input), RunLayer(d, RVGG_BACKEND_REFERENCE, input),
             1e-5);
}

TEST_CASE("global_average_pool: xnnpack matches reference on odd sizes") {
  const LayerDesc d = MakePool(3, 5, 13);
  const auto input = RandomInput(d.input_elements(), 32);
  CheckClose(RunLayer(d, RVGG_BACKEND_XNNPACK, input), RunLayer(d, RVGG_BACKEND_REFERENCE, input),
             1e-5);
}

}  // namespace
}  // namespace rvgg::testing
