// runtime/src/kernels/qconv_winograd.{h,cc} and qconv_winograd_neon.cc: the
// transform matrices, the accumulator bound `pack` enforces, and both forms
// against ref::Conv2DInt8 (the forms are exact: bit for bit, see the header).
#include "runtime/src/kernels/qconv_winograd.h"

#include <doctest/doctest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "runtime/reference/reference.h"
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
  uint32_t h = 1, w = 1, in_c = 1, out_c = 1, stride = 1;
  int32_t input_zero_point = 0, output_zero_point = 0;
  bool relu = false;
  QuantParams input_q, output_q;
  std::vector<int8_t> input, weights;
  std::vector<float> weight_scales, requant;
  std::vector<int32_t> bias;

  QConvParams Params() const {
    QConvParams p;
    p.in_h = h;
    p.in_w = w;
    p.out_h = out_h();
    p.out_w = out_w();
    p.stride = stride;
    p.in_c = in_c;
    p.out_c = out_c;
    p.input_zero_point = input_zero_point;
    p.output_zero_point = output_zero_point;
    p.output_min = relu ? std::max(-128, output_zero_point) : -128;
    p.output_max = 127;
    p.requant_scale = requant.data();
    return p;
  }

  uint32_t out_h() const { return (h - 1) / stride + 1; }
  uint32_t out_w() const { return (w - 1) / stride + 1; }

  std::vector<int8_t> Reference() const {
    const ref::Conv2DShape shape{h, w, in_c, out_h(), out_w(), out_c, 3, 3, stride, 1, 1, relu};
    std::vector<int8_t> out(size_t{out_h()} * out_w() * out_c);
    ref::Conv2DInt8(shape, input_q, output_q, input.data(), weights.data(), weight_scales.data(),
                   bias.data(), out.data());
    return out;
  }
};

// Random data whose outputs spread over the int8 range: weights of a
// triangular distribution (as trained weights, mostly small), inputs
// uniform, an output scale that puts a typical accumulator about 30 LSB
// from the zero point.
Problem RandomProblem(uint32_t h, uint32_t w, uint32_t in_c, uint32_t out_c, int32_t zp, bool relu,
                      uint32_t seed, uint32_t stride = 1) {
  Problem pr;
  pr.h = h, pr.w = w, pr.in_c = in_c, pr.out_c = out_c, pr.stride = stride;
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
  // An accumulator's typical size: sqrt(taps) times the weights' (52) and
  // the inputs' root mean square (spread 74, mean -0.5 - zp).
  const float mean = -0.5f - static_cast<float>(zp);
  const float typical = std::sqrt(9.0f * in_c) * 52.0f * std::sqrt(74.0f * 74.0f + mean * mean);
  std::uniform_int_distribution<int32_t> bias(-static_cast<int32_t>(typical / 2),
                                              static_cast<int32_t>(typical / 2));
  pr.weight_scales.resize(out_c);
  pr.bias.resize(out_c);
  pr.requant.resize(out_c);
  for (uint32_t o = 0; o < out_c; ++o) {
    pr.weight_scales[o] = scale(rng);
    pr.bias[o] = bias(rng);
  }
  pr.output_q = QuantParams{pr.input_q.scale * 0.006f * typical / 30.0f, pr.output_zero_point};
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
  size_t saturated = 0;    // reference outputs at -128 or 127
  std::set<int> distinct;  // reference output values
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
  std::vector<int8_t> out(size_t{pr.out_h()} * pr.out_w() * pr.out_c, 0x55);
  family.run(p, packed.data, pr.input.data(), out.data(), scratch.data, pool.pool);
  const std::vector<int8_t> ref = pr.Reference();
  c.outputs = out.size();
  for (size_t i = 0; i < out.size(); ++i) {
    const int d = std::abs(int{out[i]} - int{ref[i]});
    c.exact += d == 0;
    c.max_difference = std::max(c.max_difference, d);
    c.saturated += ref[i] == -128 || ref[i] == 127;
    c.distinct.insert(ref[i]);
  }
  return c;
}

