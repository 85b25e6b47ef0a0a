// runtime/src/ops/fully_connected.cc (int8 reference) against every optimized
// int8 implementation this CPU runs: rvgg's kernel families, and XNNPACK's
// (ops/xnnpack/fully_connected.cc: per-tensor weights on its qs8 fully
// connected operator, per-channel weights on a qc8 1x1 convolution).
#include <doctest/doctest.h>

#include <cstring>

#include "tests/runtime/int8_harness.h"
#if RVGG_WITH_XNNPACK
#include "runtime/src/ops/xnnpack/xnnpack.h"
#endif

namespace rvgg::testing {
namespace {

LayerDesc MakeFc(uint32_t in, uint32_t out, bool relu, bool per_tensor, Int8Data* data) {
  LayerDesc d;
  d.op = schema::Op::FullyConnected;
  d.compute_type = RVGG_DTYPE_INT8;
  d.input_type = d.output_type = RVGG_DTYPE_INT8;
  d.in_h = d.in_w = d.out_h = d.out_w = 1;
  d.in_c = in;
  d.out_c = out;
  d.relu = relu;
  FillInt8Layer(&d, data, size_t{in} * out, in, 31, per_tensor);
  return d;
}

TEST_CASE("fully connected int8: reference computes a hand-checked product") {
  Int8Data data;
  LayerDesc d = MakeFc(3, 2, false, false, &data);
  data.weights = {1, 2, 3, -1, 0, 1};
  data.scales = {0.5f, 0.25f};
  data.bias = {10, -4};
  d.input_q = QuantParams{1.0f, 2};
  d.output_q = QuantParams{1.0f, 0};
  // x - 2 = (2, 0, -4): row 0: 10 + 2 - 12 = 0 -> 0; row 1: -4 - 2 - 4 = -10 -> -2.5 -> -2.
  CHECK(RunTypedLayer<int8_t>(d, RVGG_BACKEND_REFERENCE, std::vector<int8_t>{4, 2, -2}) ==
        std::vector<int8_t>{0, -2});
}

#if RVGG_WITH_XNNPACK
TEST_CASE("fully connected int8: per-tensor weights within 1 LSB of reference on every optimized kernel") {
  for (const bool relu : {false, true}) {
    Int8Data data;
    const LayerDesc d = MakeFc(1280, 1000, relu, /*per_tensor=*/true, &data);
    const auto input = RandomInt8(d.input_elements(), 32);
    CheckOptimizedWithinLsb(d, input);
  }
}

TEST_CASE("fully connected int8: per-channel weights within 1 LSB of reference on every optimized kernel") {
  Int8Data data;
  const LayerDesc d = MakeFc(192, 10, false, /*per_tensor=*/false, &data);
  const auto input = RandomInt8(d.input_elements(), 33);
  CheckOptimizedWithinLsb(d, input);
}

TEST_CASE("fully connected int8: XNNPACK's kernel follows the weight scales (qs8 FC or qc8 1x1)") {
  for (const bool per_tensor : {false, true}) {
    Int8Data data;
    const LayerDesc d = MakeFc(64, 10, false, per_tensor, &data);
    Bindings b;
    std::vector<int8_t> in(64 + 64), out(10 + 64);
    b.input = in.data();
    b.output = out.data();
    Kernel* kernel = nullptr;
    REQUIRE(xnn::CreateFullyConnectedInt8Kernel(d, 0, b, nullptr, &kernel, nullptr) ==
            RVGG_STATUS_OK);
    CHECK(std::strcmp(kernel->name(), per_tensor ? "xnnpack qs8" : "xnnpack qc8 1x1") == 0);
    DestroyKernel(kernel);
  }
}
#endif

}  // namespace
}  // namespace rvgg::testing
