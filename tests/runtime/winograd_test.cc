// runtime/src/ops/winograd/: transforms, kernel, selection and their use
// through the C API. The reference convolution is the oracle throughout.
#include "runtime/src/ops/winograd/winograd.h"

#include <doctest/doctest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "runtime/src/half.h"
#include "runtime/src/memory.h"
#include "runtime/src/ops/winograd/gemm.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "rvgg/rvgg.h"
#include "tests/runtime/conv_desc.h"
#include "tests/runtime/layer_harness.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

// winograd::ChooseTiles for a backend, setting and budget, one tile code per
// layer (0: direct).
void PickTiles(const LayerDesc* layers, uint32_t count, rvgg_backend backend, rvgg_winograd setting,
               uint64_t budget, uint8_t* tiles) {
  rvgg_options options;
  rvgg_options_default(&options);
  options.backend = backend;
  options.winograd = setting;
  options.precision = RVGG_PRECISION_FP32;
  options.winograd_budget_bytes = static_cast<size_t>(budget);
  std::vector<KernelChoice> choices(count);
  winograd::ChooseTiles(layers, count, options, choices.data());
  for (uint32_t i = 0; i < count; ++i) tiles[i] = static_cast<uint8_t>(choices[i].variant);
}

struct Shape {
  uint32_t h, w, in_c, out_c, groups;
  bool relu;
  uint32_t stride = 1;
};

LayerDesc MakeConv3x3(const Shape& s, LayerData* data, uint32_t seed = 21) {
  LayerDesc d = Conv3x3Desc(s.h, s.w, s.in_c, s.out_c, s.stride, s.groups, s.relu);
  d.name = "test";
  const uint32_t group_in = s.in_c / s.groups;
  data->weights = RandomInput(size_t{s.out_c} * 9 * group_in, seed);
  const float scale = std::sqrt(2.0f / (9.0f * group_in));
  for (float& v : data->weights) v *= scale;
  data->bias = RandomInput(s.out_c, seed + 1);
  d.weights = data->weights.data();
  d.bias = data->bias.data();
  return d;
}

// max |a - b| / max(1e-30, max |b|)
double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return worst / scale;
}

uint32_t Square(int m) { return winograd::TileCode(m, m); }

// Whether a chosen variant is a direct convolution (XNNPACK's, or rvgg's
// GEMM on the windows: gemm_conv_test.cc), not a Winograd tile.
bool Direct(uint32_t variant) {
  return variant == winograd::kDirect || variant == winograd::kGemmDirect;
}

std::string TileText(uint32_t stride, uint32_t code) {
  return "F(" + std::to_string(winograd::TileRows(code)) + "x" +
         std::to_string(winograd::TileCols(code)) + (stride == 2 ? ") stride 2" : ")");
}

// Tolerances, relative to the largest output: about 3x the worst errors
// measured over the shapes below and the RepVGG-like layers (x86 and
// aarch64/armv7 under qemu). The error grows with the transform's points:
// F(2, 3) and the stride-2 F(2..3, 2) (at most 3 finite points) are about
// as exact as the direct convolution (4e-7), up to F(6, 3) and F(7, 2)
// (7 points) about 6e-6; XNNPACK's direct convolution is at about 1e-6.
double Tolerance(uint32_t stride, uint32_t code) {
  const int m = std::max(winograd::TileRows(code), winograd::TileCols(code));
  const int points = stride == 1 ? m + 1 : m;
  return points <= 3 ? 2e-6 : 2e-5;
}

std::string ShapeText(const Shape& s) {
  return std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.in_c) + " -> " +
         std::to_string(s.out_c) + " stride " + std::to_string(s.stride) + " groups " +
         std::to_string(s.groups) + (s.relu ? " relu" : "");
}

void CheckMatchesReference(const Shape& s, uint32_t code) {
  LayerData data;
  const LayerDesc d = MakeConv3x3(s, &data);
  REQUIRE(winograd::ValidTile(d, code));
  const auto input = RandomInput(d.input_elements(), 22);
  const auto ref = RunLayer(d, RVGG_BACKEND_REFERENCE, input);
  const auto win = RunLayer(d, RVGG_BACKEND_XNNPACK, input, code);
  REQUIRE(win.size() == ref.size());
  const double err = RelativeError(win, ref);
  INFO(TileText(s.stride, code) << " " << ShapeText(s) << ": relative error " << err);
  CHECK(err <= Tolerance(s.stride, code));
  if (s.relu) CHECK(*std::min_element(win.begin(), win.end()) >= 0.0f);
}

const Shape kShapes[] = {
    {9, 7, 8, 16, 1, true},      // H, W not multiples of any m
    {13, 11, 12, 20, 1, false},  // channels not multiples of 16, no ReLU
    {14, 14, 64, 48, 1, true},   // a RepVGG-like stage
    {6, 12, 5, 7, 1, false},     // odd channels: staged channel tails everywhere
    {1, 1, 8, 8, 1, true},       // one pixel: all but the centre tap padded
    {2, 2, 16, 4, 1, false},    {1, 9, 4, 12, 1, true},    {10, 9, 16, 24, 2, true},  // grouped
    {7, 8, 32, 32, 4, false},   {16, 16, 24, 40, 1, true},  // exact multiples of 2 and 4
    {24, 20, 36, 20, 1, true},                              // exact multiples of 3, 4, 5 and 6
};

const Shape kStride2Shapes[] = {
    {9, 7, 8, 16, 1, true, 2},     // odd sizes: the last window reads past the image
    {14, 14, 24, 32, 1, true, 2},  // even sizes, RepVGG-like
    {13, 10, 5, 7, 1, false, 2},   // odd channels, no ReLU
    {1, 1, 8, 8, 1, true, 2},      // one pixel
    {2, 3, 16, 4, 1, false, 2},   {11, 12, 16, 24, 2, true, 2},  // grouped
    {28, 28, 16, 16, 1, true, 2},  // 14 x 14 outputs: 7 and 2 tile them exactly
};

TEST_CASE("winograd: F(2x2), F(4x4), F(6x6) match the reference on odd, tiny and grouped shapes") {
  for (const Shape& s : kShapes) {
    for (int m : {2, 4, 6}) CheckMatchesReference(s, Square(m));
  }
}

TEST_CASE("winograd: every rectangular stride-1 tile from 2 to 6 matches the reference") {
  const Shape shapes[] = {kShapes[0], kShapes[3], kShapes[7], kShapes[10]};
  for (const Shape& s : shapes) {
    for (int my = winograd::kMinTile; my <= winograd::kMaxTileStride1; ++my) {
      for (int mx = winograd::kMinTile; mx <= winograd::kMaxTileStride1; ++mx) {
        CheckMatchesReference(s, winograd::TileCode(my, mx));
      }
    }
  }
}

TEST_CASE("winograd: stride-2 polyphase tiles from 2 to 7 match the reference") {
  for (const Shape& s : kStride2Shapes) {
    for (int my = winograd::kMinTile; my <= winograd::kMaxTileStride2; ++my) {
      for (int mx = winograd::kMinTile; mx <= winograd::kMaxTileStride2; ++mx) {
        if (my != mx && my + mx != 9 && &s != &kStride2Shapes[0]) continue;  // a sample
        CheckMatchesReference(s, winograd::TileCode(my, mx));
      }
    }
  }
}