void CheckMatches(const QConvFamily& family, const Problem& pr, uint32_t threads) {
  CAPTURE(family.name);
  CAPTURE(pr.h);
  CAPTURE(pr.w);
  CAPTURE(pr.in_c);
  CAPTURE(pr.out_c);
  CAPTURE(pr.stride);
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

// One tile dimension's matrices (qw::DimOf) as int64 accessors.
struct Dim {
  uint32_t stride;
  bool small;
  qw::DimTransform t;
  Dim(uint32_t stride_, bool small_)
      : stride(stride_), small(small_), t(qw::DimOf(stride_, small_)) {}
  int outputs() const { return t.outputs; }
  int positions() const { return t.positions; }
  int64_t input(int a, int r) const { return t.input[a * t.positions + r]; }
  int64_t output(int i, int b) const { return t.output[i * t.positions + b]; }
  int64_t kernel(int a, int k) const { return t.kernel[t.map[a] * 3 + k]; }
  int64_t scale(int a) const { return t.scale[a]; }
  int shift(int i) const { return t.shifts[i]; }
  // The position of point +1 (where the bias enters).
  int plus_one() const {
    for (int a = 0; a < t.positions; ++a) {
      if (t.map[a] == (stride == 2 ? 4 : 1)) return a;
    }
    return -1;
  }
};
const Dim kDims[] = {Dim(1, false), Dim(1, true), Dim(2, false), Dim(2, true)};

int64_t Threes(const Dim& rows, const Dim& cols) {
  const int c = rows.t.threes + cols.t.threes;
  return c == 2 ? 9 : (c == 1 ? 3 : 1);
}

TEST_CASE("qconv winograd: B^T rows are the Lagrange numerators of the points") {
  // Q_j(p_i) = 0 for the other finite points, Q_j(p_j) = the kernel scale
  // (the denominator G~ leaves out), and row infinity is the monic product.
  // At stride 2 this holds for the F(m, 2) positions on the even pixels;
  // the first m positions copy the odd pixels.
  for (const Dim& dim : kDims) {
    CAPTURE(dim.stride);
    CAPTURE(dim.small);
    const int m = dim.stride == 2 ? dim.outputs() : 0;  // copied pixels
    const int n = dim.positions() - m;                  // interpolation positions
    const int degree = n - 1;
    const int pixel_step = dim.stride;  // the F(m, 2) part reads every other pixel
    for (int j = 0; j < m; ++j) {
      for (int r = 0; r < dim.positions(); ++r) CHECK(dim.input(j, r) == (r == 2 * j + 1 ? 1 : 0));
      CHECK(dim.scale(j) == 1);
    }
    for (int j = 0; j < n; ++j) {
      for (int r = 0; r < dim.positions(); ++r) {
        if (r % pixel_step != 0) CHECK(dim.input(m + j, r) == 0);
      }
      for (int i = 0; i < n - 1; ++i) {
        const double point = winograd::PointAt(degree, i);
        double value = 0.0;
        for (int r = 0; r < n; ++r) {
          value += dim.input(m + j, r * pixel_step) * winograd::Power(point, r);
        }
        CAPTURE(j);
        CAPTURE(i);
        if (j == n - 1) {
          CHECK(value == 0.0);
        } else {
          CHECK(value == (i == j ? dim.scale(m + j) : 0.0));
        }
      }
      CHECK(dim.input(m + j, (n - 1) * pixel_step) == (j == n - 1 ? 1 : 0));
    }
  }
}

TEST_CASE("qconv winograd: G~ and O are points.h's G and A^T with the denominators moved") {
  for (const Dim& dim : kDims) {
    CAPTURE(dim.stride);
    CAPTURE(dim.small);
    const int m = dim.stride == 2 ? dim.outputs() : 0;
    const int n = dim.positions() - m;
    const int degree = n - 1;
    const int taps = dim.stride == 2 ? 2 : 3;  // the outer taps 0 and 2 at stride 2
    // The small transform's points are the big one's at its positions, and
    // G~'s rows are shared (dim.kernel reads them through the map).
    const Dim big(dim.stride, false);
    const int big_m = dim.stride == 2 ? big.outputs() : 0;
    const int big_degree = big.positions() - big_m - 1;
    for (int j = 0; j < n - 1; ++j) {
      CHECK(winograd::PointAt(degree, j) ==
            winograd::PointAt(big_degree, dim.t.map[m + j] - big_m));
    }
    for (int j = 0; j < m; ++j) {
      CHECK(dim.kernel(j, 0) == 0);
      CHECK(dim.kernel(j, 1) == 1);
      CHECK(dim.kernel(j, 2) == 0);
    }
    for (int j = 0; j < n; ++j) {
      for (int t = 0; t < taps; ++t) {
        const int tap = dim.stride == 2 ? 2 * t : t;
        CHECK(dim.kernel(m + j, tap) ==
              dim.scale(m + j) * winograd::KernelCoefficient(degree, j, taps, t));
      }
      if (dim.stride == 2) CHECK(dim.kernel(m + j, 1) == 0);
    }
    // O = (3^threes * 2^shift_i) [I | A^T] diag(1 / k), row by row, with I
    // the first phase's identity at stride 2.
    for (int i = 0; i < dim.outputs(); ++i) {
      const double row_scale = (dim.t.threes == 1 ? 3.0 : 1.0) * std::ldexp(1.0, dim.shift(i));
      for (int j = 0; j < m; ++j) CHECK(dim.output(i, j) == (i == j ? row_scale : 0.0));
      for (int j = 0; j < n; ++j) {
        const double a = j == n - 1 ? (i == dim.outputs() - 1 ? 1.0 : 0.0)
                                    : winograd::Power(winograd::PointAt(degree, j), i);
        CHECK(dim.output(i, m + j) == row_scale * a / dim.scale(m + j));
      }
    }
  }
  CHECK(uint32_t{9} * qw::kInverse[0] == 1u);
  CHECK(uint32_t{3} * qw::kInverse[1] == 1u);
  CHECK(qw::kInverse[2] == 1u);
}

TEST_CASE("qconv winograd: the bias factor at (+1, +1) adds 3^c * 2^(e_i + e_j) * bias") {
  for (uint32_t stride : {1u, 2u}) {
    for (bool small_row : {false, true}) {
      for (bool small_col : {false, true}) {
        const Dim rows(stride, small_row), cols(stride, small_col);
        const int kind = int{small_row} + int{small_col};
        for (int i = 0; i < rows.outputs(); ++i) {
          for (int j = 0; j < cols.outputs(); ++j) {
            CHECK(rows.output(i, rows.plus_one()) * cols.output(j, cols.plus_one()) *
                      qw::kBiasFactor[kind] ==
                  Threes(rows, cols) * (int64_t{1} << (rows.shift(i) + cols.shift(j))));
          }
        }
      }
    }
  }
}

TEST_CASE("qconv winograd: O (U . V) O^T is 3^c * 2^(e_i + e_j) times the direct sum, exactly") {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> data(-255, 255), weight(-128, 127), pick(0, 2);
  int64_t largest_v = 0, largest_u = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    const uint32_t stride = trial % 8 < 4 ? 1 : 2;
    const Dim rows(stride, trial % 4 >= 2), cols(stride, trial % 2 == 1);
    int64_t d[9][9], g[3][3];
    // Extremes as well as random values, so the bounds below are reached.
    for (auto& row : d) {
      for (int64_t& x : row) x = trial % 3 == 0 ? (pick(rng) - 1) * 255 : data(rng);
    }
    for (auto& row : g) {
      for (int64_t& x : row) x = trial % 3 == 0 ? (pick(rng) == 0 ? -128 : 127) : weight(rng);
    }
    int64_t m[9][9];
    for (int a = 0; a < rows.positions(); ++a) {
      for (int b = 0; b < cols.positions(); ++b) {
        int64_t sv = 0, su = 0;
        for (int r = 0; r < rows.positions(); ++r) {
          for (int c = 0; c < cols.positions(); ++c)
            sv += rows.input(a, r) * cols.input(b, c) * d[r][c];
        }
        // U comes from the big transform's position the small one maps to.
        for (int y = 0; y < 3; ++y) {
          for (int x = 0; x < 3; ++x) su += rows.kernel(a, y) * cols.kernel(b, x) * g[y][x];
        }
        m[a][b] = sv * su;
        largest_v = std::max<int64_t>(largest_v, std::llabs(sv));
        largest_u = std::max<int64_t>(largest_u, std::llabs(su));
      }
    }
    for (int i = 0; i < rows.outputs(); ++i) {
      for (int j = 0; j < cols.outputs(); ++j) {
        int64_t z = 0, s = 0;
        for (int a = 0; a < rows.positions(); ++a) {
          for (int b = 0; b < cols.positions(); ++b)
            z += rows.output(i, a) * cols.output(j, b) * m[a][b];
        }
        for (int y = 0; y < 3; ++y) {
          for (int x = 0; x < 3; ++x) s += g[y][x] * d[stride * i + y][stride * j + x];
        }
        CAPTURE(trial);
        REQUIRE(z == Threes(rows, cols) * (int64_t{1} << (rows.shift(i) + cols.shift(j))) * s);
      }
    }
  }
  // The int16 bounds of the header hold and are what int16 can carry.
  CHECK(largest_v <= 25500);
  CHECK(largest_u <= 6272);
}

