// runtime/src/ops/winograd/gemm_conv.cc, the direct convolution on rvgg's
// own GEMM: the GEMM's bias-and-clamp form in every SIMD set this CPU runs
// against a double-precision product, the kernel against the reference
// convolution on odd shapes, kernels, strides, paddings and thread counts,
// its task plan, and where AUTO puts it. On a CPU without rvgg's float GEMM
// (ARM) the kernel cases are reported as not run and the test checks that
// nothing chooses the kernel.
#include <doctest/doctest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/src/ops/winograd/gemm.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "runtime/src/ops/winograd/winograd.h"
#include "rvgg/rvgg.h"
#include "tests/runtime/conv_case.h"
#include "tests/runtime/conv_desc.h"
#include "tests/runtime/layer_harness.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

pthreadpool_t Pool(uint32_t threads) {
  static pthreadpool_t pools[5] = {};
  if (threads <= 1) return nullptr;
  if (pools[threads] == nullptr) pools[threads] = pthreadpool_create(threads);
  return pools[threads];
}

std::string Text(const ConvCase& c) {
  std::ostringstream s;
  s << c.h << "x" << c.w << "x" << c.in_c << " -> " << c.out_c << ", " << c.kernel << "x"
    << c.kernel << " s" << c.stride << " p" << c.padding << (c.relu ? ", relu" : "");
  return s.str();
}

LayerDesc MakeLayer(const ConvCase& c, LayerData* data, bool bias, uint32_t seed) {
  LayerDesc d = ConvCaseDesc(c);
  d.name = "gemm-direct test";
  const size_t depth = size_t{c.kernel} * c.kernel * c.in_c;
  data->weights = RandomInput(size_t{c.out_c} * depth, seed);
  const float scale = std::sqrt(2.0f / float(depth));
  for (float& v : data->weights) v *= scale;
  d.weights = data->weights.data();
  if (bias) {
    data->bias = RandomInput(c.out_c, seed + 1);
    d.bias = data->bias.data();
  }
  return d;
}

TEST_CASE("gemm-direct: the GEMM with bias and clamp matches a double product in every SIMD set") {
  winograd::TransformSet sets[8];
  const int count = winograd::AvailableWinogradTransforms(sets, 8);
  int checked = 0;
  for (int s = 0; s < count; ++s) {
    if (sets[s].gemm_bias == nullptr) continue;
    ++checked;
    // Rows around the register blocks (1, 12, 13, 49), columns around the
    // 16-float panels, 32-column pairs and 48-column triples, short and long
    // depths in 1 to 4 runs per row; C wider than N (ldc > n) so that a store
    // past N would show.
    struct Depth {
      size_t segments, run;
    };
    for (size_t m : {1u, 5u, 12u, 13u, 49u, 100u}) {
      for (size_t n : {3u, 16u, 17u, 40u, 48u, 64u, 80u}) {
        for (Depth depth : {Depth{1, 1}, Depth{3, 9}, Depth{1, 27}, Depth{4, 50}}) {
          const size_t k = depth.segments * depth.run;
          for (float lo : {0.0f, -1e30f}) {
            INFO(sets[s].isa << ": m " << m << " n " << n << " k " << depth.segments << " x "
                             << depth.run << " lo " << lo);
            const size_t ldc = n + 5;
            const auto a = RandomInput(m * k, 3);
            // Each run of a row elsewhere in memory, last run first, one
            // float apart: the kernel must follow the pointers.
            std::vector<float> scattered(depth.segments * m * (depth.run + 1));
            std::vector<const float*> rows(m * depth.segments);
            for (size_t i = 0; i < m; ++i) {
              for (size_t g = 0; g < depth.segments; ++g) {
                float* at = scattered.data() + ((depth.segments - 1 - g) * m + i) * (depth.run + 1);
                std::copy_n(a.data() + i * k + g * depth.run, depth.run, at);
                rows[i * depth.segments + g] = at;
              }
            }
            const auto w = RandomInput(n * k, 4);
            std::vector<float> bias = RandomInput((n + 15) / 16 * 16, 5);
            std::fill(bias.begin() + static_cast<long>(n), bias.end(), 0.0f);
            std::vector<float> packed(winograd::PackedGemmFloats(k, n) + 16);
            // 64-byte aligned start inside the vector.
            float* p = packed.data();
            while (reinterpret_cast<uintptr_t>(p) % 64 != 0) ++p;
            winograd::PackGemmWeights(w.data(), k, n, p);
            std::vector<float> c(m * ldc, 7.0f);
            sets[s].gemm_bias(m, n, depth.segments, depth.run, rows.data(), p, c.data(), ldc,
                              bias.data(), lo);
            double worst = 0.0;
            bool untouched = true;
            for (size_t i = 0; i < m; ++i) {
              for (size_t j = 0; j < n; ++j) {
                double sum = bias[j];
                for (size_t q = 0; q < k; ++q) sum += double(a[i * k + q]) * w[j * k + q];
                sum = std::max(sum, double(lo));
                worst = std::max(worst, std::fabs(sum - c[i * ldc + j]) / (1.0 + std::fabs(sum)));
              }
              for (size_t j = n; j < ldc; ++j) untouched = untouched && c[i * ldc + j] == 7.0f;
            }
            CHECK(worst <= 1e-5);
            CHECK(untouched);
          }
        }
      }
    }
  }
  if (checked == 0) {
    MESSAGE("NOT TESTED here: this CPU has no rvgg float GEMM (the kernel never runs)");
    CHECK_FALSE(winograd::GemmDirectApplies(Conv3x3Desc(14, 14, 32, 32)));
  }
}

