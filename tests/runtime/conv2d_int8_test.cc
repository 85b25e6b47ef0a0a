// runtime/src/ops/conv2d.cc (int8 reference) against every optimized int8
// implementation this CPU runs: rvgg's kernel families (runtime/src/ops/
// qconv.cc) and XNNPACK's qc8 (ops/xnnpack/conv2d.cc), with the float32
// edges of runtime/src/ops/int8_io.h.
#include <doctest/doctest.h>

#include "runtime/reference/reference.h"
#include "tests/runtime/conv_case.h"
#include "tests/runtime/int8_harness.h"

namespace rvgg::testing {
namespace {

LayerDesc MakeConv(const ConvCase& c, Int8Data* data, uint32_t seed = 21) {
  LayerDesc d = ConvCaseDesc(c);
  d.compute_type = RVGG_DTYPE_INT8;
  d.input_type = d.output_type = RVGG_DTYPE_INT8;
  const uint32_t taps = c.kernel * c.kernel * (c.in_c / c.groups);
  FillInt8Layer(&d, data, size_t{c.out_c} * taps, taps, seed);
  return d;
}

void CheckOptimizedWithinOneLsb(const ConvCase& c) {
  Int8Data data;
  const LayerDesc d = MakeConv(c, &data);
  CheckOptimizedWithinLsb(d, RandomInt8(d.input_elements(), 22));
}

TEST_CASE("conv2d int8: requantization rounds half to even, clamps, and adds the zero point") {
  CHECK(ref::Requantize(10, 0.25f, 0, -128, 127) == 2);    // 2.5 -> 2
  CHECK(ref::Requantize(14, 0.25f, 0, -128, 127) == 4);    // 3.5 -> 4
  CHECK(ref::Requantize(-10, 0.25f, 0, -128, 127) == -2);  // -2.5 -> -2
  CHECK(ref::Requantize(11, 0.25f, 3, -128, 127) == 6);    // 2.75 -> 3, + 3
  CHECK(ref::Requantize(100000, 1.0f, 0, -128, 127) == 127);
  CHECK(ref::Requantize(-100000, 1.0f, 10, -128, 127) == -128);
  CHECK(ref::Requantize(-40, 0.5f, -100, -100, 127) == -100);  // ReLU: clamped at the zero point
}

TEST_CASE("conv2d int8: reference computes a hand-checked 3x3 convolution with zero points") {
  // One channel, input q = 1..9 with zero point 1 (values 0..8), all weights
  // q = 1, bias 4, requantization scale 0.25 * 0.5 / 0.5 = 0.25, output
  // zero point -5: out = round((4 + sum of the 3x3 neighbourhood) / 4) - 5.
  Int8Data data;
  LayerDesc d = MakeConv({3, 3, 1, 1, 3, 1, 1, 1, false}, &data);
  data.weights.assign(9, 1);
  data.scales = {0.5f};
  data.bias = {4};
  d.input_q = QuantParams{0.25f, 1};
  d.output_q = QuantParams{0.5f, -5};
  const std::vector<int8_t> input = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  // Neighbourhood sums 8 15 12 / 21 36 27 / 20 33 24; (4 + s) / 4 =
  // 3 4.75 4 / 6.25 10 7.75 / 6 9.25 7.
  const std::vector<int8_t> expected = {-2, 0, -1, 1, 5, 3, 1, 4, 2};
  CHECK(RunTypedLayer<int8_t>(d, RVGG_BACKEND_REFERENCE, input) == expected);
#if RVGG_WITH_XNNPACK
  for (const KernelImpl* impl : OptimizedImpls(d)) {
    CHECK(RunTypedLayer<int8_t>(d, impl, input) == expected);
  }
#endif
}

TEST_CASE("conv2d int8: reference ReLU clamps at the output zero point") {
  Int8Data data;
  LayerDesc d = MakeConv({1, 2, 1, 1, 1, 1, 0, 1, true}, &data);
  data.weights = {-1};
  data.scales = {1.0f};
  data.bias = {0};
  d.input_q = QuantParams{1.0f, 0};
  d.output_q = QuantParams{1.0f, -100};
  // -(-20) = 20 -> -80; -(30) = -30 -> clamped to 0.0 = -100.
  CHECK(RunTypedLayer<int8_t>(d, RVGG_BACKEND_REFERENCE, std::vector<int8_t>{-20, 30}) ==
        std::vector<int8_t>{-80, -100});
}

TEST_CASE("conv2d int8: reference with float32 edges equals quantize -> int8 conv -> dequantize") {
  Int8Data data;
  LayerDesc d = MakeConv({5, 6, 4, 8, 3, 2, 1, 1, true}, &data);
  std::vector<float> input(d.input_elements());
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (float& v : input) v = normal(rng);
  std::vector<int8_t> q(input.size());
  ref::QuantizeF32(q.size(), input.data(), d.input_q, q.data());
  const auto int8_out = RunTypedLayer<int8_t>(d, RVGG_BACKEND_REFERENCE, q);
  std::vector<float> expected(int8_out.size());
  ref::DequantizeInt8(expected.size(), int8_out.data(), d.output_q, expected.data());

  d.input_type = d.output_type = RVGG_DTYPE_FLOAT32;
  CHECK(RunTypedLayer<float>(d, RVGG_BACKEND_REFERENCE, input) == expected);
#if RVGG_WITH_XNNPACK
  for (const KernelImpl* impl : OptimizedImpls(d)) {
    std::string name;
    d.input_type = d.output_type = RVGG_DTYPE_FLOAT32;
    const auto xnn = RunTypedLayer<float>(d, impl, input, nullptr, &name);
    INFO("kernel " << name);
    REQUIRE(xnn.size() == expected.size());
    float worst = 0.0f;
    for (size_t i = 0; i < xnn.size(); ++i) worst = std::max(worst, std::fabs(xnn[i] - expected[i]));
    CHECK(worst <= d.output_q.scale * 1.001f);
    // Only the input edge, then only the output edge.
    d.output_type = RVGG_DTYPE_INT8;
    CheckWithinLsb(RunTypedLayer<int8_t>(d, impl, input),
                   RunTypedLayer<int8_t>(d, RVGG_BACKEND_REFERENCE, input));
    d.input_type = RVGG_DTYPE_INT8;
    d.output_type = RVGG_DTYPE_FLOAT32;
    const auto xnn_out = RunTypedLayer<float>(d, impl, q);
    const auto ref_out = RunTypedLayer<float>(d, RVGG_BACKEND_REFERENCE, q);
    CHECK(ref_out == expected);
    worst = 0.0f;
    for (size_t i = 0; i < xnn_out.size(); ++i) {
      worst = std::max(worst, std::fabs(xnn_out[i] - ref_out[i]));
    }
    CHECK(worst <= d.output_q.scale * 1.001f);
  }
#endif
}

#if RVGG_WITH_XNNPACK
TEST_CASE("conv2d int8: optimized 3x3 stride 1 within 1 LSB of reference") {
  CheckOptimizedWithinOneLsb({9, 7, 8, 16, 3, 1, 1, 1, false});
  CheckOptimizedWithinOneLsb({9, 7, 8, 16, 3, 1, 1, 1, true});
}

TEST_CASE("conv2d int8: optimized 3x3 stride 2 with odd sizes within 1 LSB of reference") {
  CheckOptimizedWithinOneLsb({15, 11, 3, 24, 3, 2, 1, 1, true});
}

TEST_CASE("conv2d int8: optimized 3x3 groups 2 and stride 2 groups 4 within 1 LSB of reference") {
  CheckOptimizedWithinOneLsb({8, 8, 16, 16, 3, 1, 1, 2, true});
  CheckOptimizedWithinOneLsb({10, 10, 32, 64, 3, 2, 1, 4, false});
}

TEST_CASE("conv2d int8: optimized 1x1 within 1 LSB of reference") {
  CheckOptimizedWithinOneLsb({6, 5, 12, 20, 1, 1, 0, 1, true});
  CheckOptimizedWithinOneLsb({6, 5, 12, 20, 1, 2, 0, 1, false});
}

TEST_CASE("conv2d int8: optimized wide channels (RepVGG stage widths) within 1 LSB of reference") {
  CheckOptimizedWithinOneLsb({7, 7, 192, 160, 3, 1, 1, 1, true});
  CheckOptimizedWithinOneLsb({4, 4, 1280, 48, 3, 1, 1, 1, false});
}
#endif

}  // namespace
}  // namespace rvgg::testing
