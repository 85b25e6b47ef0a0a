// runtime/src/memory.cc: the pool's arithmetic, block headers, scopes and
// budgets.
#include "runtime/src/memory.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace rvgg {
namespace {

// 64-byte aligned storage, freed on scope exit.
struct Region {
  explicit Region(size_t size)
      : bytes(size), data(static_cast<uint8_t*>(std::aligned_alloc(64, size))) {}
  ~Region() { std::free(data); }
  size_t bytes;
  uint8_t* data;
};

// One fixed sequence of allocations, reallocations and frees.
void Exercise(MemoryPool* pool, std::vector<void*>* live) {
  AllocationScope scope(pool, 0);
  live->push_back(AllocateAligned(100, 64));
  live->push_back(AllocateAligned(1, 16));
  live->push_back(AllocateAligned(4096, 128));
  void* grown = ReallocateAligned(AllocateAligned(10, 64), 1000);  // the top block grows in place
  live->push_back(grown);
  void* moved = ReallocateAligned((*live)[0], 5000);  // not the top: moves
  (*live)[0] = moved;
  FreeAligned(AllocateAligned(300, 64));  // the top block comes back at once
}

TEST_CASE("memory: a pool consumes the same bytes wherever it starts, and as a measuring pool") {
  Region a(1 << 16), b(1 << 16);
  MemoryPool* at_start = MemoryPool::Create(a.data, a.bytes);
  MemoryPool* shifted = MemoryPool::Create(b.data + 192, b.bytes - 192);
  MemoryPool measuring(1 << 16);
  std::vector<void*> la, lb, lm;
  Exercise(at_start, &la);
  Exercise(shifted, &lb);
  Exercise(&measuring, &lm);
  CHECK(at_start->used() == shifted->used());
  CHECK(at_start->used() == measuring.used());
  CHECK(at_start->high_water() == measuring.high_water());
  // Header + data rounded to 64 for each live block, plus the bookkeeping.
  CHECK(at_start->used() > 100 + 1 + 4096 + 1000 + 5000);
  for (void* p : la) CHECK((reinterpret_cast<uintptr_t>(p) & 15) == 0);
  CHECK((reinterpret_cast<uintptr_t>(la[2]) & 127) == 0);
  CHECK((reinterpret_cast<uintptr_t>(lb[2]) & 127) == 0);
  for (void* p : lm) FreeAligned(p);  // measuring blocks live on the heap
}

TEST_CASE("memory: pool blocks keep their contents through reallocation and stay inside the pool") {
  Region r(1 << 14);
  MemoryPool* pool = MemoryPool::Create(r.data, r.bytes);
  AllocationScope scope(pool, 0);
  auto* first = static_cast<uint8_t*>(AllocateAligned(64, 64));
  for (int i = 0; i < 64; ++i) first[i] = static_cast<uint8_t>(i);
  auto* other = static_cast<uint8_t*>(AllocateAligned(8, 64));
  auto* moved = static_cast<uint8_t*>(ReallocateAligned(first, 256));
  REQUIRE(moved != nullptr);
  CHECK(moved != first);
  for (int i = 0; i < 64; ++i) CHECK(moved[i] == i);
  CHECK(AllocatedSize(moved) == 256);
  for (uint8_t* p : {moved, other}) {
    CHECK(p >= r.data);
    CHECK(p + AllocatedSize(p) <= r.data + r.bytes);
  }
}

TEST_CASE("memory: a full pool refuses, reports the request, and Release gives bytes back") {
  Region r(4096);
  MemoryPool* pool = MemoryPool::Create(r.data, r.bytes);
  AllocationScope scope(pool, 0);
  const size_t mark = pool->used();
  void* a = AllocateAligned(1000, 64);
  REQUIRE(a != nullptr);
  CHECK(AllocateAligned(10000, 64) == nullptr);
  CHECK(pool->failed_request() == 10000);
  // A failed reallocation leaves the block as it was.
  CHECK(ReallocateAligned(a, 100000) == nullptr);
  CHECK(AllocatedSize(a) == 1000);
  pool->Release(mark);
  CHECK(pool->used() == mark);
  CHECK(AllocateAligned(3000, 64) != nullptr);
}

TEST_CASE("memory: a heap budget refuses the allocation that would pass it, and frees count back") {
  AllocationScope scope(nullptr, 10000);
  void* a = AllocateAligned(6000, 64);
  REQUIRE(a != nullptr);
  CHECK(scope.heap_used() >= 6000);
  CHECK(AllocateAligned(6000, 64) == nullptr);
  CHECK(scope.failed_request() == 6000);
  FreeAligned(a);
  CHECK(scope.heap_used() == 0);
  void* b = AllocateAligned(6000, 64);
  CHECK(b != nullptr);
  FreeAligned(b);
}

TEST_CASE("memory: blocks go back to their own pool whatever scope frees them") {
  Region r(1 << 12);
  MemoryPool* pool = MemoryPool::Create(r.data, r.bytes);
  void* in_pool = nullptr;
  {
    AllocationScope scope(pool, 0);
    in_pool = AllocateAligned(100, 64);
  }
  void* on_heap = AllocateAligned(100, 64);  // no scope: the heap
  REQUIRE(on_heap != nullptr);
  CHECK((static_cast<uint8_t*>(on_heap) < r.data ||
         static_cast<uint8_t*>(on_heap) >= r.data + r.bytes));
  const size_t before = pool->used();
  FreeAligned(in_pool);  // the top block: its bytes come back
  CHECK(pool->used() < before);
  FreeAligned(on_heap);
}

TEST_CASE("memory: sizes that would overflow are refused, not wrapped") {
  AllocationScope heap(nullptr, 0);
  CHECK(AllocateAligned(SIZE_MAX - 8, 64) == nullptr);
  CHECK(AllocateAligned(100, 48) == nullptr);  // not a power of two
  Region r(4096);
  MemoryPool* pool = MemoryPool::Create(r.data, r.bytes);
  AllocationScope scope(pool, 0);
  CHECK(AllocateAligned(SIZE_MAX - 8, 64) == nullptr);
  CHECK(AllocateAligned(SIZE_MAX / 2, 64) == nullptr);
  size_t cost = 0;
  CHECK_FALSE(MemoryPool::BlockCost(SIZE_MAX - 100, 64, &cost));
}

}  // namespace
}  // namespace rvgg