TEST_CASE("winograd: a hand-checked 3x3 all-ones kernel gives the neighbourhood sums") {
  // The matrices of F(2, 3) and the stride-2 F(2, 2) hold only 0, +-1 and
  // 1/2: on small integers they are exact. Larger ones round (1/6, 1/90, ...
  // in G).
  for (uint32_t stride : {1u, 2u}) {
    for (int m : {2, 3, 4, 6}) {
      LayerData data;
      LayerDesc d = MakeConv3x3({stride == 1 ? 3u : 5u, 3, 4, 4, 1, false, stride}, &data);
      std::fill(data.weights.begin(), data.weights.end(), 0.0f);
      for (uint32_t o = 0; o < 4; ++o) {
        for (int k = 0; k < 9; ++k) data.weights[(o * 9 + k) * 4 + o] = 1.0f;  // channel o only
      }
      std::fill(data.bias.begin(), data.bias.end(), 0.5f);
      std::vector<float> input(d.input_elements());
      for (uint32_t p = 0; p < d.in_h * d.in_w; ++p) {
        for (int c = 0; c < 4; ++c) input[p * 4 + c] = float(p + 1);
      }
      const auto out = RunLayer(d, RVGG_BACKEND_XNNPACK, input, Square(m));
      for (uint32_t y = 0; y < d.out_h; ++y) {
        for (uint32_t x = 0; x < d.out_w; ++x) {
          float expected = 0.5f;
          for (int dy = -1; dy <= 1; ++dy) {
            for (int dx = -1; dx <= 1; ++dx) {
              const int iy = int(y * stride) + dy, ix = int(x * stride) + dx;
              if (iy >= 0 && ix >= 0 && iy < int(d.in_h) && ix < int(d.in_w)) {
                expected += float(iy * int(d.in_w) + ix + 1);
              }
            }
          }
          for (int c = 0; c < 4; ++c) {
            const float got = out[(y * d.out_w + x) * 4 + c];
            INFO(TileText(stride, Square(m)) << " pixel " << y << "," << x << " channel " << c);
            if (m == 2) {
              CHECK(got == expected);
            } else {
              CHECK(got == doctest::Approx(expected).epsilon(1e-5));
            }
          }
        }
      }
    }
  }
}

TEST_CASE("winograd: every transform implementation this CPU runs agrees with the scalar one") {
  // sets[0] is the portable baseline (built into this test), then every set
  // the library offers on this CPU.
  winograd::TransformSet sets[8];
  sets[0] = winograd::ScalarTransforms();
  REQUIRE(std::string(sets[0].isa) == "scalar");
  const int shipped = winograd::AvailableWinogradTransforms(sets + 1, 7);
  REQUIRE(shipped >= 1);
  int count = shipped + 1;
  if (std::string(sets[1].isa) == "scalar") {  // a CPU without SIMD sets
    for (int i = 1; i + 1 < count; ++i) sets[i] = sets[i + 1];
    --count;
  }
  std::string names;
  for (int i = 1; i < count; ++i) names += std::string(i > 1 ? ", " : "") + sets[i].isa;
  MESSAGE("transforms shipped for this CPU: " << names << " (the last one runs)");
  CHECK(std::string(winograd::GetWinogradTransforms().isa) == sets[count - 1].isa);
  const size_t c = 3 * winograd::kChannelBlock;
  for (int stride : {1, 2}) {
    const int max_m = stride == 1 ? winograd::kMaxTileStride1 : winograd::kMaxTileStride2;
    for (int m = winograd::kMinTile; m <= max_m; ++m) {
      const int n = winograd::Positions(stride, m);
      const auto in = RandomInput(size_t(n) * c, 7 + m);
      const auto bias = RandomInput(c, 8);
      // Every line once per set: input (n -> n), output (n -> m), and the
      // epilogue with ReLU; each in place (destinations alias sources), as
      // the kernel calls them.
      std::vector<std::vector<float>> results(count);
      for (int i = 0; i < count; ++i) {
        const winograd::LineSet& lines = sets[i].lines(stride, m);
        REQUIRE(static_cast<bool>(lines.input));
        std::vector<float> a = in, b = in, e = in;
        const float* src[winograd::kMaxPositions];
        float* dst[winograd::kMaxPositions];
        for (int k = 0; k < n; ++k) dst[k] = a.data() + k * c, src[k] = dst[k];
        lines.input(src, dst, c);
        for (int k = 0; k < n; ++k) dst[k] = b.data() + k * c, src[k] = dst[k];
        lines.output(src, dst, c, nullptr, 0.0f);
        for (int k = 0; k < n; ++k) dst[k] = e.data() + k * c, src[k] = dst[k];
        lines.output_epilogue(src, dst, c, bias.data(), 0.0f);
        results[i] = a;
        results[i].insert(results[i].end(), b.begin(), b.begin() + m * c);
        results[i].insert(results[i].end(), e.begin(), e.begin() + m * c);
        for (size_t k = 0; k < size_t(m) * c; ++k) CHECK(e[k] >= 0.0f);
      }
      for (int i = 1; i < count; ++i) {
        INFO("stride " << stride << " m " << m << ": " << sets[i].isa << " vs scalar");
        CHECK(RelativeError(results[i], results[0]) <= 1e-6);
      }
    }
  }
}

TEST_CASE(
    "winograd: rvgg's GEMM (AVX2 and AVX-512 sets only) matches a double product and writes only "
    "C") {
  winograd::TransformSet sets[8];
  const int count = winograd::AvailableWinogradTransforms(sets, 8);
  int with_gemm = 0;
  for (int i = 0; i < count; ++i) {
    // Only the AVX2 and AVX-512 sets bring their own GEMM; ARM keeps
    // XNNPACK's fp32 kernels.
    const std::string isa = sets[i].isa;
    CHECK((sets[i].gemm != nullptr) == (isa == "avx2+fma" || isa == "avx512f"));
    if (sets[i].gemm == nullptr) continue;
    ++with_gemm;
    // M across the 6- and 12-row blocks and their remainders (and across
    // the kernels' chunks of A: 401 and 1601 rows cross the AVX2 kernel's
    // 384-row chunks at K = 64; 1601 rows cross the AVX-512 kernel's
    // 432-row chunks at K = 300), N across whole and partial 16-column
    // panels and 32-column panel pairs, K odd; A and C rows wider than K and
    // N (the kernel works on one group's columns of padded rows).
    for (size_t m : {1, 2, 5, 6, 7, 11, 12, 13, 25, 401, 1601}) {
      for (size_t n : {1, 7, 16, 20, 33, 48, 64, 81}) {
        for (size_t k : {1, 3, 17, 64, 300}) {
          const size_t lda = k + 5, ldc = n + 9;
          const auto a = RandomInput(m * lda, 30 + static_cast<uint32_t>(m));
          const auto w = RandomInput(n * k, 40 + static_cast<uint32_t>(n));  // [n][k]
          float* packed = static_cast<float*>(
              AllocateAligned(winograd::PackedGemmFloats(k, n) * sizeof(float), kAlignment));
          REQUIRE(packed != nullptr);
          winograd::PackGemmWeights(w.data(), k, n, packed);
          const float canary = -12345.0f;
          std::vector<float> c(m * ldc + 16, canary);
          sets[i].gemm(m, n, k, a.data(), lda, packed, c.data(), ldc);
          FreeAligned(packed);
          double worst = 0.0;
          size_t untouched = 0;
          for (size_t r = 0; r < m; ++r) {
            for (size_t j = 0; j < n; ++j) {
              double want = 0.0;
              for (size_t q = 0; q < k; ++q) want += double(a[r * lda + q]) * w[j * k + q];
              worst = std::max(worst, std::fabs(double(c[r * ldc + j]) - want));
            }
            for (size_t j = n; j < ldc; ++j) untouched += c[r * ldc + j] == canary;
          }
          for (size_t j = m * ldc; j < c.size(); ++j) untouched += c[j] == canary;
          INFO(sets[i].isa << " GEMM m " << m << " n " << n << " k " << k);
          CHECK(worst <= 1e-5 * double(k));
          CHECK(untouched == m * (ldc - n) + 16);
        }
      }
    }
  }
  MESSAGE("transform sets with rvgg's own GEMM on this CPU: " << with_gemm);
}

