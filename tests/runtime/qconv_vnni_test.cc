// runtime/src/kernels/qconv_vnni.h: both VNNI families bit for bit against
// the reference (ref::Conv2DInt8) on odd shapes, zero points, clamps and
// thread counts, writing nothing outside their buffers and allocating
// nothing while they run. A family this CPU cannot run is reported, not
// passed.
#include "runtime/src/kernels/qconv_vnni.h"

#include <doctest/doctest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/reference/reference.h"
#include "tests/runtime/qconv_harness.h"

namespace rvgg::testing {
namespace {

using kernels::QConvFamily;
using kernels::QConvParams;

const QConvFamily* const kFamilies[] = {&kernels::kQConvAvx512Vnni, &kernels::kQConvAvxVnni};

pthreadpool_t Pool(uint32_t threads) {
  static pthreadpool_t pools[5] = {};
  if (threads <= 1) return nullptr;
  if (pools[threads] == nullptr) pools[threads] = pthreadpool_create(threads);
  return pools[threads];
}

struct Case {
  uint32_t in_h, in_w, in_c, out_c;
  uint32_t kernel_h, kernel_w, stride, padding;
  int32_t input_zero_point, output_zero_point;
  bool relu;
  uint32_t threads;
  // Weights in [-weight_range, weight_range]; exact_ties sets every
  // requantization scale to 0.5 so that half the outputs are ties.
  int32_t weight_range = 128;
  bool exact_ties = false;
};

std::string Describe(const Case& c) {
  std::ostringstream s;
  s << c.in_h << "x" << c.in_w << "x" << c.in_c << " -> " << c.out_c << ", " << c.kernel_h << "x"
    << c.kernel_w << " s" << c.stride << " p" << c.padding << ", zero points " << c.input_zero_point
    << "/" << c.output_zero_point << (c.relu ? ", relu" : "") << ", " << c.threads << " thread(s)";
  return s.str();
}

// Families this CPU runs; the others are named once in the log.
std::vector<const QConvFamily*> RunnableFamilies() {
  QConvParams probe;
  probe.in_h = probe.in_w = probe.out_h = probe.out_w = 4;
  probe.in_c = probe.out_c = 8;
  const float scale = 1.0f;
  probe.requant_scale = &scale;
  std::vector<const QConvFamily*> runnable;
  for (const QConvFamily* f : kFamilies) {
    if (f->applies(probe)) {
      runnable.push_back(f);
    } else {
      MESSAGE("family \"" << f->name << "\" NOT TESTED: this CPU lacks its instructions");
    }
  }
  return runnable;
}

struct Outcome {
  int families = 0;     // how many families ran the case
  bool spread = false;  // whether its outputs took many values
};

// Runs one case on every runnable family and compares with the reference.
Outcome CheckCase(const Case& c, const std::vector<const QConvFamily*>& families, uint32_t seed) {
  const uint32_t out_h = (c.in_h + 2 * c.padding - c.kernel_h) / c.stride + 1;
  const uint32_t out_w = (c.in_w + 2 * c.padding - c.kernel_w) / c.stride + 1;
  const size_t taps = size_t{c.kernel_h} * c.kernel_w * c.in_c;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(-128, 127);
  std::uniform_int_distribution<int> weight(-c.weight_range,
                                            std::min<int32_t>(127, c.weight_range));
  std::uniform_int_distribution<int32_t> bias_dist(-20000, 20000);
  std::uniform_real_distribution<float> unit(0.5f, 1.5f);

  const size_t in_elements = size_t{c.in_h} * c.in_w * c.in_c;
  std::vector<int8_t> input(in_elements + 16);  // 16 readable bytes past the end
  for (int8_t& x : input) x = static_cast<int8_t>(byte(rng));
  std::vector<int8_t> weights(c.out_c * taps);
  for (int8_t& w : weights) w = static_cast<int8_t>(weight(rng));
  std::vector<int32_t> bias(c.out_c);
  for (int32_t& b : bias) b = bias_dist(rng);

  // Scales that put a typical output about 40 LSB from the zero point, so
  // that saturation and ReLU both show: acc ~ sqrt(taps) x 74 x (74 + the
  // mean of q - input_zero_point, which a far zero point makes large).
  QuantParams input_q{0.05f, c.input_zero_point};
  std::vector<float> weight_scales(c.out_c);
  const float offset = std::fabs(0.5f + float(c.input_zero_point));
  const float typical =
      std::sqrt(float(taps)) * 74.0f * (74.0f + offset) * float(c.weight_range) / 128.0f;
  QuantParams output_q{input_q.scale * 0.01f * typical / 40.0f, c.output_zero_point};
  for (float& s : weight_scales) s = 0.01f * unit(rng);
  if (c.exact_ties) {
    input_q.scale = 1.0f;
    output_q.scale = 1.0f;
    std::fill(weight_scales.begin(), weight_scales.end(), 0.5f);
  }
  std::vector<float> requant(c.out_c);
  for (uint32_t o = 0; o < c.out_c; ++o) {
    requant[o] = input_q.scale * weight_scales[o] / output_q.scale;  // the reference's order
  }

  const ref::Conv2DShape shape{c.in_h,     c.in_w,     c.in_c,   out_h,     out_w, c.out_c,
                               c.kernel_h, c.kernel_w, c.stride, c.padding, 1,     c.relu};
  const size_t out_elements = size_t{out_h} * out_w * c.out_c;
  std::vector<int8_t> expected(out_elements);
  ref::Conv2DInt8(shape, input_q, output_q, input.data(), weights.data(), weight_scales.data(),
                  bias.data(), expected.data());

  QConvParams p;
  p.in_h = c.in_h;
  p.in_w = c.in_w;
  p.in_c = c.in_c;
  p.out_h = out_h;
  p.out_w = out_w;
  p.out_c = c.out_c;
  p.kernel_h = c.kernel_h;
  p.kernel_w = c.kernel_w;
  p.stride = c.stride;
  p.padding = c.padding;
  p.input_zero_point = c.input_zero_point;
  p.output_zero_point = c.output_zero_point;
  p.output_min = c.relu && c.output_zero_point > -128 ? c.output_zero_point : -128;
  p.output_max = 127;
  p.requant_scale = requant.data();

  // Whether the data could catch a wrong kernel: outputs spread out unless
  // the clamp leaves a single value. A far zero point with few output
  // channels can push one case's outputs all into the clamp; the tests
  // count such cases.
  bool spread = true;
  if (p.output_min < p.output_max && out_elements >= 64) {
    spread = std::set<int8_t>(expected.begin(), expected.end()).size() >= 8;
  }

  int ran = 0;
  for (const QConvFamily* f : families) {
    INFO(std::string(f->name) << ": " << Describe(c));
    CheckSameOutput(
        RunFamily(*f, p, weights.data(), bias.data(), input.data(), c.threads, Pool(c.threads)),
        expected, c.out_c);
    ++ran;
  }
  return Outcome{ran, spread};
}

constexpr uint32_t kChannels[] = {1, 3, 5, 13, 17, 33, 48, 96, 192, 1280};
struct Map {
  uint32_t h, w;
};
constexpr Map kMaps[] = {{1, 1}, {2, 3}, {7, 7}, {14, 14}, {13, 17}};
constexpr int32_t kZeroPoints[] = {-128, 0, 127};
constexpr uint32_t kThreads[] = {1, 2, 4};

TEST_CASE("qconv vnni: every pair of odd and A0 channel counts matches the reference exactly") {
  const auto families = RunnableFamilies();
  if (families.empty()) return;
  // Every (in, out) pair, twice, with the other parameters drawn at random;
  // the map shrinks where the reference would take too long.
  std::mt19937 rng(2024);
  int cases = 0, spread = 0;
  for (uint32_t in_c : kChannels) {
    for (uint32_t out_c : kChannels) {
      for (int rep = 0; rep < 2; ++rep) {
        Case c{};
        const uint32_t kernel = rng() % 3 == 0 ? 1 : 3;
        c.kernel_h = c.kernel_w = kernel;
        c.padding = kernel == 3 ? 1 : 0;
        c.stride = 1 + rng() % 2;
        int map = int(rng() % 5);
        while (map > 0 && uint64_t{kMaps[map].h} * kMaps[map].w * kernel * kernel * in_c * out_c /
                                  (c.stride * c.stride) >
                              (uint64_t{4} << 20)) {
          --map;
        }
        c.in_h = kMaps[map].h;
        c.in_w = kMaps[map].w;
        c.in_c = in_c;
        c.out_c = out_c;
        c.input_zero_point = kZeroPoints[rng() % 3];
        c.output_zero_point = kZeroPoints[rng() % 3];
        c.relu = rng() % 2 == 0;
        c.threads = rng() % 4 == 0 ? kThreads[1 + rng() % 2] : 1;
        const Outcome outcome = CheckCase(c, families, rng());
        CHECK(outcome.families == int(families.size()));
        ++cases;
        spread += outcome.spread;
      }
    }
  }
  MESSAGE(cases << " random cases on " << families.size() << " family(ies), " << spread
                << " with well spread outputs");
  CHECK(spread >= cases * 9 / 10);
}

TEST_CASE("qconv vnni: every map, stride, kernel, zero point pair, clamp and thread count") {
  const auto families = RunnableFamilies();
  if (families.empty()) return;
  uint32_t seed = 7;
  int cases = 0, spread = 0;
  for (const Map& map : kMaps) {
    for (uint32_t kernel : {1u, 3u}) {
      for (uint32_t stride : {1u, 2u}) {
        for (int32_t in_zp : kZeroPoints) {
          for (int32_t out_zp : kZeroPoints) {
            for (bool relu : {false, true}) {
              // Mostly one thread: pools are slow to wake on a loaded machine.
              const uint32_t threads = seed % 6 == 0 ? kThreads[1 + seed / 6 % 2] : 1;
              const Case c{map.h,  map.w,      17,    33,     kernel, kernel,
                           stride, kernel / 2, in_zp, out_zp, relu,   threads};
              spread += CheckCase(c, families, ++seed).spread;
              ++cases;
            }
          }
        }
      }
    }
  }
  MESSAGE(cases << " cases, " << spread << " with well spread outputs");
  CHECK(spread >= cases * 9 / 10);
}

TEST_CASE(
    "qconv vnni: RepVGG-A0's layer shapes (smaller maps) and its classifier, 1 to 4 threads") {
  const auto families = RunnableFamilies();
  if (families.empty()) return;
  const Case cases[] = {
      // stage0 at full size: K = 27 pads to 36 per pixel.
      {224, 224, 3, 48, 3, 3, 2, 1, -3, -128, true, 2},
      {56, 56, 48, 48, 3, 3, 2, 1, -128, -128, true, 1},
      {28, 28, 48, 48, 3, 3, 1, 1, -128, -128, true, 4},
      {28, 28, 48, 96, 3, 3, 2, 1, -128, -128, true, 2},
      {28, 28, 96, 96, 3, 3, 1, 1, -128, -128, true, 2},
      {28, 28, 96, 192, 3, 3, 2, 1, 5, -128, true, 4},
      {14, 14, 192, 192, 3, 3, 1, 1, -128, -128, true, 1},
      {14, 14, 192, 1280, 3, 3, 2, 1, -128, -128, true, 2},
      // The classifier: 1280 -> 1000 as a 1x1 convolution over a 1x1 image.
      {1, 1, 1280, 1000, 1, 1, 1, 0, -20, 3, false, 1},
      {1, 1, 1280, 1000, 1, 1, 1, 0, -20, 3, false, 4},
  };
  uint32_t seed = 100;
  for (const Case& c : cases) CHECK(CheckCase(c, families, ++seed).spread);
}

TEST_CASE("qconv vnni: rectangular kernels, larger padding and stride 3") {
  const auto families = RunnableFamilies();
  if (families.empty()) return;
  const Case cases[] = {
      {9, 11, 5, 20, 1, 3, 1, 1, 10, -5, false, 1},
      {9, 11, 7, 17, 5, 5, 1, 2, -128, 127, false, 2},
      {10, 10, 13, 40, 3, 3, 3, 0, 127, 0, true, 2},
      {6, 5, 4, 16, 3, 3, 1, 3, 0, 0, false, 1},  // windows entirely in the border
  };
  uint32_t seed = 300;
  for (const Case& c : cases) CHECK(CheckCase(c, families, ++seed).spread);
}

TEST_CASE("qconv vnni: requantization rounds exact ties to even") {
  const auto families = RunnableFamilies();
  if (families.empty()) return;
  // Scale 0.5 and small sums: every odd accumulator is a tie.
  Case c{7, 7, 3, 20, 3, 3, 1, 1, 0, 0, false, 1};
  c.weight_range = 2;
  c.exact_ties = true;
  CHECK(CheckCase(c, families, 11).spread);
  c.input_zero_point = -128;
  c.output_zero_point = 7;
  CHECK(CheckCase(c, families, 12).spread);
}

TEST_CASE("qconv vnni: sizes are 64-byte multiples, scratch one equal part per thread") {
  QConvParams p;
  p.in_h = p.in_w = 14;
  p.out_h = p.out_w = 7;
  p.in_c = 192;
  p.out_c = 1280;
  p.stride = 2;
  const std::vector<float> scale(p.out_c, 1.0f);
  p.requant_scale = scale.data();
  for (const QConvFamily* f : kFamilies) {
    INFO(std::string(f->name));
    CHECK(f->packed_bytes(p) % 64 == 0);
    CHECK(f->packed_bytes(p) >= size_t{1280} * 9 * 192);
    CHECK(f->scratch_bytes(p, 1) % 64 == 0);
    CHECK(f->scratch_bytes(p, 1) > 0);
    CHECK(f->scratch_bytes(p, 8) == 8 * f->scratch_bytes(p, 1));
  }
}

TEST_CASE("qconv vnni: the allocation counter around run counts allocations") {
  CheckAllocationCounter();
}

TEST_CASE("qconv vnni: applies refuses empty shapes, bad zero points and clamps, no scales") {
  const auto families = RunnableFamilies();
  const std::vector<float> scale(16, 1.0f);
  QConvParams good;
  good.in_h = good.in_w = good.out_h = good.out_w = 5;
  good.in_c = good.out_c = 16;
  good.requant_scale = scale.data();
  for (const QConvFamily* f : families) {
    INFO(std::string(f->name));
    CHECK(f->applies(good));
    QConvParams p = good;
    p.out_c = 0;
    CHECK_FALSE(f->applies(p));
    p = good;
    p.kernel_h = 0;
    CHECK_FALSE(f->applies(p));
    p = good;
    p.stride = 0;
    CHECK_FALSE(f->applies(p));
    p = good;
    p.input_zero_point = 128;
    CHECK_FALSE(f->applies(p));
    p = good;
    p.output_min = 10;
    p.output_max = 9;
    CHECK_FALSE(f->applies(p));
    // The scales are not known when the runtime plans: applies does without.
    p = good;
    p.requant_scale = nullptr;
    CHECK(f->applies(p));
  }
}

}  // namespace
}  // namespace rvgg::testing
