// The reference-backend kernels of an op, built from one callable type `Op`
// that copies a layer's parameters and calls the reference math
// (runtime/reference/):
//
//   struct Op {
//     explicit Op(const LayerDesc& desc);
//     // float32: `scratch` is the layer's arena scratch (its row's size).
//     void operator()(const float* input, float* output, float* scratch) const;
//     // int8 (ops that have an int8 row): int8 in, int8 out; the kernel
//     // converts at float32 edges (int8_io.h).
//     void operator()(const int8_t* input, int8_t* output) const;
//   };
//
// ReferenceImpl<Op>::kFloat32 and ::kInt8 are the op's registry rows for the
// reference backend (no scratch; an op that needs some writes its own row
// around ReferenceImpl<Op>::CreateFloat32).
#ifndef RVGG_RUNTIME_SRC_OPS_REFERENCE_KERNEL_H_
#define RVGG_RUNTIME_SRC_OPS_REFERENCE_KERNEL_H_

#include "runtime/src/model.h"
#include "runtime/src/ops/int8_io.h"
#include "runtime/src/ops/kernel.h"
#include "runtime/src/ops/registry.h"

namespace rvgg {

// The parameters of a weighted layer (convolution, fully connected) that its
// reference math reads in float32 and int8; an op's callable derives from it.
struct WeightedLayerParams {
  explicit WeightedLayerParams(const LayerDesc& d)
      : weights(d.weights),
        bias(d.bias),
        weights_q(d.weights_q),
        weight_scales(d.weight_scales),
        bias_q(d.bias_q),
        input_q(d.input_q),
        output_q(d.output_q) {}

  const float* weights;
  const float* bias;
  const int8_t* weights_q;
  const float* weight_scales;
  const int32_t* bias_q;
  QuantParams input_q, output_q;
};

template <typename Op>
class Float32ReferenceKernel final : public Kernel {
 public:
  Float32ReferenceKernel(const LayerDesc& desc, const Bindings& b)
      : op_(desc),
        input_(static_cast<const float*>(b.input)),
        output_(static_cast<float*>(b.output)),
        scratch_(static_cast<float*>(b.scratch)) {}
  rvgg_status Run() override {
    op_(input_, output_, scratch_);
    return RVGG_STATUS_OK;
  }
  const char* name() const override { return "reference"; }

 private:
  Op op_;
  const float* input_;
  float* output_;
  float* scratch_;
};

template <typename Op>
struct ReferenceImpl {
  static rvgg_status CreateFloat32(const LayerDesc& desc, uint32_t, const Bindings& bindings,
                                   pthreadpool_t, Kernel** kernel, rvgg_message* message) {
    return MakeKernel<Float32ReferenceKernel<Op>>(desc, kernel, message, desc, bindings);
  }
  static rvgg_status CreateInt8(const LayerDesc& desc, uint32_t, const Bindings& bindings,
                                pthreadpool_t, Kernel** kernel, rvgg_message* message) {
    return MakeInt8ReferenceKernel(desc, bindings, Op(desc), kernel, message);
  }
  static constexpr KernelImpl kFloat32 = {RVGG_BACKEND_REFERENCE, RVGG_DTYPE_FLOAT32, nullptr,
                                          nullptr, CreateFloat32};
  static constexpr KernelImpl kInt8 = {RVGG_BACKEND_REFERENCE, RVGG_DTYPE_INT8, nullptr, nullptr,
                                       CreateInt8};
};

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_OPS_REFERENCE_KERNEL_H_
