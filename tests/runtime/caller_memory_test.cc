// runtime/src/load_memory.cc: loading into caller memory, the exact memory
// query, and the load-time memory limit.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rvgg/rvgg.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

struct Memory {
  explicit Memory(size_t n)
      : size(n), data(std::aligned_alloc(RVGG_ARENA_ALIGNMENT, AlignedSize(n))) {
    std::memset(data, 0xCD, AlignedSize(n));
  }
  ~Memory() { std::free(data); }
  static size_t AlignedSize(size_t n) { return (n + 63) / 64 * 64 + 64; }
  size_t size;
  void* data;
};

rvgg_options Options(rvgg_backend backend) {
  rvgg_options o;
  rvgg_options_default(&o);
  o.backend = backend;
  o.precision = RVGG_PRECISION_FP32;  // sizes in float32; runtime_fp16_test: fp16
  return o;
}

size_t MemorySize(const std::vector<uint8_t>& bytes, const rvgg_options& o) {
  size_t need = 0;
  rvgg_message message;
  const rvgg_status status =
      rvgg_model_memory_size(bytes.data(), bytes.size(), &o, &need, &message);
  INFO(message.text);
  REQUIRE(status == RVGG_STATUS_OK);
  return need;
}

std::vector<float> RunOnce(const std::vector<uint8_t>& bytes, const rvgg_options& o) {
  rvgg_model* model = nullptr;
  rvgg_message message;
  const rvgg_status status = rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message);
  INFO(message.text);
  REQUIRE(status == RVGG_STATUS_OK);
  rvgg_model_info info;
  REQUIRE(rvgg_model_get_info(model, &info) == RVGG_STATUS_OK);
  const auto input =
      RandomInput(size_t{info.input_channels} * info.input_height * info.input_width, 11);
  std::vector<float> out(info.num_outputs);
  REQUIRE(rvgg_model_run(model, input.data(), RVGG_LAYOUT_NCHW, out.data()) == RVGG_STATUS_OK);
  rvgg_model_free(model);
  return out;
}

std::vector<rvgg_backend> Backends() {
#if RVGG_WITH_XNNPACK
  return {RVGG_BACKEND_XNNPACK, RVGG_BACKEND_REFERENCE};
#else
  return {RVGG_BACKEND_REFERENCE};
#endif
}

TEST_CASE("caller memory: the reported size is exact (that many bytes load, one fewer does not)") {
  for (const ModelSpec& spec : {SmallRepVGGLikeSpec(), ModelSpec{}}) {
    const auto bytes = BuildModel(spec);
    for (rvgg_backend backend : Backends()) {
      CAPTURE(backend);
      rvgg_options o = Options(backend);
      const size_t need = MemorySize(bytes, o);
      Memory memory(need);
      o.memory = memory.data;
      o.memory_size = need;
      rvgg_model* model = nullptr;
      rvgg_message message;
      REQUIRE(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) == RVGG_STATUS_OK);
      rvgg_model_free(model);
      o.memory_size = need - 1;
      CHECK(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) ==
            RVGG_STATUS_OUT_OF_MEMORY);
      CHECK(model == nullptr);
      CHECK(Contains(message.text, "rvgg_model_memory_size"));
      // Measuring inside the caller's memory gives the same answer.
      o.memory_size = need;
      CHECK(MemorySize(bytes, o) == need);
    }
  }
}

TEST_CASE(
    "caller memory: a model there gives the same logits as one on the heap, and every byte is "
    "inside") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  for (rvgg_backend backend : Backends()) {
    CAPTURE(backend);
    rvgg_options o = Options(backend);
    const std::vector<float> heap = RunOnce(bytes, o);
    const size_t need = MemorySize(bytes, o);
    Memory memory(need + 4096);
    o.memory = memory.data;
    o.memory_size = need;
    // The bytes past memory_size must stay untouched.
    const auto* tail = static_cast<const uint8_t*>(memory.data) + need;
    CHECK(RunOnce(bytes, o) == heap);
    for (size_t i = 0; i < 4096; ++i) REQUIRE(tail[i] == 0xCD);
    // The memory can be reused after rvgg_model_free.
    CHECK(RunOnce(bytes, o) == heap);
  }
}

