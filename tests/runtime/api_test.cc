// runtime/src/api.cc: load, run, memory plan, options.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "rvgg/rvgg.h"
#include "tests/runtime/layer_harness.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

struct Loaded {
  rvgg_model* model = nullptr;
  rvgg_model_info info{};
  ~Loaded() { rvgg_model_free(model); }
};

void Load(const std::vector<uint8_t>& bytes, const rvgg_options& options, Loaded* out) {
  rvgg_message message;
  const rvgg_status status =
      rvgg_model_load(bytes.data(), bytes.size(), &options, &out->model, &message);
  INFO(message.text);
  REQUIRE(status == RVGG_STATUS_OK);
  REQUIRE(rvgg_model_get_info(out->model, &out->info) == RVGG_STATUS_OK);
}

std::vector<float> Run(Loaded& m, const std::vector<float>& input, rvgg_layout layout) {
  std::vector<float> out(m.info.num_outputs);
  REQUIRE(rvgg_model_run(m.model, input.data(), layout, out.data()) == RVGG_STATUS_OK);
  return out;
}

// The same image interleaved (NHWC) from planes (NCHW).
std::vector<float> ToNhwc(const std::vector<float>& nchw, uint32_t pixels, uint32_t channels) {
  std::vector<float> nhwc(nchw.size());
  for (uint32_t c = 0; c < channels; ++c)
    for (uint32_t p = 0; p < pixels; ++p) nhwc[p * channels + c] = nchw[c * pixels + p];
  return nhwc;
}

rvgg_options Options(rvgg_backend backend, uint32_t threads = 1) {
  rvgg_options o;
  rvgg_options_default(&o);
  o.backend = backend;
  o.num_threads = threads;
  o.precision = RVGG_PRECISION_FP32;  // float32 tolerances; runtime_fp16_test: fp16
  return o;
}

TEST_CASE("api: xnnpack and reference backends agree on a whole model with grouped and SE layers") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  Loaded ref, xnn;
  Load(bytes, Options(RVGG_BACKEND_REFERENCE), &ref);
  Load(bytes, Options(RVGG_BACKEND_XNNPACK), &xnn);
  const auto input = RandomInput(3 * 32 * 32, 1);
  CheckClose(Run(xnn, input, RVGG_LAYOUT_NCHW), Run(ref, input, RVGG_LAYOUT_NCHW), 1e-4);
}

TEST_CASE("api: NCHW and NHWC inputs give the same logits, on 1 thread and in bands on 2-4") {
  // Several threads write the input in bands of rows: 32 rows make bands of
  // 16, 11 or 10, 8 rows; fp16 where the CPU has it (AUTO), whose input is
  // converted in the same bands.
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  Loaded ref;
  Load(bytes, Options(RVGG_BACKEND_REFERENCE), &ref);
  const auto nchw = RandomInput(3 * 32 * 32, 6);
  const auto nhwc = ToNhwc(nchw, 32 * 32, 3);
  const auto expected = Run(ref, nchw, RVGG_LAYOUT_NCHW);
  CHECK(Run(ref, nhwc, RVGG_LAYOUT_NHWC) == expected);
  for (rvgg_precision precision : {RVGG_PRECISION_FP32, RVGG_PRECISION_AUTO}) {
    for (uint32_t threads = 2; threads <= 4; ++threads) {
      INFO(threads << " threads, precision " << int(precision));
      rvgg_options o = Options(RVGG_BACKEND_XNNPACK, threads);
      o.precision = precision;
      Loaded m;
      Load(bytes, o, &m);
      const auto planar = Run(m, nchw, RVGG_LAYOUT_NCHW);
      CHECK(planar == Run(m, nhwc, RVGG_LAYOUT_NHWC));
      if (precision == RVGG_PRECISION_FP32) CheckClose(planar, expected, 1e-4);
    }
  }
}

TEST_CASE("api: repeated runs are deterministic and independent of earlier inputs") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  Loaded m;
  Load(bytes, Options(RVGG_BACKEND_XNNPACK), &m);
  const auto a = RandomInput(3 * 32 * 32, 3), b = RandomInput(3 * 32 * 32, 4);
  const auto first = Run(m, a, RVGG_LAYOUT_NCHW);
  Run(m, b, RVGG_LAYOUT_NCHW);
  CHECK(Run(m, a, RVGG_LAYOUT_NCHW) == first);
}

TEST_CASE("api: two threads give the same logits as one") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  Loaded one, two;
  Load(bytes, Options(RVGG_BACKEND_XNNPACK, 1), &one);
  Load(bytes, Options(RVGG_BACKEND_XNNPACK, 2), &two);
  const auto input = RandomInput(3 * 32 * 32, 5);
  CheckClose(Run(two, input, RVGG_LAYOUT_NCHW), Run(one, input, RVGG_LAYOUT_NCHW), 1e-5);
}

