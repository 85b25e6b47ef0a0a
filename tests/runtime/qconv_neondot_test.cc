// runtime/src/kernels/qconv_neondot.cc (aarch64 only): the SDOT family equals
// ref::Conv2DInt8 bit for bit, on shapes that hit every block width, K
// remainder, padding case and zero-point extreme, with and without a pool,
// writing nothing outside its output, packed and scratch buffers and
// allocating nothing while it runs. On a CPU without the dot product the
// family must decline, and the suite says so instead of passing silently.
#include "runtime/src/kernels/qconv_neondot.h"

#include <cpuinfo.h>
#include <doctest/doctest.h>
#include <pthreadpool.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <random>
#include <vector>

#include "runtime/reference/reference.h"
#include "tests/runtime/qconv_harness.h"

namespace rvgg::testing {
namespace {

using kernels::kQConvNeonDot;
using kernels::QConvParams;

bool HasDot() { return cpuinfo_initialize() && cpuinfo_has_arm_neon_dot(); }

bool SkipWithoutDot() {
  if (HasDot()) return false;
  MESSAGE(
      "SKIPPED: this CPU has no dot product (ARMv8.2 SDOT); kQConvNeonDot.applies says "
      "false and nothing ran. Run under QEMU_CPU=cortex-a76 to test the kernels.");
  return true;
}

struct Case {
  uint32_t h, w, in_c, out_c, kernel, stride, padding;
};

struct Quant {
  int32_t input_zero_point, output_zero_point;
  bool relu;
  // Power-of-two scales: many products land exactly halfway between two
  // integers, where rounding half to even shows.
  bool ties = false;
};

uint32_t OutSize(uint32_t in, uint32_t kernel, uint32_t stride, uint32_t padding) {
  return (in + 2 * padding - kernel) / stride + 1;
}

// Runs one case through the family (threads 1: no pool) and the reference;
// returns the number of outputs strictly inside the output range, so callers
// can require that the comparison was not between two saturated tensors.
size_t CheckCase(const Case& c, const Quant& q, uint32_t threads, uint32_t seed) {
  CAPTURE(c.h);
  CAPTURE(c.w);
  CAPTURE(c.in_c);
  CAPTURE(c.out_c);
  CAPTURE(c.kernel);
  CAPTURE(c.stride);
  CAPTURE(c.padding);
  CAPTURE(q.input_zero_point);
  CAPTURE(q.output_zero_point);
  CAPTURE(q.relu);
  CAPTURE(threads);
  ref::Conv2DShape shape{};
  shape.in_h = c.h, shape.in_w = c.w, shape.in_c = c.in_c;
  shape.out_h = OutSize(c.h, c.kernel, c.stride, c.padding);
  shape.out_w = OutSize(c.w, c.kernel, c.stride, c.padding);
  shape.out_c = c.out_c;
  shape.kernel_h = shape.kernel_w = c.kernel;
  shape.stride = c.stride, shape.padding = c.padding, shape.groups = 1;
  shape.relu = q.relu;
  const size_t k = size_t{c.kernel} * c.kernel * c.in_c;
  const size_t in_count = size_t{c.h} * c.w * c.in_c;
  const size_t out_count = size_t{shape.out_h} * shape.out_w * c.out_c;

  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(-128, 127), weight(-127, 127);
  std::uniform_real_distribution<float> unit(0.5f, 1.5f);
  Buffer input(in_count + 16, 0);
  int8_t* in = reinterpret_cast<int8_t*>(input.data());
  for (size_t i = 0; i < in_count; ++i) in[i] = static_cast<int8_t>(byte(rng));
  std::vector<int8_t> weights(c.out_c * k);
  for (auto& w : weights) w = static_cast<int8_t>(weight(rng));
  // Output scale such that accumulators spread about +-40 output steps.
  const double mean = -0.5 - q.input_zero_point;
  const double sigma = std::sqrt(static_cast<double>(k) * (5461.0 + mean * mean) * 5376.0);
  std::uniform_int_distribution<int32_t> bias_value(-static_cast<int32_t>(sigma),
                                                    static_cast<int32_t>(sigma));
  std::vector<int32_t> bias(c.out_c);
  for (auto& b : bias) b = bias_value(rng);
  const QuantParams input_q{q.ties ? 1.0f : 0.05f, q.input_zero_point};
  const float weight_scale = q.ties ? 1.0f : 0.01f;
  const QuantParams output_q{q.ties
                                 ? std::exp2(std::ceil(std::log2(static_cast<float>(sigma / 40.0))))
                                 : static_cast<float>(0.05 * weight_scale * sigma / 40.0),
                             q.output_zero_point};
  std::vector<float> weight_scales(c.out_c), requant(c.out_c);
  for (uint32_t o = 0; o < c.out_c; ++o) {
    weight_scales[o] =
        q.ties ? std::exp2(static_cast<float>(o % 3) - 1.0f) : weight_scale * unit(rng);
    requant[o] = input_q.scale * weight_scales[o] / output_q.scale;
  }

  std::vector<int8_t> expected(out_count);
  ref::Conv2DInt8(shape, input_q, output_q, in, weights.data(), weight_scales.data(), bias.data(),
                 expected.data());

  QConvParams p;
  p.in_h = c.h, p.in_w = c.w, p.in_c = c.in_c;
  p.out_h = shape.out_h, p.out_w = shape.out_w, p.out_c = c.out_c;
  p.kernel_h = p.kernel_w = c.kernel;
  p.stride = c.stride, p.padding = c.padding;
  p.input_zero_point = q.input_zero_point;
  p.output_zero_point = q.output_zero_point;
  p.output_min = q.relu ? q.output_zero_point : -128;
  p.output_max = 127;
  p.requant_scale = requant.data();
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : nullptr;
  // Twice, the second time over stale scratch and output.
  const std::vector<int8_t> out =
      RunFamily(kQConvNeonDot, p, weights.data(), bias.data(), in, threads, pool, 2);
  if (pool != nullptr) pthreadpool_destroy(pool);
  CheckSameOutput(out, expected, c.out_c);

  size_t inside = 0;
  for (int8_t v : expected) inside += v > p.output_min && v < p.output_max;
  return inside;
}

const Quant kQuants[] = {
    {0, 0, false},      {-128, 0, true},  {127, -128, false},   {127, 127, false},
    {-128, -128, true}, {5, -3, true},    {0, 127, true},       {-128, 127, false},
    {127, -128, true},  {-7, 100, false}, {3, -5, false, true}, {-128, 0, true, true},
};

void CheckAllQuants(const Case& c, uint32_t seed) {
  size_t inside = 0;
  for (const Quant& q : kQuants) inside += CheckCase(c, q, 1, seed++);
  // Most outputs must be unsaturated, or the comparison says little (a
  // handful of outputs may all land at the edges by chance).
  const size_t outputs = size_t{OutSize(c.h, c.kernel, c.stride, c.padding)} *
                         OutSize(c.w, c.kernel, c.stride, c.padding) * c.out_c;
  if (outputs >= 64) CHECK(inside * 4 >= outputs * std::size(kQuants));
}

TEST_CASE("qconv sdot: the allocation counter around run counts allocations") {
  CheckAllocationCounter();
}

TEST_CASE("qconv sdot: applies exactly when the CPU has the dot product") {
  QConvParams p;
  p.in_h = p.in_w = p.out_h = p.out_w = 8;
  p.in_c = p.out_c = 16;
  CHECK(kQConvNeonDot.applies(p) == HasDot());
  if (!HasDot()) {
    MESSAGE("SKIPPED: no dot product on this CPU: applies is false, the kernels are not tested");
  }
  CHECK(std::strcmp(kQConvNeonDot.name, "int8 sdot") == 0);
}

TEST_CASE("qconv sdot: 3x3 padding 1 stride 1 and 2, odd channel counts, match the reference") {
  if (SkipWithoutDot()) return;
  // Channel counts 1..33 (not multiples of 4/8/16: gathered through plain
  // rows), 16/32/48 (gathered straight from the input); maps from 1x1 up;
  // pixel counts leaving every block width (4, 8, 12) as the last block.
  const Case cases[] = {
      {7, 7, 5, 13, 3, 1, 1},   {9, 11, 17, 33, 3, 2, 1}, {1, 1, 16, 8, 3, 1, 1},
      {1, 1, 3, 5, 3, 2, 1},    {13, 9, 48, 20, 3, 1, 1}, {14, 14, 32, 24, 3, 2, 1},
      {17, 17, 3, 48, 3, 2, 1}, {4, 5, 1, 1, 3, 1, 1},    {3, 3, 13, 17, 3, 1, 1},
      {6, 6, 16, 16, 3, 1, 1},  {2, 7, 33, 9, 3, 2, 1},   {5, 5, 64, 7, 3, 1, 1},
      {7, 7, 20, 40, 3, 1, 1},  {8, 3, 8, 12, 3, 2, 1},   {2, 7, 16, 24, 3, 1, 1},
      {1, 2, 16, 8, 3, 1, 1},
  };
  uint32_t seed = 100;
  for (const Case& c : cases) CheckAllQuants(c, seed += 20);
}

TEST_CASE("qconv sdot: 1x1 kernels (a fully connected layer as 1x1 over 1x1) match the reference") {
  if (SkipWithoutDot()) return;
  const Case cases[] = {
      {1, 1, 33, 17, 1, 1, 0}, {1, 1, 1280, 1000, 1, 1, 0}, {1, 1, 3, 1, 1, 1, 0},
      {6, 5, 64, 40, 1, 1, 0}, {7, 7, 16, 9, 1, 2, 0},      {5, 3, 13, 33, 1, 1, 0},
      {1, 1, 4, 8, 1, 1, 0},   {2, 2, 12, 5, 1, 1, 0},
  };
  uint32_t seed = 500;
  for (const Case& c : cases) CheckAllQuants(c, seed += 20);
}

TEST_CASE("qconv sdot: other kernel sizes, strides and paddings match the reference") {
  if (SkipWithoutDot()) return;
  const Case cases[] = {
      {7, 7, 13, 5, 5, 1, 2}, {15, 15, 3, 16, 7, 2, 3}, {8, 8, 16, 16, 3, 1, 0},
      {9, 9, 16, 8, 2, 2, 0}, {7, 7, 32, 8, 7, 1, 3},   {5, 6, 5, 3, 3, 3, 2},
      {1, 1, 16, 8, 3, 1, 2},
  };
  uint32_t seed = 900;
  for (const Case& c : cases) CheckAllQuants(c, seed += 20);
}

TEST_CASE("qconv sdot: RepVGG-A0 block shapes match the reference") {
  if (SkipWithoutDot()) return;
  // stage3 (14x14x192, the bulk of A0), stage4.0's output channels, the stem.
  CHECK(CheckCase({14, 14, 192, 192, 3, 1, 1}, {-3, -128, true}, 1, 1) > 0);
  CHECK(CheckCase({14, 14, 192, 1280, 3, 2, 1}, {-128, -128, true}, 1, 2) > 0);
  CHECK(CheckCase({32, 32, 3, 48, 3, 2, 1}, {-20, -128, true}, 1, 3) > 0);
}

TEST_CASE("qconv sdot: a 2- and 4-thread pthreadpool gives the reference's result") {
  if (SkipWithoutDot()) return;
  const Case cases[] = {
      {7, 7, 5, 13, 3, 1, 1},   {14, 14, 32, 24, 3, 2, 1}, {1, 1, 1280, 1000, 1, 1, 0},
      {7, 7, 192, 72, 3, 1, 1}, {17, 17, 3, 48, 3, 2, 1},  {1, 1, 16, 8, 3, 1, 1},
      {5, 5, 64, 7, 3, 1, 1},
  };
  uint32_t seed = 1300;
  for (const Case& c : cases) {
    for (uint32_t threads : {2u, 4u}) {
      CheckCase(c, {-128, 0, true}, threads, seed++);
      CheckCase(c, {127, -128, false}, threads, seed++);
    }
  }
}

}  // namespace
}  // namespace rvgg::testing