TEST_CASE("winograd: input, kernel and output transforms compose to the 1-D convolution") {
  // One dimension at a time, without XNNPACK: y = A^T ((G g) . (B^T d)) for
  // a window d of n pixels and a 3-tap kernel g must be the correlation
  // y_i = sum_k g_k d[s i + k] (stride s), for every tile size. Channels are
  // 16 independent trials.
  const winograd::TransformSet scalar = winograd::ScalarTransforms();
  const size_t c = winograd::kChannelBlock;
  for (uint32_t stride : {1u, 2u}) {
    const int max_m = stride == 1 ? winograd::kMaxTileStride1 : winograd::kMaxTileStride2;
    for (int m = winograd::kMinTile; m <= max_m; ++m) {
      const int n = winograd::Positions(int(stride), m);
      const auto window = RandomInput(size_t(n) * c, 40 + m);
      const auto taps = RandomInput(3 * c, 41 + m);
      std::vector<float> v = window;
      const float* src[winograd::kMaxPositions];
      float* dst[winograd::kMaxPositions];
      for (int k = 0; k < n; ++k) dst[k] = v.data() + k * c, src[k] = dst[k];
      scalar.lines(int(stride), m).input(src, dst, c);
      for (int k = 0; k < n; ++k) {
        double g[3];
        winograd::KernelRow(stride, m, k, g);
        for (size_t ch = 0; ch < c; ++ch) {
          const double u = g[0] * taps[ch] + g[1] * taps[c + ch] + g[2] * taps[2 * c + ch];
          v[k * c + ch] = float(u * v[k * c + ch]);
        }
      }
      scalar.lines(int(stride), m).output(src, dst, c, nullptr, 0.0f);
      double worst = 0.0, scale = 0.0;
      for (int i = 0; i < m; ++i) {
        for (size_t ch = 0; ch < c; ++ch) {
          double expected = 0;
          for (int k = 0; k < 3; ++k) {
            expected += double(taps[k * c + ch]) * window[(i * stride + k) * c + ch];
          }
          worst = std::max(worst, std::fabs(v[i * c + ch] - expected));
          scale = std::max(scale, std::fabs(expected));
        }
      }
      INFO("stride " << stride << " m " << m << ": max error " << worst << " of " << scale);
      CHECK(worst <= 1e-5 * scale);
    }
  }
}

TEST_CASE("winograd: applies to 3x3 padding-1 fp32 convolutions of stride 1 and 2") {
  LayerData data;
  LayerDesc d = MakeConv3x3({8, 8, 16, 16, 1, true}, &data);
  CHECK(winograd::Applies(d));
  LayerDesc s2 = d;
  s2.stride = 2;
  s2.out_h = s2.out_w = 4;
  CHECK(winograd::Applies(s2));
  CHECK(winograd::ValidTile(s2, winograd::TileCode(7, 2)));
  CHECK_FALSE(winograd::ValidTile(d, winograd::TileCode(7, 2)));  // stride 1 stops at 6
  CHECK_FALSE(winograd::ValidTile(d, winograd::TileCode(1, 4)));
  LayerDesc s3 = d;
  s3.stride = 3;
  s3.out_h = s3.out_w = 3;
  CHECK_FALSE(winograd::Applies(s3));
  LayerDesc k1 = d;
  k1.kernel_h = k1.kernel_w = 1;
  k1.padding = 0;
  CHECK_FALSE(winograd::Applies(k1));
  LayerDesc depthwise = d;
  depthwise.groups = 16;
  CHECK_FALSE(winograd::Applies(depthwise));
  LayerDesc pool = d;
  pool.op = schema::Op::GlobalAveragePool;
  CHECK_FALSE(winograd::Applies(pool));
}