TEST_CASE("gemm-direct: matches the reference on odd shapes, kernels, strides and threads") {
  const ConvCase cases[] = {
      // RepVGG's stride-2 layers, scaled down, and its stage-4 shape.
      {28, 28, 48, 96, 3, 2, 1, 1, true},
      {14, 14, 192, 1280, 3, 2, 1, 1, true},
      // Odd channel counts (not multiples of 16 or 32), odd and tiny maps.
      {15, 9, 3, 5, 3, 2, 1, 1, true},
      {7, 7, 17, 33, 3, 1, 1, 1, false},
      {1, 1, 8, 40, 3, 1, 1, 1, true},
      {2, 3, 6, 70, 3, 2, 1, 1, false},
      {13, 11, 24, 48, 3, 2, 1, 1, true},
      // Other kernels and paddings the op allows.
      {9, 10, 20, 24, 1, 1, 0, 1, true},
      {9, 10, 20, 24, 1, 2, 0, 1, false},
      {8, 8, 12, 20, 3, 1, 0, 1, true},
      {8, 8, 12, 20, 3, 2, 2, 1, false},
      // Many chunks: 56 x 56 outputs.
      {112, 112, 8, 16, 3, 2, 1, 1, true},
      // A 3-channel stem whose windows cross the left and the right edge.
      {31, 29, 3, 48, 3, 2, 1, 1, true},
  };
  const bool runs = winograd::GemmDirectApplies(ConvCaseDesc(cases[0]));
  if (!runs) {
    MESSAGE("NOT TESTED here: this CPU has no rvgg float GEMM (the kernel never runs)");
    for (const ConvCase& c : cases) CHECK_FALSE(winograd::GemmDirectApplies(ConvCaseDesc(c)));
    return;
  }
  uint32_t seed = 100;
  for (const ConvCase& c : cases) {
    for (bool bias : {true, false}) {
      LayerData data;
      const LayerDesc d = MakeLayer(c, &data, bias, seed);
      const auto input = RandomInput(d.input_elements(), seed + 7);
      seed += 11;
      const auto expected = RunLayer(d, RVGG_BACKEND_REFERENCE, input);
      for (uint32_t threads : {1u, 2u, 3u, 4u}) {
        INFO(Text(c) << (bias ? ", bias" : ", no bias") << ", " << threads << " thread(s)");
        const KernelChoice choice{FindImpl(d, RVGG_BACKEND_XNNPACK, winograd::kGemmDirect),
                                  winograd::kGemmDirect, threads};
        std::string name;
        const auto out = RunKernel<float>(d, choice, input, Pool(threads), &name);
        CHECK(name == "gemm-direct");
        CheckClose(out, expected, 1e-5);
      }
    }
  }
  // Scratch planned for one thread, run on a pool of four: one worker.
  LayerData data;
  const LayerDesc d = MakeLayer(cases[0], &data, true, 5);
  const auto input = RandomInput(d.input_elements(), 6);
  const KernelChoice one{FindImpl(d, RVGG_BACKEND_XNNPACK, winograd::kGemmDirect),
                         winograd::kGemmDirect, 1};
  CheckClose(RunKernel<float>(d, one, input, Pool(4)), RunLayer(d, RVGG_BACKEND_REFERENCE, input),
             1e-5);
}

