// The op registry: one row per operator type, in the spirit of TFLite
// Micro's op registrations and XNNPACK's per-operator config tables. A row
// holds everything the runtime knows about an op -- its name and public
// type, the step that verifies and describes a layer of it from the file,
// and its kernel implementations per backend and precision -- so that
// verification, planning, kernel creation, the name tables and the info
// tools all go through it, and adding an op means one row and the op's own
// files (docs/ARCHITECTURE.md, "How to add an op").
#ifndef RVGG_RUNTIME_SRC_OPS_REGISTRY_H_
#define RVGG_RUNTIME_SRC_OPS_REGISTRY_H_

#include <cstddef>
#include <cstdint>

#include "runtime/src/model.h"
#include "runtime/src/ops/kernel.h"
#include "rvgg/rvgg.h"
#include "schema/rvgg_generated.h"

namespace rvgg {

// One way to run layers of an op: a backend's kernel for one compute type.
// The planner takes, per layer, the first implementation of the layer's op
// (in the row's order) for the load's backend and the layer's compute type
// whose `applies` accepts the layer; put the specialised ones first.
struct KernelImpl {
  rvgg_backend backend;
  rvgg_dtype compute_type;
  // Whether this implementation runs `desc` given the plan's variant for the
  // layer (the Winograd tile; 0 when none was chosen). Null: every layer.
  bool (*applies)(const LayerDesc& desc, uint32_t variant);
  // Arena scratch the kernel needs when it runs on up to `threads` threads
  // (an int8 layer's float32 edges come on top, see int8_io.h). Null: none.
  size_t (*scratch_bytes)(const LayerDesc& desc, uint32_t variant, uint32_t threads);
  KernelFactory create;
};

// Verifies the op-specific part of `layer` against the shape `desc` already
// holds (its input and compute type) and fills the rest of `desc`: output
// shape, parameters, pointers into the buffer, multiply-accumulates. Adds
// the op's constant bytes to *weight_bytes. Allocates nothing.
using DescribeFn = rvgg_status (*)(const schema::Layer& layer, LayerDesc* desc,
                                   uint64_t* weight_bytes, rvgg_message* message);

// The int8 arithmetic limits of a described int8 layer whose activation
// quantization is known (requantization scales, accumulator bounds).
using CheckInt8Fn = rvgg_status (*)(const LayerDesc& desc, rvgg_message* message);

struct OpRegistration {
  schema::Op op;         // the union tag in the file
  rvgg_layer_type type;  // the public type (rvgg_layer_info.type)
  const char* id;    // "conv", "avgpool", ...: in machine-readable output (rvgg_layer_type_name())
  const char* name;  // "conv", "global avg pool", ...: in tables and messages (rvgg_layer_label())
  bool in_place;     // whether it overwrites its input (no ping-pong step)
  DescribeFn describe;
  CheckInt8Fn check_int8;  // null: the op runs in float32 only
  const KernelImpl* impls;
  size_t num_impls;
};

// The row for a file's op code, or null when this runtime has none.
const OpRegistration* FindOp(schema::Op op);
// The row of a verified layer (never null).
const OpRegistration& OpOf(const LayerDesc& desc);
// Every registered op, for tests and tools.
const OpRegistration* const* RegisteredOps(size_t* count);

// The rows, defined beside each op (runtime/src/ops/<op>.cc).
extern const OpRegistration kConv2DOp;
extern const OpRegistration kGlobalAveragePoolOp;
extern const OpRegistration kFullyConnectedOp;
extern const OpRegistration kSqueezeExciteOp;

// What runs one layer: an implementation, its variant, and the threads it
// may use (its scratch depends on them).
struct KernelChoice {
  const KernelImpl* impl = nullptr;
  uint32_t variant = 0;
  uint32_t threads = 1;
};

// The implementation that runs `desc` on `backend` with `variant`: the
// first of its op's row that serves the backend and the layer's compute
// type and applies; null when none does.
const KernelImpl* FindImpl(const LayerDesc& desc, rvgg_backend backend, uint32_t variant);

// Chooses what runs each of the `count` verified layers with `options`:
// first the choices that share a budget across the model (Winograd tiles),
// then per layer the first implementation that applies. Fails with
// UNSUPPORTED (naming the layer) when none does.
rvgg_status PlanKernels(const LayerDesc* layers, uint32_t count, const rvgg_options& options,
                        KernelChoice* choices, rvgg_message* message);

// Arena scratch for a layer with its choice (a null impl: the least any
// implementation of the layer's op needs, for estimates before planning).
size_t ScratchBytes(const LayerDesc& desc, const KernelChoice& choice);

// Scratch of the implementation a layer would get without a model-wide
// choice (variant 0), for the arena estimate made before planning.
size_t PreviewScratchBytes(const LayerDesc& desc, rvgg_backend backend);

// Creates the kernel of a planned layer.
rvgg_status CreateKernel(const LayerDesc& desc, const KernelChoice& choice,
                         const Bindings& bindings, pthreadpool_t threadpool, Kernel** kernel,
                         rvgg_message* message);

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_OPS_REGISTRY_H_
