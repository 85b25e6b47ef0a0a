// runtime/src/api.cc with int8 models: load, run, conversions at float32
// edges, arena sized by element type.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "rvgg/rvgg.h"
#include "tests/runtime/int8_models.h"

namespace rvgg::testing {
namespace {

struct Loaded {
  rvgg_model* model = nullptr;
  rvgg_model_info info{};
  ~Loaded() { rvgg_model_free(model); }
};

void Load(const std::vector<uint8_t>& bytes, rvgg_backend backend, uint32_t threads, Loaded* out) {
  rvgg_options o;
  rvgg_options_default(&o);
  o.backend = backend;
  o.num_threads = threads;
  rvgg_message message;
  const rvgg_status status = rvgg_model_load(bytes.data(), bytes.size(), &o, &out->model, &message);
  INFO(message.text);
  REQUIRE(status == RVGG_STATUS_OK);
  REQUIRE(rvgg_model_get_info(out->model, &out->info) == RVGG_STATUS_OK);
}

std::vector<float> Run(const std::vector<uint8_t>& bytes, rvgg_backend backend,
                       const std::vector<float>& input, uint32_t threads = 1) {
  Loaded m;
  Load(bytes, backend, threads, &m);
  std::vector<float> out(m.info.num_outputs);
  REQUIRE(rvgg_model_run(m.model, input.data(), RVGG_LAYOUT_NHWC, out.data()) == RVGG_STATUS_OK);
  return out;
}

double MaxAbs(const std::vector<float>& v) {
  double m = 0.0;
  for (float x : v) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

double MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0.0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
  return m;
}

Int8ModelSpec RepVGGLike(std::vector<bool> int8 = {}) {
  Int8ModelSpec spec;
  spec.base = SmallRepVGGLikeSpec();
  spec.int8 = std::move(int8);
  return spec;
}

// The same weights with every layer float32.
std::vector<uint8_t> FloatTwin(Int8ModelSpec spec, size_t layers) {
  spec.int8.assign(layers, false);
  return BuildInt8Model(spec);
}

// int8 logits against the float32 model of the same weights, and the two
// backends against each other.
void CheckInt8Model(const Int8ModelSpec& spec, size_t layers) {
  const auto bytes = BuildInt8Model(spec);
  const auto input = RandomInput(size_t{spec.base.height} * spec.base.width * spec.base.channels,
                                 spec.base.seed + 1);  // the input the ranges came from
  const auto fp32 = Run(FloatTwin(spec, layers), RVGG_BACKEND_REFERENCE, input);
  const auto ref = Run(bytes, RVGG_BACKEND_REFERENCE, input);
  const double scale = std::max(1.0, MaxAbs(fp32));
  INFO("max |int8 - fp32| = " << MaxDiff(ref, fp32) << ", max |logit| = " << scale);
  CHECK(MaxDiff(ref, fp32) <= 0.08 * scale);
  CHECK(ref != fp32);  // really quantized
#if RVGG_WITH_XNNPACK
  const auto xnn = Run(bytes, RVGG_BACKEND_XNNPACK, input);
  INFO("max |xnnpack - reference| = " << MaxDiff(xnn, ref));
  CHECK(MaxDiff(xnn, ref) <= 0.02 * scale);
  CHECK(Run(bytes, RVGG_BACKEND_XNNPACK, input, 2) == xnn);
#endif
}

TEST_CASE("api int8: an all-int8 model follows its float32 twin on both backends") {
  // block0..block4, block5 + SE (float32), gap, classifier: 9 layers.
  CheckInt8Model(RepVGGLike(), 9);
}

TEST_CASE("api int8: float32 layers between int8 ones convert at every edge") {
  // block1 and the SE stay float32; block5 (int8) then feeds float32 SE.
  CheckInt8Model(RepVGGLike({true, false, true, true, true, true, false, true, true}), 9);
  // Only the classifier float32 (int8 pooled features in, float32 logits out).
  CheckInt8Model(RepVGGLike({true, true, true, true, true, true, false, true, false}), 9);
  // Only the stem float32.
  CheckInt8Model(RepVGGLike({false, true, true, true, true, true, false, true, true}), 9);
}

TEST_CASE("api int8: a per-tensor classifier runs on an int8 kernel (rvgg's own or XNNPACK's qs8)") {
  Int8ModelSpec spec = RepVGGLike();
  spec.per_tensor_classifier = true;
  CheckInt8Model(spec, 9);
#if RVGG_WITH_XNNPACK
  const auto bytes = BuildInt8Model(spec);
  Loaded m;
  Load(bytes, RVGG_BACKEND_XNNPACK, 1, &m);
  rvgg_layer_info layer;
  REQUIRE(rvgg_model_get_layer_info(m.model, 8, &layer) == RVGG_STATUS_OK);
  // rvgg's kernel families ("int8 sdot", "int8 avx512vnni", ...) come first
  // where the CPU has their instructions; XNNPACK's operators elsewhere.
  const std::string classifier = layer.kernel;
  CHECK((classifier == "xnnpack qs8" || classifier.rfind("int8 ", 0) == 0));
  REQUIRE(rvgg_model_get_layer_info(m.model, 0, &layer) == RVGG_STATUS_OK);
  const std::string stem = layer.kernel;
  CHECK((stem == "xnnpack qc8" || stem.rfind("int8 ", 0) == 0));
  // A dot-product family runs both layers where the CPU has one; elsewhere
  // the classifier is XNNPACK's and the stem XNNPACK's or the int8 Winograd.
  const bool dot_family = classifier.rfind("int8 ", 0) == 0;
  CHECK(dot_family == (stem.rfind("int8 ", 0) == 0 && stem.find("winograd") == std::string::npos));
  CHECK(layer.compute_type == RVGG_DTYPE_INT8);
  CHECK(layer.kernel_bytes > 0);
#endif
}

TEST_CASE("api int8: the arena holds int8 activations in a byte each") {
  // Default spec: input 12x10x3 float (1440 B) in buffer 0; block0 6x5x8 int8
  // (240 B) in buffer 1, block1 (240 B) in 0, block2 3x3x16 (144 B) in 1, gap
  // (16 B) in 0, float logits (20 B) in 1. Buffers round up to 64 after 16
  // tail bytes: 1472 + 256. Scratch: block0 quantizes its float input (360 B
  // -> 384-byte slot), the classifier dequantizes its output (5 B -> 64):
  // max 384, plus tail -> 448. Float32 twin: 1472 + 1024 (960 B), no scratch.
  Int8ModelSpec spec;
  rvgg_options options;
  rvgg_options_default(&options);
  options.backend = RVGG_BACKEND_REFERENCE;
  const auto int8 = BuildInt8Model(spec);
  size_t bytes = 0;
  REQUIRE(rvgg_model_arena_size(int8.data(), int8.size(), &options, &bytes, nullptr) == RVGG_STATUS_OK);
  CHECK(bytes == 1472 + 256 + 448);
  const auto fp32 = FloatTwin(spec, 5);
  REQUIRE(rvgg_model_arena_size(fp32.data(), fp32.size(), &options, &bytes, nullptr) == RVGG_STATUS_OK);
  CHECK(bytes == 1472 + 1024);
  // The plan is what load uses: a caller arena one byte short is refused.
  REQUIRE(rvgg_model_arena_size(int8.data(), int8.size(), &options, &bytes, nullptr) == RVGG_STATUS_OK);
  void* arena = nullptr;
  REQUIRE(posix_memalign(&arena, RVGG_ARENA_ALIGNMENT, bytes) == 0);
  options.arena = arena;
  options.arena_size = bytes - 1;
  rvgg_model* model = nullptr;
  CHECK(rvgg_model_load(int8.data(), int8.size(), &options, &model, nullptr) ==
        RVGG_STATUS_ARENA_TOO_SMALL);
  options.arena_size = bytes;
  REQUIRE(rvgg_model_load(int8.data(), int8.size(), &options, &model, nullptr) == RVGG_STATUS_OK);
  std::vector<float> out(5);
  const auto input = RandomInput(12 * 10 * 3, 3);
  CHECK(rvgg_model_run(model, input.data(), RVGG_LAYOUT_NCHW, out.data()) == RVGG_STATUS_OK);
  rvgg_model_free(model);
  free(arena);
}

TEST_CASE("api int8: the reference backend names its int8 kernels") {
  const auto bytes = BuildInt8Model(Int8ModelSpec{});
  Loaded m;
  Load(bytes, RVGG_BACKEND_REFERENCE, 1, &m);
  rvgg_layer_info layer;
  REQUIRE(rvgg_model_get_layer_info(m.model, 3, &layer) == RVGG_STATUS_OK);
  CHECK(std::string(layer.kernel) == "reference int8");
  CHECK(layer.type == RVGG_LAYER_GLOBAL_AVERAGE_POOL);
}

}  // namespace
}  // namespace rvgg::testing
