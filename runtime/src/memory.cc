#include "runtime/src/memory.h"

#include <cstdlib>

namespace rvgg {

void* AllocateAligned(size_t size, size_t alignment) {
  if (size == 0) return nullptr;
  if (alignment < sizeof(void*)) alignment = sizeof(void*);
  void* p = nullptr;
  if (posix_memalign(&p, alignment, size) != 0) return nullptr;
  return p;
}

void FreeAligned(void* pointer) { std::free(pointer); }

}  // namespace rvgg
