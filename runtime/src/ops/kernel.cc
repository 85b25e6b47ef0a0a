#include "runtime/src/ops/kernel.h"

#include <cstdint>

#include "runtime/src/ops/qs8.h"
#include "runtime/src/ops/reference.h"
#include "runtime/src/status.h"
#if RVGG_WITH_XNNPACK
#include "runtime/src/ops/winograd/winograd.h"
#include "runtime/src/ops/xnnpack/xnnpack.h"
#endif

namespace rvgg {

#if RVGG_WITH_XNNPACK
namespace {

// The Winograd budget a load uses: the caller's, capped so that Winograd
// never makes a load fail that the direct path would pass. Transformed
// weights get at most half of what rvgg_options.memory_limit (also in
// caller-memory mode, so that sizing and loading choose alike) leaves after
// an estimate of the direct path: weights with a quarter for packing, and
// two activations per layer.
size_t WinogradBudget(const LayerDesc* layers, uint32_t count, const rvgg_options& options) {
  const uint64_t limit =
      options.memory_limit != 0 ? options.memory_limit : uint64_t{RVGG_DEFAULT_MEMORY_LIMIT};
  uint64_t direct = 0;
  for (uint32_t i = 0; i < count; ++i) {
    direct += layers[i].parameters * sizeof(float) * 5 / 4 + 2 * layers[i].output_bytes();
  }
  uint64_t budget = limit > direct ? (limit - direct) / 2 : 1;
  if (budget == 0) budget = 1;  // 0 would mean "no limit"
  if (options.winograd_budget_bytes != 0 && options.winograd_budget_bytes < budget) {
    budget = options.winograd_budget_bytes;
  }
  return budget > SIZE_MAX ? SIZE_MAX : static_cast<size_t>(budget);
}

}  // namespace
#endif

void ChooseWinogradTiles(const LayerDesc* layers, uint32_t count, const rvgg_options& options,
                         uint8_t* tiles) {
#if RVGG_WITH_XNNPACK
  winograd::ChooseTiles(layers, count, options.backend, options.winograd,
                        WinogradBudget(layers, count, options), tiles);
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