TEST_CASE("winograd: layers whose transform scratch would not fit the address space stay direct") {
  const LayerDesc d = Conv3x3Desc(16384, 16384, 4096, 4096);
  REQUIRE(winograd::Applies(d));
  CHECK_FALSE(winograd::FitsScratch(d, Square(2)));  // 16 x 8192^2 x 4096 floats: 17 TB
  uint8_t tile = 99;
  PickTiles(&d, 1, RVGG_BACKEND_XNNPACK, RVGG_WINOGRAD_F2, 0, &tile);
  CHECK(tile == 0);
  PickTiles(&d, 1, RVGG_BACKEND_XNNPACK, RVGG_WINOGRAD_AUTO, 0, &tile);
  CHECK(tile == 0);
  Kernel* kernel = nullptr;
  rvgg_message message;
  CHECK(winograd::CreateConv2DKernel(d, Square(2), Bindings{}, nullptr, &kernel, &message) ==
        RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(kernel == nullptr);
}

// RepVGG-A0's layers at 224 (conv part): stem, stage1 (56), stage2 (28),
// stage3 (14), stage4.
std::vector<LayerDesc> A0Layers(std::vector<LayerData>* data) {
  ModelSpec spec;
  REQUIRE(RepVGGSpec("A0", 224, &spec));
  data->resize(spec.convs.size());
  return ConvLayerDescs(spec);
}

TEST_CASE("winograd: AUTO picks the cheapest tile per layer of RepVGG-A0, stride 1 and 2") {
  // AVX-512 CPUs run rvgg's 12-row GEMM (gemm_avx512.cc) with their own model.
  const bool avx512 = winograd::OwnGemm() && winograd::OwnGemmRows() == 12;
  std::vector<LayerData> data;
  const auto layers = A0Layers(&data);
  std::vector<uint8_t> tiles(layers.size(), 99);
  PickTiles(layers.data(), static_cast<uint32_t>(layers.size()), RVGG_BACKEND_XNNPACK,
            RVGG_WINOGRAD_AUTO, 0, tiles.data());
  int stride1 = 0, stride2 = 0;
  std::string chosen;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerDesc& d = layers[i];
    INFO("layer " << i);
    char name[24] = "direct";
    if (tiles[i] == winograd::kGemmDirect) std::snprintf(name, sizeof(name), "gemm-direct");
    if (!Direct(tiles[i])) winograd::TileName(d, tiles[i], name, sizeof(name));
    chosen += std::string(i ? " " : "") + name;
    // The choice is the cheapest valid tile by the model, and beats direct.
    const double cost = winograd::EstimatedCost(d, tiles[i]);
    for (int my = 2; my <= 7; ++my) {
      for (int mx = 2; mx <= 7; ++mx) {
        const uint32_t code = winograd::TileCode(my, mx);
        if (winograd::FitsScratch(d, code)) CHECK(cost <= winograd::EstimatedCost(d, code));
      }
    }
    if (d.stride == 1) {
      CHECK(!Direct(tiles[i]));
      CHECK(cost < 0.6 * winograd::EstimatedCost(d, 0));
      ++stride1;
    } else if (d.in_c < winograd::kMinGroupChannels) {
      CHECK(Direct(tiles[i]));  // the stem: 3 input channels, either direct form
    } else if (d.out_h >= 14 && !avx512) {
      // Stages 1-3 open with stride-2 layers the polyphase form speeds up
      // (stage 4's 7 x 7 outputs make too few tiles for a clear gain). With
      // AVX-512, XNNPACK's direct convolution runs them about as fast
      // (tools/bench/notes.md), and the model may keep them direct. Where
      // rvgg's GEMM runs, its direct form (gemm_conv.cc) may win instead.
      CHECK(tiles[i] != winograd::kDirect);
      CHECK(cost < 0.8 * winograd::EstimatedCost(d, 0));
      ++stride2;
    }
  }
  MESSAGE("A0 at 224 under AUTO: " << chosen);
  CHECK(stride1 == 17);  // 1 + 3 + 13 stride-1 blocks in stages 1-3
  CHECK(stride2 == (avx512 ? 0 : 3));
  // The reference backend and OFF never use Winograd; forced sizes only
  // take stride-1 layers.
  PickTiles(layers.data(), static_cast<uint32_t>(layers.size()), RVGG_BACKEND_REFERENCE,
            RVGG_WINOGRAD_F4, 0, tiles.data());
  CHECK(std::count(tiles.begin(), tiles.end(), 0) == static_cast<long>(layers.size()));
  PickTiles(layers.data(), static_cast<uint32_t>(layers.size()), RVGG_BACKEND_XNNPACK,
            RVGG_WINOGRAD_OFF, 0, tiles.data());
  CHECK(std::count(tiles.begin(), tiles.end(), 0) == static_cast<long>(layers.size()));
  PickTiles(layers.data(), static_cast<uint32_t>(layers.size()), RVGG_BACKEND_XNNPACK,
            RVGG_WINOGRAD_F4, 0, tiles.data());
  for (size_t i = 0; i < layers.size(); ++i) {
    CHECK(tiles[i] == (layers[i].stride == 1 ? Square(4) : 0));
  }
}

TEST_CASE("winograd: the cost model prefers tile counts that fill the GEMM's row blocks") {
  // 14 x 14 (RepVGG stage 3): F(4x4) makes 16 tiles, which XNNPACK's 6-row
  // (aarch64), 4-row (armv7) or 5/7-row (x86) kernels round up; whatever the
  // CPU, some rectangular tile is estimated cheaper than F(4x4).
  LayerData data;
  const LayerDesc d = MakeConv3x3({14, 14, 192, 192, 1, true}, &data);
  uint8_t tile = 0;
  PickTiles(&d, 1, RVGG_BACKEND_XNNPACK, RVGG_WINOGRAD_AUTO, 0, &tile);
  char name[24];
  winograd::TileName(d, tile, name, sizeof(name));
  MESSAGE("14x14x192 -> 192 under AUTO: " << name << ", " << winograd::TileCount(d, tile)
                                          << " tiles, " << winograd::PositionCount(d, tile)
                                          << " positions");
  CHECK(winograd::EstimatedCost(d, tile) < winograd::EstimatedCost(d, Square(4)));
#if defined(__aarch64__)
  // XNNPACK's 6x8 aarch64 kernel: F(4x5) (12 tiles: two full blocks, 42
  // positions) beats F(4x4) (16 tiles -> 18 rows, 36 positions).
  CHECK(winograd::TileCount(d, tile) % 6 == 0);
#endif
}

TEST_CASE("winograd: with rvgg's own GEMM the model charges weight traffic; with XNNPACK's not") {
  // RepVGG-A0's stage4.0 (14x14x192 -> 7x7x1280, stride 2) has 49 outputs
  // and 2.2M weights: big tiles multiply its weights for a handful of GEMM
  // rows. Measured on AVX2 (tools/bench/notes.md) such a layer is bound by
  // memory bandwidth, so the x86 model keeps its transformed weights near
  // the 3x3 ones; the ARM model counts instructions only and takes the
  // tile with the fewest (qemu counts, docs/benchmarks.md).
  std::vector<LayerData> data;
  const auto layers = A0Layers(&data);
  const uint32_t n = static_cast<uint32_t>(layers.size());
  std::vector<uint8_t> tiles(n);
  PickTiles(layers.data(), n, RVGG_BACKEND_XNNPACK, RVGG_WINOGRAD_AUTO, 0, tiles.data());
  const LayerDesc& last = layers[21];
  REQUIRE(last.out_c == 1280);
  const double direct_bytes = 9.0 * last.in_c * last.out_c * sizeof(float);
  const double ratio =
      !Direct(tiles[21]) ? double(winograd::WeightBytes(last, tiles[21])) / direct_bytes : 0.0;
  uint64_t total = 0, weights = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (!Direct(tiles[i])) total += winograd::WeightBytes(layers[i], tiles[i]);
    if (!Direct(tiles[i])) weights += 9ull * layers[i].in_c * layers[i].out_c * sizeof(float);
  }
  char name[24] = "direct";
  if (tiles[21] == winograd::kGemmDirect) std::snprintf(name, sizeof(name), "gemm-direct");
  if (!Direct(tiles[21])) winograd::TileName(last, tiles[21], name, sizeof(name));
  MESSAGE("stage4.0 under AUTO: " << name << ", transformed weights " << ratio
                                  << "x its 3x3 weights; all Winograd layers "
                                  << double(total) / double(weights) << "x");
  if (winograd::GetWinogradTransforms().gemm != nullptr) {
    // rvgg's GEMM runs it: in a small Winograd tile (AVX2) or directly on
    // the windows (gemm_conv.cc), never on XNNPACK's direct convolution.
    CHECK(tiles[21] != winograd::kDirect);
    CHECK(ratio < 3.0);
    CHECK(double(total) < 4.0 * double(weights));
  } else {
    // XNNPACK's 7-row AVX-512 kernel rounds the few tiles up so far that
    // direct wins; where a tile wins, it is a weight-hungry one.
    CHECK((Direct(tiles[21]) || ratio > 3.0));
  }
}

