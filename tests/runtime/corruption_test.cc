// The whole load path against damaged files: every byte of a small model
// flipped (two ways) and every truncation, each loaded with the XNNPACK and
// reference backends in turn (every fourth in caller memory). Each outcome
// must be a clean status with one line of message, or a model that loads,
// describes itself consistently and runs. Meant to run under
// -fsanitize=address,undefined (RVGG_SANITIZE), where "clean" also means no
// read outside the buffer, whose size is exact.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rvgg/rvgg.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

struct Outcomes {
  size_t refused = 0;
  size_t ran = 0;
};

// `bytes` in a heap block of exactly its size, 64-byte aligned.
class ExactCopy {
 public:
  explicit ExactCopy(const std::vector<uint8_t>& bytes) : size_(bytes.size()) {
    REQUIRE(posix_memalign(&data_, 64, size_ == 0 ? 1 : size_) == 0);
    if (size_ != 0) std::memcpy(data_, bytes.data(), size_);
  }
  ~ExactCopy() { std::free(data_); }
  const void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  size_t size_;
};

void CheckMessage(rvgg_status status, const rvgg_message& message) {
  INFO("status ", rvgg_status_string(status));
  const size_t n = strnlen(message.text, sizeof(message.text));
  REQUIRE(n > 0);
  REQUIRE(n < sizeof(message.text));
  REQUIRE(std::strchr(message.text, '\n') == nullptr);
}

void Attempt(const std::vector<uint8_t>& bytes, size_t variant, Outcomes* outcomes) {
  const ExactCopy copy(bytes);
  rvgg_options options;
  rvgg_options_default(&options);
#if RVGG_WITH_XNNPACK
  options.backend = variant % 2 == 0 ? RVGG_BACKEND_XNNPACK : RVGG_BACKEND_REFERENCE;
#else
  options.backend = RVGG_BACKEND_REFERENCE;
#endif
  options.memory_limit = size_t{64} << 20;
  rvgg_message message;
  rvgg_model_info verified;
  const rvgg_status verify = rvgg_model_verify(copy.data(), copy.size(), &verified, &message);
  if (verify != RVGG_STATUS_OK) {
    CheckMessage(verify, message);
    REQUIRE((verify == RVGG_STATUS_INVALID_MODEL || verify == RVGG_STATUS_UNSUPPORTED));
  }
  void* memory = nullptr;
  if (variant % 4 >= 2 && verify == RVGG_STATUS_OK) {
    size_t need = 0;
    const rvgg_status measured =
        rvgg_model_memory_size(copy.data(), copy.size(), &options, &need, &message);
    if (measured != RVGG_STATUS_OK) {
      CheckMessage(measured, message);
      ++outcomes->refused;
      return;
    }
    REQUIRE(posix_memalign(&memory, 64, need) == 0);
    options.memory = memory;
    options.memory_size = need;
  }
  rvgg_model* model = nullptr;
  const rvgg_status load = rvgg_model_load(copy.data(), copy.size(), &options, &model, &message);
  if (load != RVGG_STATUS_OK) {
    CheckMessage(load, message);
    REQUIRE(model == nullptr);
    // Verification and load agree on what is a model.
    REQUIRE((verify != RVGG_STATUS_OK || load == RVGG_STATUS_OUT_OF_MEMORY));
    REQUIRE(memory == nullptr);  // the measured memory always suffices
    ++outcomes->refused;
    return;
  }
  REQUIRE(verify == RVGG_STATUS_OK);
  rvgg_model_info info;
  REQUIRE(rvgg_model_get_info(model, &info) == RVGG_STATUS_OK);
  REQUIRE(info.num_outputs == verified.num_outputs);
  REQUIRE(info.num_layers == verified.num_layers);
  for (uint32_t i = 0; i < info.num_layers; ++i) {
    rvgg_layer_info layer;
    REQUIRE(rvgg_model_get_layer_info(model, i, &layer) == RVGG_STATUS_OK);
    REQUIRE(layer.name != nullptr);
  }
  std::vector<float> input(size_t{info.input_height} * info.input_width * info.input_channels,
                           0.5f);
  std::vector<float> output(info.num_outputs);
  REQUIRE(rvgg_model_run(model, input.data(),
                         variant % 3 == 0 ? RVGG_LAYOUT_NHWC : RVGG_LAYOUT_NCHW,
                         output.data()) == RVGG_STATUS_OK);
  rvgg_model_free(model);
  std::free(memory);
  ++outcomes->ran;
}

TEST_CASE("corruption: every byte flipped two ways gives a clean refusal or a model that runs") {
  const auto bytes = BuildModel(ModelSpec{});
  Outcomes outcomes;
  size_t variant = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (const uint8_t mask : {uint8_t{0xFF}, static_cast<uint8_t>(1u << (i % 8))}) {
      auto bad = bytes;
      bad[i] ^= mask;
      CAPTURE(i);
      CAPTURE(static_cast<int>(mask));
      Attempt(bad, variant++, &outcomes);
    }
  }
  MESSAGE(bytes.size(), " bytes: ", outcomes.refused, " refused, ", outcomes.ran, " ran");
  // Structure bytes are caught; weight bytes stay valid floats. Both happen.
  CHECK(outcomes.refused > bytes.size() / 8);
  CHECK(outcomes.ran > bytes.size() / 2);
}

TEST_CASE(
    "corruption: every truncation gives a clean refusal or (padding only) a model that runs") {
  const auto bytes = BuildModel(ModelSpec{});
  Outcomes outcomes;
  for (size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    Attempt(std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)), n,
            &outcomes);
  }
  CHECK(outcomes.ran < 64);
  CHECK(outcomes.refused + outcomes.ran == bytes.size());
}

TEST_CASE("corruption: a model with squeeze-excite and groups survives every byte flip") {
  ModelSpec spec;
  spec.height = spec.width = 6;
  spec.convs = {ConvSpec{8, 3, 2}, ConvSpec{8, 3, 1, 1, 2, true, 2}};
  spec.labels = {"a", "b", "c", "d", "e"};
  const auto bytes = BuildModel(spec);
  Outcomes outcomes;
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto bad = bytes;
    bad[i] ^= static_cast<uint8_t>(0x5A ^ i);
    CAPTURE(i);
    Attempt(bad, i, &outcomes);
  }
  CHECK(outcomes.refused > 0);
  CHECK(outcomes.ran > 0);
}

}  // namespace
}  // namespace rvgg::testing