TEST_CASE("qconv winograd: applies to 3x3 padding 1, stride 1 or 2") {
  QConvParams p;
  p.in_h = p.out_h = 14;
  p.in_w = p.out_w = 14;
  p.in_c = p.out_c = 192;
  CHECK(qw::Applies(p));
  QConvParams q = p;
  q.stride = 2;
  q.out_h = q.out_w = 7;
  CHECK(qw::Applies(q));
  q.out_w = 6;
  CHECK_FALSE(qw::Applies(q));
  q = p;
  q.stride = 3;
  q.out_h = q.out_w = 5;
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

TEST_CASE("qconv winograd: matches the reference bit for bit on odd shapes, stride 1 and 2") {
  struct Map {
    uint32_t h, w;
  };
  // At stride 2 these give outputs 1x1, 1x2, 4x4, 7x7, 7x9 and 14x14.
  const Map maps[] = {{1, 1}, {2, 3}, {7, 7}, {14, 14}, {13, 17}, {28, 28}};
  struct Channels {
    uint32_t in, out;
  };
  const Channels channels[] = {{1, 1},  {3, 5},  {5, 3},   {13, 17}, {17, 13},
                               {33, 1}, {1, 33}, {48, 48}, {96, 96}, {192, 192}};
  const int32_t zero_points[] = {-128, 0, 127};
  const uint32_t threads[] = {1, 2, 4};
  uint32_t seed = 100;
  for (const QConvFamily* family : Forms()) {
    for (uint32_t stride : {1u, 2u}) {
      size_t outputs = 0, exact = 0, saturated = 0;
      std::set<int> distinct;
      for (size_t mi = 0; mi < std::size(maps); ++mi) {
        for (size_t ci = 0; ci < std::size(channels); ++ci) {
          const Map map = maps[mi];
          const Channels ch = channels[ci];
          // 192 -> 192 only on A0's maps for it (14x14 at stride 1, 28x28
          // at stride 2) and the odd 13x17, and 28x28 only at stride 2, to
          // keep the reference's time down under qemu.
          const bool wide = ch.in * ch.out > 96 * 96;
          const bool a0_map = map.h == (stride == 1 ? 14u : 28u);
          if (map.h == 28 && stride == 1) continue;
          if (wide && !(a0_map || map.h == 13)) continue;
          const int32_t zp = zero_points[(mi + ci) % 3];
          const bool relu = (mi + ci) % 2 == 0;
          const uint32_t t = threads[(mi + 2 * ci + stride) % 3];
          const Problem pr = RandomProblem(map.h, map.w, ch.in, ch.out, zp, relu, ++seed, stride);
          const Comparison c = RunAndCompare(*family, pr, t);
          CAPTURE(family->name);
          CAPTURE(stride);
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
          saturated += c.saturated;
          distinct.insert(c.distinct.begin(), c.distinct.end());
        }
      }
      // The outputs spread over the int8 range, so the comparison means
      // something (rounding and the clamp both matter).
      CHECK(saturated * 10 <= outputs);
      CHECK(distinct.size() >= 200);
      MESSAGE(std::string(family->name)
              << ", stride " << stride << ": " << exact << " of " << outputs
              << " outputs bit-exact (" << 100.0 * exact / outputs << "%); " << saturated
              << " saturated, " << distinct.size() << " distinct values");
    }
  }
}

TEST_CASE("qconv winograd: every zero point, ReLU or not, 1, 2 and 4 threads") {
  uint32_t seed = 300;
  for (const QConvFamily* family : Forms()) {
    for (uint32_t stride : {1u, 2u}) {
      for (int32_t zp : {-128, 0, 127}) {
        for (bool relu : {false, true}) {
          for (uint32_t t : {1u, 2u, 4u}) {
            // Few channels, for the reference's time under qemu; many tile
            // blocks (and a small last column), so the threads share work.
            const uint32_t size = stride == 1 ? 20 : 40;
            CheckMatches(*family, RandomProblem(size, size + 2, 17, 24, zp, relu, ++seed, stride),
                         t);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace rvgg::kernels
