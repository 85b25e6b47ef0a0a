// runtime/src/kernels/qconv_winograd.{h,cc} and qconv_winograd_neon.cc: the
// transform matrices, the accumulator bound `pack` enforces, and both forms
// against ref::Conv2DQs8 (the forms are exact: bit for bit, see the header).
#include "runtime/src/kernels/qconv_winograd.h"

#include <doctest/doctest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "runtime/src/ops/reference.h"
#include "runtime/src/ops/winograd/points.h"

namespace rvgg::kernels {
namespace {

namespace qw = qwinograd;

std::vector<const QConvFamily*> Forms() {
  std::vector<const QConvFamily*> forms = {&kQConvWinogradPortable};
#if defined(__aarch64__)
  forms.push_back(&kQConvWinogradNeon);
#endif
  return forms;
}

// 64-byte aligned bytes (the contract's alignment for packed and scratch).
struct Buffer {
  explicit Buffer(size_t bytes)
      : data(std::aligned_alloc(64, (std::max<size_t>(bytes, 1) + 63) / 64 * 64)) {}
  ~Buffer() { std::free(data); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void* data;
};

struct Pool {
  explicit Pool(uint32_t threads) : pool(threads > 1 ? pthreadpool_create(threads) : nullptr) {}
  ~Pool() {
    if (pool != nullptr) pthreadpool_destroy(pool);
  }
  pthreadpool_t pool;
};

// One convolution: shape, quantization and data, with the reference output.
struct Problem {
  uint32_t h = 1, w = 1, in_c = 1, out_c = 1;
  int32_t input_zero_point = 0, output_zero_point = 0;
  bool relu = false;
  QuantParams input_q, output_q;
  std::vector<int8_t> input, weights;
  std::vector<float> weight_scales, requant;
  std::vector<int32_t> bias;

  QConvParams Params() const {
    QConvParams p;
    p.in_h = p.out_h = h;
    p.in_w = p.out_w = w;
    p.in_c = in_c;
    p.out_c = out_c;
    p.input_zero_point = input_zero_point;
    p.output_zero_point = output_zero_point;
    p.output_min = relu ? std::max(-128, output_zero_point) : -128;
    p.output_max = 127;
    p.requant_scale = requant.data();
    return p;
  }

