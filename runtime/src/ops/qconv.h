// int8 convolutions and fully connected layers on rvgg's own kernel
// families (runtime/src/kernels/qconv.h): the registry implementations that
// wrap a family -- its applicability to a layer, its scratch, and a kernel
// that packs the weights at load and runs the family between the layer's
// float32 edges (int8_io.h; XNNPACK's conversions). XNNPACK backend only.
#ifndef RVGG_RUNTIME_SRC_OPS_QCONV_H_
#define RVGG_RUNTIME_SRC_OPS_QCONV_H_

#include "runtime/src/kernels/qconv.h"
#include "runtime/src/ops/registry.h"

namespace rvgg {

// The family's view of an int8 conv (groups 1) or fully connected layer
// (a 1x1 convolution over a 1x1 image); requant_scale is left null.
kernels::QConvParams QConvParamsOf(const LayerDesc& desc);

bool QConvApplies(const kernels::QConvFamily& family, const LayerDesc& desc);
// Memory a layer's kernel on `family` owns (packed weights and scales).
uint64_t QConvWeightBytes(const kernels::QConvFamily& family, const LayerDesc& desc);
size_t QConvScratchBytes(const kernels::QConvFamily& family, const LayerDesc& desc,
                         uint32_t threads);
rvgg_status CreateQConvKernel(const kernels::QConvFamily& family, const LayerDesc& desc,
                              const Bindings& bindings, pthreadpool_t threadpool, Kernel** kernel,
                              rvgg_message* message);

// The registry implementation of `Family` (an extern QConvFamily).
template <const kernels::QConvFamily& Family>
struct QConvImpl {
  static bool Applies(const LayerDesc& desc, uint32_t) { return QConvApplies(Family, desc); }
  static size_t Scratch(const LayerDesc& desc, uint32_t, uint32_t threads) {
    return QConvScratchBytes(Family, desc, threads);
  }
  static rvgg_status Create(const LayerDesc& desc, uint32_t, const Bindings& bindings,
                            pthreadpool_t threadpool, Kernel** kernel, rvgg_message* message) {
    return CreateQConvKernel(Family, desc, bindings, threadpool, kernel, message);
  }
  static constexpr KernelImpl kImpl = {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_INT8, Applies, Scratch,
                                       Create};
  // The same for a family the plan gives to chosen layers only (a non-zero
  // variant: winograd::ChooseTiles decides under the memory budget).
  static bool AppliesWhenChosen(const LayerDesc& desc, uint32_t variant) {
    return variant != 0 && QConvApplies(Family, desc);
  }
  static constexpr KernelImpl kChosenImpl = {RVGG_BACKEND_XNNPACK, RVGG_DTYPE_INT8,
                                             AppliesWhenChosen, Scratch, Create};
};

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_OPS_QCONV_H_
