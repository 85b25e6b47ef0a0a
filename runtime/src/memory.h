// Every byte the runtime allocates (and, through the allocator handed to
// xnn_initialize, every byte XNNPACK allocates) goes through these functions,
// so one place decides where memory comes from.
#ifndef RVGG_RUNTIME_SRC_MEMORY_H_
#define RVGG_RUNTIME_SRC_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace rvgg {

// Alignment of every runtime allocation (cache line, and enough for NEON/AVX).
constexpr size_t kAlignment = 64;

// Aligned allocation from the system heap. `alignment` is a power of two;
// returns nullptr on failure or size 0.
void* AllocateAligned(size_t size, size_t alignment);
void FreeAligned(void* pointer);

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