  std::vector<int8_t> Reference() const {
    const ref::Conv2DShape shape{h, w, in_c, h, w, out_c, 3, 3, 1, 1, 1, relu};
    std::vector<int8_t> out(size_t{h} * w * out_c);
    ref::Conv2DQs8(shape, input_q, output_q, input.data(), weights.data(), weight_scales.data(),
                   bias.data(), out.data());
    return out;
  }
};

// Random data whose outputs spread over the int8 range: weights of a
// triangular distribution (as trained weights, mostly small), inputs
// uniform, an output scale that puts a typical accumulator about 40 LSB
// from the zero point.
Problem RandomProblem(uint32_t h, uint32_t w, uint32_t in_c, uint32_t out_c, int32_t zp, bool relu,
                      uint32_t seed) {
  Problem pr;
  pr.h = h, pr.w = w, pr.in_c = in_c, pr.out_c = out_c;
  pr.input_zero_point = zp;
  pr.output_zero_point = static_cast<int32_t>(seed % 41) - 20;
  pr.relu = relu;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(-128, 127), half(-63, 63);
  pr.input.resize(size_t{h} * w * in_c + 16);
  for (int8_t& x : pr.input) x = static_cast<int8_t>(byte(rng));
  pr.weights.resize(size_t{out_c} * 9 * in_c);
  for (int8_t& x : pr.weights) x = static_cast<int8_t>(half(rng) + half(rng));
  std::uniform_real_distribution<float> scale(0.002f, 0.01f);
  pr.input_q = QuantParams{0.05f, zp};
  const float typical = std::sqrt(9.0f * in_c) * 74.0f * 36.0f;
  std::uniform_int_distribution<int32_t> bias(-static_cast<int32_t>(typical),
                                              static_cast<int32_t>(typical));
  pr.weight_scales.resize(out_c);
  pr.bias.resize(out_c);
  pr.requant.resize(out_c);
  for (uint32_t o = 0; o < out_c; ++o) {
    pr.weight_scales[o] = scale(rng);
    pr.bias[o] = bias(rng);
  }
  pr.output_q = QuantParams{pr.input_q.scale * 0.006f * typical / 40.0f, pr.output_zero_point};
  for (uint32_t o = 0; o < out_c; ++o) {
    // The same float expression, in the same order, as the reference.
    pr.requant[o] = pr.input_q.scale * pr.weight_scales[o] / pr.output_q.scale;
  }
  return pr;
}

struct Comparison {
  bool packed = false;
  size_t outputs = 0, exact = 0;
  int max_difference = 0;
};

Comparison RunAndCompare(const QConvFamily& family, const Problem& pr, uint32_t threads) {
  const QConvParams p = pr.Params();
  Comparison c;
  REQUIRE(family.applies(p));
  Buffer packed(family.packed_bytes(p));
  c.packed = family.pack(p, pr.weights.data(), pr.bias.data(), packed.data);
  if (!c.packed) return c;
  Pool pool(threads);
  Buffer scratch(family.scratch_bytes(p, threads));
  std::vector<int8_t> out(size_t{pr.h} * pr.w * pr.out_c, 0x55);
  family.run(p, packed.data, pr.input.data(), out.data(), scratch.data, pool.pool);
  const std::vector<int8_t> ref = pr.Reference();
  c.outputs = out.size();
  for (size_t i = 0; i < out.size(); ++i) {
    const int d = std::abs(int{out[i]} - int{ref[i]});
    c.exact += d == 0;
    c.max_difference = std::max(c.max_difference, d);
  }
  return c;
}

void CheckMatches(const QConvFamily& family, const Problem& pr, uint32_t threads) {
  CAPTURE(family.name);
  CAPTURE(pr.h);
  CAPTURE(pr.w);
  CAPTURE(pr.in_c);
  CAPTURE(pr.out_c);
  CAPTURE(pr.input_zero_point);
  CAPTURE(pr.relu);
  CAPTURE(threads);
  const Comparison c = RunAndCompare(family, pr, threads);
  REQUIRE(c.packed);
  // The contract asks for 1 LSB; this kernel is exact, so every output is
  // bit-exact (the second check is the stronger claim).
  CHECK(c.max_difference <= 1);
  CHECK(c.exact == c.outputs);
}

int64_t Dot(const int64_t* a, const int64_t* b, int n) {
  int64_t s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

TEST_CASE("qconv winograd: B^T rows are the Lagrange numerators of the points 0, +-1, +-2") {
  // Q_j(p_i) = 0 for the other finite points, Q_j(p_j) = the kernel scale
  // (the denominator G~ leaves out), and row infinity is the monic product.
  for (int j = 0; j < qw::kWindow; ++j) {
    for (int i = 0; i < qw::kWindow - 1; ++i) {
      const double point = winograd::PointAt(5, i);
      double value = 0.0;
      for (int r = 0; r < qw::kWindow; ++r) {
        value += qw::kInputTransform[j][r] * winograd::Power(point, r);
      }
      CAPTURE(j);
      CAPTURE(i);
      if (j == qw::kWindow - 1) {
        CHECK(value == 0.0);
      } else {
        CHECK(value == (i == j ? qw::kKernelScale[j] : 0.0));
      }
    }
    CHECK(qw::kInputTransform[j][qw::kWindow - 1] == (j == qw::kWindow - 1 ? 1 : 0));
  }
}

TEST_CASE("qconv winograd: G~ and O are points.h's G and A^T with the denominators moved") {
  for (int j = 0; j < qw::kWindow; ++j) {
    for (int t = 0; t < 3; ++t) {
      CHECK(qw::kKernelTransform[j][t] ==
            qw::kKernelScale[j] * winograd::KernelCoefficient(5, j, 3, t));
    }
  }
  for (int i = 0; i < qw::kTile; ++i) {
    for (int j = 0; j < qw::kWindow; ++j) {
      const double a = j == qw::kWindow - 1 ? (i == qw::kTile - 1 ? 1.0 : 0.0)
                                            : winograd::Power(winograd::PointAt(5, j), i);
      CHECK(qw::kOutputTransform[i][j] * std::ldexp(1.0, 3 - qw::kOutputShift[i]) ==
            24.0 * a / qw::kKernelScale[j]);
    }
  }
  CHECK(uint32_t{9} * qw::kInverseOf9 == 1u);
  // The bias enters at (+1, +1): O's column there is -2^(e_i - 1).
  for (int i = 0; i < qw::kTile; ++i) {
    CHECK(qw::kOutputTransform[i][qw::kBiasPosition % qw::kWindow] * -2 ==
          (1 << qw::kOutputShift[i]));
  }
  CHECK(qw::kBiasFactor * 4 == 9 * 16);
}

TEST_CASE("qconv winograd: O (U . V) O^T is 9 * 2^(e_i + e_j) times the direct sum, exactly") {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> data(-255, 255), weight(-128, 127), pick(0, 2);
  int64_t largest_v = 0, largest_u = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    int64_t d[6][6], g[3][3];
    // Extremes as well as random values, so the bounds below are reached.
    for (auto& row : d) {
      for (int64_t& x : row) x = trial % 3 == 0 ? (pick(rng) - 1) * 255 : data(rng);
    }
    for (auto& row : g) {
      for (int64_t& x : row) x = trial % 3 == 0 ? (pick(rng) == 0 ? -128 : 127) : weight(rng);
    }
    int64_t bt[6][6], gt[6][3], o[4][6];
    for (int a = 0; a < 6; ++a) {
      for (int r = 0; r < 6; ++r) bt[a][r] = qw::kInputTransform[a][r];
      for (int t = 0; t < 3; ++t) gt[a][t] = qw::kKernelTransform[a][t];
    }
    for (int i = 0; i < 4; ++i) {
      for (int b = 0; b < 6; ++b) o[i][b] = qw::kOutputTransform[i][b];
    }
    int64_t m[6][6];
    for (int a = 0; a < 6; ++a) {
      for (int b = 0; b < 6; ++b) {
        int64_t sv = 0, su = 0;
        for (int r = 0; r < 6; ++r) {
          for (int c = 0; c < 6; ++c) sv += bt[a][r] * bt[b][c] * d[r][c];
        }
        for (int y = 0; y < 3; ++y) {
          for (int x = 0; x < 3; ++x) su += gt[a][y] * gt[b][x] * g[y][x];
        }
        m[a][b] = sv * su;
        largest_v = std::max<int64_t>(largest_v, std::llabs(sv));
        largest_u = std::max<int64_t>(largest_u, std::llabs(su));
      }
    }
    for (int i = 0; i < 4; ++i) {
      for (int j = 0; j < 4; ++j) {
        int64_t z = 0, s = 0;
        for (int a = 0; a < 6; ++a) {
          int64_t row[6];
          for (int b = 0; b < 6; ++b) row[b] = m[a][b];
          z += o[i][a] * Dot(row, o[j], 6);
        }
        for (int y = 0; y < 3; ++y) {
          for (int x = 0; x < 3; ++x) s += g[y][x] * d[i + y][j + x];
        }
        REQUIRE(z == 9 * (int64_t{1} << (qw::kOutputShift[i] + qw::kOutputShift[j])) * s);
      }
    }
  }
  // The int16 bounds of the header hold and are what int16 can carry.
  CHECK(largest_v <= 25500);
  CHECK(largest_u <= 6272);
}

TEST_CASE("qconv winograd: applies to 3x3 stride 1 padding 1 only") {
  QConvParams p;
  p.in_h = p.out_h = 14;
  p.in_w = p.out_w = 14;
  p.in_c = p.out_c = 192;
  CHECK(qw::Applies(p));
  QConvParams q = p;
  q.stride = 2;
  q.out_h = q.out_w = 7;
  CHECK_FALSE(qw::Applies(q));
  q = p;
  q.kernel_h = q.kernel_w = 1;
  q.padding = 0;
  CHECK_FALSE(qw::Applies(q));
  q = p;
  q.padding = 0;
  q.out_h = q.out_w = 12;
  CHECK_FALSE(qw::Applies(q));
  q = p;
  q.out_c = 0;
  CHECK_FALSE(qw::Applies(q));
}

TEST_CASE("qconv winograd: pack refuses weights whose accumulator could reach 2^25") {
  for (const QConvFamily* family : Forms()) {
    CAPTURE(family->name);
    // Every weight 127 over 192 channels, zero point -128 (d up to 255):
    // 255 * 1728 * 127 = 56M.
    Problem pr = RandomProblem(4, 4, 192, 8, -128, false, 1);
    std::fill(pr.weights.begin(), pr.weights.end(), 127);
    std::fill(pr.bias.begin(), pr.bias.end(), 0);
    const QConvParams p = pr.Params();
    Buffer packed(family->packed_bytes(p));
    CHECK_FALSE(family->pack(p, pr.weights.data(), pr.bias.data(), packed.data));

    // One channel, every weight +1 or every weight -1, input 127 everywhere
    // (d = 255): the centre pixel's accumulator is bias +- 9 * 255, the
    // largest the weights allow. One step inside the limit packs and is
    // exact there; the limit itself is refused.
    for (int sign : {1, -1}) {
      CAPTURE(sign);
      Problem edge = RandomProblem(3, 3, 1, 1, -128, false, 2);
      std::fill(edge.weights.begin(), edge.weights.end(), static_cast<int8_t>(sign));
      std::fill(edge.input.begin(), edge.input.end(), 127);
      edge.bias[0] = sign * ((1 << 25) - 1 - 9 * 255);
      const QConvParams q = edge.Params();
      CHECK(qw::AccumulatorBound(q, edge.weights.data(), edge.bias.data(), 0) == (1 << 25) - 1);
      // A scale that keeps the centre output (about +-64) inside int8.
      edge.output_q.scale = edge.input_q.scale * edge.weight_scales[0] * 0x1.0p+19f;
      edge.requant[0] = edge.input_q.scale * edge.weight_scales[0] / edge.output_q.scale;
      const Comparison c = RunAndCompare(*family, edge, 1);
      CHECK(c.packed);
      CHECK(c.exact == c.outputs);
      edge.bias[0] += sign;
      CHECK(qw::AccumulatorBound(q, edge.weights.data(), edge.bias.data(), 0) == 1 << 25);
      Buffer packed_edge(family->packed_bytes(q));
      CHECK_FALSE(family->pack(q, edge.weights.data(), edge.bias.data(), packed_edge.data));
    }
  }
}

TEST_CASE("qconv winograd: int32 GEMM sums that wrap still give the exact output") {
  // 256 channels, only the bottom-right tap set (127): U at (+2, +2) is
  // 16 * 127 = 2032, and an input where B^T's (+2, +2) coefficients are
  // positive (d = 255 there, 0 elsewhere) makes V there 18 * 255 = 4590, so
  // that position's GEMM sum is 256 * 2032 * 4590 > 2^31, while the
  // accumulator stays below 255 * 127 * 256 < 2^25.
  static_assert(int64_t{256} * 2032 * 4590 > INT32_MAX, "the GEMM sum must wrap");
  for (const QConvFamily* family : Forms()) {
    CAPTURE(family->name);
    Problem pr = RandomProblem(4, 4, 256, 8, -128, false, 3);
    std::fill(pr.weights.begin(), pr.weights.end(), 0);
    for (uint32_t o = 0; o < pr.out_c; ++o) {
      for (uint32_t k = 0; k < pr.in_c; ++k) pr.weights[(size_t{o} * 9 + 8) * pr.in_c + k] = 127;
    }
    const int b[6] = {0, -2, -1, 2, 1, 0};  // B^T's row +2
    for (uint32_t y = 0; y < 4; ++y) {
      for (uint32_t x = 0; x < 4; ++x) {
        const bool positive = b[y + 1] * b[x + 1] > 0;
        for (uint32_t k = 0; k < pr.in_c; ++k) {
          pr.input[(size_t{y} * 4 + x) * pr.in_c + k] = positive ? 127 : -128;
        }
      }
    }
    // A scale that spreads the accumulators (0 .. 8.3M) over the int8 range.
    pr.output_q.scale = pr.input_q.scale * 0.005f * 65536.0f;
    for (uint32_t o = 0; o < pr.out_c; ++o) {
      pr.weight_scales[o] = 0.005f;
      pr.requant[o] = pr.input_q.scale * pr.weight_scales[o] / pr.output_q.scale;
    }
    CheckMatches(*family, pr, 1);
  }
}

TEST_CASE("qconv winograd: matches the reference bit for bit on odd shapes") {
  struct Map {
    uint32_t h, w;
  };
  const Map maps[] = {{1, 1}, {2, 3}, {7, 7}, {14, 14}, {13, 17}};
  struct Channels {
    uint32_t in, out;
  };
  const Channels channels[] = {{1, 1},  {3, 5},  {5, 3},   {13, 17}, {17, 13},
                               {33, 1}, {1, 33}, {48, 48}, {96, 96}, {192, 192}};
  const int32_t zero_points[] = {-128, 0, 127};
  const uint32_t threads[] = {1, 2, 4};
  uint32_t seed = 100;
  for (const QConvFamily* family : Forms()) {
    size_t outputs = 0, exact = 0;
    for (size_t mi = 0; mi < std::size(maps); ++mi) {
      for (size_t ci = 0; ci < std::size(channels); ++ci) {
        const Map map = maps[mi];
        const Channels ch = channels[ci];
        // The widest layers only on the maps of RepVGG-A0's stage 3 and an
        // odd one, to keep the reference's time down under qemu.
        if (ch.in * ch.out > 96 * 96 && !(map.h == 14 || map.h == 13)) continue;
        const int32_t zp = zero_points[(mi + ci) % 3];
        const bool relu = (mi + ci) % 2 == 0;
        const uint32_t t = threads[(mi + 2 * ci) % 3];
        const Problem pr = RandomProblem(map.h, map.w, ch.in, ch.out, zp, relu, ++seed);
        const Comparison c = RunAndCompare(*family, pr, t);
        CAPTURE(family->name);
        CAPTURE(map.h);
        CAPTURE(map.w);
        CAPTURE(ch.in);
        CAPTURE(ch.out);
        CAPTURE(zp);
        CAPTURE(relu);
        CAPTURE(t);
        REQUIRE(c.packed);
        CHECK(c.max_difference <= 1);
        CHECK(c.exact == c.outputs);
        outputs += c.outputs;
        exact += c.exact;
      }
    }
    MESSAGE(std::string(family->name) << ": " << exact << " of " << outputs
                                      << " outputs bit-exact (" << 100.0 * exact / outputs << "%)");
  }
}

TEST_CASE(
    "qconv winograd: every zero point, ReLU or not, 1, 2 and 4 threads, on A0's stage 1 shape") {
  uint32_t seed = 300;
  for (const QConvFamily* family : Forms()) {
    for (int32_t zp : {-128, 0, 127}) {
      for (bool relu : {false, true}) {
        for (uint32_t t : {1u, 2u, 4u}) {
          // Small enough in channels for the reference under qemu; the map
          // has many tile blocks, so the threads share work.
          CheckMatches(*family, RandomProblem(20, 22, 17, 24, zp, relu, ++seed), t);
        }
      }
    }
  }
}

}  // namespace
}  // namespace rvgg::kernels
