// The float32 edges of int8 layers (int8_io.h).
#include "runtime/src/ops/int8_io.h"

#include "runtime/src/memory.h"
#include "runtime/src/plan.h"

namespace rvgg {
namespace {

size_t SlotBytes(uint64_t elements) {
  return AlignUp(static_cast<size_t>(elements) + kTensorTailBytes, kAlignment);
}

}  // namespace

size_t Int8EdgeBytes(const LayerDesc& d) {
  if (d.compute_type != RVGG_DTYPE_INT8) return 0;
  size_t bytes = 0;
  if (d.input_type == RVGG_DTYPE_FLOAT32) bytes += SlotBytes(d.input_elements());
  if (d.output_type == RVGG_DTYPE_FLOAT32) bytes += SlotBytes(d.output_elements());
  return bytes;
}

Int8Io Int8IoOf(const LayerDesc& d, const Bindings& b) {
  Int8Io io;
  io.input_elements = static_cast<size_t>(d.input_elements());
  io.output_elements = static_cast<size_t>(d.output_elements());
  io.input_q = d.input_q;
  io.output_q = d.output_q;
  auto* scratch = static_cast<uint8_t*>(b.scratch);
  if (d.input_type == RVGG_DTYPE_FLOAT32) {
    io.float_input = static_cast<const float*>(b.input);
    io.quantized_input = reinterpret_cast<int8_t*>(scratch);
    io.input = io.quantized_input;
    scratch += SlotBytes(d.input_elements());
  } else {
    io.input = static_cast<const int8_t*>(b.input);
  }
  if (d.output_type == RVGG_DTYPE_FLOAT32) {
    io.output = reinterpret_cast<int8_t*>(scratch);
    io.float_output = static_cast<float*>(b.output);
    scratch += SlotBytes(d.output_elements());
  } else {
    io.output = static_cast<int8_t*>(b.output);
  }
  io.kernel_scratch = scratch;
  return io;
}

}  // namespace rvgg
