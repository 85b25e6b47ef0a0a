// Where the memory of one load comes from (the system heap within a byte
// limit, or the caller's memory), the checks made before anything is
// allocated, the messages when memory runs out, and the trial preparation
// behind rvgg_model_memory_size().
#ifndef RVGG_RUNTIME_SRC_LOAD_MEMORY_H_
#define RVGG_RUNTIME_SRC_LOAD_MEMORY_H_

#include <cstddef>
#include <cstdint>

#include "runtime/src/memory.h"
#include "runtime/src/model.h"
#include "runtime/src/ops/kernel.h"
#include "rvgg/rvgg.h"

namespace rvgg {

// Checks the memory fields of `options` (alignment, sizes, threads).
rvgg_status CheckMemoryOptions(const rvgg_options& options, rvgg_message* message);

// A measurement instead of a load: counts what a load into caller memory
// would consume, layer by layer, keeping at most one layer alive.
class LoadTrial {
 public:
  LoadTrial() = default;
  ~LoadTrial();
  LoadTrial(const LoadTrial&) = delete;
  LoadTrial& operator=(const LoadTrial&) = delete;

  // Read-only bytes every layer of a trial is bound to. Creating a kernel
  // must not read or write its bindings (only remember them), so nothing
  // ever touches this.
  uint8_t* placeholder() const;

  // The arena a load would carve from the pool (counted, not allocated).
  void CountArena(size_t bytes);
  void BeginLayer();
  // Records what creating `kernel` consumed, then destroys it and gives its
  // bytes back.
  void EndLayer(Kernel* kernel);
  rvgg_status Finish(rvgg_message* message);

  size_t bytes() const { return bytes_; }

 private:
  friend class LoadMemory;

  MemoryPool* pool_ = nullptr;  // the caller's memory, or measuring_
  MemoryPool* measuring_ = nullptr;
  alignas(MemoryPool) unsigned char measuring_storage_[sizeof(MemoryPool)];
  size_t limit_ = 0;
  size_t extra_ = 0;  // arena + layers made so far: bytes a load holds that the trial pool does not
  size_t required_ = 0;  // the most a load's pool holds at any moment
  size_t mark_ = 0;
  size_t bytes_ = 0;
};

// Set up by Begin() for the duration of one load (or trial); routes every
// allocation on this thread while it lives.
class LoadMemory {
 public:
  LoadMemory() = default;
  ~LoadMemory();
  LoadMemory(const LoadMemory&) = delete;
  LoadMemory& operator=(const LoadMemory&) = delete;

  // Refuses a model whose arena (unless the caller supplies one) and, on
  // XNNPACK, weights (packed weights are never smaller) exceed the memory
  // available, before anything is allocated; then starts routing.
  rvgg_status Begin(const rvgg_options& options, const ModelSummary& summary, size_t arena_bytes,
                    LoadTrial* trial, rvgg_message* message);

  // The caller-memory pool the model lives in (null: heap, or a trial).
  MemoryPool* pool() const { return trial_ == nullptr ? pool_ : nullptr; }

  // OUT_OF_MEMORY with a message saying which memory ran out.
  rvgg_status OutOfMemory(rvgg_message* message, const char* what) const;
  rvgg_status LayerOutOfMemory(const LayerDesc& desc, rvgg_message* message) const;

 private:
  // "the caller's memory (N bytes) is exhausted; ..." and the like.
  void Explain(char* text, size_t capacity) const;

  MemoryPool* pool_ = nullptr;
  LoadTrial* trial_ = nullptr;
  size_t limit_ = 0;
  AllocationScope* scope_ = nullptr;
  alignas(AllocationScope) unsigned char scope_storage_[sizeof(AllocationScope)];
};

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_LOAD_MEMORY_H_
