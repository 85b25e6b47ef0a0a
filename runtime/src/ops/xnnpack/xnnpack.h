// Shared pieces of the XNNPACK backend: one-time initialization with rvgg's
// allocator, status translation, and a kernel that runs a fixed sequence of
// operators created and set up at load.
#ifndef RVGG_RUNTIME_SRC_OPS_XNNPACK_XNNPACK_H_
#define RVGG_RUNTIME_SRC_OPS_XNNPACK_XNNPACK_H_

#include <xnnpack.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "runtime/src/ops/int8_io.h"
#include "runtime/src/ops/kernel.h"

namespace rvgg::xnn {

// Initializes XNNPACK once per process, routing its allocations through
// rvgg's allocator. Thread-safe.
rvgg_status EnsureInitialized(rvgg_message* message);

// Bytes XNNPACK allocated minus bytes it freed on the calling thread; the
// growth across a kernel's creation is the memory that kernel owns (packed
// weights, indirection buffers).
int64_t LiveBytesOnThisThread();

// Translates a failed xnn_status into an rvgg status with a message naming
// the layer and the XNNPACK call.
rvgg_status Check(enum xnn_status status, const LayerDesc& desc, const char* call,
                  rvgg_message* message);

// Runs up to kMaxOperators XNNPACK operators in order.
class OperatorSequence final : public Kernel {
 public:
  static constexpr int kMaxOperators = 8;

  OperatorSequence(pthreadpool_t threadpool, size_t owned_bytes, const char* name = "xnnpack")
      : threadpool_(threadpool), owned_bytes_(owned_bytes), name_(name) {}
  ~OperatorSequence() override;

  // Takes ownership of the operators.
  void Adopt(xnn_operator_t* operators, int count);

  rvgg_status Run() override;
  const char* name() const override { return name_; }
  size_t owned_bytes() const override { return owned_bytes_; }

 private:
  xnn_operator_t operators_[kMaxOperators] = {};
  int count_ = 0;
  pthreadpool_t threadpool_;
  size_t owned_bytes_;
  const char* name_;
};

// Builds an OperatorSequence kernel: holds the operators created so far and
// deletes them if the build fails part-way.
class SequenceBuilder {
 public:
  SequenceBuilder(const LayerDesc& desc, pthreadpool_t threadpool)
      : desc_(desc), threadpool_(threadpool), start_bytes_(LiveBytesOnThisThread()) {}
  ~SequenceBuilder();

  // Slot for the next operator (null until created).
  xnn_operator_t* Next() { return &operators_[count_++]; }
  pthreadpool_t threadpool() const { return threadpool_; }

  // `name` (static storage) is what rvgg_layer_info.kernel reports.
  rvgg_status Finish(Kernel** kernel, rvgg_message* message, const char* name = "xnnpack");

 private:
  const LayerDesc& desc_;
  pthreadpool_t threadpool_;
  int64_t start_bytes_;
  xnn_operator_t operators_[OperatorSequence::kMaxOperators] = {};
  int count_ = 0;
};

// The kernel factories of the registry rows (KernelFactory, kernel.h), one
// per op and compute type.
using Factory = std::remove_pointer_t<KernelFactory>;

// float32 layers.
Factory CreateConv2DKernel;
Factory CreateGlobalAveragePoolKernel;
Factory CreateFullyConnectedKernel;
Factory CreateSqueezeExciteKernel;

// Scratch the squeeze-excite kernel needs (pooled, hidden and scale vectors).
size_t SqueezeExciteScratchBytes(const LayerDesc& desc);

// fp16 layers (rvgg_precision): fp16 activations in and out. fp16 operators
// take the float32 weights and bias of the file and convert them while
// packing (XNN_FLAG_FP32_STATIC_WEIGHTS): no fp16 copy at load.
Factory CreateConv2DF16Kernel;
Factory CreateGlobalAveragePoolF16Kernel;
Factory CreateFullyConnectedF16Kernel;
Factory CreateSqueezeExciteF16Kernel;
size_t SqueezeExciteF16ScratchBytes(const LayerDesc& desc);
size_t FullyConnectedF16ScratchBytes(const LayerDesc& desc);

// int8 layers (runtime/src/ops/int8_io.h describes their float32 edges).
Factory CreateConv2DInt8Kernel;
Factory CreateGlobalAveragePoolInt8Kernel;
Factory CreateFullyConnectedInt8Kernel;

// Appends a qc8 convolution for int8 Conv2D, or for an int8 fully connected
// layer as a 1x1 convolution over a 1x1 image.
rvgg_status AddConv2DQc8(SequenceBuilder& builder, const LayerDesc& desc, const Int8Io& io,
                         rvgg_message* message);

// Appends the float32 -> int8 conversion of an int8 layer's input, or the
// int8 -> float32 conversion of its output, when `io` asks for it.
rvgg_status AddInputQuantize(SequenceBuilder& builder, const LayerDesc& desc, const Int8Io& io,
                             rvgg_message* message);
rvgg_status AddOutputDequantize(SequenceBuilder& builder, const LayerDesc& desc, const Int8Io& io,
                                rvgg_message* message);

// The same conversions as single operators (left null when `io` needs none),
// for kernels that run them around their own work.
rvgg_status CreateInputQuantize(const LayerDesc& desc, const Int8Io& io, pthreadpool_t threadpool,
                                xnn_operator_t* op, rvgg_message* message);
rvgg_status CreateOutputDequantize(const LayerDesc& desc, const Int8Io& io,
                                   pthreadpool_t threadpool, xnn_operator_t* op,
                                   rvgg_message* message);

}  // namespace rvgg::xnn

#endif  // RVGG_RUNTIME_SRC_OPS_XNNPACK_XNNPACK_H_
