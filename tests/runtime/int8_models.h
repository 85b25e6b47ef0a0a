// Builds small int8 .rvgg models for the runtime tests without the converter:
// random float weights as in test_models.h, activation ranges measured with
// the float reference kernels on one random input, weights quantized per
// output channel. Knobs break one quantization field of one layer at a time.
#ifndef RVGG_TESTS_RUNTIME_INT8_MODELS_H_
#define RVGG_TESTS_RUNTIME_INT8_MODELS_H_

#include <cstdint>
#include <vector>

#include "tests/runtime/test_models.h"

namespace rvgg::testing {

enum class Int8Fault {
  kNone,
  kZeroInputScale,        // input scale 0
  kNanWeightScale,        // one weight scale NaN
  kSubnormalOutputScale,  // output scale 1e-40
  kMissingWeightScale,    // out_c - 1 weight scales
  kTwoInputScales,        // per-tensor input quantization with 2 scales
  kZeroPointRange,        // output zero point 200
  kWeightZeroPoint,       // a non-zero weight zero point
  kFloatBias,             // the bias stored as float32
  kChainMismatch,         // input scale differs from the previous layer's output
  kRequantTooLarge,       // input x weight / output scale >= 256
  kBiasOverflow,          // an int32 bias near INT32_MAX
  kMissingOutputQuant,    // no output quantization
};

struct Int8ModelSpec {
  ModelSpec base;
  // Per layer in model order (convs, squeeze-excites, gap, classifier):
  // true = int8. Empty: every layer int8 except squeeze-excite.
  std::vector<bool> int8;
  bool per_tensor_classifier = false;
  int bad_layer = -1;
  Int8Fault fault = Int8Fault::kNone;
  // Quantize squeeze-excite too (the runtime must refuse it).
  bool int8_squeeze_excite = false;
};

std::vector<uint8_t> BuildInt8Model(const Int8ModelSpec& spec);

}  // namespace rvgg::testing

#endif  // RVGG_TESTS_RUNTIME_INT8_MODELS_H_
