// runtime/src/ops/winograd/: transforms, kernel, selection and their use
// through the C API. The reference convolution is the oracle throughout.
#include "runtime/src/ops/winograd/winograd.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "runtime/src/ops/winograd/transforms.h"
#include "rvgg/rvgg.h"
#include "tests/runtime/layer_harness.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

struct Shape {
  uint32_t h, w, in_c, out_c, groups;
  bool relu;
};

LayerDesc MakeConv3x3(const Shape& s, LayerData* data, uint32_t seed = 21) {
  LayerDesc d;
  d.kind = LayerKind::kConv2D;
  d.name = "test";
  d.in_h = d.out_h = s.h;
  d.in_w = d.out_w = s.w;
  d.in_c = s.in_c;
  d.out_c = s.out_c;
  d.kernel_h = d.kernel_w = 3;
  d.stride = 1;
  d.padding = 1;
  d.groups = s.groups;
  d.relu = s.relu;
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

// Tolerances, relative to the largest output: about 3x the worst errors
// measured over the shapes below and the RepVGG-like layers (x86 and
// aarch64/armv7 under qemu: F2 4e-7, F4 6e-6, F6 6e-6; XNNPACK's direct
// convolution itself is at about 1e-6).
double Tolerance(int m) { return m == 2 ? 2e-6 : 2e-5; }

void CheckMatchesReference(const Shape& s, int m) {
  LayerData data;
  const LayerDesc d = MakeConv3x3(s, &data);
  const auto input = RandomInput(d.input_elements(), 22);
  const auto ref = RunLayer(d, RVGG_BACKEND_REFERENCE, input);
  const auto win = RunLayer(d, RVGG_BACKEND_XNNPACK, input, static_cast<uint32_t>(m));
  REQUIRE(win.size() == ref.size());
  const double err = RelativeError(win, ref);
  const std::string what = "F(" + std::to_string(m) + ") " + std::to_string(s.h) + "x" +
                           std::to_string(s.w) + "x" + std::to_string(s.in_c) + " -> " +
                           std::to_string(s.out_c) + " groups " + std::to_string(s.groups) +
                           (s.relu ? " relu" : "") + ": relative error " +
                           std::to_string(err * 1e6) + "e-6";
  INFO(what);
  CHECK(err <= Tolerance(m));
  if (s.relu) CHECK(*std::min_element(win.begin(), win.end()) >= 0.0f);
}

const Shape kShapes[] = {
    {9, 7, 8, 16, 1, true},      // H, W not multiples of any m
    {13, 11, 12, 20, 1, false},  // channels not multiples of 8 or 16, no ReLU
    {14, 14, 64, 48, 1, true},   // a RepVGG-like stage
    {6, 12, 5, 7, 1, false},     // odd channels: scalar tails everywhere
    {1, 1, 8, 8, 1, true},       // one pixel: all but the centre tap padded
    {2, 2, 16, 4, 1, false},    {1, 9, 4, 12, 1, true},    {10, 9, 16, 24, 2, true},  // grouped
    {7, 8, 32, 32, 4, false},   {16, 16, 24, 40, 1, true},  // exact multiples of 2 and 4
};

TEST_CASE("winograd: F(2x2, 3x3) matches the reference on odd, tiny and grouped shapes") {
  for (const Shape& s : kShapes) CheckMatchesReference(s, 2);
}

TEST_CASE("winograd: F(4x4, 3x3) matches the reference on odd, tiny and grouped shapes") {
  for (const Shape& s : kShapes) CheckMatchesReference(s, 4);
}

TEST_CASE("winograd: F(6x6, 3x3) matches the reference on odd, tiny and grouped shapes") {
  for (const Shape& s : kShapes) CheckMatchesReference(s, 6);
}

TEST_CASE("winograd: a hand-checked 3x3 all-ones kernel gives the neighbourhood sums") {
  // F(2)'s matrices hold only 0, +-1 and 1/2: on small integers it is exact.
  // F(4) and F(6) round (1/6, 1/90, ... in G).
  for (int m : {2, 4, 6}) {
    LayerData data;
    LayerDesc d = MakeConv3x3({3, 3, 4, 4, 1, false}, &data);
    std::fill(data.weights.begin(), data.weights.end(), 0.0f);
    for (uint32_t o = 0; o < 4; ++o) {
      for (int k = 0; k < 9; ++k) data.weights[(o * 9 + k) * 4 + o] = 1.0f;  // channel o only
    }
    std::fill(data.bias.begin(), data.bias.end(), 0.5f);
    std::vector<float> input(9 * 4);
    for (int p = 0; p < 9; ++p) {
      for (int c = 0; c < 4; ++c) input[p * 4 + c] = float(p + 1);
    }
    const auto out = RunLayer(d, RVGG_BACKEND_XNNPACK, input, static_cast<uint32_t>(m));
    const float expected[9] = {12.5f, 21.5f, 16.5f, 27.5f, 45.5f, 33.5f, 24.5f, 39.5f, 28.5f};
    for (int p = 0; p < 9; ++p) {
      for (int c = 0; c < 4; ++c) {
        INFO("F(" << m << ") pixel " << p << " channel " << c);
        if (m == 2) {
          CHECK(out[p * 4 + c] == expected[p]);
        } else {
          CHECK(out[p * 4 + c] == doctest::Approx(expected[p]).epsilon(1e-5));
        }
      }
    }
  }
}

TEST_CASE("winograd: every transform implementation this CPU runs agrees with the scalar one") {
  for (int m : {2, 4, 6}) {
    // sets[0] is the portable baseline (built into this test), then every
    // set the library offers on this CPU.
    winograd::TransformSet sets[9];
    sets[0] = winograd::ScalarTransforms(m);
    REQUIRE(std::string(sets[0].isa) == "scalar");
    const int shipped = winograd::AvailableWinogradTransforms(m, sets + 1, 8);
    REQUIRE(shipped >= 1);
    int count = shipped + 1;
    if (std::string(sets[1].isa) == "scalar") {  // a CPU without SIMD sets
      for (int i = 1; i + 1 < count; ++i) sets[i] = sets[i + 1];
      --count;
    }
    std::string names;
    for (int i = 1; i < count; ++i) names += std::string(i > 1 ? ", " : "") + sets[i].isa;
    MESSAGE("F(" << m << ") transforms shipped for this CPU: " << names << " (the last one runs)");
    CHECK(std::string(winograd::GetWinogradTransforms(m).isa) == sets[count - 1].isa);
    // 11 x 13 pixels, 37 channels: every vector width plus a scalar tail,
    // border tiles on all sides.
    const uint32_t h = 11, w = 13, c = 37;
    const uint32_t tiles_x = (w + m - 1) / m, tiles = tiles_x * ((h + m - 1) / m);
    const size_t positions = size_t(m + 2) * (m + 2);
    const auto input = RandomInput(size_t{h} * w * c, 5);
    const auto bias = RandomInput(c, 6);
    std::vector<std::vector<float>> v(count), out(count);
    for (int i = 0; i < count; ++i) {
      v[i].assign(positions * tiles * c, -1.0f);
      winograd::InputTransformParams ip{input.data(),      h,          w, c, tiles_x,
                                        size_t{tiles} * c, v[i].data()};
      // Two ranges, as the thread pool would split them.
      sets[i].input(ip, 0, tiles / 2);
      sets[i].input(ip, tiles / 2, tiles);
      out[i].assign(size_t{h} * w * c, -7.0f);
      // The output transform of the (scalar) V itself: any data will do.
      winograd::OutputTransformParams op{v[0].data(), bias.data(),       true,         h, w, c,
                                         tiles_x,     size_t{tiles} * c, out[i].data()};
      sets[i].output(op, 0, tiles);
    }
    for (int i = 1; i < count; ++i) {
      INFO("F(" << m << ") " << sets[i].isa << " vs scalar");
      CHECK(RelativeError(v[i], v[0]) <= 1e-6);
      CHECK(RelativeError(out[i], out[0]) <= 1e-6);
      // Every output pixel was written (none left at the -7 fill).
      CHECK(*std::min_element(out[i].begin(), out[i].end()) >= 0.0f);
    }
  }
}

TEST_CASE("winograd: applies only to 3x3 stride-1 padding-1 fp32 convolutions") {
  LayerData data;
  LayerDesc d = MakeConv3x3({8, 8, 16, 16, 1, true}, &data);
  CHECK(winograd::Applies(d));
  LayerDesc s2 = d;
  s2.stride = 2;
  s2.out_h = s2.out_w = 4;
  CHECK_FALSE(winograd::Applies(s2));
  LayerDesc k1 = d;
  k1.kernel_h = k1.kernel_w = 1;
  k1.padding = 0;
  CHECK_FALSE(winograd::Applies(k1));
  LayerDesc depthwise = d;
  depthwise.groups = 16;
  CHECK_FALSE(winograd::Applies(depthwise));
  LayerDesc pool = d;
  pool.kind = LayerKind::kGlobalAveragePool;
  CHECK_FALSE(winograd::Applies(pool));
}

TEST_CASE("winograd: layers whose transform scratch would not fit the address space stay direct") {
  LayerDesc d;
  d.kind = LayerKind::kConv2D;
  d.in_h = d.out_h = d.in_w = d.out_w = 16384;
  d.in_c = d.out_c = 4096;
  d.kernel_h = d.kernel_w = 3;
  d.padding = 1;
  REQUIRE(winograd::Applies(d));
  CHECK_FALSE(winograd::FitsScratch(d, 2));  // 16 x 8192^2 x 8192 floats: 35 TB
  uint8_t tile = 99;
  winograd::ChooseTiles(&d, 1, RVGG_BACKEND_XNNPACK, RVGG_WINOGRAD_F2, 0, &tile);
  CHECK(tile == 0);
  winograd::ChooseTiles(&d, 1, RVGG_BACKEND_XNNPACK, RVGG_WINOGRAD_AUTO, 0, &tile);
  CHECK(tile == 0);
  Kernel* kernel = nullptr;
  rvgg_message message;
  CHECK(winograd::CreateConv2DKernel(d, 2, Bindings{}, nullptr, &kernel, &message) ==
        RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(kernel == nullptr);
}

// RepVGG-A0's layers at 224 (conv part): stem, stage1 (56), stage2 (28),
// stage3 (14), stage4.
std::vector<LayerDesc> A0Layers(std::vector<LayerData>* data) {
  ModelSpec spec;
  REQUIRE(RepVGGSpec("A0", 224, &spec));
  std::vector<LayerDesc> layers;
  data->resize(spec.convs.size());
  uint32_t h = spec.height, c = spec.channels;
  for (size_t i = 0; i < spec.convs.size(); ++i) {
    const ConvSpec& conv = spec.convs[i];
    LayerDesc d;
    d.index = static_cast<uint32_t>(i);
    d.kind = LayerKind::kConv2D;
    d.in_h = d.in_w = h;
    d.in_c = c;
    d.out_c = conv.out_channels;
    d.kernel_h = d.kernel_w = 3;
    d.stride = conv.stride;
    d.padding = 1;
    d.groups = conv.groups;
    d.out_h = d.out_w = (h + 2 - 3) / conv.stride + 1;
    layers.push_back(d);
    h = d.out_h;
    c = d.out_c;
  }
  return layers;
}

TEST_CASE(
    "winograd: AUTO picks a tile for every stride-1 layer of RepVGG-A0 and none for stride 2") {
  std::vector<LayerData> data;
  const auto layers = A0Layers(&data);
  std::vector<uint8_t> tiles(layers.size(), 99);
  winograd::ChooseTiles(layers.data(), static_cast<uint32_t>(layers.size()), RVGG_BACKEND_XNNPACK,
                        RVGG_WINOGRAD_AUTO, 0, tiles.data());
  int chosen = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    INFO("layer " << i);
    if (layers[i].stride == 1) {
      CHECK((tiles[i] == 2 || tiles[i] == 4 || tiles[i] == 6));
      CHECK(winograd::EstimatedCost(layers[i], tiles[i]) <
            0.6 * winograd::EstimatedCost(layers[i], 0));
      ++chosen;
    } else {
      CHECK(tiles[i] == 0);
    }
  }
  CHECK(chosen == 17);  // 1 + 3 + 13 stride-1 blocks in stages 1-3
  // The reference backend and OFF never use Winograd.
  winograd::ChooseTiles(layers.data(), static_cast<uint32_t>(layers.size()), RVGG_BACKEND_REFERENCE,
                        RVGG_WINOGRAD_F4, 0, tiles.data());
  CHECK(std::count(tiles.begin(), tiles.end(), 0) == static_cast<long>(layers.size()));
  winograd::ChooseTiles(layers.data(), static_cast<uint32_t>(layers.size()), RVGG_BACKEND_XNNPACK,
                        RVGG_WINOGRAD_OFF, 0, tiles.data());
  CHECK(std::count(tiles.begin(), tiles.end(), 0) == static_cast<long>(layers.size()));
}

TEST_CASE(
    "winograd: the budget bounds the estimated weight bytes, and AUTO steps down before dropping") {
  std::vector<LayerData> data;
  const auto layers = A0Layers(&data);
  const uint32_t n = static_cast<uint32_t>(layers.size());
  std::vector<uint8_t> unlimited(n), tiles(n);
  winograd::ChooseTiles(layers.data(), n, RVGG_BACKEND_XNNPACK, RVGG_WINOGRAD_AUTO, 0,
                        unlimited.data());
  uint64_t full = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (unlimited[i]) full += winograd::WeightBytes(layers[i], unlimited[i]);
  }
  for (uint64_t budget : {full, full / 2, full / 5, uint64_t{1}}) {
    winograd::ChooseTiles(layers.data(), n, RVGG_BACKEND_XNNPACK, RVGG_WINOGRAD_AUTO, budget,
                          tiles.data());
    uint64_t used = 0;
    int winograd_layers = 0;
    for (uint32_t i = 0; i < n; ++i) {
      if (tiles[i] == 0) continue;
      used += winograd::WeightBytes(layers[i], tiles[i]);
      ++winograd_layers;
      CHECK(tiles[i] <= unlimited[i]);  // only ever steps down
    }
    INFO("budget " << budget << " used " << used);
    CHECK(used <= budget);
    if (budget == full) CHECK(std::equal(tiles.begin(), tiles.end(), unlimited.begin()));
    if (budget == full / 5) CHECK(winograd_layers > 0);
    if (budget == 1) CHECK(winograd_layers == 0);
  }
  // Forced F6 over budget: layers fall back to direct, never to another m.
  winograd::ChooseTiles(layers.data(), n, RVGG_BACKEND_XNNPACK, RVGG_WINOGRAD_F6, full / 4,
                        tiles.data());
  for (uint32_t i = 0; i < n; ++i) CHECK((tiles[i] == 0 || tiles[i] == 6));
  CHECK(std::count(tiles.begin(), tiles.end(), 6) > 0);
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
               {RVGG_WINOGRAD_F6, 3, "winograd-f6"}, {RVGG_WINOGRAD_AUTO, 1, nullptr}};
  int auto_winograd = 0;
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
      const bool eligible = li.type == RVGG_LAYER_CONV2D && li.stride == 1;
      if (!eligible) {
        CHECK(kernel == "xnnpack");
      } else if (c.name != nullptr) {
        CHECK(kernel == c.name);
        CHECK(li.kernel_bytes > 0);
      } else {
        // AUTO: Winograd where the cost model expects a gain, else direct.
        CHECK((kernel == "xnnpack" || kernel.rfind("winograd-f", 0) == 0));
        if (kernel != "xnnpack") ++auto_winograd;
      }
    }
  }
  CHECK(auto_winograd > 0);
}

