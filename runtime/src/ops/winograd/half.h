// IEEE 754 binary16 ("fp16", "half") storage for the fp16 Winograd path.
//
// Half is the bit pattern in a uint16_t, so portable code (x86, armv7, the
// tests, the weight transform at load) can hold and move fp16 tensors
// without a compiler type for them; only the ARMv8.2 FP16 file
// (transform_neon_fp16.cc) reinterprets them as float16_t vectors.
//
// The conversions are exact bit manipulations, independent of the CPU's
// fp16 support: FloatToHalf rounds to nearest, ties to even (as the ARM fcvt
// instructions do by default), overflows to infinity, keeps subnormals and
// turns NaNs into the quiet NaN 0x7e00 (sign kept). They are meant for data
// prepared once (bias and weights at load, test data), not inner loops.
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_HALF_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_HALF_H_

#include <cstdint>
#include <cstring>

namespace rvgg::winograd {

using Half = uint16_t;

// Unit roundoff of binary16: half the distance from 1 to the next value.
constexpr double kHalfUnitRoundoff = 1.0 / 2048.0;
// The largest finite binary16 value.
constexpr float kHalfMax = 65504.0f;

inline float HalfToFloat(Half h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    const float magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
    std::memcpy(&bits, &magnitude, sizeof(bits));
    bits |= sign;
  } else if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // infinity or NaN
  } else {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

inline Half FloatToHalf(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  const uint32_t sign = (bits >> 16) & 0x8000u;
  uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x47800000u) {
    // |f| >= 65536 (or infinity, or NaN).
    return static_cast<Half>(sign | (magnitude > 0x7f800000u ? 0x7e00u : 0x7c00u));
  }
  if (magnitude < 0x38800000u) {
    // Below 2^-14: a subnormal half (or zero). Adding 0.5 puts the value's
    // 2^-24 multiples in the float mantissa's last bits, rounded to nearest
    // even by the addition itself.
    float shifted;
    std::memcpy(&shifted, &magnitude, sizeof(shifted));
    shifted += 0.5f;
    uint32_t shifted_bits;
    std::memcpy(&shifted_bits, &shifted, sizeof(shifted_bits));
    return static_cast<Half>(sign | (shifted_bits - 0x3f000000u));
  }
  // Normal: rebias the exponent and round the 13 dropped bits to nearest
  // even (a carry may step into the exponent, up to infinity).
  const uint32_t odd = (magnitude >> 13) & 1u;
  magnitude += 0xc8000fffu + odd;  // (15 - 127) << 23, plus the rounding bias
  return static_cast<Half>(sign | (magnitude >> 13));
}

}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_HALF_H_
