// Writes what the firmware-consumer test feeds the installed package:
//   DIR/model.rvgg      a small RepVGG-like model (grouped, SE, labels)
//   DIR/input.f32       one input image, raw float32 NCHW
//   DIR/expected.txt    its logits from the reference kernels, one per line
// Built for the target and run there (under qemu on cross builds), so the
// expected logits come from the target's own reference kernels.
#include <cstdio>
#include <string>
#include <vector>

#include "rvgg/rvgg.h"
#include "tests/runtime/test_models.h"

namespace {

bool WriteBytes(const std::string& path, const void* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "write_test_model: error: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return Fail("usage: write_test_model DIR");
  const std::string dir = argv[1];
  rvgg::testing::ModelSpec spec = rvgg::testing::SmallRepVGGLikeSpec();
  for (uint32_t i = 0; i < spec.classes; ++i) spec.labels.push_back("class-" + std::to_string(i));
  const std::vector<uint8_t> bytes = rvgg::testing::BuildModel(spec);

  rvgg_options options;
  rvgg_options_default(&options);
  options.backend = RVGG_BACKEND_REFERENCE;
  rvgg_model* model = nullptr;
  rvgg_message message;
  if (rvgg_model_load(bytes.data(), bytes.size(), &options, &model, &message) != RVGG_STATUS_OK) {
    return Fail(message.text);
  }
  rvgg_model_info info;
  rvgg_model_get_info(model, &info);
  const std::vector<float> input = rvgg::testing::RandomInput(
      size_t{info.input_channels} * info.input_height * info.input_width, 11);
  std::vector<float> logits(info.num_outputs);
  if (rvgg_model_run(model, input.data(), RVGG_LAYOUT_NCHW, logits.data()) != RVGG_STATUS_OK) {
    return Fail("reference inference failed");
  }
  rvgg_model_free(model);

  std::string expected;
  char line[64];
  for (float v : logits) {
    std::snprintf(line, sizeof(line), "%.9g\n", v);
    expected += line;
  }
  if (!WriteBytes(dir + "/model.rvgg", bytes.data(), bytes.size()) ||
      !WriteBytes(dir + "/input.f32", input.data(), input.size() * sizeof(float)) ||
      !WriteBytes(dir + "/expected.txt", expected.data(), expected.size())) {
    return Fail("cannot write into " + dir);
  }
  std::printf("write_test_model: %s/{model.rvgg,input.f32,expected.txt} (%zu bytes, %u classes)\n",
              dir.c_str(), bytes.size(), info.num_outputs);
  return 0;
}
