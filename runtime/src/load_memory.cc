#include "runtime/src/load_memory.h"

#include <cstdio>

#include "runtime/src/status.h"

namespace rvgg {
namespace {

// In .rodata: a kernel that wrote to its bindings during a trial would
// fault instead of corrupting memory silently.
alignas(kAlignment) const uint8_t kPlaceholder[kAlignment] = {};

size_t HeapLimit(const rvgg_options& options) {
  return options.memory_limit != 0 ? options.memory_limit : RVGG_DEFAULT_MEMORY_LIMIT;
}

size_t SaturatingAdd(size_t a, size_t b) {
  size_t sum = 0;
  return CheckedAdd(a, b, &sum) ? sum : SIZE_MAX;
}

}  // namespace

rvgg_status CheckMemoryOptions(const rvgg_options& options, rvgg_message* message) {
  if (options.memory == nullptr) {
    if (options.memory_size != 0) {
      return Fail(message, RVGG_STATUS_INVALID_ARGUMENT,
                  "options.memory_size is %zu but options.memory is NULL", options.memory_size);
    }
    return RVGG_STATUS_OK;
  }
  if (reinterpret_cast<uintptr_t>(options.memory) % RVGG_ARENA_ALIGNMENT != 0) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "options.memory must be %d-byte aligned",
                RVGG_ARENA_ALIGNMENT);
  }
  if (options.num_threads > 1) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT,
                "options.num_threads is %u, but with caller memory (options.memory) a model runs "
                "on the calling thread only: worker threads allocate from the system heap",
                options.num_threads);
  }
  return RVGG_STATUS_OK;
}

// ---- LoadTrial ----------------------------------------------------------------

LoadTrial::~LoadTrial() {
  if (measuring_ != nullptr) measuring_->~MemoryPool();
}

uint8_t* LoadTrial::placeholder() const { return const_cast<uint8_t*>(kPlaceholder); }

void LoadTrial::CountArena(size_t bytes) {
  size_t cost = 0;
  if (!MemoryPool::BlockCost(bytes, kAlignment, &cost)) cost = SIZE_MAX;
  extra_ = SaturatingAdd(extra_, cost);
  const size_t now = SaturatingAdd(pool_->high_water(), extra_);
  if (now > required_) required_ = now;
}

void LoadTrial::BeginLayer() {
  mark_ = pool_->used();
  pool_->ResetHighWater();
}

void LoadTrial::EndLayer(Kernel* kernel) {
  // In a load, this layer starts where the trial's pool stands plus what the
  // trial left out (arena, earlier layers); both pools count alike.
  const size_t peak = SaturatingAdd(pool_->high_water(), extra_);
  if (peak > required_) required_ = peak;
  extra_ = SaturatingAdd(extra_, pool_->used() - mark_);
  DestroyKernel(kernel);
  pool_->Release(mark_);
}

rvgg_status LoadTrial::Finish(rvgg_message* message) {
  const size_t total = SaturatingAdd(mark_ > pool_->used() ? mark_ : pool_->used(), extra_);
  bytes_ = total > required_ ? total : required_;
  if (bytes_ > limit_) {
    return Fail(message, RVGG_STATUS_OUT_OF_MEMORY,
                "the model needs more than %zu bytes at load, over the memory limit of %zu bytes "
                "(rvgg_options.memory_limit)",
                bytes_, limit_);
  }
  return RVGG_STATUS_OK;
}

// ---- LoadMemory ---------------------------------------------------------------

LoadMemory::~LoadMemory() {
  if (scope_ != nullptr) scope_->~AllocationScope();
}

rvgg_status LoadMemory::Begin(const rvgg_options& options, const ModelSummary& summary,
                              size_t arena_bytes, LoadTrial* trial, rvgg_message* message) {
  trial_ = trial;
  const bool caller_memory = options.memory != nullptr;
  limit_ = (caller_memory && trial == nullptr) ? options.memory_size : HeapLimit(options);

  size_t least = 0;
  if (options.arena == nullptr && !MemoryPool::BlockCost(arena_bytes, kAlignment, &least)) {
    least = SIZE_MAX;
  }
  if (options.backend == RVGG_BACKEND_XNNPACK) least = SaturatingAdd(least, summary.weight_bytes);
  if (least > limit_) {
    const char* which = (caller_memory && trial == nullptr)
                            ? "the caller's memory (options.memory_size)"
                            : "the memory limit (options.memory_limit)";
    return Fail(message, RVGG_STATUS_OUT_OF_MEMORY,
                "the model needs at least %zu bytes at load (arena %zu, weights %llu), over %s of "
                "%zu bytes",
                least, options.arena == nullptr ? arena_bytes : size_t{0},
                static_cast<unsigned long long>(
                    options.backend == RVGG_BACKEND_XNNPACK ? summary.weight_bytes : 0),
                which, limit_);
  }

  if (caller_memory) {
    pool_ = MemoryPool::Create(options.memory, options.memory_size);
    if (pool_ == nullptr) {
      return Fail(message, RVGG_STATUS_OUT_OF_MEMORY,
                  "options.memory_size %zu is too small to hold even the pool's bookkeeping",
                  options.memory_size);
    }
  } else if (trial != nullptr) {
    trial->measuring_ = new (trial->measuring_storage_) MemoryPool(limit_);
    pool_ = trial->measuring_;
  }
  if (trial != nullptr) {
    trial->pool_ = pool_;
    trial->limit_ = limit_;
  }
  scope_ = new (scope_storage_) AllocationScope(pool_, pool_ == nullptr ? limit_ : 0);
  return RVGG_STATUS_OK;
}

void LoadMemory::Explain(char* text, size_t capacity) const {
  if (trial_ != nullptr && !pool_->measuring()) {
    std::snprintf(text, capacity,
                  "the %zu bytes given to measure in cannot hold it; give more, or NULL memory to "
                  "measure with the heap",
                  pool_->capacity());
  } else if (pool_ != nullptr && !pool_->measuring()) {
    std::snprintf(text, capacity,
                  "the caller's memory (%zu bytes) is exhausted; rvgg_model_memory_size() gives "
                  "the bytes needed",
                  pool_->capacity());
  } else if ((pool_ != nullptr && pool_->failed_request() != 0) ||
             (scope_ != nullptr && scope_->failed_request() != 0)) {
    std::snprintf(text, capacity,
                  "loading would go past the memory limit of %zu bytes (rvgg_options.memory_limit)",
                  limit_);
  } else {
    std::snprintf(text, capacity, "the system is out of memory");
  }
}

rvgg_status LoadMemory::OutOfMemory(rvgg_message* message, const char* what) const {
  char why[192];
  Explain(why, sizeof(why));
  return Fail(message, RVGG_STATUS_OUT_OF_MEMORY, "no memory for %s: %s", what, why);
}

rvgg_status LoadMemory::LayerOutOfMemory(const LayerDesc& desc, rvgg_message* message) const {
  char why[192];
  Explain(why, sizeof(why));
  return Fail(message, RVGG_STATUS_OUT_OF_MEMORY, "layer %u (%s '%.40s'): out of memory: %s",
              desc.index, desc.label(), desc.name, why);
}

}  // namespace rvgg
