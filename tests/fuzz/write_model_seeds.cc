// Writes small valid .rvgg models (built with tests/runtime/test_models) as
// seeds for fuzz_model_load: one file per model and load mode, the mode byte
// first (see fuzz_model_load.cc).
//
//   rvgg-fuzz-model-seeds OUTPUT_DIR
#include <cstdio>
#include <string>
#include <vector>

#include "tests/runtime/test_models.h"

using rvgg::testing::ConvSpec;
using rvgg::testing::ModelSpec;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  std::vector<std::pair<std::string, ModelSpec>> specs;
  specs.emplace_back("default", ModelSpec{});
  ModelSpec tiny;
  tiny.height = tiny.width = 4;
  tiny.convs = {ConvSpec{4, 3, 2}, ConvSpec{4, 1, 1, 0}};
  tiny.classes = 3;
  tiny.labels = {"a", "b", "c"};
  specs.emplace_back("tiny", tiny);
  ModelSpec se;
  se.height = se.width = 6;
  se.convs = {ConvSpec{8, 3, 2}, ConvSpec{8, 3, 1, 1, 2, true, 2}};
  se.with_mean_std = false;
  specs.emplace_back("se", se);
  ModelSpec grouped;
  grouped.height = 5;
  grouped.width = 7;
  grouped.channels = 4;
  grouped.convs = {ConvSpec{8, 3, 1, 1, 4}, ConvSpec{8, 1, 2, 0, 8, false}};
  specs.emplace_back("grouped", grouped);
  for (const auto& [name, spec] : specs) {
    const std::vector<uint8_t> model = rvgg::testing::BuildModel(spec);
    for (unsigned mode : {0u, 1u, 2u, 3u}) {
      const std::string path =
          std::string(argv[1]) + "/" + name + "-mode" + std::to_string(mode) + ".bin";
      FILE* f = std::fopen(path.c_str(), "wb");
      if (f == nullptr) {
        std::perror(path.c_str());
        return 1;
      }
      const unsigned char byte = static_cast<unsigned char>(mode);
      std::fwrite(&byte, 1, 1, f);
      std::fwrite(model.data(), 1, model.size(), f);
      std::fclose(f);
    }
  }
  return 0;
}
