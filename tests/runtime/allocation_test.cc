// No heap allocation at inference: malloc, calloc, realloc, free, aligned
// allocation and operator new/delete are counted around rvgg_model_run.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "rvgg/rvgg.h"
#include "tests/runtime/qs8_models.h"
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

long CountRuns(const std::vector<uint8_t>& bytes, rvgg_backend backend, uint32_t threads, int runs) {
  rvgg_options o;
  rvgg_options_default(&o);
  o.backend = backend;
  o.num_threads = threads;
  rvgg_model* model = nullptr;
  rvgg_message message;
  REQUIRE(rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message) == RVGG_STATUS_OK);
  rvgg_model_info info;
  rvgg_model_get_info(model, &info);
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

TEST_CASE("allocation: rvgg_model_run allocates nothing (xnnpack, 1 thread)") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 1, 1) == 0);
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 1, 20) == 0);
}

TEST_CASE("allocation: rvgg_model_run allocates nothing (xnnpack, 2 threads)") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  CHECK(CountRuns(bytes, RVGG_BACKEND_XNNPACK, 2, 10) == 0);
}

TEST_CASE("allocation: rvgg_model_run allocates nothing (reference)") {
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  CHECK(CountRuns(bytes, RVGG_BACKEND_REFERENCE, 1, 5) == 0);
}

// int8 layers, with float32 neighbours (conversions at every kind of edge).
std::vector<uint8_t> Int8Model() {
  Qs8ModelSpec spec;
  spec.base = SmallRepVGGLikeSpec();
  spec.int8 = {true, false, true, true, true, true, false, true, true};
  return BuildQs8Model(spec);
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
