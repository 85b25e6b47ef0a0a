// No heap allocation at inference: malloc, calloc, realloc, free, aligned
// allocation and operator new/delete are counted around rvgg_model_run.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "rvgg/rvgg.h"
#include "tests/runtime/int8_models.h"
#include "tests/runtime/test_models.h"

// glibc's own entry points, so the counting versions can forward to them.
extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
extern "C" void* __libc_memalign(size_t, size_t);
extern "C" void __libc_free(void*);

namespace {
std::atomic<long> g_calls{0};
}

extern "C" {
void* malloc(size_t n) {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
void free(void* p) {
  if (p != nullptr) g_calls.fetch_add(1, std::memory_order_relaxed);
  __libc_free(p);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  void* p = __libc_memalign(alignment, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* aligned_alloc(size_t alignment, size_t n) {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, n);
}
void* memalign(size_t alignment, size_t n) {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, n);
}
}

namespace rvgg::testing {
namespace {

long CountRuns(const std::vector<uint8_t>& bytes, rvgg_backend backend, uint32_t threads, int runs,
               rvgg_winograd winograd = RVGG_WINOGRAD_OFF,
               rvgg_precision precision = RVGG_PRECISION_FP32) {
  rvgg_options o;
  rvgg_options_default(&o);
  o.backend = backend;
  o.num_threads = threads;
  o.winograd = winograd;
  o.precision = precision;
  rvgg_model* model = nullptr;
  rvgg_message message;
  REQUIRE(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) == RVGG_STATUS_OK);
  rvgg_model_info info;
  rvgg_model_get_info(model, &info);
  if (backend == RVGG_BACKEND_XNNPACK && winograd != RVGG_WINOGRAD_OFF &&
      winograd != RVGG_WINOGRAD_AUTO) {
    // The check means something only if Winograd layers really run (AUTO
    // may keep this small model's layers direct, by the CPU's cost model).
    int winograd_layers = 0;
    for (uint32_t i = 0; i < info.num_layers; ++i) {
      rvgg_layer_info layer;
      rvgg_model_get_layer_info(model, i, &layer);
      if (std::string(layer.kernel).rfind("winograd", 0) == 0) ++winograd_layers;
    }
    CHECK(winograd_layers > 0);
  }
  std::vector<float> input(size_t{info.input_channels} * info.input_height * info.input_width, 0.25f);
  std::vector<float> output(info.num_outputs);
  // No warm-up: a lazy first-run allocation must show up in the count too.
  const long before = g_calls.load();
  for (int i = 0; i < runs; ++i) {
    REQUIRE(rvgg_model_run(model, input.data(), RVGG_LAYOUT_NCHW, output.data()) == RVGG_STATUS_OK);
  }
  const long calls = g_calls.load() - before;
  rvgg_model_free(model);
  return calls;
}

// First in the file (doctest runs them in order), so that it also covers the
// first XNNPACK load of the process: only what rvgg.h documents as the
// one-time start-up (cpuinfo, reached through rvgg_kernel_isa()) comes before.
TEST_CASE("allocation: with caller memory, load, run and free never call the system allocator") {
  REQUIRE(rvgg_kernel_isa() != nullptr);
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  std::vector<float> input(3 * 32 * 32, 0.25f);
  std::vector<float> output(10);
  for (rvgg_backend backend : {RVGG_BACKEND_XNNPACK, RVGG_BACKEND_REFERENCE}) {
    CAPTURE(backend);
    rvgg_options o;
    rvgg_options_default(&o);
    o.backend = backend;
    // Generous caller memory: the query measures inside it, then the load
    // uses `need` bytes of it. Neither may reach the heap.
    constexpr size_t kMemory = 8u << 20;
    void* memory = std::aligned_alloc(RVGG_ARENA_ALIGNMENT, kMemory);
    o.memory = memory;
    o.memory_size = kMemory;
    const long before = g_calls.load();
    size_t need = 0;
    rvgg_message message;
    const rvgg_status measured = rvgg_model_memory_size(bytes.data(), bytes.size(), &o, &need, &message);
    o.memory_size = need;
    rvgg_model* model = nullptr;
    const rvgg_status status = measured != RVGG_STATUS_OK
                                   ? measured
                                   : rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message);
    rvgg_status run = RVGG_STATUS_INVALID_ARGUMENT;
    if (status == RVGG_STATUS_OK) {
      run = rvgg_model_run(model, input.data(), RVGG_LAYOUT_NCHW, output.data());
      run = run == RVGG_STATUS_OK ? rvgg_model_run(model, input.data(), RVGG_LAYOUT_NHWC, output.data()) : run;
      rvgg_model_free(model);
    }
    const long calls = g_calls.load() - before;
    INFO(message.text);
    REQUIRE(measured == RVGG_STATUS_OK);
    REQUIRE(status == RVGG_STATUS_OK);
    CHECK(need < kMemory);
    CHECK(run == RVGG_STATUS_OK);
    CHECK(calls == 0);
    std::free(memory);
  }
}

TEST_CASE("allocation: the counter sees allocations (the check can fail)") {
  // Called through volatile pointers so the compiler cannot elide the pair.
  void* (*volatile allocate)(size_t) = std::malloc;
  void (*volatile release)(void*) = std::free;
  void* (*volatile allocate_new)(size_t) = ::operator new;
  const long before = g_calls.load();
  release(allocate(64));
  void* q = allocate_new(16);
  ::operator delete(q);
  CHECK(g_calls.load() - before >= 4);
}

#if RVGG_WITH_XNNPACK
TEST_CASE("allocation: rvgg_model_run allocates nothing (xnnpack, 1 thread)") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 1, 1) == 0);
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 1, 20) == 0);
}

