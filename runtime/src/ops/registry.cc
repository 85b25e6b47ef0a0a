// The registry's table and what goes through it: op lookup, labels, the
// kernel plan of a model and kernel creation.
#include "runtime/src/ops/registry.h"

#include "runtime/src/ops/int8_io.h"
#include "runtime/src/status.h"
#if RVGG_WITH_XNNPACK
#include "runtime/src/ops/winograd/winograd.h"
#include "runtime/src/ops/xnnpack/xnnpack.h"
#endif

namespace rvgg {
namespace {

// Every op this runtime runs: one row each (runtime/src/ops/<op>.cc).
const OpRegistration* const kOps[] = {&kConv2DOp, &kGlobalAveragePoolOp, &kFullyConnectedOp,
                                      &kSqueezeExciteOp};
constexpr size_t kNumOps = sizeof(kOps) / sizeof(kOps[0]);

const OpRegistration* FindType(rvgg_layer_type type) {
  for (const OpRegistration* row : kOps) {
    if (row->type == type) return row;
  }
  return nullptr;
}

}  // namespace

const KernelImpl* FindImpl(const LayerDesc& desc, rvgg_backend backend, uint32_t variant) {
  const OpRegistration& row = OpOf(desc);
  for (size_t i = 0; i < row.num_impls; ++i) {
    const KernelImpl& impl = row.impls[i];
    if (impl.backend != backend || impl.compute_type != desc.compute_type) continue;
    if (impl.applies == nullptr || impl.applies(desc, variant)) return &impl;
  }
  return nullptr;
}

const OpRegistration* FindOp(schema::Op op) {
  for (const OpRegistration* row : kOps) {
    if (row->op == op) return row;
  }
  return nullptr;
}

const OpRegistration& OpOf(const LayerDesc& desc) {
  const OpRegistration* row = FindOp(desc.op);
  // Verification only makes layers of registered ops.
  return row != nullptr ? *row : kConv2DOp;
}

const OpRegistration* const* RegisteredOps(size_t* count) {
  *count = kNumOps;
  return kOps;
}

bool LayerDesc::in_place() const { return OpOf(*this).in_place; }

const char* LayerDesc::label() const {
  const OpRegistration* row = FindOp(op);
  return rvgg_layer_label(row != nullptr ? row->type : RVGG_LAYER_CONV2D, kernel_h, stride);
}

rvgg_status PlanKernels(const LayerDesc* layers, uint32_t count, const rvgg_options& options,
                        KernelChoice* choices, rvgg_message* message) {
  const uint32_t threads = options.num_threads > 1 ? options.num_threads : 1;
  for (uint32_t i = 0; i < count; ++i) choices[i] = KernelChoice{nullptr, 0, threads};
#if RVGG_WITH_XNNPACK
  // Winograd tiles share one memory budget across the model.
  if (options.backend == RVGG_BACKEND_XNNPACK)
    winograd::ChooseTiles(layers, count, options, choices);
#endif
  for (uint32_t i = 0; i < count; ++i) {
    const LayerDesc& desc = layers[i];
    choices[i].impl = FindImpl(desc, options.backend, choices[i].variant);
    if (choices[i].impl == nullptr) {
#if !RVGG_WITH_XNNPACK
      if (options.backend == RVGG_BACKEND_XNNPACK) {
        return Fail(message, RVGG_STATUS_UNSUPPORTED,
                    "this rvgg build has no XNNPACK backend (built with RVGG_WITH_XNNPACK=OFF); "
                    "use the reference backend");
      }
#endif
      return Fail(message, RVGG_STATUS_UNSUPPORTED,
                  "layer %u (%s '%.80s'): no %s kernel on this backend", desc.index, desc.label(),
                  desc.name, desc.compute_type == RVGG_DTYPE_INT8 ? "int8" : "float32");
    }
  }
  return RVGG_STATUS_OK;
}

size_t ScratchBytes(const LayerDesc& desc, const KernelChoice& choice) {
  size_t bytes = Int8EdgeBytes(desc);
  if (choice.impl != nullptr && choice.impl->scratch_bytes != nullptr) {
    bytes += choice.impl->scratch_bytes(desc, choice.variant, choice.threads);
  }
  return bytes;
}

size_t PreviewScratchBytes(const LayerDesc& desc, rvgg_backend backend) {
  return ScratchBytes(desc, KernelChoice{FindImpl(desc, backend, 0), 0});
}

rvgg_status CreateKernel(const LayerDesc& desc, const KernelChoice& choice,
                         const Bindings& bindings, pthreadpool_t threadpool, Kernel** kernel,
                         rvgg_message* message) {
  *kernel = nullptr;
#if RVGG_WITH_XNNPACK
  if (choice.impl->backend == RVGG_BACKEND_XNNPACK) {
    RVGG_RETURN_IF_ERROR(xnn::EnsureInitialized(message));
  }
#endif
  return choice.impl->create(desc, choice.variant, bindings, threadpool, kernel, message);
}

void DestroyKernel(Kernel* kernel) { Delete(kernel); }

}  // namespace rvgg

extern "C" const char* rvgg_layer_type_name(rvgg_layer_type type) {
  const rvgg::OpRegistration* row = rvgg::FindType(type);
  return row != nullptr ? row->id : "?";
}

extern "C" const char* rvgg_layer_label(rvgg_layer_type type, uint32_t kernel, uint32_t stride) {
  if (type == RVGG_LAYER_CONV2D) {
    if (kernel == 1) return stride == 2 ? "conv 1x1/2" : "conv 1x1";
    return stride == 2 ? "conv 3x3/2" : "conv 3x3";
  }
  const rvgg::OpRegistration* row = rvgg::FindType(type);
  return row != nullptr ? row->name : "layer";
}