TEST_CASE("winograd: a small budget keeps the plain XNNPACK path, a mid one is honoured") {
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
      CHECK(std::string(li.kernel) == "xnnpack");
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
  const Shape shapes[] = {{30, 30, 48, 48, 1, true},
                          {20, 20, 96, 96, 1, true},
                          {10, 10, 192, 192, 1, true},
                          {8, 8, 256, 256, 2, false}};
  for (const Shape& s : shapes) {
    LayerData data;
    LayerDesc d = MakeConv3x3(s, &data, 31);
    const uint32_t group_in = s.in_c / s.groups;
    for (float& v : data.weights) v *= 0.5f;
    for (uint32_t o = 0; o < s.out_c; ++o) data.weights[(o * 9 + 4) * group_in + o % group_in] += 1;
    auto input = RandomInput(d.input_elements(), 32);
    for (float& v : input) v = v > 0 ? 3.0f * v : 0.0f;
    const auto ref = RunLayer(d, RVGG_BACKEND_REFERENCE, input);
    const auto direct = RunLayer(d, RVGG_BACKEND_XNNPACK, input);
    std::string line = std::to_string(s.h) + "x" + std::to_string(s.w) + "x" +
                       std::to_string(s.in_c) + " g" + std::to_string(s.groups) + ": direct ";
    char direct_text[32];
    std::snprintf(direct_text, sizeof(direct_text), "%.2e", RelativeError(direct, ref));
    line += direct_text;
    for (int m : {2, 4, 6}) {
      const auto win = RunLayer(d, RVGG_BACKEND_XNNPACK, input, static_cast<uint32_t>(m));
      const double err = RelativeError(win, ref);
      char text[64];
      std::snprintf(text, sizeof(text), ", F%d %.2e", m, err);
      line += text;
      CHECK(err <= Tolerance(m));
    }
    MESSAGE(line);
  }
}

TEST_CASE("winograd: accuracy on a RepVGG-like network (fused identity, 17 stride-1 layers)") {
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
