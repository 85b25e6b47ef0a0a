// Half precision (rvgg_precision, runtime/src/precision.cc): which loads run
// in fp16, the refusals, memory, and the fp16 kernels (XNNPACK's f16
// operators, the fp16 Winograd tiles with rvgg's fp16 GEMM) against the
// float32 reference within fp16's tolerance. On a CPU without FP16
// arithmetic (x86, ARMv8.0) the fp16 runs are reported as not tested, and
// the refusals are checked instead; the aarch64 suite runs under qemu's
// cortex-a76 too, where they run.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/reference/reference.h"
#include "runtime/src/half.h"
#include "runtime/src/ops/registry.h"
#include "runtime/src/ops/winograd/winograd.h"
#include "runtime/src/plan.h"
#include "rvgg/rvgg.h"
#include "tests/runtime/conv_desc.h"
#include "tests/runtime/int8_models.h"
#include "tests/runtime/layer_harness.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

bool CpuHasFp16() { return std::string(rvgg_kernel_isa()).find("fp16 arithmetic") != std::string::npos; }

rvgg_options Options(rvgg_precision precision, rvgg_backend backend = RVGG_BACKEND_XNNPACK,
                     uint32_t threads = 1) {
  rvgg_options o;
  rvgg_options_default(&o);
  o.backend = backend;
  o.precision = precision;
  o.num_threads = threads;
  return o;
}

struct Loaded {
  rvgg_model* model = nullptr;
  rvgg_model_info info{};
  ~Loaded() { rvgg_model_free(model); }
};

rvgg_status Load(const std::vector<uint8_t>& bytes, const rvgg_options& options, Loaded* out,
                 rvgg_message* message) {
  const rvgg_status status =
      rvgg_model_load(bytes.data(), bytes.size(), &options, &out->model, message);
  if (status == RVGG_STATUS_OK) rvgg_model_get_info(out->model, &out->info);
  return status;
}

std::vector<float> Run(Loaded& m, const std::vector<float>& input) {
  std::vector<float> out(m.info.num_outputs);
  REQUIRE(rvgg_model_run(m.model, input.data(), RVGG_LAYOUT_NCHW, out.data()) == RVGG_STATUS_OK);
  return out;
}

std::vector<rvgg_dtype> ComputeTypes(const Loaded& m) {
  std::vector<rvgg_dtype> types;
  for (uint32_t i = 0; i < m.info.num_layers; ++i) {
    rvgg_layer_info l;
    REQUIRE(rvgg_model_get_layer_info(m.model, i, &l) == RVGG_STATUS_OK);
    types.push_back(l.compute_type);
  }
  return types;
}

// max |a - b| / max(1, max |b|)
double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0.0, scale = 1.0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return worst / scale;
}

TEST_CASE("fp16: an unknown precision value is an invalid argument") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  rvgg_options o = Options(RVGG_PRECISION_AUTO);
  const int bad = 7;
  std::memcpy(&o.precision, &bad, sizeof(bad));
  Loaded m;
  rvgg_message message;
  CHECK(Load(bytes, o, &m, &message) == RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(std::string(message.text).find("precision") != std::string::npos);
}

TEST_CASE("fp16: the reference backend refuses forced fp16 and runs AUTO in float32") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  Loaded forced, automatic;
  rvgg_message message;
  CHECK(Load(bytes, Options(RVGG_PRECISION_FP16, RVGG_BACKEND_REFERENCE), &forced, &message) ==
        RVGG_STATUS_UNSUPPORTED);
  CHECK(std::string(message.text).find("XNNPACK backend") != std::string::npos);
  REQUIRE(Load(bytes, Options(RVGG_PRECISION_AUTO, RVGG_BACKEND_REFERENCE), &automatic, &message) ==
          RVGG_STATUS_OK);
  for (rvgg_dtype t : ComputeTypes(automatic)) CHECK(t == RVGG_DTYPE_FLOAT32);
}

#if RVGG_WITH_XNNPACK

TEST_CASE("fp16: AUTO picks half precision exactly where the CPU has FP16 arithmetic") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  Loaded m;
  rvgg_message message;
  REQUIRE(Load(bytes, Options(RVGG_PRECISION_AUTO), &m, &message) == RVGG_STATUS_OK);
  const rvgg_dtype expected = CpuHasFp16() ? RVGG_DTYPE_FLOAT16 : RVGG_DTYPE_FLOAT32;
  for (rvgg_dtype t : ComputeTypes(m)) CHECK(t == expected);
  Loaded fp32;
  REQUIRE(Load(bytes, Options(RVGG_PRECISION_FP32), &fp32, &message) == RVGG_STATUS_OK);
  for (rvgg_dtype t : ComputeTypes(fp32)) CHECK(t == RVGG_DTYPE_FLOAT32);
}

