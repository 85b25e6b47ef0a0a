// float32 <-> int8 conversion (reference) and the int8 layers' edges.
#include <cmath>

#include "runtime/src/memory.h"
#include "runtime/src/ops/qs8.h"
#include "runtime/src/ops/reference.h"
#include "runtime/src/plan.h"

namespace rvgg {
namespace ref {

int8_t Requantize(int32_t acc, float scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
  const float lo = static_cast<float>(qmin - zero_point);
  const float hi = static_cast<float>(qmax - zero_point);
  float v = static_cast<float>(acc) * scale;
  v = v < lo ? lo : (v > hi ? hi : v);
  return static_cast<int8_t>(static_cast<int32_t>(std::nearbyint(v)) + zero_point);
}

void QuantizeF32(size_t count, const float* input, QuantParams q, int8_t* output) {
  const float inverse = 1.0f / q.scale;
  const float lo = static_cast<float>(-128 - q.zero_point);
  const float hi = static_cast<float>(127 - q.zero_point);
  for (size_t i = 0; i < count; ++i) {
    float v = input[i] * inverse;
    v = v >= lo ? v : lo;  // also maps NaN to the lowest value
    v = v <= hi ? v : hi;
    output[i] = static_cast<int8_t>(static_cast<int32_t>(std::nearbyint(v)) + q.zero_point);
  }
}

void DequantizeQs8(size_t count, const int8_t* input, QuantParams q, float* output) {
  for (size_t i = 0; i < count; ++i) {
    output[i] = static_cast<float>(int32_t{input[i]} - q.zero_point) * q.scale;
  }
}

}  // namespace ref

namespace {

size_t SlotBytes(uint64_t elements) {
  return AlignUp(static_cast<size_t>(elements) + kTensorTailBytes, kAlignment);
}

}  // namespace

size_t Qs8ScratchBytes(const LayerDesc& d) {
  if (d.compute_type != RVGG_DTYPE_INT8) return 0;
  size_t bytes = 0;
  if (d.input_type == RVGG_DTYPE_FLOAT32) bytes += SlotBytes(d.input_elements());
  if (d.output_type == RVGG_DTYPE_FLOAT32) bytes += SlotBytes(d.output_elements());
  return bytes;
}

Qs8Io Qs8IoOf(const LayerDesc& d, const Bindings& b) {
  Qs8Io io;
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
  } else {
    io.output = static_cast<int8_t*>(b.output);
  }
  return io;
}

}  // namespace rvgg
