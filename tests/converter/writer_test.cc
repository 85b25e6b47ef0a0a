// The .rvgg writer (converter/src/writer.cc): what SerializeModel writes is
// what the runtime reads back (verify, layer table, metadata, exact weights),
// runs to the converter's own logits, and files are replaced atomically.
#include "converter/src/writer.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "converter/src/error.h"
#include "converter/src/fusion.h"
#include "rvgg/rvgg.h"
#include "schema/rvgg_generated.h"
#include "tests/converter/repvgg_oracle.h"

namespace rvgg::convert {
namespace {

FusedNet SmallFusedNet(uint32_t seed) {
  std::mt19937 rng(seed);
  RepVGGNet net;
  net.in_channels = 3;
  const std::vector<test::BlockSpec> specs = {{3, 8, 2, 1, false, false},
                                              {8, 16, 2, 1, true, false},
                                              {16, 16, 1, 4, false, false},
                                              {16, 16, 1, 2, true, true}};
  for (const auto& s : specs)
    net.blocks.push_back(test::RandomBlock(s, &rng, "block" + std::to_string(net.blocks.size())));
  net.classifier.in_features = 16;
  net.classifier.out_features = 4;
  net.classifier.weight = test::RandomVector(64, -0.5, 0.5, &rng);
  net.classifier.bias = test::RandomVector(4, -0.1, 0.1, &rng);
  return Fuse(net);
}

ModelMetadata Metadata() {
  ModelMetadata m;
  m.input_height = 20;
  m.input_width = 36;
  m.mean = {0.5f, 0.25f, 0.125f};
  m.std = {2.0f, 4.0f, 8.0f};
  m.labels = {"cat", "dog", "bird", "fish"};
  m.source_file = "checkpoint.pth";
  m.source_format = "torch-zip, official mixed train/deploy";
  m.architecture = "custom";
  m.fusion_max_abs_diff = 1.5e-6f;
  m.fusion_rel_diff = 2.5e-7f;
  return m;
}

std::vector<float> FromFlat(const flatbuffers::Vector<float>* v) {
  REQUIRE(v != nullptr);
  return std::vector<float>(v->begin(), v->end());
}

TEST_CASE(
    "writer: a serialized model verifies and reads back with the same shapes, metadata and "
    "weights") {
  const FusedNet net = SmallFusedNet(1);
  const ModelMetadata meta = Metadata();
  const std::vector<uint8_t> bytes = SerializeModel(net, meta);

  rvgg_model_info info;
  rvgg_message message;
  REQUIRE_MESSAGE(rvgg_model_verify(bytes.data(), bytes.size(), &info, &message) == RVGG_STATUS_OK,
                  message.text);
  CHECK(info.input_height == 20);
  CHECK(info.input_width == 36);
  CHECK(info.input_channels == 3);
  CHECK(info.num_outputs == 4);
  CHECK(info.num_layers == net.layers.size());
  CHECK(info.num_labels == 4);
  for (uint32_t c = 0; c < 3; ++c) {
    CHECK(info.mean[c] == meta.mean[c]);
    CHECK(info.std[c] == meta.std[c]);
  }
  CHECK(std::string(info.architecture) == "custom");
  CHECK(std::string(info.source_file) == "checkpoint.pth");
  CHECK(std::string(info.source_format) == meta.source_format);
  CHECK(std::string(info.converter_version) == kConverterVersion);
  CHECK(std::string(info.quantization).empty());
  CHECK(info.fusion_max_abs_diff == meta.fusion_max_abs_diff);
  CHECK(info.fusion_rel_diff == meta.fusion_rel_diff);
  size_t arena = 0;
  REQUIRE(rvgg_model_arena_size(bytes.data(), bytes.size(), nullptr, &arena, &message) ==
          RVGG_STATUS_OK);
  CHECK(info.recorded_arena_bytes == arena);
  CHECK(arena > 0);

  // Layer table: shapes chain through the strides at 20x36.
  uint32_t h = 20, w = 36;
  for (uint32_t i = 0; i < info.num_layers; ++i) {
    CAPTURE(i);
    const FusedLayer& l = net.layers[i];
    rvgg_layer_info li;
    REQUIRE(rvgg_model_verify_layer(bytes.data(), bytes.size(), i, &li, &message) ==
            RVGG_STATUS_OK);
    CHECK(std::string(li.name) == l.name);
    CHECK(li.relu == (l.relu ? 1u : 0u));
    CHECK(li.input_height == h);
    CHECK(li.input_width == w);
    CHECK(li.input_channels == l.in_channels);
    switch (l.type) {
      case RVGG_LAYER_CONV2D:
        CHECK(li.type == RVGG_LAYER_CONV2D);
        CHECK(li.kernel_h == 3);
        CHECK(li.kernel_w == 3);
        CHECK(li.stride == l.stride);
        CHECK(li.padding == 1);
        CHECK(li.groups == l.groups);
        h = (h - 1) / l.stride + 1;
        w = (w - 1) / l.stride + 1;
        break;
      case RVGG_LAYER_SQUEEZE_EXCITE:
        CHECK(li.type == RVGG_LAYER_SQUEEZE_EXCITE);
        break;
      case RVGG_LAYER_GLOBAL_AVERAGE_POOL:
        CHECK(li.type == RVGG_LAYER_GLOBAL_AVERAGE_POOL);
        h = w = 1;
        break;
      case RVGG_LAYER_FULLY_CONNECTED:
        CHECK(li.type == RVGG_LAYER_FULLY_CONNECTED);
        break;
    }
    CHECK(li.output_height == h);
    CHECK(li.output_width == w);
    CHECK(li.output_channels == l.out_channels);
  }

  // Weights, bit for bit, in the runtime's layouts, 64-byte aligned in the buffer.
  const schema::Model* model = schema::GetModel(bytes.data());
  REQUIRE(model->layers()->size() == net.layers.size());
  for (uint32_t i = 0; i < net.layers.size(); ++i) {
    CAPTURE(i);
    const FusedLayer& l = net.layers[i];
    const schema::Layer* layer = model->layers()->Get(i);
    if (l.type == RVGG_LAYER_CONV2D) {
      const schema::Conv2D* conv = layer->op_as_Conv2D();
      REQUIRE(conv != nullptr);
      CHECK(std::vector<uint32_t>(conv->weights()->shape()->begin(),
                                  conv->weights()->shape()->end()) ==
            std::vector<uint32_t>{l.out_channels, 3, 3, l.in_channels / l.groups});
      CHECK(FromFlat(conv->weights()->f32()) == l.weight);
      CHECK(FromFlat(conv->bias()->f32()) == l.bias);
      CHECK(reinterpret_cast<uintptr_t>(conv->weights()->f32()->data()) % 64 ==
            reinterpret_cast<uintptr_t>(bytes.data()) % 64);
    } else if (l.type == RVGG_LAYER_SQUEEZE_EXCITE) {
      const schema::SqueezeExcite* se = layer->op_as_SqueezeExcite();
      REQUIRE(se != nullptr);
      CHECK(se->reduced() == l.se.reduced);
      CHECK(FromFlat(se->down_weights()->f32()) == l.se.down_weight);
      CHECK(FromFlat(se->down_bias()->f32()) == l.se.down_bias);
      CHECK(FromFlat(se->up_weights()->f32()) == l.se.up_weight);
      CHECK(FromFlat(se->up_bias()->f32()) == l.se.up_bias);
    } else if (l.type == RVGG_LAYER_FULLY_CONNECTED) {
      const schema::FullyConnected* fc = layer->op_as_FullyConnected();
      REQUIRE(fc != nullptr);
      CHECK(FromFlat(fc->weights()->f32()) == l.weight);
      CHECK(FromFlat(fc->bias()->f32()) == l.bias);
    }
  }
}

TEST_CASE("writer: the runtime computes the converter's logits from the written model") {
  const FusedNet net = SmallFusedNet(2);
  const std::vector<uint8_t> bytes = SerializeModel(net, Metadata());
  std::mt19937 rng(3);
  const test::Image x = test::MakeImage(3, 20, 36, &rng);
  const std::vector<float> nhwc = test::ToNhwc(x);
  const std::vector<float> want = RunFused(net, 20, 36, nhwc);
  // Every backend this build has.
  const std::vector<rvgg_backend> backends = {RVGG_BACKEND_REFERENCE,
#if RVGG_WITH_XNNPACK
                                              RVGG_BACKEND_XNNPACK
#endif
  };
  for (rvgg_backend backend : backends) {
    CAPTURE(backend);
    rvgg_options options;
    rvgg_options_default(&options);
    options.backend = backend;
    rvgg_model* model = nullptr;
    rvgg_message message;
    const rvgg_status status =
        rvgg_model_load(bytes.data(), bytes.size(), &options, &model, &message);
    REQUIRE_MESSAGE(status == RVGG_STATUS_OK, message.text);
    std::vector<float> got(4);
    REQUIRE(rvgg_model_run(model, nhwc.data(), RVGG_LAYOUT_NHWC, got.data()) == RVGG_STATUS_OK);
    CHECK(std::string(rvgg_model_label(model, 2)) == "bird");
    rvgg_model_free(model);
    for (size_t i = 0; i < 4; ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
  }
}

std::string TempDir() {
  char tmpl[] = "/tmp/rvgg_writer_test_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(("ls -A " + dir).c_str(), "r"), &pclose);
  char line[512];
  while (fgets(line, sizeof(line), p.get())) {
    std::string s(line);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    names.push_back(s);
  }
  return names;
}

TEST_CASE("writer: files are replaced atomically and failures leave nothing behind") {
  const std::string dir = TempDir();
  const std::string path = dir + "/model.rvgg";
  WriteFileAtomically(path, {1, 2, 3});
  WriteFileAtomically(path, {4, 5});
  std::ifstream in(path, std::ios::binary);
  CHECK(std::vector<char>(std::istreambuf_iterator<char>(in), {}) == std::vector<char>{4, 5});
  CHECK(List(dir) == std::vector<std::string>{"model.rvgg"});
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);

  CHECK_THROWS_AS(WriteFileAtomically(dir + "/missing/model.rvgg", {1}), ConvertError);
  CHECK_THROWS_AS(WriteFileAtomically(dir, {1}), ConvertError);  // a directory
  CHECK(List(dir) == std::vector<std::string>{"model.rvgg"});
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace rvgg::convert
