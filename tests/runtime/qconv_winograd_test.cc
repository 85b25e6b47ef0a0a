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

// One dimension's matrices as the kernel's header gives them: F(4, 3)
// (degree 5 in points.h) or F(2, 3) (degree 3).
struct Dim {
  bool small;
  int outputs, window, degree;
  int64_t input(int a, int r) const {
    return small ? qw::kSmallInputTransform[a][r] : qw::kInputTransform[a][r];
  }
  int64_t output(int i, int b) const {
    return small ? qw::kSmallOutputTransform[i][b] : qw::kOutputTransform[i][b];
  }
  int64_t kernel(int a, int t) const { return qw::kKernelTransform[position(a)][t]; }
  int64_t scale(int a) const { return small ? qw::kSmallKernelScale[a] : qw::kKernelScale[a]; }
  int position(int a) const { return small ? qw::kSmallPositions[a] : a; }
  int shift(int i) const { return small ? qw::kSmallOutputShift : qw::kOutputShift[i]; }
  // The output scale's power of 3: 24 = 3 * 8 for F(4, 3), 2 for F(2, 3).
  int threes() const { return small ? 0 : 1; }
};
const Dim kBig{false, qw::kTile, qw::kWindow, 5};
const Dim kSmall{true, qw::kSmallTile, qw::kSmallWindow, 3};

TEST_CASE("qconv winograd: B^T rows are the Lagrange numerators of the points") {
  // Q_j(p_i) = 0 for the other finite points, Q_j(p_j) = the kernel scale
  // (the denominator G~ leaves out), and row infinity is the monic product.
  for (const Dim& dim : {kBig, kSmall}) {
    CAPTURE(dim.window);
    for (int j = 0; j < dim.window; ++j) {
      for (int i = 0; i < dim.window - 1; ++i) {
        const double point = winograd::PointAt(dim.degree, i);
        double value = 0.0;
        for (int r = 0; r < dim.window; ++r) value += dim.input(j, r) * winograd::Power(point, r);
        CAPTURE(j);
        CAPTURE(i);
        if (j == dim.window - 1) {
          CHECK(value == 0.0);
        } else {
          CHECK(value == (i == j ? dim.scale(j) : 0.0));
        }
      }
      CHECK(dim.input(j, dim.window - 1) == (j == dim.window - 1 ? 1 : 0));
    }
  }
}

TEST_CASE("qconv winograd: G~ and O are points.h's G and A^T with the denominators moved") {
  for (const Dim& dim : {kBig, kSmall}) {
    CAPTURE(dim.window);
    // F(2, 3)'s points are F(4, 3)'s at kSmallPositions, G~'s rows shared.
    for (int j = 0; j < dim.window - 1; ++j) {
      CHECK(winograd::PointAt(dim.degree, j) == winograd::PointAt(5, dim.position(j)));
    }
    for (int j = 0; j < dim.window; ++j) {
      for (int t = 0; t < 3; ++t) {
        CHECK(dim.kernel(j, t) == dim.scale(j) * winograd::KernelCoefficient(dim.degree, j, 3, t));
      }
    }
    // O = (3^threes * 2^shift_i) A^T diag(1 / k), row by row.
    for (int i = 0; i < dim.outputs; ++i) {
      for (int j = 0; j < dim.window; ++j) {
        const double a = j == dim.window - 1 ? (i == dim.outputs - 1 ? 1.0 : 0.0)
                                             : winograd::Power(winograd::PointAt(dim.degree, j), i);
        const double row_scale = (dim.threes() == 1 ? 3.0 : 1.0) * std::ldexp(1.0, dim.shift(i));
        CHECK(dim.output(i, j) == row_scale * a / dim.scale(j));
      }
    }
  }
  CHECK(uint32_t{9} * qw::kInverse[0] == 1u);
  CHECK(uint32_t{3} * qw::kInverse[1] == 1u);
  CHECK(qw::kInverse[2] == 1u);
  // The bias enters at (+1, +1) with the kind's factor and adds
  // 3^c * 2^(e_i + e_j) * bias to every output.
  for (const Dim& rows : {kBig, kSmall}) {
    for (const Dim& cols : {kBig, kSmall}) {
      const int kind = int{rows.small} + int{cols.small};
      const int64_t threes =
          rows.threes() + cols.threes() == 2 ? 9 : (rows.threes() + cols.threes() == 1 ? 3 : 1);
      for (int i = 0; i < rows.outputs; ++i) {
        for (int j = 0; j < cols.outputs; ++j) {
          CHECK(rows.output(i, 1) * cols.output(j, 1) * qw::kBiasFactor[kind] ==
                threes * (int64_t{1} << (rows.shift(i) + cols.shift(j))));
        }
      }
      CHECK(rows.position(1) * qw::kWindow + cols.position(1) == qw::kBiasPosition);
    }
  }
}

TEST_CASE("qconv winograd: O (U . V) O^T is 3^c * 2^(e_i + e_j) times the direct sum, exactly") {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> data(-255, 255), weight(-128, 127), pick(0, 2);
  int64_t largest_v = 0, largest_u = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const Dim& rows = trial % 4 < 2 ? kBig : kSmall;
    const Dim& cols = trial % 2 == 0 ? kBig : kSmall;
    int64_t d[6][6], g[3][3];
    // Extremes as well as random values, so the bounds below are reached.
    for (auto& row : d) {
      for (int64_t& x : row) x = trial % 3 == 0 ? (pick(rng) - 1) * 255 : data(rng);
    }
    for (auto& row : g) {
      for (int64_t& x : row) x = trial % 3 == 0 ? (pick(rng) == 0 ? -128 : 127) : weight(rng);
    }
    int64_t m[6][6];
    for (int a = 0; a < rows.window; ++a) {
      for (int b = 0; b < cols.window; ++b) {
        int64_t sv = 0, su = 0;
        for (int r = 0; r < rows.window; ++r) {
          for (int c = 0; c < cols.window; ++c) sv += rows.input(a, r) * cols.input(b, c) * d[r][c];
        }
        // U comes from the F(4, 3) position the F(2, 3) one maps to.
        for (int y = 0; y < 3; ++y) {
          for (int x = 0; x < 3; ++x) su += rows.kernel(a, y) * cols.kernel(b, x) * g[y][x];
        }
        m[a][b] = sv * su;
        largest_v = std::max<int64_t>(largest_v, std::llabs(sv));
        largest_u = std::max<int64_t>(largest_u, std::llabs(su));
      }
    }
    const int64_t threes =
        rows.threes() + cols.threes() == 2 ? 9 : (rows.threes() + cols.threes() == 1 ? 3 : 1);
    for (int i = 0; i < rows.outputs; ++i) {
      for (int j = 0; j < cols.outputs; ++j) {
        int64_t z = 0, s = 0;
        for (int a = 0; a < rows.window; ++a) {
          for (int b = 0; b < cols.window; ++b)
            z += rows.output(i, a) * cols.output(j, b) * m[a][b];
        }
        for (int y = 0; y < 3; ++y) {
          for (int x = 0; x < 3; ++x) s += g[y][x] * d[i + y][j + x];
        }
        CAPTURE(trial);
        REQUIRE(z == threes * (int64_t{1} << (rows.shift(i) + cols.shift(j))) * s);
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
