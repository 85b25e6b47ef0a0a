#include "runtime/src/memory.h"

#include <cstdlib>
#include <cstring>

namespace rvgg {
namespace {

// Sits right before every user pointer; a block's padding (at least 64
// bytes) always has room for it.
struct BlockHeader {
  size_t size;                    // bytes asked for
  size_t cost;                    // pool blocks: bytes of the pool the block consumes
  size_t heap_pad;                // heap-backed blocks: user pointer - start of the heap allocation
  MemoryPool* pool;               // null: a heap block
  size_t pool_start;              // pool blocks: offset of the block in the pool
  const AllocationScope* budget;  // heap blocks counted against a scope's budget
};
static_assert(sizeof(BlockHeader) <= kAlignment, "the header must fit in the minimum padding");

thread_local AllocationScope* t_scope = nullptr;

BlockHeader* HeaderOf(const void* pointer) {
  return reinterpret_cast<BlockHeader*>(const_cast<void*>(pointer)) - 1;
}

size_t PadFor(size_t alignment) { return alignment > kAlignment ? alignment : kAlignment; }

bool IsPowerOfTwo(size_t v) { return v != 0 && (v & (v - 1)) == 0; }

// A heap allocation of `pad + size` bytes aligned to `pad`, with the user
// pointer `pad` bytes in. Returns the user pointer with a zeroed header.
void* HeapBlock(size_t size, size_t pad) {
  size_t total = 0;
  if (!CheckedAdd(size, pad, &total)) return nullptr;
  void* start = nullptr;
  if (posix_memalign(&start, pad, total) != 0) return nullptr;
  void* user = static_cast<uint8_t*>(start) + pad;
  BlockHeader* header = HeaderOf(user);
  std::memset(header, 0, sizeof(*header));
  header->size = size;
  header->heap_pad = pad;
  return user;
}

void FreeHeapBlock(void* user) {
  std::free(static_cast<uint8_t*>(user) - HeaderOf(user)->heap_pad);
}

}  // namespace

// ---- MemoryPool -------------------------------------------------------------

bool MemoryPool::BlockCost(size_t size, size_t alignment, size_t* cost) {
  if (size > SIZE_MAX - 2 * kAlignment) return false;
  return CheckedAdd(PadFor(alignment), AlignUp(size, kAlignment), cost);
}

MemoryPool::MemoryPool(uint8_t* base, size_t capacity, size_t offset)
    : base_(base), capacity_(capacity), offset_(offset), high_water_(offset) {}

// The bookkeeping of a real pool lives inside it; a measuring pool counts
// the same bytes so that both report the same use.
MemoryPool::MemoryPool(size_t limit)
    : MemoryPool(nullptr, limit, AlignUp(sizeof(MemoryPool), kAlignment)) {}

MemoryPool* MemoryPool::Create(void* memory, size_t size) {
  const size_t own = AlignUp(sizeof(MemoryPool), kAlignment);
  if (memory == nullptr || size < own) return nullptr;
  return new (memory) MemoryPool(static_cast<uint8_t*>(memory), size, own);
}

void MemoryPool::Release(size_t mark) {
  if (mark < offset_) offset_ = mark;
}

void* MemoryPool::Allocate(size_t size, size_t alignment) {
  size_t cost = 0;
  if (!IsPowerOfTwo(alignment) || !BlockCost(size, alignment, &cost) ||
      cost > capacity_ - offset_) {
    failed_request_ = size;
    return nullptr;
  }
  const size_t pad = PadFor(alignment);
  void* user = nullptr;
  if (base_ != nullptr) {
    // base_ + offset_ is 64-byte aligned; a larger alignment is found within
    // the padding, which is as large as the alignment.
    const uintptr_t first = reinterpret_cast<uintptr_t>(base_ + offset_) + kAlignment;
    user = reinterpret_cast<void*>((first + pad - 1) & ~(uintptr_t{pad} - 1));
    BlockHeader* header = HeaderOf(user);
    std::memset(header, 0, sizeof(*header));
    header->size = size;
  } else {
    user = HeapBlock(size, pad);
    if (user == nullptr) {
      failed_request_ = size;
      return nullptr;
    }
  }
  BlockHeader* header = HeaderOf(user);
  header->cost = cost;
  header->pool = this;
  header->pool_start = offset_;
  offset_ += cost;
  if (offset_ > high_water_) high_water_ = offset_;
  return user;
}

void MemoryPool::Free(void* pointer) {
  BlockHeader* header = HeaderOf(pointer);
  if (header->pool_start + header->cost == offset_) offset_ = header->pool_start;
  if (base_ == nullptr) FreeHeapBlock(pointer);
}

void* MemoryPool::Reallocate(void* pointer, size_t size) {
  BlockHeader* header = HeaderOf(pointer);
  const size_t pad = header->cost - AlignUp(header->size, kAlignment);
  size_t cost = 0;
  if (!BlockCost(size, pad, &cost)) {
    failed_request_ = size;
    return nullptr;
  }
  const bool top = header->pool_start + header->cost == offset_;
  if (top && cost <= capacity_ - header->pool_start) {
    // The last block grows or shrinks where it is.
    void* user = pointer;
    if (base_ == nullptr) {
      user = HeapBlock(size, pad);
      if (user == nullptr) {
        failed_request_ = size;
        return nullptr;
      }
      std::memcpy(user, pointer, header->size < size ? header->size : size);
      *HeaderOf(user) = *header;
      HeaderOf(user)->heap_pad = pad;
      FreeHeapBlock(pointer);
    }
    BlockHeader* h = HeaderOf(user);
    h->size = size;
    h->cost = cost;
    offset_ = h->pool_start + cost;
    if (offset_ > high_water_) high_water_ = offset_;
    return user;
  }
  void* fresh = Allocate(size, pad);
  if (fresh == nullptr) return nullptr;
  std::memcpy(fresh, pointer, header->size < size ? header->size : size);
  Free(pointer);
  return fresh;
}

// ---- AllocationScope ----------------------------------------------------------

AllocationScope::AllocationScope(MemoryPool* pool, size_t heap_budget)
    : pool_(pool), heap_budget_(heap_budget), previous_(t_scope) {
  t_scope = this;
}

AllocationScope::~AllocationScope() { t_scope = previous_; }

// ---- allocation entry points ---------------------------------------------------

void* AllocationScope::HeapAllocate(AllocationScope* scope, size_t size, size_t alignment) {
  const size_t pad = PadFor(alignment);
  size_t cost = 0;
  if (!CheckedAdd(size, pad, &cost)) return nullptr;
  if (scope != nullptr && scope->heap_budget_ != 0 &&
      cost > scope->heap_budget_ - scope->heap_used_) {
    scope->failed_request_ = size;
    return nullptr;
  }
  void* user = HeapBlock(size, pad);
  if (user != nullptr && scope != nullptr) {
    scope->heap_used_ += cost;
    HeaderOf(user)->budget = scope;
  }
  return user;
}

void* AllocateAligned(size_t size, size_t alignment) {
  if (!IsPowerOfTwo(alignment)) return nullptr;
  AllocationScope* scope = t_scope;
  if (scope != nullptr && scope->pool_ != nullptr) return scope->pool_->Allocate(size, alignment);
  return AllocationScope::HeapAllocate(scope, size, alignment);
}

void* ReallocateAligned(void* pointer, size_t size) {
  if (pointer == nullptr) return AllocateAligned(size, kAlignment);
  BlockHeader* header = HeaderOf(pointer);
  if (header->pool != nullptr) return header->pool->Reallocate(pointer, size);
  // A heap block stays on the heap, counted against the current budget if
  // the current scope is a heap one.
  AllocationScope* scope = t_scope;
  void* fresh = AllocationScope::HeapAllocate(
      scope != nullptr && scope->pool_ == nullptr ? scope : nullptr, size, header->heap_pad);
  if (fresh == nullptr) return nullptr;
  std::memcpy(fresh, pointer, header->size < size ? header->size : size);
  FreeAligned(pointer);
  return fresh;
}

void FreeAligned(void* pointer) {
  if (pointer == nullptr) return;
  BlockHeader* header = HeaderOf(pointer);
  if (header->pool != nullptr) {
    header->pool->Free(pointer);
    return;
  }
  AllocationScope* scope = t_scope;
  if (scope != nullptr && header->budget == scope) {
    const size_t cost = header->size + header->heap_pad;
    scope->heap_used_ = cost < scope->heap_used_ ? scope->heap_used_ - cost : 0;
  }
  FreeHeapBlock(pointer);
}

size_t AllocatedSize(const void* pointer) {
  return pointer == nullptr ? 0 : HeaderOf(pointer)->size;
}

}  // namespace rvgg
