#include "runtime/src/ops/kernel.h"

#include "runtime/src/ops/qs8.h"
#include "runtime/src/ops/reference.h"
#include "runtime/src/status.h"
#if RVGG_WITH_XNNPACK
#include "runtime/src/ops/winograd/winograd.h"
#include "runtime/src/ops/xnnpack/xnnpack.h"
#endif

namespace rvgg {

void ChooseWinogradTiles(const LayerDesc* layers, uint32_t count, const rvgg_options& options,
                         uint8_t* tiles) {
#if RVGG_WITH_XNNPACK
  winograd::ChooseTiles(layers, count, options.backend, options.winograd,
                        options.winograd_budget_bytes, tiles);
#else
  for (uint32_t i = 0; i < count; ++i) tiles[i] = 0;
#endif
}

size_t KernelScratchBytes(const LayerDesc& desc, rvgg_backend backend, uint32_t winograd_tile) {
  if (desc.compute_type == RVGG_DTYPE_INT8) return Qs8ScratchBytes(desc);
#if RVGG_WITH_XNNPACK
  if (winograd_tile != 0 && backend == RVGG_BACKEND_XNNPACK) {
    return winograd::ScratchBytes(desc, winograd_tile);
  }
#endif
  if (desc.kind != LayerKind::kSqueezeExcite) return 0;
#if RVGG_WITH_XNNPACK
  if (backend == RVGG_BACKEND_XNNPACK) return xnn::SqueezeExciteScratchBytes(desc);
#endif
  return (size_t{desc.in_c} + desc.reduced) * sizeof(float);
}

rvgg_status CreateReferenceKernel(const LayerDesc& desc, const Bindings& bindings,
                                  Kernel** kernel, rvgg_message* message) {
  if (desc.compute_type == RVGG_DTYPE_INT8) {
    switch (desc.kind) {
      case LayerKind::kConv2D:
        return ref::CreateConv2DQs8ReferenceKernel(desc, bindings, kernel, message);
      case LayerKind::kGlobalAveragePool:
        return ref::CreateGlobalAveragePoolQs8ReferenceKernel(desc, bindings, kernel, message);
      case LayerKind::kFullyConnected:
        return ref::CreateFullyConnectedQs8ReferenceKernel(desc, bindings, kernel, message);
      case LayerKind::kSqueezeExcite:
        break;  // float32 only (verification refuses int8)
    }
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "layer %u: no int8 reference kernel",
                desc.index);
  }
  switch (desc.kind) {
    case LayerKind::kConv2D:
      return ref::CreateConv2DReferenceKernel(desc, bindings, kernel, message);
    case LayerKind::kGlobalAveragePool:
      return ref::CreateGlobalAveragePoolReferenceKernel(desc, bindings, kernel, message);
    case LayerKind::kFullyConnected:
      return ref::CreateFullyConnectedReferenceKernel(desc, bindings, kernel, message);
    case LayerKind::kSqueezeExcite:
      return ref::CreateSqueezeExciteReferenceKernel(desc, bindings, kernel, message);
  }
  return Fail(message, RVGG_STATUS_UNSUPPORTED, "layer %u: no reference kernel", desc.index);
}

rvgg_status CreateXnnpackKernel(const LayerDesc& desc, const Bindings& bindings,
                                pthreadpool_t threadpool, Kernel** kernel,
                                rvgg_message* message) {
#if RVGG_WITH_XNNPACK
  RVGG_RETURN_IF_ERROR(xnn::EnsureInitialized(message));
  if (desc.compute_type == RVGG_DTYPE_INT8) {
    switch (desc.kind) {
      case LayerKind::kConv2D:
        return xnn::CreateConv2DQs8Kernel(desc, bindings, threadpool, kernel, message);
      case LayerKind::kGlobalAveragePool:
        return xnn::CreateGlobalAveragePoolQs8Kernel(desc, bindings, threadpool, kernel, message);
      case LayerKind::kFullyConnected:
        return xnn::CreateFullyConnectedQs8Kernel(desc, bindings, threadpool, kernel, message);
      case LayerKind::kSqueezeExcite:
        break;  // float32 only (verification refuses int8)
    }
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "layer %u: no int8 XNNPACK kernel", desc.index);
  }
  switch (desc.kind) {
    case LayerKind::kConv2D:
      return xnn::CreateConv2DKernel(desc, bindings, threadpool, kernel, message);
    case LayerKind::kGlobalAveragePool:
      return xnn::CreateGlobalAveragePoolKernel(desc, bindings, threadpool, kernel, message);
    case LayerKind::kFullyConnected:
      return xnn::CreateFullyConnectedKernel(desc, bindings, threadpool, kernel, message);
    case LayerKind::kSqueezeExcite:
      return xnn::CreateSqueezeExciteKernel(desc, bindings, threadpool, kernel, message);
  }
  return Fail(message, RVGG_STATUS_UNSUPPORTED, "layer %u: no XNNPACK kernel", desc.index);
#else
  return Fail(message, RVGG_STATUS_UNSUPPORTED,
              "this rvgg build has no XNNPACK backend (built with RVGG_WITH_XNNPACK=OFF); "
              "use the reference backend");
#endif
}

rvgg_status CreateKernel(const LayerDesc& desc, rvgg_backend backend, const Bindings& bindings,
                         pthreadpool_t threadpool, Kernel** kernel, rvgg_message* message,
                         uint32_t winograd_tile) {
  *kernel = nullptr;
#if RVGG_WITH_XNNPACK
  if (winograd_tile != 0 && backend == RVGG_BACKEND_XNNPACK) {
    RVGG_RETURN_IF_ERROR(xnn::EnsureInitialized(message));
    return winograd::CreateConv2DKernel(desc, winograd_tile, bindings,
                                        threadpool, kernel, message);
  }
#endif
  switch (backend) {
    case RVGG_BACKEND_REFERENCE:
      return CreateReferenceKernel(desc, bindings, kernel, message);
    case RVGG_BACKEND_XNNPACK:
      return CreateXnnpackKernel(desc, bindings, threadpool, kernel, message);
  }
  return Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "unknown backend %d", static_cast<int>(backend));
}

void DestroyKernel(Kernel* kernel) { Delete(kernel); }

}  // namespace rvgg
