// Where an int8 layer reads and writes. Its neighbours in the arena may be
// float32 (the API's input and output, a layer kept in float32, squeeze-
// excite), so an int8 kernel converts at those edges itself, through the
// shared scratch area:
//
//   input float32:   arena f32 --quantize--> scratch[0] int8 --op--> ...
//   output float32:  ... --op--> scratch[1] int8 --dequantize--> arena f32
//
// The ping-pong plan is unchanged: the layer still reads one activation
// buffer and writes the other. Every backend uses this layout; a kernel's
// own scratch follows the edge slots (Int8EdgeBytes).
#ifndef RVGG_RUNTIME_SRC_OPS_INT8_IO_H_
#define RVGG_RUNTIME_SRC_OPS_INT8_IO_H_

#include <cstddef>
#include <cstdint>

#include "runtime/reference/reference.h"
#include "runtime/src/model.h"
#include "runtime/src/ops/kernel.h"

namespace rvgg {

struct Int8Io {
  const float* float_input = nullptr;  // set: quantize into quantized_input first
  int8_t* quantized_input = nullptr;   // scratch slot 0 (when float_input is set)
  const int8_t* input = nullptr;       // what the int8 operator reads
  int8_t* output = nullptr;            // what the int8 operator writes
  float* float_output = nullptr;       // set: dequantize output (scratch slot 1) into it
  size_t input_elements = 0;
  size_t output_elements = 0;
  QuantParams input_q;
  QuantParams output_q;
  void* kernel_scratch = nullptr;  // what follows the edge slots
};

// Scratch bytes int8 layer `desc` needs for its conversions (0 without),
// a multiple of kAlignment.
size_t Int8EdgeBytes(const LayerDesc& desc);

// The pointers of int8 layer `desc` bound to `bindings` (scratch at least
// Int8EdgeBytes(desc) bytes plus the kernel's own).
Int8Io Int8IoOf(const LayerDesc& desc, const Bindings& bindings);

// A reference int8 kernel: the conversions around `Op`, a callable
// op(const int8_t* input, int8_t* output) holding its own parameters.
template <typename Op>
class Int8ReferenceKernel final : public Kernel {
 public:
  Int8ReferenceKernel(const LayerDesc& desc, const Bindings& bindings, const Op& op)
      : io_(Int8IoOf(desc, bindings)), op_(op) {}
  rvgg_status Run() override {
    if (io_.float_input != nullptr) {
      ref::QuantizeF32(io_.input_elements, io_.float_input, io_.input_q, io_.quantized_input);
    }
    op_(io_.input, io_.output);
    if (io_.float_output != nullptr) {
      ref::DequantizeInt8(io_.output_elements, io_.output, io_.output_q, io_.float_output);
    }
    return RVGG_STATUS_OK;
  }
  const char* name() const override { return "reference int8"; }

 private:
  Int8Io io_;
  Op op_;
};

template <typename Op>
rvgg_status MakeInt8ReferenceKernel(const LayerDesc& desc, const Bindings& bindings, const Op& op,
                                    Kernel** kernel, rvgg_message* message) {
  return MakeKernel<Int8ReferenceKernel<Op>>(desc, kernel, message, desc, bindings, op);
}

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_OPS_INT8_IO_H_