TEST_CASE("fp16: forced fp16 without FP16 arithmetic is refused, with a message") {
  if (CpuHasFp16()) {
    MESSAGE("this CPU has FP16 arithmetic: the refusal is checked on CPUs without it");
    return;
  }
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  Loaded m;
  rvgg_message message;
  CHECK(Load(bytes, Options(RVGG_PRECISION_FP16), &m, &message) == RVGG_STATUS_UNSUPPORTED);
  CHECK(m.model == nullptr);
  CHECK(std::string(message.text).find("no FP16 arithmetic") != std::string::npos);
  size_t arena = 0;
  const rvgg_options o = Options(RVGG_PRECISION_FP16);
  CHECK(rvgg_model_arena_size(bytes.data(), bytes.size(), &o, &arena, nullptr) ==
        RVGG_STATUS_UNSUPPORTED);
}

TEST_CASE("fp16: int8 models keep their int8 layers; forced fp16 is refused for them") {
  Int8ModelSpec spec;
  spec.base = SmallRepVGGLikeSpec();
  const auto bytes = BuildInt8Model(spec);
  Loaded automatic;
  rvgg_message message;
  REQUIRE(Load(bytes, Options(RVGG_PRECISION_AUTO), &automatic, &message) == RVGG_STATUS_OK);
  for (rvgg_dtype t : ComputeTypes(automatic)) CHECK(t != RVGG_DTYPE_FLOAT16);
  Loaded forced;
  CHECK(Load(bytes, Options(RVGG_PRECISION_FP16), &forced, &message) == RVGG_STATUS_UNSUPPORTED);
  if (CpuHasFp16()) CHECK(std::string(message.text).find("int8 layers") != std::string::npos);
}

TEST_CASE("fp16: whole models within fp16's tolerance of the float32 reference, on 1-4 threads") {
  if (!CpuHasFp16()) {
    MESSAGE("NOT TESTED here: this CPU has no FP16 arithmetic (" << rvgg_kernel_isa() << ")");
    return;
  }
  // Grouped and squeeze-excite layers (SmallRepVGGLike), and a RepVGG-like
  // net with the fused identity, whose layers take the fp16 Winograd tiles.
  ModelSpec repvgg;
  repvgg.height = repvgg.width = 30;
  repvgg.channels = 3;
  repvgg.convs = {ConvSpec{16, 3, 2}, ConvSpec{16, 3, 1}, ConvSpec{24, 3, 2}, ConvSpec{24, 3, 1},
                  ConvSpec{24, 3, 1}, ConvSpec{40, 3, 2}, ConvSpec{40, 3, 1}};
  repvgg.fused_identity = true;
  for (const ModelSpec& spec : {SmallRepVGGLikeSpec(), repvgg}) {
    const auto bytes = BuildModel(spec);
    Loaded ref;
    rvgg_message message;
    REQUIRE(Load(bytes, Options(RVGG_PRECISION_FP32, RVGG_BACKEND_REFERENCE), &ref, &message) ==
            RVGG_STATUS_OK);
    const auto input = RandomInput(size_t{spec.channels} * spec.height * spec.width, 4);
    const auto want = Run(ref, input);
    std::vector<float> one_thread;
    for (uint32_t threads : {1u, 2u, 4u}) {
      Loaded m;
      REQUIRE(Load(bytes, Options(RVGG_PRECISION_FP16, RVGG_BACKEND_XNNPACK, threads), &m,
                   &message) == RVGG_STATUS_OK);
      for (rvgg_dtype t : ComputeTypes(m)) CHECK(t == RVGG_DTYPE_FLOAT16);
      const auto got = Run(m, input);
      INFO(threads << " threads: relative error " << RelativeError(got, want));
      CHECK(RelativeError(got, want) <= 1e-2);
      if (threads == 1) {
        one_thread = got;
      } else {
        CHECK(got == one_thread);  // the same arithmetic, split differently
      }
    }
  }
}

TEST_CASE("fp16: the arena holds half-precision activations; caller memory is sized exactly") {
  if (!CpuHasFp16()) {
    MESSAGE("NOT TESTED here: this CPU has no FP16 arithmetic");
    return;
  }
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  // Activations alone (no Winograd scratch, which depends on the tiles).
  rvgg_options direct16 = Options(RVGG_PRECISION_FP16), direct32 = Options(RVGG_PRECISION_FP32);
  direct16.winograd = direct32.winograd = RVGG_WINOGRAD_OFF;
  size_t arena16 = 0, arena32 = 0;
  REQUIRE(rvgg_model_arena_size(bytes.data(), bytes.size(), &direct16, &arena16, nullptr) ==
          RVGG_STATUS_OK);
  REQUIRE(rvgg_model_arena_size(bytes.data(), bytes.size(), &direct32, &arena32, nullptr) ==
          RVGG_STATUS_OK);
  CHECK(arena16 < arena32 * 3 / 4);
  const rvgg_options o16 = Options(RVGG_PRECISION_FP16);
  size_t need = 0;
  REQUIRE(rvgg_model_memory_size(bytes.data(), bytes.size(), &o16, &need, nullptr) ==
          RVGG_STATUS_OK);
  std::vector<uint8_t> block(need + 64);
  void* memory = block.data() + (64 - reinterpret_cast<uintptr_t>(block.data()) % 64) % 64;
  rvgg_options in_memory = o16;
  in_memory.memory = memory;
  in_memory.memory_size = need;
  Loaded exact;
  rvgg_message message;
  CHECK(Load(bytes, in_memory, &exact, &message) == RVGG_STATUS_OK);
  in_memory.memory_size = need - 1;
  Loaded short_by_one;
  CHECK(Load(bytes, in_memory, &short_by_one, &message) == RVGG_STATUS_OUT_OF_MEMORY);
}

