// A prepared layer: created at load with its input, output and scratch
// pointers bound into the arena, then run any number of times. Run() does no
// allocation and no validation beyond what is free.
#ifndef RVGG_RUNTIME_SRC_OPS_KERNEL_H_
#define RVGG_RUNTIME_SRC_OPS_KERNEL_H_

#include <cstddef>
#include <utility>

#include "rvgg/rvgg.h"
#include "runtime/src/memory.h"
#include "runtime/src/model.h"
#include "runtime/src/status.h"

typedef struct pthreadpool* pthreadpool_t;

namespace rvgg {

struct Bindings {
  const void* input = nullptr;
  void* output = nullptr;  // equals input for in-place layers
  void* scratch = nullptr;
  size_t scratch_bytes = 0;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual rvgg_status Run() = 0;
  // What executes the layer, for tools ("reference", "xnnpack", ...).
  virtual const char* name() const = 0;
  // Memory the kernel owns beyond the model file (packed weights etc.).
  virtual size_t owned_bytes() const { return 0; }
};

// Plan-time kernel choice beyond the backend: the Winograd tile of each
// layer (winograd::TileCode; 0 = the backend's direct kernel), from the
// options' winograd setting and budget (runtime/src/ops/winograd/winograd.h).
// `tiles` has `count` entries.
void ChooseWinogradTiles(const LayerDesc* layers, uint32_t count, const rvgg_options& options,
                         uint8_t* tiles);

// Scratch bytes layer `desc` needs with `backend` and Winograd tile
// `winograd_tile` (0 for most layers).
size_t KernelScratchBytes(const LayerDesc& desc, rvgg_backend backend,
                          uint32_t winograd_tile = 0);

// Creates the kernel for `desc`. On failure returns a status with a message
// and leaves *kernel null.
rvgg_status CreateKernel(const LayerDesc& desc, rvgg_backend backend, const Bindings& bindings,
                         pthreadpool_t threadpool, Kernel** kernel, rvgg_message* message,
                         uint32_t winograd_tile = 0);

void DestroyKernel(Kernel* kernel);

// Allocates a K constructed from (args...) and reports out-of-memory for
// layer `desc`.
template <typename K, typename... Args>
rvgg_status MakeKernel(const LayerDesc& desc, Kernel** kernel, rvgg_message* message,
                       Args&&... args);

// Per-backend factories (CreateKernel dispatches to these).
rvgg_status CreateReferenceKernel(const LayerDesc& desc, const Bindings& bindings,
                                  Kernel** kernel, rvgg_message* message);
rvgg_status CreateXnnpackKernel(const LayerDesc& desc, const Bindings& bindings,
                                pthreadpool_t threadpool, Kernel** kernel,
                                rvgg_message* message);

template <typename K, typename... Args>
rvgg_status MakeKernel(const LayerDesc& desc, Kernel** kernel, rvgg_message* message,
                       Args&&... args) {
  *kernel = New<K>(std::forward<Args>(args)...);
  if (*kernel == nullptr) {
    return Fail(message, RVGG_STATUS_OUT_OF_MEMORY, "layer %u (%s): out of memory", desc.index,
                desc.kind_name());
  }
  return RVGG_STATUS_OK;
}

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_OPS_KERNEL_H_