TEST_CASE(
    "winograd: the budget bounds the estimated weight bytes, and AUTO steps down before dropping") {
  std::vector<LayerData> data;
  const auto layers = A0Layers(&data);
  const uint32_t n = static_cast<uint32_t>(layers.size());
  std::vector<uint8_t> unlimited(n), tiles(n);
  PickTiles(layers.data(), n, RVGG_BACKEND_XNNPACK, RVGG_WINOGRAD_AUTO, 0, unlimited.data());
  uint64_t full = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (!Direct(unlimited[i])) full += winograd::WeightBytes(layers[i], unlimited[i]);
  }
  for (uint64_t budget : {full, full / 2, full / 5, uint64_t{1}}) {
    PickTiles(layers.data(), n, RVGG_BACKEND_XNNPACK, RVGG_WINOGRAD_AUTO, budget, tiles.data());
    uint64_t used = 0;
    int winograd_layers = 0;
    for (uint32_t i = 0; i < n; ++i) {
      if (Direct(tiles[i])) continue;
      used += winograd::WeightBytes(layers[i], tiles[i]);
      ++winograd_layers;
      CHECK(!Direct(unlimited[i]));
      // Only ever steps to smaller weights.
      CHECK(winograd::WeightBytes(layers[i], tiles[i]) <=
            winograd::WeightBytes(layers[i], unlimited[i]));
    }
    INFO("budget " << budget << " used " << used);
    CHECK(used <= budget);
    if (budget == full) CHECK(std::equal(tiles.begin(), tiles.end(), unlimited.begin()));
    if (budget == full / 5) CHECK(winograd_layers > 0);
    if (budget == 1) CHECK(winograd_layers == 0);
  }
  // Forced F6 over budget: layers fall back to direct, never to another tile.
  PickTiles(layers.data(), n, RVGG_BACKEND_XNNPACK, RVGG_WINOGRAD_F6, full / 4, tiles.data());
  for (uint32_t i = 0; i < n; ++i) CHECK((tiles[i] == winograd::kDirect || tiles[i] == Square(6)));
  CHECK(std::count(tiles.begin(), tiles.end(), Square(6)) > 0);
}

// A small RepVGG-like model with several Winograd-eligible layers (plain,
// grouped, odd spatial sizes) and a stride-2 / 1x1-free mix.
ModelSpec WinogradModelSpec() {
  ModelSpec spec;
  spec.height = 30;
  spec.width = 26;
  spec.channels = 3;
  spec.weight_gain = 0.5f;
  spec.fused_identity = true;
  spec.convs = {
      ConvSpec{16, 3, 2}, ConvSpec{16, 3, 1}, ConvSpec{24, 3, 2}, ConvSpec{24, 3, 1, 1, 2},
      ConvSpec{24, 3, 1}, ConvSpec{40, 3, 2}, ConvSpec{40, 3, 1}, ConvSpec{40, 3, 1, 1, 1, false}};
  spec.classes = 10;
  return spec;
}

struct Loaded {
  rvgg_model* model = nullptr;
  ~Loaded() { rvgg_model_free(model); }
};

std::vector<float> RunModel(const std::vector<uint8_t>& bytes, const rvgg_options& options,
                            const std::vector<float>& input, rvgg_model** keep = nullptr) {
  rvgg_model* model = nullptr;
  rvgg_message message;
  const rvgg_status status =
      rvgg_model_load(bytes.data(), bytes.size(), &options, &model, &message);
  INFO(message.text);
  REQUIRE(status == RVGG_STATUS_OK);
  rvgg_model_info info;
  rvgg_model_get_info(model, &info);
  std::vector<float> out(info.num_outputs);
  REQUIRE(rvgg_model_run(model, input.data(), RVGG_LAYOUT_NCHW, out.data()) == RVGG_STATUS_OK);
  if (keep != nullptr) {
    *keep = model;
  } else {
    rvgg_model_free(model);
  }
  return out;
}

rvgg_options Options(rvgg_winograd setting, size_t budget = 0, uint32_t threads = 1) {
  rvgg_options o;
  rvgg_options_default(&o);
  o.winograd = setting;
  o.winograd_budget_bytes = budget;
  o.num_threads = threads;
  o.precision = RVGG_PRECISION_FP32;  // float tiles and tolerances; runtime_fp16_test: fp16
  return o;
}

TEST_CASE("winograd: whole models match the reference backend and report what runs") {
  const auto bytes = BuildModel(WinogradModelSpec());
  const auto input = RandomInput(3 * 30 * 26, 9);
  rvgg_options ref_options = Options(RVGG_WINOGRAD_F4);
  ref_options.backend = RVGG_BACKEND_REFERENCE;
  rvgg_model* ref_model = nullptr;
  const auto ref = RunModel(bytes, ref_options, input, &ref_model);
  Loaded ref_holder{ref_model};
  rvgg_layer_info li;
  REQUIRE(rvgg_model_get_layer_info(ref_model, 1, &li) == RVGG_STATUS_OK);
  CHECK(std::string(li.kernel) == "reference");  // the oracle never runs Winograd

  const struct {
    rvgg_winograd setting;
    uint32_t threads;
    const char* name;
  } cases[] = {{RVGG_WINOGRAD_F2, 1, "winograd-f2"}, {RVGG_WINOGRAD_F4, 1, "winograd-f4"},
               {RVGG_WINOGRAD_F6, 1, "winograd-f6"}, {RVGG_WINOGRAD_F4, 2, "winograd-f4"},
               {RVGG_WINOGRAD_F6, 3, "winograd-f6"}, {RVGG_WINOGRAD_AUTO, 1, nullptr},
               {RVGG_WINOGRAD_F2, 4, "winograd-f2"}, {RVGG_WINOGRAD_AUTO, 2, nullptr},
               {RVGG_WINOGRAD_AUTO, 4, nullptr}};
  int auto_winograd = 0, auto_gemm_direct = 0;
  for (const auto& c : cases) {
    rvgg_model* model = nullptr;
    const auto out = RunModel(bytes, Options(c.setting, 0, c.threads), input, &model);
    Loaded holder{model};
    const double err = RelativeError(out, ref);
    INFO("setting " << int(c.setting) << ", " << c.threads << " threads: logits relative error "
                    << err);
    CHECK(err <= 1e-4);
    rvgg_model_info info;
    rvgg_model_get_info(model, &info);
    for (uint32_t i = 0; i < info.num_layers; ++i) {
      REQUIRE(rvgg_model_get_layer_info(model, i, &li) == RVGG_STATUS_OK);
      const std::string kernel = li.kernel;
      INFO("layer " << i << " runs on " << kernel);
      const bool conv = li.type == RVGG_LAYER_CONV2D;
      if (c.name != nullptr) {
        // Forced sizes: stride-1 layers only.
        if (conv && li.stride == 1) {
          CHECK(kernel == c.name);
          CHECK(li.kernel_bytes > 0);
        } else {
          CHECK(kernel == "xnnpack");
        }
      } else if (conv) {
        // AUTO: Winograd where the cost model expects a gain, else one of
        // the direct convolutions.
        const bool direct = kernel == "xnnpack" || kernel == "gemm-direct";
        CHECK((direct || kernel.rfind("winograd-", 0) == 0));
        if (!direct) ++auto_winograd;
        if (kernel == "gemm-direct") ++auto_gemm_direct;
        if (li.stride == 2 && !direct) CHECK(kernel.rfind("winograd-s2-f", 0) == 0);
      } else {
        CHECK(kernel == "xnnpack");
      }
    }
  }
  MESSAGE("layers AUTO runs as Winograd: " << auto_winograd
                                           << ", on rvgg's GEMM directly: " << auto_gemm_direct);
  if (!winograd::OwnGemm()) {
    CHECK(auto_winograd > 0);
    CHECK(auto_gemm_direct == 0);
  } else {
    // Where rvgg's GEMM runs, AUTO puts some layers on it, as Winograd
    // tiles or directly (at 16 to 40 channels the transforms can cost more
    // than the multiplications they save).
    CHECK(auto_winograd + auto_gemm_direct > 0);
  }
}