TEST_CASE("caller memory: the query measures inside memory much smaller than the model needs") {
  // Twelve equal layers: the trial keeps only one layer alive at a time.
  ModelSpec spec;
  spec.convs.assign(12, ConvSpec{32, 3, 1});
  const auto bytes = BuildModel(spec);
  rvgg_options o = Options(Backends()[0]);
  const size_t need = MemorySize(bytes, o);
  Memory scratch(need / 3);
  o.memory = scratch.data;
  o.memory_size = need / 3;
  CHECK(MemorySize(bytes, o) == need);
  // Too small to hold even one layer: a clear refusal.
  o.memory_size = 4096;
  size_t out = 0;
  rvgg_message message;
  CHECK(rvgg_model_memory_size(bytes.data(), bytes.size(), &o, &out, &message) ==
        RVGG_STATUS_OUT_OF_MEMORY);
  CHECK(Contains(message.text, "given to measure in"));
}

TEST_CASE("caller memory: bad memory options are refused") {
  const auto bytes = BuildModel(ModelSpec{});
  Memory memory(1 << 20);
  rvgg_model* model = nullptr;
  rvgg_message message;
  rvgg_options o = Options(RVGG_BACKEND_REFERENCE);
  o.memory = static_cast<uint8_t*>(memory.data) + 16;
  o.memory_size = 1 << 19;
  CHECK(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) ==
        RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(Contains(message.text, "aligned"));
  o.memory = memory.data;
  o.num_threads = 2;
  CHECK(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) ==
        RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(Contains(message.text, "num_threads"));
  size_t need = 0;
  CHECK(rvgg_model_memory_size(bytes.data(), bytes.size(), &o, &need, &message) ==
        RVGG_STATUS_INVALID_ARGUMENT);
  o = Options(RVGG_BACKEND_REFERENCE);
  o.memory_size = 100;
  CHECK(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) ==
        RVGG_STATUS_INVALID_ARGUMENT);
  o = Options(RVGG_BACKEND_REFERENCE);
  o.memory = memory.data;
  o.memory_size = 16;
  CHECK(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) ==
        RVGG_STATUS_OUT_OF_MEMORY);
  CHECK(model == nullptr);
  CHECK(rvgg_model_memory_size(bytes.data(), bytes.size(), nullptr, nullptr, &message) ==
        RVGG_STATUS_INVALID_ARGUMENT);
}

TEST_CASE("memory limit: a model whose arena alone passes the limit is refused before allocation") {
  // 4096 x 4096 x 3 input: a 192 MiB input buffer from a file of a few KB.
  ModelSpec spec;
  spec.height = spec.width = 4096;
  spec.convs = {ConvSpec{4, 1, 2, 0}};
  const auto bytes = BuildModel(spec);
  rvgg_options o = Options(RVGG_BACKEND_REFERENCE);
  o.memory_limit = 64u << 20;
  rvgg_model* model = nullptr;
  rvgg_message message;
  CHECK(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) ==
        RVGG_STATUS_OUT_OF_MEMORY);
  CHECK(model == nullptr);
  CHECK(Contains(message.text, "needs at least"));
  CHECK(Contains(message.text, "memory limit"));
  size_t need = 0;
  CHECK(rvgg_model_memory_size(bytes.data(), bytes.size(), &o, &need, &message) ==
        RVGG_STATUS_OUT_OF_MEMORY);
}

TEST_CASE("memory limit: allocations past the limit fail the load cleanly, naming the layer") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  for (rvgg_backend backend : Backends()) {
    CAPTURE(backend);
    rvgg_options o = Options(backend);
    const size_t need = MemorySize(bytes, o);
    size_t arena = 0;
    REQUIRE(rvgg_model_arena_size(bytes.data(), bytes.size(), &o, &arena, nullptr) ==
            RVGG_STATUS_OK);
    rvgg_model_info info;
    REQUIRE(rvgg_model_verify(bytes.data(), bytes.size(), &info, nullptr) == RVGG_STATUS_OK);
    // Room for the arena and the raw weights, not for everything else.
    o.memory_limit = arena + 64 + (backend == RVGG_BACKEND_XNNPACK ? info.weight_bytes : 0) + 128;
    REQUIRE(o.memory_limit < need);
    rvgg_model* model = nullptr;
    rvgg_message message;
    CHECK(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) ==
          RVGG_STATUS_OUT_OF_MEMORY);
    CHECK(model == nullptr);
    INFO(message.text);
    CHECK(Contains(message.text, "memory limit"));
    // With the limit at what the memory query reports, the heap load fits too
    // (heap blocks cost no more than pool blocks).
    o.memory_limit = need;
    CHECK(RunOnce(bytes, o).size() == 10);
  }
}

}  // namespace
}  // namespace rvgg::testing
