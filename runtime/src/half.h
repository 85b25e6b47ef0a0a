// IEEE half precision (binary16) storage for the fp16 path: conversions to
// and from float32, rounding to nearest even, as the hardware's conversion
// instructions do (they are baseline on aarch64; the portable code gives
// the same bits elsewhere, for tests and tools).
#ifndef RVGG_RUNTIME_SRC_HALF_H_
#define RVGG_RUNTIME_SRC_HALF_H_

#include <cstddef>
#include <cstdint>

namespace rvgg {

// A half-precision value as stored in memory.
using Half = uint16_t;

Half FloatToHalf(float value);
float HalfToFloat(Half value);

void FloatToHalf(const float* input, size_t count, Half* output);
void HalfToFloat(const Half* input, size_t count, float* output);

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_HALF_H_