TEST_CASE("winograd: a small budget keeps the direct convolutions, a mid one is honoured") {
  const auto bytes = BuildModel(WinogradModelSpec());
  const auto input = RandomInput(3 * 30 * 26, 9);
  const auto direct = RunModel(bytes, Options(RVGG_WINOGRAD_OFF), input);
  for (rvgg_winograd setting : {RVGG_WINOGRAD_AUTO, RVGG_WINOGRAD_F6}) {
    rvgg_model* model = nullptr;
    const auto out = RunModel(bytes, Options(setting, /*budget=*/1024), input, &model);
    Loaded holder{model};
    CHECK(RelativeError(out, direct) <= 1e-5);
    rvgg_model_info info;
    rvgg_model_get_info(model, &info);
    for (uint32_t i = 0; i < info.num_layers; ++i) {
      rvgg_layer_info li;
      rvgg_model_get_layer_info(model, i, &li);
      // AUTO may run a direct layer on rvgg's GEMM (gemm_conv.cc): its
      // weights count with the direct path's, not the Winograd budget.
      const std::string kernel = li.kernel;
      CHECK((kernel == "xnnpack" || (setting == RVGG_WINOGRAD_AUTO && kernel == "gemm-direct")));
    }
  }
  // Budget for roughly half of F4's weights: what runs as Winograd fits.
  rvgg_model* full_model = nullptr;
  RunModel(bytes, Options(RVGG_WINOGRAD_F4), input, &full_model);
  Loaded full_holder{full_model};
  rvgg_model_info info;
  rvgg_model_get_info(full_model, &info);
  uint64_t full = 0;
  for (uint32_t i = 0; i < info.num_layers; ++i) {
    rvgg_layer_info li;
    rvgg_model_get_layer_info(full_model, i, &li);
    if (std::string(li.kernel) == "winograd-f4") full += li.kernel_bytes;
  }
  rvgg_model* half_model = nullptr;
  RunModel(bytes, Options(RVGG_WINOGRAD_F4, full / 2), input, &half_model);
  Loaded half_holder{half_model};
  uint64_t used = 0;
  int winograd_layers = 0, direct_stride1 = 0;
  for (uint32_t i = 0; i < info.num_layers; ++i) {
    rvgg_layer_info li;
    rvgg_model_get_layer_info(half_model, i, &li);
    if (std::string(li.kernel) == "winograd-f4") {
      used += li.kernel_bytes;
      ++winograd_layers;
    } else if (li.type == RVGG_LAYER_CONV2D && li.stride == 1) {
      ++direct_stride1;
    }
  }
  INFO("F4 weights " << full << ", budget " << full / 2 << ", used " << used);
  CHECK(used <= full / 2);
  CHECK(winograd_layers > 0);
  CHECK(direct_stride1 > 0);
}

TEST_CASE("winograd: the memory limit caps the transformed weights instead of failing the load") {
  const auto bytes = BuildModel(WinogradModelSpec());
  const auto input = RandomInput(3 * 30 * 26, 9);
  const auto direct = RunModel(bytes, Options(RVGG_WINOGRAD_OFF), input);
  size_t need_off = 0, need_f6 = 0;
  rvgg_options o_off = Options(RVGG_WINOGRAD_OFF), o_f6 = Options(RVGG_WINOGRAD_F6);
  REQUIRE(rvgg_model_memory_size(bytes.data(), bytes.size(), &o_off, &need_off, nullptr) ==
          RVGG_STATUS_OK);
  REQUIRE(rvgg_model_memory_size(bytes.data(), bytes.size(), &o_f6, &need_f6, nullptr) ==
          RVGG_STATUS_OK);
  INFO("memory: direct " << need_off << ", F6 " << need_f6);
  REQUIRE(need_f6 > need_off + need_off / 2);
  // A limit the direct path fits in with some room, but not unlimited F6:
  // the load succeeds, with fewer (or no) Winograd layers, within the limit.
  for (rvgg_winograd setting : {RVGG_WINOGRAD_F6, RVGG_WINOGRAD_AUTO}) {
    rvgg_options o = Options(setting);
    o.memory_limit = need_off + (need_f6 - need_off) / 4;
    size_t need = 0;
    REQUIRE(rvgg_model_memory_size(bytes.data(), bytes.size(), &o, &need, nullptr) ==
            RVGG_STATUS_OK);
    CHECK(need <= o.memory_limit);
    rvgg_model* model = nullptr;
    const auto out = RunModel(bytes, o, input, &model);
    Loaded holder{model};
    REQUIRE(model != nullptr);
    CHECK(RelativeError(out, direct) <= 1e-4);
  }
}

TEST_CASE(
    "winograd: the arena grows by the transform scratch and a caller arena of that size works") {
  const auto bytes = BuildModel(WinogradModelSpec());
  size_t off = 0, f6 = 0;
  rvgg_options o_off = Options(RVGG_WINOGRAD_OFF), o_f6 = Options(RVGG_WINOGRAD_F6);
  REQUIRE(rvgg_model_arena_size(bytes.data(), bytes.size(), &o_off, &off, nullptr) ==
          RVGG_STATUS_OK);
  REQUIRE(rvgg_model_arena_size(bytes.data(), bytes.size(), &o_f6, &f6, nullptr) == RVGG_STATUS_OK);
  // Layer 1 (15x13x16, F6: 3x3 tiles): V and M are 64 positions x 9 tiles x 16.
  CHECK(f6 >= off + 2 * 64 * 9 * 16 * sizeof(float));
  std::vector<uint8_t> storage(f6 + 64);
  void* arena = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
  rvgg_options o = o_f6;
  o.arena = arena;
  o.arena_size = f6;
  const auto input = RandomInput(3 * 30 * 26, 9);
  const auto with_arena = RunModel(bytes, o, input);
  CHECK(with_arena == RunModel(bytes, o_f6, input));
  o.arena_size = f6 - 64;
  rvgg_model* model = nullptr;
  CHECK(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, nullptr) ==
        RVGG_STATUS_ARENA_TOO_SMALL);
  CHECK(model == nullptr);
}

