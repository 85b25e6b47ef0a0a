// How the workers of one pool dispatch share `count` items (tile blocks,
// chunks of output pixels): worker slot s owns the contiguous range
// [s * count / slots, (s + 1) * count / slots) and takes it front to back;
// a worker whose range is done takes what is left of the others' from
// their back. Each item runs exactly once (a per-item claim flag).
//
// Why contiguous ranges rather than one shared counter: items are in image
// order, and every layer splits its image the same way, so a thread works
// on the part of the image it wrote in the previous layer, which is still in
// its core's cache. With a shared counter the items alternate between the
// threads and half of every layer's input comes from the other core's
// cache. Stealing keeps a slowed thread from holding the layer up.
#ifndef RVGG_RUNTIME_SRC_KERNELS_RANGE_CLAIMS_H_
#define RVGG_RUNTIME_SRC_KERNELS_RANGE_CLAIMS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "runtime/src/memory.h"

namespace rvgg::kernels {

class RangeClaims {
 public:
  RangeClaims() = default;
  RangeClaims(const RangeClaims&) = delete;
  RangeClaims& operator=(const RangeClaims&) = delete;
  ~RangeClaims() { FreeAligned(flags_); }

  // At load: room for `count` claim flags (through the runtime's allocator)
  // shared by `slots` workers. False when out of memory.
  bool Allocate(uint32_t count, uint32_t slots) {
    FreeAligned(flags_);
    flags_ = static_cast<std::atomic<uint8_t>*>(
        AllocateAligned(size_t{count} * sizeof(std::atomic<uint8_t>), kAlignment));
    if (flags_ == nullptr) return false;
    for (uint32_t i = 0; i < count; ++i) new (&flags_[i]) std::atomic<uint8_t>(0);
    count_ = count;
    slots_ = slots < 1 ? 1 : slots;
    return true;
  }

  // What the flags take (for the kernel's owned bytes).
  size_t owned_bytes() const { return flags_ != nullptr ? AllocatedSize(flags_) : 0; }

  // Before each dispatch (the pool's hand-off orders it before the workers).
  void Reset() {
    for (uint32_t i = 0; i < count_; ++i) flags_[i].store(0, std::memory_order_relaxed);
  }

  // Worker `slot`: calls f(item) for its own range, then for unclaimed items
  // of the other ranges, last first.
  template <class F>
  void Run(uint32_t slot, F&& f) {
    for (uint32_t i = Begin(slot), end = Begin(slot + 1); i < end; ++i) {
      if (Claim(i)) f(i);
    }
    for (uint32_t k = 1; k < slots_; ++k) {
      const uint32_t victim = (slot + k) % slots_;
      for (uint32_t i = Begin(victim + 1); i-- > Begin(victim);) {
        if (Claim(i)) f(i);
      }
    }
  }

 private:
  uint32_t Begin(uint32_t slot) const {
    return static_cast<uint32_t>(uint64_t{count_} * slot / slots_);
  }
  bool Claim(uint32_t i) {
    return flags_[i].load(std::memory_order_relaxed) == 0 &&
           flags_[i].exchange(1, std::memory_order_relaxed) == 0;
  }

  std::atomic<uint8_t>* flags_ = nullptr;
  uint32_t count_ = 0;
  uint32_t slots_ = 1;
};

}  // namespace rvgg::kernels

#endif  // RVGG_RUNTIME_SRC_KERNELS_RANGE_CLAIMS_H_
