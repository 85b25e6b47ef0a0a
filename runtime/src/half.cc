#include "runtime/src/half.h"

#include <cstring>

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace rvgg {

#if defined(__aarch64__)

Half FloatToHalf(float value) {
  const __fp16 h = static_cast<__fp16>(value);
  Half bits;
  std::memcpy(&bits, &h, sizeof(bits));
  return bits;
}

float HalfToFloat(Half value) {
  __fp16 h;
  std::memcpy(&h, &value, sizeof(h));
  return static_cast<float>(h);
}

void FloatToHalf(const float* input, size_t count, Half* output) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const float16x4_t lo = vcvt_f16_f32(vld1q_f32(input + i));
    const float16x8_t h = vcvt_high_f16_f32(lo, vld1q_f32(input + i + 4));
    vst1q_u16(output + i, vreinterpretq_u16_f16(h));
  }
  for (; i < count; ++i) output[i] = FloatToHalf(input[i]);
}

void HalfToFloat(const Half* input, size_t count, float* output) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(input + i));
    vst1q_f32(output + i, vcvt_f32_f16(vget_low_f16(h)));
    vst1q_f32(output + i + 4, vcvt_high_f32_f16(h));
  }
  for (; i < count; ++i) output[i] = HalfToFloat(input[i]);
}

#else

Half FloatToHalf(float value) {
  uint32_t x;
  std::memcpy(&x, &value, sizeof(x));
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t magnitude = x & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) {  // inf or NaN (quiet)
    return static_cast<Half>(sign | 0x7c00u | (magnitude > 0x7f800000u ? 0x200u : 0u));
  }
  if (magnitude >= 0x477ff000u) return static_cast<Half>(sign | 0x7c00u);  // rounds past 65504
  if (magnitude < 0x38800000u) {
    // Subnormal half (or zero): scale into place with one float addition,
    // which rounds to nearest even at the half's last bit.
    float f;
    const uint32_t m = magnitude;
    std::memcpy(&f, &m, sizeof(f));
    f += 0.5f;  // 2^-1: the half subnormal step 2^-24 lands in the float's low mantissa bits
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof(bits));
    return static_cast<Half>(sign | (bits - 0x3f000000u));
  }
  // Normal: rebias the exponent and round the 13 dropped mantissa bits to nearest even.
  const uint32_t odd = (magnitude >> 13) & 1u;
  const uint32_t rounded = magnitude + 0xfffu + odd;
  return static_cast<Half>(sign | ((rounded - 0x38000000u) >> 13));
}

float HalfToFloat(Half value) {
  const uint32_t sign = (uint32_t{value} & 0x8000u) << 16;
  const uint32_t exponent = (value >> 10) & 0x1fu;
  const uint32_t mantissa = value & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    const float f = static_cast<float>(mantissa) * 0x1.0p-24f;
    std::memcpy(&bits, &f, sizeof(bits));
    bits |= sign;
  }
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

void FloatToHalf(const float* input, size_t count, Half* output) {
  for (size_t i = 0; i < count; ++i) output[i] = FloatToHalf(input[i]);
}

void HalfToFloat(const Half* input, size_t count, float* output) {
  for (size_t i = 0; i < count; ++i) output[i] = HalfToFloat(input[i]);
}

#endif

}  // namespace rvgg
