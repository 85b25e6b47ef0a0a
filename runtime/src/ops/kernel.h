// A prepared layer: created at load with its input, output and scratch
// pointers bound into the arena, then run any number of times. Run() does no
// allocation and no validation beyond what is free.
#ifndef RVGG_RUNTIME_SRC_OPS_KERNEL_H_
#define RVGG_RUNTIME_SRC_OPS_KERNEL_H_

#include <cstddef>
#include <utility>

#include "runtime/src/memory.h"
#include "runtime/src/model.h"
#include "runtime/src/status.h"
#include "rvgg/rvgg.h"

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

// Makes the kernel of layer `desc`: `variant` is the plan's per-layer choice
// within the implementation (the Winograd tile; 0 for most), `threadpool`
// may be null. On failure returns a status with a message and leaves
// *kernel null. Every implementation in the op registry has one.
using KernelFactory = rvgg_status (*)(const LayerDesc& desc, uint32_t variant,
                                      const Bindings& bindings, pthreadpool_t threadpool,
                                      Kernel** kernel, rvgg_message* message);

void DestroyKernel(Kernel* kernel);

// Allocates a K constructed from (args...) and reports out-of-memory for
// layer `desc`.
template <typename K, typename... Args>
rvgg_status MakeKernel(const LayerDesc& desc, Kernel** kernel, rvgg_message* message,
                       Args&&... args) {
  *kernel = New<K>(std::forward<Args>(args)...);
  if (*kernel == nullptr) {
    return Fail(message, RVGG_STATUS_OUT_OF_MEMORY, "layer %u (%s): out of memory", desc.index,
                desc.label());
  }
  return RVGG_STATUS_OK;
}

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_OPS_KERNEL_H_
