// runtime/src/ops/winograd/ fp16 lines (transforms.h): the binary16
// conversions they rely on (runtime/src/half.h), and every fp16 line shape against the fp32 lines
// within the rounding bounds of fp16. The NEON fp16-arithmetic set runs only on CPUs with ARMv8.2
// FP16 (under qemu: QEMU_CPU=cortex-a76); the portable fp16-storage set runs everywhere.
#include <cpuinfo.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "runtime/src/half.h"
#include "runtime/src/ops/winograd/transforms.h"

namespace rvgg::testing {
namespace {

// Unit roundoff of binary16: half the distance from 1 to the next value.
constexpr double kU = 1.0 / 2048;

TEST_CASE("half: FloatToHalf rounds to nearest even, overflows to infinity and keeps subnormals") {
  CHECK(FloatToHalf(1.0f) == 0x3c00);
  CHECK(FloatToHalf(-2.0f) == 0xc000);
  CHECK(FloatToHalf(0.0f) == 0x0000);
  CHECK(FloatToHalf(-0.0f) == 0x8000);
  CHECK(FloatToHalf(65504.0f) == 0x7bff);
  CHECK(FloatToHalf(65519.0f) == 0x7bff);  // below the midpoint to 65536
  CHECK(FloatToHalf(65520.0f) == 0x7c00);  // the midpoint: ties to even, infinity
  CHECK(FloatToHalf(1e9f) == 0x7c00);
  CHECK(FloatToHalf(-std::numeric_limits<float>::infinity()) == 0xfc00);
  CHECK(FloatToHalf(std::numeric_limits<float>::quiet_NaN()) == 0x7e00);
  CHECK(FloatToHalf(1.0f + 1.0f / 2048) == 0x3c00);     // tie, to even (down)
  CHECK(FloatToHalf(1.0f + 3.0f / 2048) == 0x3c02);     // tie, to even (up)
  CHECK(FloatToHalf(1.0f + 1.0f / 2047) == 0x3c01);     // above the tie
  CHECK(FloatToHalf(std::ldexp(1.0f, -14)) == 0x0400);  // smallest normal
  CHECK(FloatToHalf(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  CHECK(FloatToHalf(std::ldexp(1.0f, -25)) == 0x0000);  // tie, to even (zero)
  CHECK(FloatToHalf(std::ldexp(3.0f, -25)) == 0x0002);  // tie, to even (up)
  CHECK(FloatToHalf(std::ldexp(1.0f, -26)) == 0x0000);
  CHECK(FloatToHalf(std::ldexp(1023.0f, -24)) == 0x03ff);  // largest subnormal
  CHECK(FloatToHalf(std::ldexp(2047.0f, -25)) == 0x0400);  // rounds up into the normals
}

TEST_CASE("half: every binary16 value converts to float and back unchanged (NaNs to NaNs)") {
  int mismatches = 0;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = HalfToFloat(static_cast<Half>(h));
    const bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
    if (nan) {
      // A NaN of the same sign (the payload is the converter's business:
      // ARM's fcvt keeps it, the portable code makes it 0x7e00).
      const Half back = FloatToHalf(f);
      mismatches += !std::isnan(f);
      mismatches += (back & 0xfc00) != (h & 0xfc00) || (back & 0x3ff) == 0;
    } else {
      mismatches += FloatToHalf(f) != h;
    }
  }
  CHECK(mismatches == 0);
  CHECK(HalfToFloat(0x3555) == doctest::Approx(1.0 / 3).epsilon(kU));
  CHECK(HalfToFloat(0x0001) == std::ldexp(1.0f, -24));
  CHECK(HalfToFloat(0x7bff) == 65504.0f);
  CHECK(std::isinf(HalfToFloat(0xfc00)));
}

TEST_CASE("half: the portable FloatToHalf agrees with the compiler's float-to-fp16 conversion") {
#if defined(__aarch64__)
  MESSAGE("aarch64: FloatToHalf is the hardware conversion itself; nothing to compare it with");
#elif defined(__FLT16_MAX__)
  std::mt19937 rng(5);
  int mismatches = 0, checked = 0;
  for (int i = 0; i < 200000; ++i) {
    // Random signs and mantissas over the exponents around binary16's range.
    const uint32_t exponent = 100 + rng() % 50;
    const uint32_t bits = (rng() & 0x80000000u) | (exponent << 23) | (rng() & 0x7fffffu);
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    const _Float16 n = static_cast<_Float16>(f);
    Half native_bits;
    std::memcpy(&native_bits, &n, sizeof(native_bits));
    mismatches += FloatToHalf(f) != native_bits;
    ++checked;
  }
  INFO(mismatches << " of " << checked << " differ");
  CHECK(mismatches == 0);
#else
  MESSAGE("no compiler fp16 type on this target: FloatToHalf checked against hand cases only");
#endif
}

std::vector<Half> RandomHalfs(size_t count, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<Half> v(count);
  for (Half& h : v) h = FloatToHalf(normal(rng));
  return v;
}

std::vector<float> ToFloat(const std::vector<Half>& v) {
  std::vector<float> f(v.size());
  for (size_t i = 0; i < v.size(); ++i) f[i] = HalfToFloat(v[i]);
  return f;
}

// The matrix (rows x n) of a linear fp32 line, read off by running it on the
// unit vectors: channel j of the n inputs is e_j (n <= kMaxPositions <= 16).
template <class Run>
std::vector<double> LineMatrix(int n, int rows, Run run) {
  const size_t c = winograd::kChannelBlock;
  static_assert(winograd::kMaxPositions <= winograd::kChannelBlock, "one channel per unit vector");
  std::vector<float> buffer(size_t(n) * c, 0.0f);
  for (int j = 0; j < n; ++j) buffer[size_t(j) * c + j] = 1.0f;
  const float* src[winograd::kMaxPositions];
  float* dst[winograd::kMaxPositions];
  for (int k = 0; k < n; ++k) dst[k] = buffer.data() + k * c, src[k] = dst[k];
  run(src, dst, c);
  std::vector<double> matrix(size_t(rows) * n);
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < n; ++j) matrix[size_t(i) * n + j] = buffer[size_t(i) * c + j];
  }
  return matrix;
}

// How the fp16 lines round: kOnce (fp16 storage, float arithmetic: the
// stored result rounds once) or kEveryOperation (fp16 arithmetic: each of
// the at most positions + 2 dependent additions and multiply-adds on the
// way to an output rounds).
enum class Rounding { kOnce, kEveryOperation };

struct Worst {
  double ratio = 0.0;  // largest error / bound seen
  void Add(double error, double bound) { ratio = std::max(ratio, error / bound); }
};

// Runs one fp16 line on `x` (n lines of `c` halves) three ways: in place
// (every destination aliasing its source, as the kernel calls the lines),
// out of place, and through the fp32 line on the same values; checks the
// two fp16 runs agree bit for bit and each of the `rows` outputs is within
// the bound of the fp32 one:
//   kOnce:           |y16 - y32| <= u |y32| + 1e-6 s
//   kEveryOperation: |y16 - y32| <= (n + 3) u s
// with u fp16's unit roundoff and s = sum_j |A_ij| |x_j| (+ |bias|): the
// magnitude the sum goes through (the transforms' factorization adds no
// cancellation of its own: each input reaches an output through one
// product of coefficients).
template <class Run16, class Run32>
void CheckLine(const std::string& what, int n, int rows, const std::vector<double>& matrix,
               const std::vector<Half>& x, const std::vector<Half>* bias, float lo, Run16 run16,
               Run32 run32, Rounding rounding, Worst* worst) {
  const size_t c = x.size() / n;
  std::vector<Half> in_place = x, out(x.size(), 0x7e00);
  std::vector<float> ref = ToFloat(x);
  const float* src32[winograd::kMaxPositions];
  float* dst32[winograd::kMaxPositions];
  const Half* src[winograd::kMaxPositions];
  Half* dst[winograd::kMaxPositions];
  for (int k = 0; k < n; ++k) dst32[k] = ref.data() + k * c, src32[k] = dst32[k];
  run32(src32, dst32, c);
  for (int k = 0; k < n; ++k) dst[k] = in_place.data() + k * c, src[k] = dst[k];
  run16(src, dst, c);
  for (int k = 0; k < n; ++k) src[k] = x.data() + k * c, dst[k] = out.data() + k * c;
  run16(src, dst, c);
  INFO(what);
  CHECK(std::equal(in_place.begin(), in_place.begin() + rows * c, out.begin()));
  double worst_error = 0.0;
  int failures = 0;
  for (int i = 0; i < rows; ++i) {
    for (size_t ch = 0; ch < c; ++ch) {
      double s = bias != nullptr ? std::fabs(HalfToFloat((*bias)[ch])) : 0.0;
      for (int j = 0; j < n; ++j)
        s += std::fabs(matrix[size_t(i) * n + j] * HalfToFloat(x[j * c + ch]));
      const double y32 = ref[i * c + ch];
      const double y16 = HalfToFloat(out[i * c + ch]);
      const double error = std::fabs(y16 - y32);
      const double bound = rounding == Rounding::kOnce ? kU * std::fabs(y32) + 1e-6 * s + 1e-30
                                                       : (n + 3) * kU * s + 1e-30;
      failures += !(error <= bound);  // NaN fails
      worst_error = std::max(worst_error, error);
      worst->Add(error, bound);
      if (lo == 0.0f) failures += !(y16 >= 0.0);
    }
  }
  INFO("worst error " << worst_error);
  CHECK(failures == 0);
}

// Every line of `set` (stride 1, m = 2..6; stride 2, m = 2..7: input,
// output, and output with bias and ReLU or no clamp) against the fp32
// scalar lines.
void CheckSet(const winograd::TransformSetF16& set, Rounding rounding) {
  const winograd::TransformSet fp32 = winograd::ScalarTransforms();
  const size_t c = 3 * winograd::kChannelBlock;
  const float inf = std::numeric_limits<float>::infinity();
  Worst worst;
  for (int stride : {1, 2}) {
    const int max_m = stride == 1 ? winograd::kMaxTileStride1 : winograd::kMaxTileStride2;
    for (int m = winograd::kMinTile; m <= max_m; ++m) {
      const int n = winograd::Positions(stride, m);
      const winograd::LineSet& l32 = fp32.lines(stride, m);
      const winograd::LineSetF16& l16 = set.lines(stride, m);
      const std::string name =
          std::string(set.isa) + " stride " + std::to_string(stride) + " m " + std::to_string(m);
      REQUIRE(static_cast<bool>(l16.input));
      REQUIRE(static_cast<bool>(l16.output));
      REQUIRE(static_cast<bool>(l16.output_epilogue));
      const auto b = LineMatrix(n, n, [&](auto s, auto d, size_t k) { l32.input(s, d, k); });
      const auto a =
          LineMatrix(n, m, [&](auto s, auto d, size_t k) { l32.output(s, d, k, nullptr, 0.0f); });
      // Pixels (post-ReLU-like magnitudes; signed, as pass 2 sees them) and
      // GEMM results.
      const auto pixels = RandomHalfs(size_t(n) * c, 100 + 10 * stride + m, 2.0f);
      const auto products = RandomHalfs(size_t(n) * c, 200 + 10 * stride + m, 8.0f);
      const auto bias = RandomHalfs(c, 300 + m, 1.0f);
      CheckLine(
          name + " input", n, n, b, pixels, nullptr, -inf,
          [&](const Half* const* s, Half* const* d, size_t k) { l16.input(s, d, k); },
          [&](const float* const* s, float* const* d, size_t k) { l32.input(s, d, k); }, rounding,
          &worst);
      CheckLine(
          name + " output", n, m, a, products, nullptr, -inf,
          [&](const Half* const* s, Half* const* d, size_t k) { l16.output(s, d, k, nullptr, 0); },
          [&](const float* const* s, float* const* d, size_t k) {
            l32.output(s, d, k, nullptr, 0);
          },
          rounding, &worst);
      const auto bias32 = ToFloat(bias);
      for (float lo : {0.0f, -inf}) {
        CheckLine(
            name + (lo == 0.0f ? " output + bias, ReLU" : " output + bias"), n, m, a, products,
            &bias, lo,
            [&](const Half* const* s, Half* const* d, size_t k) {
              l16.output_epilogue(s, d, k, bias.data(), lo);
            },
            [&](const float* const* s, float* const* d, size_t k) {
              l32.output_epilogue(s, d, k, bias32.data(), lo);
            },
            rounding, &worst);
      }
    }
  }
  MESSAGE(std::string(set.isa) << ": the worst line error is " << worst.ratio << " of its bound");
  // A bound loose enough to pass anything would show here.
  CHECK(worst.ratio > 0.01);
}

TEST_CASE("winograd fp16: the portable fp16-storage lines round each fp32 line result once") {
  const winograd::TransformSetF16 set = winograd::ScalarF16Transforms();
  REQUIRE(set.isa != nullptr);
  CHECK(std::string(set.isa) == "scalar-f16");
  CheckSet(set, Rounding::kOnce);
}

// Asked of cpuinfo here, not through the runtime's CpuHasFp16Arithmetic,
// which GetWinogradTransformsF16 uses.
bool CpuReportsFp16Arithmetic() {
#if defined(__aarch64__)
  return cpuinfo_initialize() && cpuinfo_has_arm_neon_fp16_arith();
#else
  return false;
#endif
}

TEST_CASE(
    "winograd fp16: the fp16-arithmetic lines are offered exactly where cpuinfo reports FP16") {
  const winograd::TransformSetF16 set = winograd::GetWinogradTransformsF16();
  const bool has = CpuReportsFp16Arithmetic();
  CHECK((set.isa != nullptr) == has);
  if (set.isa != nullptr) {
    CHECK(std::string(set.isa) == "neon-fp16");
    MESSAGE("this CPU has FP16 arithmetic: the fp16 lines run as " << std::string(set.isa));
  } else {
    MESSAGE(
        "this CPU has no FP16 arithmetic (ARMv8.2 FP16): no fp16 lines are offered, and "
        "the NEON fp16 lines are NOT checked here (on aarch64 run with "
        "QEMU_CPU=cortex-a76); only the portable scalar-f16 baseline is");
  }
}

TEST_CASE(
    "winograd fp16: the NEON fp16 lines match the fp32 lines within fp16 arithmetic's bound") {
  const winograd::TransformSetF16 set = winograd::GetWinogradTransformsF16();
  if (set.isa == nullptr) {
    MESSAGE("skipped: no FP16 arithmetic on this CPU, the NEON fp16 lines cannot run");
    return;
  }
  CheckSet(set, Rounding::kEveryOperation);
}

}  // namespace
}  // namespace rvgg::testing
