// The contract every int8 convolution kernel family implements (the sdot and
// VNNI direct kernels, the 16-bit Winograd kernel, ...). Kernels here are
// pure computation: no LayerDesc, no arena, no allocation; the runtime owns
// the memory, verification and the choice of family.
//
// Layout and arithmetic (the same as the reference, ref::Conv2DInt8):
//   - activations: NHWC int8, batch 1, affine per tensor:
//       real = input_scale * (q - input_zero_point);
//   - weights: OHWI int8, symmetric, one scale per output channel; groups 1;
//   - bias: int32 per output channel, in units of input_scale * weight_scale[o];
//   - padding pixels are the input zero point (they add nothing);
//   - acc[o] = bias[o] + sum over taps and channels of (q - input_zero_point) * w,
//     exact in int32 (verification bounds it for the direct form);
//   - out = clamp(round_half_even(float(acc) * requant_scale[o]),
//                 output_min - output_zero_point, output_max - output_zero_point)
//           + output_zero_point,
//     where float(acc) is the int32 converted to float (rounding as C does)
//     and requant_scale[o] = input_scale * weight_scale[o] / output_scale,
//     evaluated in float in that order (the runtime precomputes it).
// A kernel that evaluates exactly this is "exact" and must equal the
// reference bit for bit. A kernel that reorders the arithmetic (Winograd)
// must stay within 1 LSB of it and say why in its header.
#ifndef RVGG_RUNTIME_SRC_KERNELS_QCONV_H_
#define RVGG_RUNTIME_SRC_KERNELS_QCONV_H_

#include <cstddef>
#include <cstdint>

typedef struct pthreadpool* pthreadpool_t;

namespace rvgg::kernels {

struct QConvParams {
  uint32_t in_h = 0, in_w = 0, in_c = 0;
  uint32_t out_h = 0, out_w = 0, out_c = 0;
  uint32_t kernel_h = 3, kernel_w = 3, stride = 1, padding = 1;
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
  int32_t output_min = -128;  // the output zero point for a fused ReLU
  int32_t output_max = 127;
  const float* requant_scale = nullptr;  // out_c values, borrowed
};

// One family of int8 convolution kernels. Every function is safe to call
// for any verified QConvParams; `applies` says whether the family runs it on
// this CPU. Sizes are in bytes; `packed` and `scratch` are 64-byte aligned.
struct QConvFamily {
  const char* name;  // what rvgg_layer_info.kernel reports, e.g. "int8 sdot"
  // Whether the family runs these parameters on this CPU. requant_scale may
  // be null here (the runtime decides before it computes the scales).
  bool (*applies)(const QConvParams& params);
  size_t (*packed_bytes)(const QConvParams& params);
  // Packs OHWI weights and the int32 bias for `run`. Returns false when the
  // family cannot run these weights after all (e.g. an accumulator bound
  // that only the actual values decide); the runtime then picks another.
  bool (*pack)(const QConvParams& params, const int8_t* weights, const int32_t* bias, void* packed);
  // Scratch for one run with up to `threads` workers (1 without a pool).
  size_t (*scratch_bytes)(const QConvParams& params, uint32_t threads);
  // Runs the convolution; `pool` may be null (the calling thread). Must not
  // allocate. `input` is readable 16 bytes past its end. pthreadpool tells a
  // task nothing about its thread, so per-thread scratch is handed out by
  // slot: parallelize over `threads` slots (each slot owns one scratch part)
  // and let each slot claim blocks of work from an atomic counter.
  void (*run)(const QConvParams& params, const void* packed, const int8_t* input, int8_t* output,
              void* scratch, pthreadpool_t pool);
  // Optional (null: always): whether `pack` will accept these weights and
  // bias, for families whose arithmetic only the actual values bound (the
  // runtime asks at plan time, before it allocates anything).
  bool (*accepts)(const QConvParams& params, const int8_t* weights, const int32_t* bias);
};

}  // namespace rvgg::kernels

#endif  // RVGG_RUNTIME_SRC_KERNELS_QCONV_H_