TEST_CASE("allocation: rvgg_model_run allocates nothing (xnnpack, 2 threads)") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 2, 10) == 0);
}
#endif  // RVGG_WITH_XNNPACK

// Stride-1 layers wide enough for Winograd (the small spec's are too few).
ModelSpec WinogradSpec() {
  ModelSpec spec;
  spec.height = 28;
  spec.width = 27;
  spec.channels = 3;
  spec.convs = {ConvSpec{16, 3, 2}, ConvSpec{16, 3, 1}, ConvSpec{32, 3, 2},
                ConvSpec{32, 3, 1, 1, 2}, ConvSpec{32, 3, 1}};
  spec.classes = 10;
  return spec;
}

TEST_CASE("allocation: rvgg_model_run allocates nothing (winograd F2, F4, F6, auto; 1 thread)") {
  const auto bytes = BuildModel(WinogradSpec());
  for (rvgg_winograd w : {RVGG_WINOGRAD_F2, RVGG_WINOGRAD_F4, RVGG_WINOGRAD_F6,
                          RVGG_WINOGRAD_AUTO}) {
    INFO("winograd setting " << int(w));
    CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 1, 1, w) == 0);
    CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 1, 10, w) == 0);
  }
}

TEST_CASE("allocation: rvgg_model_run allocates nothing (winograd F4 and F6, 2 threads)") {
  const auto bytes = BuildModel(WinogradSpec());
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 2, 10, RVGG_WINOGRAD_F4) == 0);
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 2, 10, RVGG_WINOGRAD_F6) == 0);
}

TEST_CASE("allocation: rvgg_model_run allocates nothing in half precision (1 and 2 threads)") {
  if (std::string(rvgg_kernel_isa()).find("fp16 arithmetic") == std::string::npos) {
    MESSAGE("NOT TESTED here: this CPU has no FP16 arithmetic (" << rvgg_kernel_isa() << ")");
    return;
  }
  const auto bytes = BuildModel(WinogradSpec());
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 1, 10, RVGG_WINOGRAD_AUTO, RVGG_PRECISION_FP16) == 0);
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 2, 10, RVGG_WINOGRAD_AUTO, RVGG_PRECISION_FP16) == 0);
  const auto se = BuildModel(SmallRepVGGLikeSpec());
  CHECK(CountRuns(se, RVGG_BACKEND_XNNPACK, 1, 5, RVGG_WINOGRAD_OFF, RVGG_PRECISION_FP16) == 0);
}

TEST_CASE("allocation: rvgg_model_run allocates nothing (reference)") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  CHECK(CountRuns(bytes, RVGG_BACKEND_REFERENCE, 1, 5) == 0);
}

// int8 layers, with float32 neighbours (conversions at every kind of edge).
std::vector<uint8_t> Int8Model() {
  Int8ModelSpec spec;
  spec.base = SmallRepVGGLikeSpec();
  spec.int8 = {true, false, true, true, true, true, false, true, true};
  return BuildInt8Model(spec);
}

TEST_CASE("allocation: rvgg_model_run allocates nothing with int8 layers (xnnpack, 1 and 2 threads)") {
  const auto bytes = Int8Model();
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 1, 1) == 0);
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 1, 20) == 0);
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 2, 10) == 0);
}

TEST_CASE("allocation: rvgg_model_run allocates nothing with int8 layers (reference)") {
  CHECK(CountRuns(Int8Model(), RVGG_BACKEND_REFERENCE, 1, 5) == 0);
}

}  // namespace
}  // namespace rvgg::testing