// One fp16 Winograd layer (tile `code`) against the float32 reference
// convolution, through the registry as a load would run it.
double Fp16WinogradError(const LayerDesc& desc32, uint32_t code) {
  LayerDesc d = desc32;
  d.compute_type = d.input_type = d.output_type = RVGG_DTYPE_FLOAT16;
  const KernelChoice choice{FindImpl(d, RVGG_BACKEND_XNNPACK, code), code, 1};
  REQUIRE(choice.impl != nullptr);
  const auto input = RandomInput(d.input_elements(), 9);
  std::vector<Half> in(d.input_elements());
  FloatToHalf(input.data(), input.size(), in.data());
  std::string name;
  const std::vector<Half> out = RunKernel<Half>(d, choice, in, nullptr, &name);
  CHECK(name.rfind("winograd-", 0) == 0);
  std::vector<float> got(d.output_elements());
  HalfToFloat(out.data(), got.size(), got.data());
  // The reference on the fp16-rounded input.
  std::vector<float> rounded(input.size());
  HalfToFloat(in.data(), rounded.size(), rounded.data());
  std::vector<float> want(d.output_elements());
  ref::Conv2D(ref::Conv2DShape{d.in_h, d.in_w, d.in_c, d.out_h, d.out_w, d.out_c, 3, 3, d.stride,
                               1, d.groups, d.relu},
              rounded.data(), d.weights, d.bias, want.data());
  return RelativeError(got, want);
}

TEST_CASE("fp16: every tile fp16 allows, stride 1 and 2, own GEMM and XNNPACK's, within tolerance") {
  if (!CpuHasFp16()) {
    MESSAGE("NOT TESTED here: this CPU has no FP16 arithmetic");
    return;
  }
  struct Shape {
    uint32_t h, w, in_c, out_c, stride, groups;
  };
  // 24 channels: rvgg's fp16 GEMM (K a multiple of 8); 12: XNNPACK's f16
  // fully-connected operators; groups of 16 channels.
  const Shape shapes[] = {{11, 13, 24, 40, 1, 1}, {11, 13, 12, 20, 1, 1}, {9, 9, 32, 32, 1, 2},
                          {13, 10, 24, 48, 2, 1}, {13, 10, 12, 24, 2, 1}};
  int tested = 0;
  for (const Shape& s : shapes) {
    LayerDesc d = Conv3x3Desc(s.h, s.w, s.in_c, s.out_c, s.stride, s.groups, /*relu=*/true);
    const uint32_t group_in = s.in_c / s.groups;
    std::vector<float> weights = RandomInput(size_t{s.out_c} * 9 * group_in, 3);
    for (float& v : weights) v *= std::sqrt(2.0f / (9.0f * group_in));
    for (uint32_t o = 0; o < s.out_c; ++o) {
      if (s.stride == 1) weights[(size_t{o} * 9 + 4) * group_in + o % group_in] += 1.0f;
    }
    const std::vector<float> bias = RandomInput(s.out_c, 5);
    d.weights = weights.data();
    d.bias = bias.data();
    for (int my = winograd::kMinTile; my <= winograd::MaxTile(s.stride); ++my) {
      for (int mx = winograd::kMinTile; mx <= winograd::MaxTile(s.stride); ++mx) {
        const bool allowed = winograd::Fp16TileKeepsAccuracy(s.stride, my, mx);
        LayerDesc d16 = d;
        d16.compute_type = RVGG_DTYPE_FLOAT16;
        CHECK(winograd::ValidTile(d16, winograd::TileCode(my, mx)) == allowed);
        if (!allowed) continue;
        const double err = Fp16WinogradError(d, winograd::TileCode(my, mx));
        INFO(s.h << "x" << s.w << "x" << s.in_c << "->" << s.out_c << " stride " << s.stride
                 << " groups " << s.groups << " F(" << my << "x" << mx << "): error " << err);
        CHECK(err <= 1e-2);
        ++tested;
      }
    }
  }
  CHECK(tested > 20);
}

#endif  // RVGG_WITH_XNNPACK

}  // namespace
}  // namespace rvgg::testing
