// Builds small .rvgg models directly with FlatBuffers for the runtime tests,
// so they need neither the converter nor a checkpoint (and run on ARM).
// Knobs break one field at a time for the verification tests.
#ifndef RVGG_TESTS_RUNTIME_TEST_MODELS_H_
#define RVGG_TESTS_RUNTIME_TEST_MODELS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace rvgg::testing {

struct ConvSpec {
  uint32_t out_channels = 8;
  uint32_t kernel = 3;
  uint32_t stride = 1;
  uint32_t padding = 1;
  uint32_t groups = 1;
  bool relu = true;
  uint32_t se_reduced = 0;  // > 0: a squeeze-excite layer follows (with the ReLU)
};

struct ModelSpec {
  uint32_t height = 12, width = 10, channels = 3;
  std::vector<ConvSpec> convs = {ConvSpec{8, 3, 2}, ConvSpec{8, 3, 1}, ConvSpec{16, 3, 2, 1, 2}};
  uint32_t classes = 5;
  uint32_t seed = 7;
  std::vector<std::string> labels;
  bool with_mean_std = true;
  // RepVGG-like weights: multiplies the He-initialized 3x3 kernels, and adds
  // the fused identity branch (1 at the centre tap of channel o % group_in)
  // to every stride-1 layer that keeps its width, as fusion does.
  float weight_gain = 1.0f;
  bool fused_identity = false;

  // Corruption knobs (defaults build a valid model).
  uint32_t schema_version = 1;
  int bad_layer = -1;                 // layer the knobs below apply to
  int weight_count_delta = 0;         // extra/missing weight values
  int declared_in_channels_delta = 0; // conv in_channels field off by this
  bool drop_bias = false;
  uint32_t override_out_channels = 0; // > 0: declared out_channels
  uint32_t override_groups = 0;       // > 0: declared groups
  uint32_t override_input_height = 0; // > 0: model input height
};

// A finished model buffer.
std::vector<uint8_t> BuildModel(const ModelSpec& spec);

// A valid model the size of a RepVGG stem + a few blocks: used where a
// "real" small model matters (allocation counts, threads).
ModelSpec SmallRepVGGLikeSpec();

// The fused (deploy) form of a RepVGG variant ("A0", "A1", "A2", "B0", "B1",
// "B1g2", "B1g4", ..., "B3g4") at `resolution`, 1000 classes, random
// RepVGG-like weights. Returns false for an unknown name.
bool RepVGGSpec(const std::string& variant, uint32_t resolution, ModelSpec* spec);

// Deterministic N(0, 1)-ish input of `count` floats.
std::vector<float> RandomInput(size_t count, uint32_t seed);

}  // namespace rvgg::testing

#endif  // RVGG_TESTS_RUNTIME_TEST_MODELS_H_