TEST_CASE("api: a caller-supplied arena is used, and one byte too small is refused") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  size_t need = 0;
  rvgg_message message;
  rvgg_options o = Options(RVGG_BACKEND_XNNPACK);
  REQUIRE(rvgg_model_arena_size(bytes.data(), bytes.size(), &o, &need, &message) == RVGG_STATUS_OK);
  // Two ping-pong buffers: at least the largest activation (16x16x16 floats).
  CHECK(need >= 16 * 16 * 16 * sizeof(float));
  void* arena = std::aligned_alloc(RVGG_ARENA_ALIGNMENT, need);
  o.arena = arena;
  o.arena_size = need - 1;
  rvgg_model* model = nullptr;
  CHECK(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) ==
        RVGG_STATUS_ARENA_TOO_SMALL);
  CHECK(model == nullptr);
  CHECK(std::string(message.text).find("needs " + std::to_string(need)) != std::string::npos);

  o.arena_size = need;
  Loaded in_arena, own;
  Load(bytes, o, &in_arena);
  Load(bytes, Options(RVGG_BACKEND_XNNPACK), &own);
  const auto input = RandomInput(3 * 32 * 32, 6);
  CHECK(Run(in_arena, input, RVGG_LAYOUT_NCHW) == Run(own, input, RVGG_LAYOUT_NCHW));
  rvgg_model_free(in_arena.model);
  in_arena.model = nullptr;
  std::free(arena);
}

TEST_CASE("api: the arena holds two ping-pong buffers, not one per layer") {
  // Ten equal layers need no more arena than two.
  ModelSpec two, ten;
  two.convs.assign(2, ConvSpec{16, 3, 1});
  ten.convs.assign(10, ConvSpec{16, 3, 1});
  size_t a = 0, b = 0;
  const auto m2 = BuildModel(two), m10 = BuildModel(ten);
  REQUIRE(rvgg_model_arena_size(m2.data(), m2.size(), nullptr, &a, nullptr) == RVGG_STATUS_OK);
  REQUIRE(rvgg_model_arena_size(m10.data(), m10.size(), nullptr, &b, nullptr) == RVGG_STATUS_OK);
  CHECK(a == b);
}

TEST_CASE("api: bad arguments and options are refused with a status") {
  const auto bytes = BuildModel(ModelSpec{});
  rvgg_message message;
  rvgg_model* model = nullptr;
  rvgg_options o = Options(static_cast<rvgg_backend>(7));
  CHECK(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) ==
        RVGG_STATUS_INVALID_ARGUMENT);
  o = Options(RVGG_BACKEND_XNNPACK);
  o.flags = 1;
  CHECK(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) ==
        RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(rvgg_model_load(bytes.data(), bytes.size(), nullptr, nullptr, &message) ==
        RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(rvgg_model_run(nullptr, nullptr, RVGG_LAYOUT_NCHW, nullptr) ==
        RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(std::string(rvgg_status_string(RVGG_STATUS_ARENA_TOO_SMALL)) == "arena too small");
  // Out-of-range enum values, as C callers may pass them: refused, and (in
  // sanitizer builds) never loaded as the C++ enum type, which would be UB.
  o = Options(RVGG_BACKEND_XNNPACK);
  o.winograd = static_cast<rvgg_winograd>(99);
  CHECK(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) ==
        RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(std::string(message.text) == "unknown winograd setting 99");
  CHECK(std::string(rvgg_status_string(static_cast<rvgg_status>(42))) == "unknown status");
  Loaded m;
  Load(bytes, Options(RVGG_BACKEND_REFERENCE), &m);
  std::vector<float> in(3 * 12 * 10), out(5);
  CHECK(rvgg_model_run(m.model, in.data(), static_cast<rvgg_layout>(5), out.data()) ==
        RVGG_STATUS_INVALID_ARGUMENT);
}

TEST_CASE("api: labels and layer info of a loaded model") {
  ModelSpec spec;
  spec.labels = {"cat", "dog", "fox", "owl", "yak"};
  const auto bytes = BuildModel(spec);
  Loaded m;
  Load(bytes, Options(RVGG_BACKEND_XNNPACK), &m);
  CHECK(std::string(rvgg_model_label(m.model, 3)) == "owl");
  CHECK(rvgg_model_label(m.model, 5) == nullptr);
  rvgg_layer_info layer;
  REQUIRE(rvgg_model_get_layer_info(m.model, 0, &layer) == RVGG_STATUS_OK);
  CHECK(std::string(layer.kernel) == "xnnpack");
  CHECK(layer.kernel_bytes > 0);  // packed weights
  CHECK(rvgg_model_get_layer_info(m.model, 99, &layer) == RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(std::strlen(rvgg_kernel_isa()) > 0);
}

}  // namespace
}  // namespace rvgg::testing
