// runtime/src/model.cc: verification of int8 layers' quantization.
#include <doctest/doctest.h>

#include <string>

#include "rvgg/rvgg.h"
#include "tests/runtime/int8_models.h"

namespace rvgg::testing {
namespace {

rvgg_status Verify(const std::vector<uint8_t>& bytes, std::string* text) {
  rvgg_message message;
  const rvgg_status status = rvgg_model_verify(bytes.data(), bytes.size(), nullptr, &message);
  *text = message.text;
  return status;
}

// Default spec: 3 convs (layers 0-2), gap (3), classifier (4); all int8.
rvgg_status VerifyFault(Int8Fault fault, int layer, std::string* text) {
  Int8ModelSpec spec;
  spec.bad_layer = layer;
  spec.fault = fault;
  return Verify(BuildInt8Model(spec), text);
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("model int8: a valid int8 model verifies and reports int8 layers") {
  const auto bytes = BuildInt8Model(Int8ModelSpec{});
  rvgg_model_info info;
  rvgg_message message;
  REQUIRE(rvgg_model_verify(bytes.data(), bytes.size(), &info, &message) == RVGG_STATUS_OK);
  CHECK(std::string(info.quantization) == "int8 test model");
  for (uint32_t i = 0; i < info.num_layers; ++i) {
    rvgg_layer_info layer;
    REQUIRE(rvgg_model_verify_layer(bytes.data(), bytes.size(), i, &layer, &message) == RVGG_STATUS_OK);
    CHECK(layer.compute_type == RVGG_DTYPE_INT8);
  }
  // int8 weights: a byte per weight plus int32 bias and a float scale per channel.
  const uint64_t conv0 = 8 * 3 * 3 * 3 + 8 * 4 + 8 * 4;
  rvgg_layer_info layer0;
  REQUIRE(rvgg_model_verify_layer(bytes.data(), bytes.size(), 0, &layer0, &message) == RVGG_STATUS_OK);
  CHECK(layer0.parameters == 8 * 3 * 3 * 3 + 8);
  CHECK(info.weight_bytes > conv0);
  CHECK(info.weight_bytes < 4 * info.parameters);
}

TEST_CASE("model int8: zero, NaN and subnormal scales are rejected naming the layer") {
  std::string text;
  CHECK(VerifyFault(Int8Fault::kZeroInputScale, 0, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "layer 0 (conv 3x3/2 'block0')"));
  CHECK(Contains(text, "input scale 0 is not a positive normal number"));

  CHECK(VerifyFault(Int8Fault::kNanWeightScale, 1, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "layer 1 (conv 3x3 'block1'): weight scale 4 is nan"));

  CHECK(VerifyFault(Int8Fault::kSubnormalOutputScale, 3, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "global avg pool 'gap'"));
  CHECK(Contains(text, "output scale 9.99995e-41 is not a positive normal number"));
}

TEST_CASE("model int8: wrong scale and zero point counts are rejected") {
  std::string text;
  CHECK(VerifyFault(Int8Fault::kMissingWeightScale, 2, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "int8 weights need 16 per-channel scales, found 15"));

  CHECK(VerifyFault(Int8Fault::kMissingWeightScale, 4, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "'classifier'): int8 weights need 5 per-channel scales, found 4"));

  CHECK(VerifyFault(Int8Fault::kTwoInputScales, 1, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "needs one input scale (per-tensor quantization)"));

  CHECK(VerifyFault(Int8Fault::kMissingOutputQuant, 0, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "needs one output scale"));
}

TEST_CASE("model int8: zero points outside int8 and non-symmetric weights are rejected") {
  std::string text;
  CHECK(VerifyFault(Int8Fault::kZeroPointRange, 2, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "output zero point 200 is outside int8"));

  CHECK(VerifyFault(Int8Fault::kWeightZeroPoint, 0, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "weight zero point 1 is 3; int8 weights are symmetric"));
}

TEST_CASE("model int8: a float bias on an int8 layer is rejected") {
  std::string text;
  CHECK(VerifyFault(Int8Fault::kFloatBias, 1, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "needs an int32 bias of 8 values"));
}

TEST_CASE("model int8: adjacent int8 layers must agree on the activation between them") {
  std::string text;
  CHECK(VerifyFault(Int8Fault::kChainMismatch, 2, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "layer 2 ('block2'): input quantization"));
  CHECK(Contains(text, "differs from the previous layer's output"));
  // The first layer reads the float input: any input scale is fine there.
  CHECK(VerifyFault(Int8Fault::kChainMismatch, 0, &text) == RVGG_STATUS_OK);
}

TEST_CASE("model int8: requantization outside XNNPACK's range and overflowing biases are rejected") {
  std::string text;
  CHECK(VerifyFault(Int8Fault::kRequantTooLarge, 1, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "channel 0 requantization scale"));
  CHECK(Contains(text, "outside [2^-32, 256)"));

  CHECK(VerifyFault(Int8Fault::kBiasOverflow, 0, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "channel 0 int32 bias 2147483637 with 27 taps can overflow"));
}

TEST_CASE("model int8: squeeze-excite must stay float32") {
  Int8ModelSpec spec;
  spec.base = SmallRepVGGLikeSpec();
  spec.int8_squeeze_excite = true;
  std::string text;
  CHECK(Verify(BuildInt8Model(spec), &text) == RVGG_STATUS_UNSUPPORTED);
  CHECK(Contains(text, "squeeze-excite runs in float32 only"));
  spec.int8_squeeze_excite = false;
  CHECK(Verify(BuildInt8Model(spec), &text) == RVGG_STATUS_OK);
}

}  // namespace
}  // namespace rvgg::testing
