// runtime/src/model.cc: verification of structure and meaning.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "rvgg/rvgg.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

// Verifies `bytes` through the public API; returns the status and message.
rvgg_status Verify(const std::vector<uint8_t>& bytes, std::string* text = nullptr) {
  rvgg_message message;
  const rvgg_status status = rvgg_model_verify(bytes.data(), bytes.size(), nullptr, &message);
  if (text != nullptr) *text = message.text;
  return status;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("model: a valid model verifies and reports its shape") {
  ModelSpec spec;
  spec.labels = {"a", "b", "c", "d", "e"};
  const auto bytes = BuildModel(spec);
  rvgg_model_info info;
  rvgg_message message;
  REQUIRE(rvgg_model_verify(bytes.data(), bytes.size(), &info, &message) == RVGG_STATUS_OK);
  CHECK(info.input_height == 12);
  CHECK(info.input_width == 10);
  CHECK(info.input_channels == 3);
  CHECK(info.num_outputs == 5);
  CHECK(info.num_layers == 5);
  CHECK(info.num_labels == 5);
  CHECK(info.mean[2] == 0.5f);
  // 3 -> 8 (3x3/2), 8 -> 8, 8 -> 16 groups 2 (3x3/2): 6x5 -> 6x5 -> 3x3.
  const uint64_t macs = 6 * 5 * 8 * 3 * 9 + 6 * 5 * 8 * 8 * 9 + 3 * 3 * 16 * 4 * 9 + 16 * 5;
  CHECK(info.macs == macs);
  rvgg_layer_info layer;
  REQUIRE(rvgg_model_verify_layer(bytes.data(), bytes.size(), 2, &layer, &message) == RVGG_STATUS_OK);
  CHECK(layer.groups == 2);
  CHECK(layer.output_height == 3);
  CHECK(layer.output_channels == 16);
  CHECK(std::string(layer.name) == "block2");
}

TEST_CASE("model: weights of the wrong size are rejected naming the layer and the counts") {
  ModelSpec spec;
  spec.bad_layer = 1;
  spec.weight_count_delta = -3;
  std::string text;
  CHECK(Verify(BuildModel(spec), &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "layer 1 (conv 3x3 'block1')"));
  CHECK(Contains(text, "weights hold 573 floats, shape needs 576"));
}

TEST_CASE("model: a missing bias is rejected") {
  ModelSpec spec;
  spec.bad_layer = 0;
  spec.drop_bias = true;
  std::string text;
  CHECK(Verify(BuildModel(spec), &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "bias tensor is missing"));
}

TEST_CASE("model: channels that do not chain are rejected") {
  ModelSpec spec;
  spec.bad_layer = 2;
  spec.declared_in_channels_delta = 1;
  std::string text;
  CHECK(Verify(BuildModel(spec), &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "in_channels is 9 but the previous layer gives 8"));
}

TEST_CASE("model: groups that do not divide the channels are rejected") {
  ModelSpec spec;
  spec.bad_layer = 1;
  spec.override_groups = 3;
  std::string text;
  CHECK(Verify(BuildModel(spec), &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "groups 3 must divide"));
}

TEST_CASE("model: absurd channel counts and input sizes are rejected before allocation") {
  ModelSpec spec;
  spec.bad_layer = 0;
  spec.override_out_channels = 1u << 30;
  std::string text;
  CHECK(Verify(BuildModel(spec), &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "out_channels 1073741824 is outside"));

  ModelSpec tall;
  tall.override_input_height = 1u << 20;
  CHECK(Verify(BuildModel(tall), &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "outside the limits"));
}

TEST_CASE("model: a newer schema version is unsupported, with a clear message") {
  ModelSpec spec;
  spec.schema_version = RVGG_SCHEMA_VERSION + 1;
  std::string text;
  CHECK(Verify(BuildModel(spec), &text) == RVGG_STATUS_UNSUPPORTED);
  CHECK(Contains(text, "newer than this runtime"));
}

TEST_CASE("model: labels must match the number of outputs") {
  ModelSpec spec;
  spec.labels = {"only", "three", "labels"};
  std::string text;
  CHECK(Verify(BuildModel(spec), &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "3 labels for 5 outputs"));
}

TEST_CASE("model: a file that is not an rvgg model is rejected by identifier") {
  auto bytes = BuildModel(ModelSpec{});
  std::memcpy(bytes.data() + 4, "TFL3", 4);
  std::string text;
  CHECK(Verify(bytes, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(Contains(text, "file identifier 'TFL3'"));
}

TEST_CASE("model: every truncation is rejected, or cut only unreferenced tail padding") {
  const auto bytes = BuildModel(ModelSpec{});
  const std::vector<float> input(3 * 12 * 10, 0.5f);
  rvgg_options options;
  rvgg_options_default(&options);
  options.backend = RVGG_BACKEND_REFERENCE;
  auto run = [&](const std::vector<uint8_t>& model_bytes) {
    rvgg_model* model = nullptr;
    REQUIRE(rvgg_model_load(model_bytes.data(), model_bytes.size(), &options, &model, nullptr) ==
            RVGG_STATUS_OK);
    std::vector<float> out(5);
    REQUIRE(rvgg_model_run(model, input.data(), RVGG_LAYOUT_NCHW, out.data()) == RVGG_STATUS_OK);
    rvgg_model_free(model);
    return out;
  };
  const std::vector<float> full = run(bytes);
  size_t accepted = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    cut.reserve(n + 1);  // a valid pointer even for n == 0
    if (Verify(cut) != RVGG_STATUS_OK) continue;
    // The builder pads the end of the buffer for alignment; cutting only
    // that padding leaves every referenced byte, so the model is intact.
    ++accepted;
    CHECK_MESSAGE(bytes.size() - n < 64, "truncated at ", n, " of ", bytes.size());
    CHECK(run(cut) == full);
  }
  CHECK(accepted < 64);
}

TEST_CASE("model: NULL, misaligned and tiny buffers are rejected") {
  rvgg_message message;
  CHECK(rvgg_model_verify(nullptr, 100, nullptr, &message) == RVGG_STATUS_INVALID_ARGUMENT);
  const auto bytes = BuildModel(ModelSpec{});
  std::vector<uint8_t> shifted(bytes.size() + 1);
  std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
  CHECK(rvgg_model_verify(shifted.data() + 1, bytes.size(), nullptr, &message) ==
        RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(Contains(message.text, "aligned"));
  CHECK(rvgg_model_verify(bytes.data(), 4, nullptr, &message) == RVGG_STATUS_INVALID_MODEL);
}

TEST_CASE("model: control characters in names and labels are refused without echoing them") {
  // Found by fuzz_model_load: a layer name with a newline broke the one-line
  // message ("layer 0 (conv 3x3 'block\n'): ..."); an escape sequence would
  // have reached the terminal of whoever printed it.
  auto bytes = BuildModel(ModelSpec{});
  const std::string name = "block1";
  auto at = std::search(bytes.begin(), bytes.end(), name.begin(), name.end());
  REQUIRE(at != bytes.end());
  at[5] = '\n';
  std::string text;
  CHECK(Verify(bytes, &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(text == "the name of layer 1 holds control character 0x0a at byte 5");

  ModelSpec spec;
  spec.labels = {"a", "b", "\x1b[2J", "d", "e"};
  CHECK(Verify(BuildModel(spec), &text) == RVGG_STATUS_INVALID_MODEL);
  CHECK(text == "label 2 holds control character 0x1b at byte 0");
  spec.labels = {"a", "b", "caf\xc3\xa9", "d", "e"};  // UTF-8 is fine
  CHECK(Verify(BuildModel(spec), &text) == RVGG_STATUS_OK);
}

TEST_CASE("model: a buffer aligned to 4 but not 8 bytes is refused (its 8-byte fields would be misread)") {
  // Found under UBSan: the verifier checks alignment relative to the buffer
  // start, then reading Model.arena_bytes in place was a misaligned load.
  const auto bytes = BuildModel(ModelSpec{});
  std::vector<uint64_t> storage(bytes.size() / 8 + 2);
  auto* at4 = reinterpret_cast<uint8_t*>(storage.data()) + 4;
  std::memcpy(at4, bytes.data(), bytes.size());
  rvgg_model_info info;
  rvgg_message message;
  CHECK(rvgg_model_verify(at4, bytes.size(), &info, &message) == RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(Contains(message.text, "8-byte aligned"));
  rvgg_model* model = nullptr;
  CHECK(rvgg_model_load(at4, bytes.size(), nullptr, &model, &message) == RVGG_STATUS_INVALID_ARGUMENT);
  CHECK(model == nullptr);
}

TEST_CASE("model: flipping any single byte never crashes and never loads a wrong shape") {
  const auto bytes = BuildModel(ModelSpec{});
  rvgg_model_info good;
  REQUIRE(rvgg_model_verify(bytes.data(), bytes.size(), &good, nullptr) == RVGG_STATUS_OK);
  size_t rejected = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto bad = bytes;
    bad[i] ^= 0xA5;
    rvgg_model_info info;
    rvgg_message message;
    const rvgg_status status = rvgg_model_verify(bad.data(), bad.size(), &info, &message);
    if (status != RVGG_STATUS_OK) {
      ++rejected;
      CHECK(message.text[0] != '\0');
      continue;
    }
    // Accepted: it must be a self-consistent model a run can use.
    rvgg_model* model = nullptr;
    rvgg_options options;
    rvgg_options_default(&options);
    options.backend = RVGG_BACKEND_REFERENCE;
    REQUIRE(rvgg_model_load(bad.data(), bad.size(), &options, &model, &message) == RVGG_STATUS_OK);
    std::vector<float> input(size_t{info.input_channels} * info.input_height * info.input_width, 0.5f);
    std::vector<float> output(info.num_outputs);
    CHECK(rvgg_model_run(model, input.data(), RVGG_LAYOUT_NCHW, output.data()) == RVGG_STATUS_OK);
    rvgg_model_free(model);
  }
  // Most single-byte flips in structure are caught; weight bytes stay valid.
  CHECK(rejected > 0);
}

}  // namespace
}  // namespace rvgg::testing
