// runtime/reference/quantize.cc and ops/xnnpack/int8_io.cc: the float32 <-> int8 conversions
// at the edges of int8 layers.
#include <doctest/doctest.h>

#include <limits>

#include "runtime/reference/reference.h"
#include "tests/runtime/int8_harness.h"

namespace rvgg::testing {
namespace {

TEST_CASE("int8 edges: reference quantization rounds half to even and saturates") {
  const QuantParams q{0.5f, -3};
  const std::vector<float> x = {0.0f, 0.25f, 0.75f, -0.25f, 1.0f, 100.0f, -100.0f,
                                std::numeric_limits<float>::quiet_NaN()};
  std::vector<int8_t> out(x.size());
  ref::QuantizeF32(x.size(), x.data(), q, out.data());
  // x / 0.5 = 0, 0.5 -> 0, 1.5 -> 2, -0.5 -> 0, 2; then -3; saturated; NaN -> -128.
  CHECK(out == std::vector<int8_t>{-3, -3, -1, -3, -1, 127, -128, -128});
  std::vector<float> back(out.size());
  ref::DequantizeInt8(out.size(), out.data(), q, back.data());
  CHECK(back[2] == 1.0f);
  CHECK(back[5] == 65.0f);
}

#if RVGG_WITH_XNNPACK
// A layer whose only work is the conversions: an int8 global average pool
// over one pixel with equal input and output parameters is the identity, so
// float -> int8 -> float through each backend exposes the two conversions.
TEST_CASE("int8 edges: xnnpack conversions are bit-exact with the reference") {
  LayerDesc d;
  d.op = schema::Op::GlobalAveragePool;
  d.compute_type = RVGG_DTYPE_INT8;
  d.input_type = d.output_type = RVGG_DTYPE_FLOAT32;
  d.in_h = d.in_w = d.out_h = d.out_w = 1;
  d.in_c = d.out_c = 1000;
  d.input_q = d.output_q = QuantParams{0.25f, 11};
  std::vector<float> x(d.in_c);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 20.0f);
  for (size_t i = 0; i < x.size(); ++i) {
    // Every fourth value sits exactly halfway between two levels.
    x[i] = i % 4 == 0 ? (std::round(normal(rng)) + 0.5f) * 0.25f : normal(rng);
  }
  const auto ref = RunTypedLayer<float>(d, RVGG_BACKEND_REFERENCE, x);
  const auto xnn = RunTypedLayer<float>(d, RVGG_BACKEND_XNNPACK, x);
  CHECK(xnn == ref);
  size_t saturated = 0;
  for (float v : ref) saturated += v == (127 - 11) * 0.25f || v == (-128 - 11) * 0.25f;
  CHECK(saturated > 0);
  CHECK(saturated < x.size() / 4);
}
#endif

}  // namespace
}  // namespace rvgg::testing