TEST_CASE("winograd: accuracy per tile size on RepVGG-like layers and activations") {
  // Fused RepVGG weights: He-scaled 3x3 (half gain) plus the identity at the
  // centre tap; inputs are post-ReLU activations (non-negative, mean > 0).
  // RepVGG widths at reduced spatial size (the reference is slow under qemu).
  // Stride-2 layers (the first of each stage) have no identity branch.
  const Shape shapes[] = {{30, 30, 48, 48, 1, true},    {20, 20, 96, 96, 1, true},
                          {14, 14, 192, 192, 1, true},  {8, 8, 256, 256, 2, false},
                          {28, 28, 48, 96, 1, true, 2}, {20, 20, 96, 192, 1, true, 2}};
  const std::vector<uint32_t> stride1_tiles = {Square(2),
                                               Square(4),
                                               Square(6),
                                               winograd::TileCode(4, 5),
                                               winograd::TileCode(5, 4),
                                               winograd::TileCode(6, 4),
                                               Square(3),
                                               Square(5)};
  const std::vector<uint32_t> stride2_tiles = {
      Square(2), Square(4), Square(7), winograd::TileCode(4, 7), winograd::TileCode(7, 5),
      Square(3)};
  for (const Shape& s : shapes) {
    LayerData data;
    LayerDesc d = MakeConv3x3(s, &data, 31);
    const uint32_t group_in = s.in_c / s.groups;
    for (float& v : data.weights) v *= 0.5f;
    if (s.stride == 1) {
      for (uint32_t o = 0; o < s.out_c; ++o) {
        data.weights[(o * 9 + 4) * group_in + o % group_in] += 1;
      }
    }
    auto input = RandomInput(d.input_elements(), 32);
    for (float& v : input) v = v > 0 ? 3.0f * v : 0.0f;
    const auto ref = RunLayer(d, RVGG_BACKEND_REFERENCE, input);
    const auto direct = RunLayer(d, RVGG_BACKEND_XNNPACK, input);
    std::string line = std::to_string(s.h) + "x" + std::to_string(s.w) + "x" +
                       std::to_string(s.in_c) + " s" + std::to_string(s.stride) + " g" +
                       std::to_string(s.groups) + ": direct ";
    char direct_text[32];
    std::snprintf(direct_text, sizeof(direct_text), "%.2e", RelativeError(direct, ref));
    line += direct_text;
    const auto& tiles = s.stride == 1 ? stride1_tiles : stride2_tiles;
    for (uint32_t code : tiles) {
      const auto win = RunLayer(d, RVGG_BACKEND_XNNPACK, input, code);
      const double err = RelativeError(win, ref);
      char text[64];
      std::snprintf(text, sizeof(text), ", %dx%d %.2e", winograd::TileRows(code),
                    winograd::TileCols(code), err);
      line += text;
      CHECK(err <= Tolerance(s.stride, code));
    }
    MESSAGE(line);
  }
}

TEST_CASE("winograd: accuracy on a RepVGG-like network (fused identity, 20 Winograd layers)") {
  // RepVGG-A0 at 64x64: the fused identity makes the centre tap dominate, as
  // in real deploy weights, and activations grow through the 13-block stage.
  ModelSpec spec;
  REQUIRE(RepVGGSpec("A0", 64, &spec));
  const auto bytes = BuildModel(spec);
  const auto input = RandomInput(3 * 64 * 64, 3);
  rvgg_options ref_options = Options(RVGG_WINOGRAD_OFF);
  ref_options.backend = RVGG_BACKEND_REFERENCE;
  const auto ref = RunModel(bytes, ref_options, input);
  const auto direct = RunModel(bytes, Options(RVGG_WINOGRAD_OFF), input);
  const double direct_err = RelativeError(direct, ref);
  MESSAGE("logits relative error vs reference: xnnpack direct " << direct_err);
  for (rvgg_winograd setting :
       {RVGG_WINOGRAD_F2, RVGG_WINOGRAD_F4, RVGG_WINOGRAD_F6, RVGG_WINOGRAD_AUTO}) {
    const auto out = RunModel(bytes, Options(setting), input);
    const double err = RelativeError(out, ref);
    MESSAGE("logits relative error vs reference: winograd " << int(setting) << " " << err);
    // Far inside the 1e-3 the PyTorch goldens allow.
    CHECK(err <= (setting == RVGG_WINOGRAD_F2 ? 1e-5 : 1e-4));
  }
}

}  // namespace
}  // namespace rvgg::testing

namespace rvgg::testing {
namespace {

TEST_CASE("winograd: the weight estimate the budget uses is an upper bound of what a kernel owns") {
  // Shapes from RepVGG (stride 1 and 2, wide and narrow, grouped) with every
  // tile the chooser may give them.
  const Shape shapes[] = {{14, 14, 64, 64, 1, true},
                          {7, 7, 96, 160, 1, true},
                          {9, 11, 32, 48, 1, true, 2},
                          {16, 16, 16, 16, 2, true}};
  for (const Shape& s : shapes) {
    LayerData data;
    const LayerDesc d = MakeConv3x3(s, &data);
    for (int my = winograd::kMinTile; my <= winograd::MaxTile(d.stride); my += 2) {
      for (int mx = winograd::kMinTile; mx <= winograd::MaxTile(d.stride); mx += 3) {
        const uint32_t code = winograd::TileCode(my, mx);
        if (!winograd::FitsScratch(d, code)) continue;
        std::vector<float> scratch(winograd::ScratchBytes(d, code) / sizeof(float) + 64);
        std::vector<float> in(d.input_elements() + 64), out(d.output_elements() + 64);
        Bindings b;
        b.input = in.data();
        b.output = out.data();
        b.scratch = scratch.data();
        b.scratch_bytes = scratch.size() * sizeof(float);
        Kernel* kernel = nullptr;
        rvgg_message message;
        REQUIRE(CreateKernel(d, KernelChoice{FindImpl(d, RVGG_BACKEND_XNNPACK, code), code}, b,
                             nullptr, &kernel, &message) == RVGG_STATUS_OK);
        INFO(s.h << "x" << s.w << "x" << s.in_c << "->" << s.out_c << " "
                 << TileText(d.stride, code) << ": owns " << kernel->owned_bytes() << ", estimate "
                 << winograd::WeightBytes(d, code));
        CHECK(kernel->owned_bytes() <= winograd::WeightBytes(d, code));
        DestroyKernel(kernel);
      }
    }
  }
}

// One conv layer of element type E (float, or Half for fp16 layers) through
// the Winograd kernel with tile `code` on a pool of `threads` threads (1: no
// pool), with the scratch the plan gives for that many threads; run twice.
template <class E>
std::vector<float> RunWinogradThreads(const LayerDesc& d, const std::vector<float>& input,
                                      uint32_t code, uint32_t threads) {
  const KernelChoice choice{FindImpl(d, RVGG_BACKEND_XNNPACK, code), code, threads};
  REQUIRE(choice.impl != nullptr);
  const size_t in_bytes = d.input_elements() * sizeof(E) + kTensorTailBytes;
  const size_t out_bytes = d.output_elements() * sizeof(E) + kTensorTailBytes;
  const size_t scratch_bytes = ScratchBytes(d, choice);
  auto* in = static_cast<E*>(AllocateAligned(in_bytes, kAlignment));
  auto* out = static_cast<E*>(AllocateAligned(out_bytes, kAlignment));
  void* scratch = AllocateAligned(scratch_bytes + kTensorTailBytes, kAlignment);
  REQUIRE((in != nullptr && out != nullptr && scratch != nullptr));
  if constexpr (std::is_same_v<E, float>) {
    std::copy(input.begin(), input.end(), in);
  } else {
    FloatToHalf(input.data(), input.size(), in);
  }
  std::memset(out, 0xFF, out_bytes);
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : nullptr;
  Bindings b;
  b.input = in;
  b.output = out;
  b.scratch = scratch;
  b.scratch_bytes = scratch_bytes;
  Kernel* kernel = nullptr;
  rvgg_message message;
  const rvgg_status status = CreateKernel(d, choice, b, pool, &kernel, &message);
  INFO(message.text);
  REQUIRE(status == RVGG_STATUS_OK);
  REQUIRE(kernel->Run() == RVGG_STATUS_OK);
  std::vector<float> first(d.output_elements());
  if constexpr (std::is_same_v<E, float>) {
    std::copy(out, out + first.size(), first.begin());
  } else {
    HalfToFloat(out, first.size(), first.data());
  }
  std::memset(out, 0xFF, out_bytes);
  REQUIRE(kernel->Run() == RVGG_STATUS_OK);
  std::vector<float> second(d.output_elements());
  if constexpr (std::is_same_v<E, float>) {
    std::copy(out, out + second.size(), second.begin());
  } else {
    HalfToFloat(out, second.size(), second.data());
  }
  CHECK(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)) == 0);
  DestroyKernel(kernel);
  if (pool != nullptr) pthreadpool_destroy(pool);
  FreeAligned(in);
  FreeAligned(out);
  FreeAligned(scratch);
  return first;
}

