#include "tests/runtime/test_models.h"

#include <cmath>
#include <random>
#include <utility>

#include "schema/rvgg_generated.h"

namespace rvgg::testing {
namespace {

namespace fb = flatbuffers;
using schema::DataType;

std::vector<float> Random(size_t count, float scale, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> data(count);
  for (float& v : data) v = normal(rng);
  return data;
}

fb::Offset<schema::Tensor> Tensor(fb::FlatBufferBuilder& b, std::vector<uint32_t> shape,
                                  const std::vector<float>& data) {
  b.ForceVectorAlignment(data.size(), sizeof(float), 64);
  auto values = b.CreateVector(data);
  auto dims = b.CreateVector(shape);
  return schema::CreateTensor(b, dims, DataType::Float32, values);
}

fb::Offset<schema::Tensor> Tensor(fb::FlatBufferBuilder& b, std::vector<uint32_t> shape,
                                  size_t count, float scale, std::mt19937& rng) {
  return Tensor(b, std::move(shape), Random(count, scale, rng));
}

size_t Product(const std::vector<uint32_t>& v) {
  size_t n = 1;
  for (uint32_t d : v) n *= d;
  return n;
}

}  // namespace

std::vector<uint8_t> BuildModel(const ModelSpec& spec) {
  std::mt19937 rng(spec.seed);
  fb::FlatBufferBuilder b;
  std::vector<fb::Offset<schema::Layer>> layers;
  uint32_t c = spec.channels;
  int index = 0;
  for (const ConvSpec& conv : spec.convs) {
    const bool bad = index == spec.bad_layer;
    const uint32_t group_in = c / conv.groups;
    std::vector<uint32_t> wshape = {conv.out_channels, conv.kernel, conv.kernel, group_in};
    const size_t wcount = Product(wshape) + (bad ? spec.weight_count_delta : 0);
    const float wscale =
        spec.weight_gain * std::sqrt(2.0f / (group_in * conv.kernel * conv.kernel));
    std::vector<float> wdata = Random(wcount, wscale, rng);
    if (spec.fused_identity && conv.stride == 1 && conv.out_channels == c && conv.kernel == 3 &&
        wcount == Product(wshape)) {
      for (uint32_t o = 0; o < conv.out_channels; ++o) {
        wdata[((size_t{o} * 3 + 1) * 3 + 1) * group_in + o % group_in] += 1.0f;
      }
    }
    auto w = Tensor(b, wshape, wdata);
    fb::Offset<schema::Tensor> bias;
    if (!(bad && spec.drop_bias)) bias = Tensor(b, {conv.out_channels}, conv.out_channels, 0.1f, rng);
    const uint32_t declared_in = static_cast<uint32_t>(
        static_cast<int>(c) + (bad ? spec.declared_in_channels_delta : 0));
    const uint32_t declared_out =
        bad && spec.override_out_channels ? spec.override_out_channels : conv.out_channels;
    const uint32_t declared_groups = bad && spec.override_groups ? spec.override_groups : conv.groups;
    const bool relu_here = conv.relu && conv.se_reduced == 0;
    auto op = schema::CreateConv2D(b, static_cast<uint8_t>(conv.kernel),
                                   static_cast<uint8_t>(conv.kernel),
                                   static_cast<uint8_t>(conv.stride),
                                   static_cast<uint8_t>(conv.padding), declared_groups, declared_in,
                                   declared_out,
                                   relu_here ? schema::Activation::Relu : schema::Activation::None,
                                   w, bias);
    auto name = b.CreateString("block" + std::to_string(index));
    layers.push_back(schema::CreateLayer(b, name, schema::Op::Conv2D, op.Union()));
    c = conv.out_channels;
    ++index;
    if (conv.se_reduced > 0) {
      const uint32_t r = conv.se_reduced;
      auto dw = Tensor(b, {r, c}, size_t{r} * c, 1.0f / std::sqrt(float(c)), rng);
      auto db = Tensor(b, {r}, r, 0.1f, rng);
      auto uw = Tensor(b, {c, r}, size_t{c} * r, 1.0f / std::sqrt(float(r)), rng);
      auto ub = Tensor(b, {c}, c, 0.5f, rng);
      auto se = schema::CreateSqueezeExcite(
          b, c, r, conv.relu ? schema::Activation::Relu : schema::Activation::None, dw, db, uw, ub);
      auto se_name = b.CreateString("block" + std::to_string(index - 1) + ".se");
      layers.push_back(schema::CreateLayer(b, se_name, schema::Op::SqueezeExcite, se.Union()));
      ++index;
    }
  }
  auto pool = schema::CreateGlobalAveragePool(b);
  layers.push_back(schema::CreateLayer(b, b.CreateString("gap"), schema::Op::GlobalAveragePool,
                                       pool.Union()));
  auto fw = Tensor(b, {spec.classes, c}, size_t{spec.classes} * c, 1.0f / std::sqrt(float(c)), rng);
  auto fbias = Tensor(b, {spec.classes}, spec.classes, 0.1f, rng);
  auto fc = schema::CreateFullyConnected(b, c, spec.classes, schema::Activation::None, fw, fbias);
  layers.push_back(schema::CreateLayer(b, b.CreateString("classifier"),
                                       schema::Op::FullyConnected, fc.Union()));
  auto layer_vector = b.CreateVector(layers);

  fb::Offset<fb::Vector<float>> mean, std;
  if (spec.with_mean_std) {
    mean = b.CreateVector(std::vector<float>(spec.channels, 0.5f));
    std = b.CreateVector(std::vector<float>(spec.channels, 0.25f));
  }
  fb::Offset<fb::Vector<fb::Offset<fb::String>>> labels;
  if (!spec.labels.empty()) labels = b.CreateVectorOfStrings(spec.labels);
  auto pre = schema::CreatePreprocessing(b, mean, std, labels);
  auto provenance = schema::CreateProvenanceDirect(b, "test", "test builder", "custom", "tests");
  const uint32_t height = spec.override_input_height ? spec.override_input_height : spec.height;
  auto model = schema::CreateModel(b, spec.schema_version, height, spec.width, spec.channels, pre,
                                   layer_vector, 0, provenance);
  schema::FinishModelBuffer(b, model);
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

ModelSpec SmallRepVGGLikeSpec() {
  ModelSpec spec;
  spec.height = 32;
  spec.width = 32;
  spec.channels = 3;
  spec.convs = {ConvSpec{16, 3, 2}, ConvSpec{16, 3, 2}, ConvSpec{16, 3, 1},
                ConvSpec{32, 3, 2}, ConvSpec{32, 3, 1, 1, 2}, ConvSpec{64, 3, 2, 1, 1, true, 4}};
  spec.classes = 10;
  return spec;
}

bool RepVGGSpec(const std::string& variant, uint32_t resolution, ModelSpec* spec) {
  struct Variant {
    const char* name;
    uint32_t blocks[4];
    float a, b;
    uint32_t groups;
  };
  static const Variant kVariants[] = {
      {"A0", {2, 4, 14, 1}, 0.75f, 2.5f, 1},  {"A1", {2, 4, 14, 1}, 1.0f, 2.5f, 1},
      {"A2", {2, 4, 14, 1}, 1.5f, 2.75f, 1},  {"B0", {4, 6, 16, 1}, 1.0f, 2.5f, 1},
      {"B1", {4, 6, 16, 1}, 2.0f, 4.0f, 1},   {"B1g2", {4, 6, 16, 1}, 2.0f, 4.0f, 2},
      {"B1g4", {4, 6, 16, 1}, 2.0f, 4.0f, 4}, {"B2", {4, 6, 16, 1}, 2.5f, 5.0f, 1},
      {"B2g4", {4, 6, 16, 1}, 2.5f, 5.0f, 4}, {"B3", {4, 6, 16, 1}, 3.0f, 5.0f, 1},
      {"B3g4", {4, 6, 16, 1}, 3.0f, 5.0f, 4},
  };
  const Variant* v = nullptr;
  for (const Variant& candidate : kVariants) {
    if (variant == candidate.name) v = &candidate;
  }
  if (v == nullptr) return false;
  *spec = ModelSpec();
  spec->height = spec->width = resolution;
  spec->channels = 3;
  spec->classes = 1000;
  spec->weight_gain = 0.5f;
  spec->fused_identity = true;
  const uint32_t widths[4] = {uint32_t(64 * v->a), uint32_t(128 * v->a), uint32_t(256 * v->a),
                              uint32_t(512 * v->b)};
  const uint32_t stem = widths[0] < 64 ? widths[0] : 64;
  spec->convs = {ConvSpec{stem, 3, 2}};
  uint32_t block = 1;
  for (int s = 0; s < 4; ++s) {
    for (uint32_t i = 0; i < v->blocks[s]; ++i, ++block) {
      // Grouped RepVGGs group the even global block indices (stage0 is 0).
      const uint32_t groups = block % 2 == 0 ? v->groups : 1;
      spec->convs.push_back(ConvSpec{widths[s], 3, i == 0 ? 2u : 1u, 1, groups});
    }
  }
  return true;
}

std::vector<float> RandomInput(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(count);
  for (float& x : v) x = normal(rng);
  return v;
}

}  // namespace rvgg::testing