TEST_CASE("gemm-direct: the plan covers the layer and gives every thread work") {
  struct PlanCase {
    ConvCase c;
    uint32_t threads;
  };
  const PlanCase cases[] = {
      {{112, 112, 48, 48, 3, 2, 1, 1, true}, 1},  {{112, 112, 48, 48, 3, 2, 1, 1, true}, 2},
      {{28, 28, 96, 192, 3, 2, 1, 1, true}, 2},   {{28, 28, 96, 192, 3, 2, 1, 1, true}, 4},
      {{14, 14, 192, 1280, 3, 2, 1, 1, true}, 1}, {{14, 14, 192, 1280, 3, 2, 1, 1, true}, 2},
      {{14, 14, 192, 1280, 3, 2, 1, 1, true}, 4}, {{1, 1, 8, 8, 3, 1, 1, 1, true}, 4},
  };
  for (const PlanCase& pc : cases) {
    const LayerDesc d = ConvCaseDesc(pc.c);
    if (!winograd::GemmDirectApplies(d)) {
      MESSAGE("NOT TESTED here: this CPU has no rvgg float GEMM");
      return;
    }
    INFO(Text(pc.c) << ", " << pc.threads << " thread(s)");
    const winograd::GemmDirectPlan plan = winograd::PlanGemmDirect(d, pc.threads);
    const size_t pixels = size_t{d.out_h} * d.out_w;
    const size_t panels = (d.out_c + winograd::kGemmPanel - 1) / winograd::kGemmPanel;
    REQUIRE(plan.chunks > 0);
    CHECK(size_t{plan.chunks} * plan.chunk_rows >= pixels);
    CHECK(size_t{plan.chunks - 1} * plan.chunk_rows < pixels);
    CHECK(size_t{plan.column_groups} * plan.group_panels >= panels);
    CHECK(size_t{plan.column_groups - 1} * plan.group_panels < panels);
    const size_t tasks = size_t{plan.chunks} * plan.column_groups;
    CHECK(plan.slots == std::min<size_t>(tasks, pc.threads));
    // Room for every chunk's row table and its edge-crossing window rows,
    // counted here pixel by pixel.
    CHECK(plan.table_bytes >= size_t{plan.chunk_rows} * d.kernel_h * sizeof(float*));
    size_t most_border = 0;
    for (size_t first = 0; first < pixels; first += plan.chunk_rows) {
      size_t border = 0;
      for (size_t p = first; p < std::min(pixels, first + plan.chunk_rows); ++p) {
        const int64_t x0 = int64_t(p % d.out_w) * d.stride - d.padding;
        if (x0 < 0 || x0 + d.kernel_w > d.in_w) border += d.kernel_h;
      }
      most_border = std::max(most_border, border);
    }
    CHECK(plan.border_rows >= most_border);
    CHECK(plan.slot_bytes >=
          plan.table_bytes + size_t{plan.border_rows} * d.kernel_w * d.in_c * sizeof(float));
    CHECK(winograd::GemmDirectScratchBytes(d, pc.threads) == size_t{plan.slots} * plan.slot_bytes);
    if (pc.threads > 1 && tasks >= pc.threads) {
      // Equal shares while tasks are few; enough tasks to balance otherwise.
      CHECK((tasks % pc.threads == 0 || tasks >= 4 * size_t{pc.threads}));
    }
    if (pixels == 49 && pc.threads > 1) {
      // Stage 4: one chunk, the weights split between the threads.
      CHECK(plan.chunks == 1);
      CHECK(plan.column_groups >= pc.threads);
    }
  }
}

// RepVGG-A0's conv layers at 224.
std::vector<LayerDesc> A0Layers() {
  ModelSpec spec;
  REQUIRE(RepVGGSpec("A0", 224, &spec));
  return ConvLayerDescs(spec);
}

TEST_CASE(
    "gemm-direct: AUTO takes it for RepVGG-A0's stride-2 layers after the stem, nowhere else") {
  const auto layers = A0Layers();
  const uint32_t n = static_cast<uint32_t>(layers.size());
  for (rvgg_winograd setting : {RVGG_WINOGRAD_AUTO, RVGG_WINOGRAD_OFF, RVGG_WINOGRAD_F4}) {
    rvgg_options options;
    rvgg_options_default(&options);
    options.winograd = setting;
    options.precision = RVGG_PRECISION_FP32;
    std::vector<KernelChoice> choices(n);
    winograd::ChooseTiles(layers.data(), n, options, choices.data());
    const bool own = winograd::GemmDirectApplies(layers[1]);
    for (uint32_t i = 0; i < n; ++i) {
      const LayerDesc& d = layers[i];
      INFO("setting " << setting << ", layer " << i);
      const bool gemm_direct = choices[i].variant == winograd::kGemmDirect;
      if (setting != RVGG_WINOGRAD_AUTO || !own) {
        // Forced tiles and OFF keep XNNPACK's direct convolution; so does a
        // CPU without the GEMM.
        CHECK_FALSE(gemm_direct);
      } else if (d.stride == 2) {
        // The model compares it with XNNPACK's and every stride-2 tile
        // (none for the 3-channel stem); where it is chosen it is the
        // cheapest of them.
        if (gemm_direct) {
          CHECK(winograd::EstimatedCost(d, winograd::kGemmDirect) <
                winograd::EstimatedCost(d, winograd::kDirect));
        }
      } else {
        CHECK_FALSE(gemm_direct);  // Winograd wins every stride-1 layer
      }
    }
    if (setting == RVGG_WINOGRAD_AUTO && own) {
      // Stage 4 (49 outputs, 2.2M weights): rvgg's GEMM, directly (AVX-512)
      // or in a small Winograd tile (AVX2), beats XNNPACK's direct kernel.
      CHECK(choices[n - 1].variant != winograd::kDirect);
    }
  }
}

}  // namespace
}  // namespace rvgg::testing
