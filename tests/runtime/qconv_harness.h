// What the suites of the direct int8 convolution families
// (runtime/src/kernels/qconv.h: qconv_neondot_test.cc, qconv_vnni_test.cc)
// share: a counting allocator, to hold `run` to allocating nothing; 64-byte
// aligned buffers with a guard band behind them, to hold it to writing
// nothing outside its buffers; and a runner that packs and runs a family
// under both checks.
//
// This header defines malloc and its relatives (glibc's __libc_* entry points
// underneath): include it in one source file of a test executable only.
#ifndef RVGG_TESTS_RUNTIME_QCONV_HARNESS_H_
#define RVGG_TESTS_RUNTIME_QCONV_HARNESS_H_

#include <doctest/doctest.h>
#include <pthreadpool.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "runtime/src/kernels/qconv.h"

namespace rvgg::testing {
// Allocations so far (free of a non-null pointer counts too); stays 0 when
// kCountsAllocations is false.
inline std::atomic<long> g_allocations{0};
}  // namespace rvgg::testing

// Not under a sanitizer, which replaces malloc itself.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RVGG_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RVGG_TEST_SANITIZED 1
#endif
#endif
#if !RVGG_TEST_SANITIZED
extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
extern "C" void* __libc_memalign(size_t, size_t);
extern "C" void __libc_free(void*);

extern "C" {
void* malloc(size_t n) {
  rvgg::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
  rvgg::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
  rvgg::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
void free(void* p) {
  if (p != nullptr) rvgg::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  __libc_free(p);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  rvgg::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = __libc_memalign(alignment, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* aligned_alloc(size_t alignment, size_t n) {
  rvgg::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, n);
}
void* memalign(size_t alignment, size_t n) {
  rvgg::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, n);
}
}
#endif

namespace rvgg::testing {

#if !RVGG_TEST_SANITIZED
constexpr bool kCountsAllocations = true;
#else
constexpr bool kCountsAllocations = false;
#endif

// The counter sees a malloc and a free (else the checks around run could
// not fail).
inline void CheckAllocationCounter() {
  if (!kCountsAllocations) return;
  const long before = g_allocations.load();
  void* volatile p = std::malloc(16);
  std::free(p);
  CHECK(g_allocations.load() == before + 2);
}

// 64-byte aligned bytes, first filled with `fill`, with a guard band behind
// them that must stay intact.
class Buffer {
 public:
  static constexpr size_t kGuard = 64;
  static constexpr uint8_t kCanary = 0xA5;
  explicit Buffer(size_t bytes, uint8_t fill = 0x3C) : bytes_(bytes) {
    data_ = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + kGuard + 63) / 64 * 64));
    std::memset(data_, fill, bytes);
    std::memset(data_ + bytes, kCanary, kGuard);
  }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  uint8_t* data() { return data_; }
  bool GuardIntact() const {
    for (size_t i = 0; i < kGuard; ++i) {
      if (data_[bytes_ + i] != kCanary) return false;
    }
    return true;
  }

 private:
  uint8_t* data_;
  size_t bytes_;
};

// Packs `weights` (OHWI) and `bias` for `family` and runs it `runs` times on
// `input` (again over stale scratch and output), holding every run to
// allocating nothing and every buffer's guard band intact; returns the
// output. `threads`: the slots the scratch is sized for (the pool's).
inline std::vector<int8_t> RunFamily(const kernels::QConvFamily& family,
                                     const kernels::QConvParams& p, const int8_t* weights,
                                     const int32_t* bias, const int8_t* input, uint32_t threads,
                                     pthreadpool_t pool, int runs = 1) {
  REQUIRE(family.applies(p));
  const size_t out_count = size_t{p.out_h} * p.out_w * p.out_c;
  Buffer packed(family.packed_bytes(p));
  REQUIRE(family.pack(p, weights, bias, packed.data()));
  Buffer scratch(family.scratch_bytes(p, threads), 0x5A);
  Buffer output(out_count, 0x77);
  int8_t* out = reinterpret_cast<int8_t*>(output.data());
  for (int run = 0; run < runs; ++run) {
    const long before = g_allocations.load();
    family.run(p, packed.data(), input, out, scratch.data(), pool);
    CHECK(g_allocations.load() == before);
  }
  CHECK(packed.GuardIntact());
  CHECK(scratch.GuardIntact());
  CHECK(output.GuardIntact());
  return std::vector<int8_t>(out, out + out_count);
}

// `out` equals `expected` bit for bit (NHWC with `channels` channels); the
// message names the first difference.
inline void CheckSameOutput(const std::vector<int8_t>& out, const std::vector<int8_t>& expected,
                            uint32_t channels) {
  REQUIRE(out.size() == expected.size());
  size_t mismatches = 0, first = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] != expected[i] && mismatches++ == 0) first = i;
  }
  CHECK_MESSAGE(mismatches == 0, mismatches
                                     << " of " << out.size() << " outputs differ; first at pixel "
                                     << first / channels << " channel " << first % channels << ": "
                                     << int{out[first]} << " vs " << int{expected[first]});
}

}  // namespace rvgg::testing

#endif  // RVGG_TESTS_RUNTIME_QCONV_HARNESS_H_
