// Every byte the runtime allocates (and, through the allocator handed to
// xnn_initialize, every byte XNNPACK allocates) goes through these functions,
// so one place decides where memory comes from: the system heap (with a byte
// budget while a load runs) or a pool carved from memory the caller supplied.
//
// Every block carries a header in front of it (its size and origin), so frees
// and reallocations need no help from the caller, and a block always returns
// to where it came from whichever thread frees it.
#ifndef RVGG_RUNTIME_SRC_MEMORY_H_
#define RVGG_RUNTIME_SRC_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace rvgg {

// Alignment of every runtime allocation (cache line, and enough for NEON/AVX).
constexpr size_t kAlignment = 64;

constexpr size_t AlignUp(size_t value, size_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

// Overflow-checked a * b and a + b for size computations.
inline bool CheckedMul(size_t a, size_t b, size_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
inline bool CheckedAdd(size_t a, size_t b, size_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

// A bump allocator over one contiguous region. A block costs
// max(alignment, 64) bytes of header and padding plus its size rounded up
// to 64, wherever the region starts (it must be 64-byte aligned), so the
// bytes a sequence of allocations consumes do not depend on addresses: a
// trial run measures exactly what a later run will need.
//
// Freeing the most recent block gives its bytes back (so a failed
// reallocation or a short-lived block costs nothing); freeing any other block
// is a no-op until Release(). A "measuring" pool does the same arithmetic
// while the blocks themselves come from the heap: it tells how large a real
// pool must be without having one.
class MemoryPool {
 public:
  // Places the pool's own bookkeeping at the start of [memory, memory + size)
  // and carves blocks from the rest. `memory` is 64-byte aligned. Returns
  // nullptr when `size` cannot even hold the bookkeeping.
  static MemoryPool* Create(void* memory, size_t size);

  // A measuring pool with the bookkeeping of a real one; `limit` caps the
  // bytes it accounts for (and so what it takes from the heap).
  explicit MemoryPool(size_t limit);
  MemoryPool(const MemoryPool&) = delete;
  MemoryPool& operator=(const MemoryPool&) = delete;

  // Bytes consumed so far (bookkeeping included) and the most ever consumed.
  size_t used() const { return offset_; }
  size_t high_water() const { return high_water_; }
  size_t capacity() const { return capacity_; }
  bool measuring() const { return base_ == nullptr; }
  // The request that last did not fit (0 if none).
  size_t failed_request() const { return failed_request_; }

  // Forgets every block allocated after `mark` (a value of used()). The
  // blocks must be dead; a measuring pool must have freed them already.
  void Release(size_t mark);
  // Restarts high_water() at the current use.
  void ResetHighWater() { high_water_ = offset_; }

  // Consumption of one block of `size` bytes aligned to `alignment`.
  static bool BlockCost(size_t size, size_t alignment, size_t* cost);

 private:
  friend void* AllocateAligned(size_t, size_t);
  friend void* ReallocateAligned(void*, size_t);
  friend void FreeAligned(void*);

  MemoryPool(uint8_t* base, size_t capacity, size_t offset);
  void* Allocate(size_t size, size_t alignment);
  void* Reallocate(void* pointer, size_t size);
  void Free(void* pointer);

  uint8_t* base_;  // null: measuring
  size_t capacity_;
  size_t offset_;
  size_t high_water_;
  size_t failed_request_ = 0;
};

// While alive, allocations on this thread come from `pool` (if not null) or
// from the heap within `heap_budget` bytes (0: no budget). Scopes nest; the
// previous one is restored on destruction. Frees need no scope.
class AllocationScope {
 public:
  AllocationScope(MemoryPool* pool, size_t heap_budget);
  ~AllocationScope();
  AllocationScope(const AllocationScope&) = delete;
  AllocationScope& operator=(const AllocationScope&) = delete;

  // Heap bytes (headers included) allocated and not yet freed in this scope.
  size_t heap_used() const { return heap_used_; }
  // The heap request that would have broken the budget (0 if none).
  size_t failed_request() const { return failed_request_; }

 private:
  friend void* AllocateAligned(size_t, size_t);
  friend void FreeAligned(void*);
  friend void* ReallocateAligned(void*, size_t);

  // A heap block counted against `scope`'s budget (scope may be null).
  static void* HeapAllocate(AllocationScope* scope, size_t size, size_t alignment);

  MemoryPool* pool_;
  size_t heap_budget_;
  size_t heap_used_ = 0;
  size_t failed_request_ = 0;
  AllocationScope* previous_;
};

// Aligned allocation from the current scope's pool, or from the heap.
// `alignment` is a power of two. Returns nullptr on failure.
void* AllocateAligned(size_t size, size_t alignment);
// Resizes a block from AllocateAligned (nullptr: allocates), keeping its
// alignment and contents; on failure returns nullptr and leaves it intact.
void* ReallocateAligned(void* pointer, size_t size);
// Returns a block to where it came from. nullptr is a no-op.
void FreeAligned(void* pointer);
// The size a block was allocated with.
size_t AllocatedSize(const void* pointer);

// Constructs a T in memory from AllocateAligned; nullptr on failure.
template <typename T, typename... Args>
T* New(Args&&... args) {
  void* p = AllocateAligned(sizeof(T), alignof(T) > kAlignment ? alignof(T) : kAlignment);
  if (p == nullptr) return nullptr;
  return new (p) T(std::forward<Args>(args)...);
}

template <typename T>
void Delete(T* object) {
  if (object == nullptr) return;
  object->~T();
  FreeAligned(object);
}

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_MEMORY_H_