// Layers for the tile-blocked pass: tile counts that are no multiple of a
// block, of the GEMM rows or of the threads, grouped layers, stride 2, and
// layers with many blocks (3 and more per thread).
struct BlockedCase {
  Shape shape;
  int my, mx;
};
const BlockedCase kBlockedCases[] = {
    {{9, 7, 8, 16, 1, true}, 2, 2},         // 20 tiles
    {{13, 11, 16, 24, 1, false}, 4, 5},     // 12 tiles, one block
    {{10, 9, 16, 24, 2, true}, 3, 2},       // grouped, 20 tiles
    {{7, 8, 32, 32, 4, false}, 2, 3},       // 4 groups
    {{41, 37, 32, 48, 1, true}, 2, 2},      // 399 tiles, several blocks per thread
    {{57, 55, 48, 48, 1, true}, 6, 6},      // 100 tiles of 64 positions
    {{29, 27, 24, 40, 1, true, 2}, 3, 2},   // stride 2, 35 tiles
    {{45, 47, 16, 32, 1, false, 2}, 2, 3},  // stride 2, 96 tiles
};

TEST_CASE(
    "winograd: the tile-blocked pass on 1 to 4 threads matches the reference, each "
    "thread count bit for bit") {
  if (!winograd::OwnGemm()) {
    MESSAGE("skipped: XNNPACK's GEMMs run the positions on this CPU (three passes, no blocks)");
    return;
  }
  for (const BlockedCase& c : kBlockedCases) {
    LayerData data;
    const LayerDesc d = MakeConv3x3(c.shape, &data);
    const uint32_t code = winograd::TileCode(c.my, c.mx);
    REQUIRE(winograd::ValidTile(d, code));
    const winograd::BlockPlan plan = winograd::PlanBlocks(d, code, 1);
    INFO(TileText(c.shape.stride, code) << " " << ShapeText(c.shape));
    REQUIRE(plan.tiles_per_block != 0);
    const auto input = RandomInput(d.input_elements(), 23);
    const auto ref = RunLayer(d, RVGG_BACKEND_REFERENCE, input);
    const auto one = RunWinogradThreads<float>(d, input, code, 1);
    CHECK(RelativeError(one, ref) <= Tolerance(c.shape.stride, code));
    for (uint32_t threads = 2; threads <= 4; ++threads) {
      const winograd::BlockPlan p = winograd::PlanBlocks(d, code, threads);
      INFO(threads << " threads: " << p.blocks << " blocks of " << p.tiles_per_block << " tiles, "
                   << p.slots << " slots");
      CHECK(p.slots == std::min(threads, p.blocks));
      CHECK(size_t{p.slots} * p.slot_bytes == winograd::ScratchBytes(d, code, threads));
      const auto got = RunWinogradThreads<float>(d, input, code, threads);
      CHECK(std::memcmp(got.data(), one.data(), got.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("winograd: a layer whose weights are too large for per-block reads runs three passes") {
  if (!winograd::OwnGemm()) {
    MESSAGE("skipped: XNNPACK's GEMMs run the positions on this CPU (three passes, no blocks)");
    return;
  }
  LayerData data;
  const Shape s{14, 14, 192, 192, 1, true};
  const LayerDesc d = MakeConv3x3(s, &data);
  const uint32_t code = winograd::TileCode(4, 5);
  CHECK(winograd::PlanBlocks(d, code, 2).tiles_per_block == 0);
  // Three passes keep V and M of every tile, whatever the threads.
  CHECK(winograd::ScratchBytes(d, code, 2) == winograd::ScratchBytes(d, code, 1));
  const auto input = RandomInput(d.input_elements(), 24);
  const auto ref = RunLayer(d, RVGG_BACKEND_REFERENCE, input);
  const auto one = RunWinogradThreads<float>(d, input, code, 1);
  CHECK(RelativeError(one, ref) <= Tolerance(1, code));
  for (uint32_t threads : {2u, 3u}) {
    const auto got = RunWinogradThreads<float>(d, input, code, threads);
    CHECK(RelativeError(got, ref) <= Tolerance(1, code));
  }
}

TEST_CASE(
    "winograd fp16: the tile-blocked pass on 1 to 4 threads matches the reference within "
    "fp16's tolerance, each thread count bit for bit") {
  if (!winograd::OwnGemm(RVGG_DTYPE_FLOAT16)) {
    MESSAGE("skipped: no FP16 arithmetic on this CPU, the fp16 Winograd kernel cannot run");
    return;
  }
  // fp16 tiles (Fp16TileKeepsAccuracy); K (input channels per group) a
  // multiple of 8 for the fp16 GEMM.
  const BlockedCase cases[] = {
      {{9, 7, 8, 16, 1, true}, 2, 2},
      {{41, 37, 32, 48, 1, true}, 2, 5},
      {{10, 9, 16, 24, 2, true}, 2, 3},
      {{29, 27, 24, 40, 1, true, 2}, 3, 2},
  };
  for (const BlockedCase& c : cases) {
    LayerData data;
    LayerDesc d = MakeConv3x3(c.shape, &data);
    d.compute_type = RVGG_DTYPE_FLOAT16;
    const uint32_t code = winograd::TileCode(c.my, c.mx);
    INFO(TileText(c.shape.stride, code) << " " << ShapeText(c.shape) << " fp16");
    REQUIRE(winograd::ValidTile(d, code));
    REQUIRE(winograd::PlanBlocks(d, code, 1).tiles_per_block != 0);
    LayerDesc fp32 = d;
    fp32.compute_type = RVGG_DTYPE_FLOAT32;
    const auto input = RandomInput(d.input_elements(), 25);
    const auto ref = RunLayer(fp32, RVGG_BACKEND_REFERENCE, input);
    const auto one = RunWinogradThreads<Half>(d, input, code, 1);
    // fp16 inputs, lines and GEMM: a few hundred units of fp16 roundoff of
    // the largest output at most (tests/runtime/winograd_fp16_test.cc).
    CHECK(RelativeError(one, ref) <= 2e-2);
    for (uint32_t threads = 2; threads <= 4; ++threads) {
      const auto got = RunWinogradThreads<Half>(d, input, code, threads);
      CHECK(std::memcmp(got.data(), one.data(), got.size() * sizeof(float)) == 0);
    }
  }
}

}  // namespace
}  // namespace rvgg::testing
