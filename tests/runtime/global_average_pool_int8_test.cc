// runtime/src/ops/global_average_pool_qs8.cc and ops/xnnpack/global_average_pool_qs8.cc.
#include <doctest/doctest.h>

#include "tests/runtime/int8_harness.h"

namespace rvgg::testing {
namespace {

LayerDesc MakePool(uint32_t h, uint32_t w, uint32_t c, QuantParams in, QuantParams out) {
  LayerDesc d;
  d.op = schema::Op::GlobalAveragePool;
  d.compute_type = RVGG_DTYPE_INT8;
  d.input_type = d.output_type = RVGG_DTYPE_INT8;
  d.in_h = h;
  d.in_w = w;
  d.in_c = d.out_c = c;
  d.out_h = d.out_w = 1;
  d.input_q = in;
  d.output_q = out;
  return d;
}

TEST_CASE("global average pool int8: reference computes a hand-checked mean with zero points") {
  // 2x2 pixels, 2 channels; input zero point 3, output scale twice the input's
  // and zero point -1: out = round(mean(q - 3) / 2) - 1.
  const LayerDesc d = MakePool(2, 2, 2, QuantParams{0.1f, 3}, QuantParams{0.2f, -1});
  const std::vector<int8_t> input = {13, -7, 23, -3, 3, 5, 33, -11};
  // channel 0: q - 3 = 10, 20, 0, 30 -> mean 15 -> 7.5 -> 8 (half to even) -> 7
  // channel 1: q - 3 = -10, -6, 2, -14 -> mean -7 -> -3.5 -> -4 -> -5
  CHECK(RunTypedLayer<int8_t>(d, RVGG_BACKEND_REFERENCE, input) == std::vector<int8_t>{7, -5});
}

#if RVGG_WITH_XNNPACK
TEST_CASE("global average pool int8: xnnpack within 1 LSB of reference (RepVGG head shapes)") {
  struct Case {
    uint32_t h, w, c;
    QuantParams in;
    float ratio;  // output range / range of the channel means (> 1: fits)
  };
  const Case cases[] = {
      {7, 7, 1280, {0.05f, -128}, 1.05f},  // ReLU'd features
      {1, 1, 16, {0.05f, 7}, 1.1f},
      {14, 14, 64, {0.1f, -20}, 1.3f},
      {3, 5, 24, {0.02f, 0}, 1.1f},
  };
  for (const Case& c : cases) {
    // Skew each channel so the means differ (a stationary input pools to one value).
    auto input = RandomInt8(size_t{c.h} * c.w * c.c, c.c + c.h);
    std::vector<double> mean(c.c, 0.0);
    for (size_t i = 0; i < input.size(); ++i) {
      const int v = int{input[i]} / 3 + static_cast<int>((i % c.c) * 170 / c.c) - 85;
      input[i] = static_cast<int8_t>(std::clamp(v, -128, 127));
      mean[i % c.c] += (input[i] - c.in.zero_point) * double{c.in.scale} / (c.h * c.w);
    }
    double lo = 0.0, hi = 0.0;
    for (double m : mean) {
      lo = std::min(lo, m);
      hi = std::max(hi, m);
    }
    const float scale = static_cast<float>((hi - lo) * c.ratio / 255.0);
    const int32_t zero_point = static_cast<int32_t>(std::lround(-128.0 - lo * c.ratio / scale));
    const LayerDesc d = MakePool(c.h, c.w, c.c, c.in, QuantParams{scale, zero_point});
    const auto ref = RunTypedLayer<int8_t>(d, RVGG_BACKEND_REFERENCE, input);
    const auto xnn = RunTypedLayer<int8_t>(d, RVGG_BACKEND_XNNPACK, input);
    INFO(c.h << "x" << c.w << "x" << c.c);
    CheckWithinLsb(xnn, ref);
  }
}
#endif

}  // namespace
}  // namespace rvgg::testing
