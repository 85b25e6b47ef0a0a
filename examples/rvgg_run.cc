// rvgg-run: logits for a batch of images.
//
//   rvgg-run MODEL.rvgg --input X.npy --output Y.npy [--threads N]
//            [--backend xnnpack|reference]
//
// X is float32 NCHW [N, C, H, W] (or one [C, H, W] image), already
// normalized; Y is float32 [N, classes]. The images go one by one through one
// loaded model; nothing is allocated per image.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/common/cli.h"
#include "tools/common/files.h"
#include "tools/common/npy.h"
#include "rvgg/rvgg.h"

namespace {

const char kUsage[] =
    "usage: rvgg-run MODEL.rvgg --input X.npy --output Y.npy [--threads N]\n"
    "                [--backend xnnpack|reference] [--winograd off|auto|2|4|6]\n"
    "                  [--winograd-budget SIZE] [--precision auto|fp32|fp16]\n"
    "\n"
    "X: float32 [N, C, H, W] (PyTorch layout, normalized) or [C, H, W].\n"
    "Y: float32 [N, classes] logits. Y is replaced only on success.\n";

}  // namespace

int main(int argc, char** argv) {
  rvgg::tools::Cli cli("rvgg-run", kUsage);
  std::string model_path, input_path, output_path;
  rvgg_options options;
  rvgg_options_default(&options);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--input") {
      input_path = cli.Value(argc, argv, &i);
    } else if (arg == "--output") {
      output_path = cli.Value(argc, argv, &i);
    } else {
      cli.ParseCommonArgument(argc, argv, &i, &options, &model_path);
    }
  }
  if (model_path.empty()) cli.Die("no model given (see --help)");
  if (input_path.empty()) cli.Die("no input given (--input X.npy)");
  if (output_path.empty()) cli.Die("no output given (--output Y.npy)");

  rvgg::tools::LoadedModel model;
  cli.LoadModel(model_path, options, &model);
  const rvgg_model_info& info = model.info;

  std::string error;
  rvgg::tools::NpyArray x;
  if (!rvgg::tools::ReadNpy(input_path, &x, &error)) cli.Die(error);
  const std::vector<uint64_t> image = {info.input_channels, info.input_height, info.input_width};
  uint64_t n = 0;
  if (x.shape.size() == 4 && std::vector<uint64_t>(x.shape.begin() + 1, x.shape.end()) == image) {
    n = x.shape[0];
  } else if (x.shape == image) {
    n = 1;
  } else {
    cli.Die(input_path + " has shape " + rvgg::tools::ShapeString(x.shape) +
            "; the model takes [N, " + std::to_string(info.input_channels) + ", " +
            std::to_string(info.input_height) + ", " + std::to_string(info.input_width) +
            "] (NCHW float32)");
  }

  const size_t image_size = size_t{info.input_channels} * info.input_height * info.input_width;
  std::vector<float> logits(n * info.num_outputs);
  for (uint64_t b = 0; b < n; ++b) {
    const rvgg_status status =
        rvgg_model_run(model.handle, x.data.data() + b * image_size, RVGG_LAYOUT_NCHW,
                       logits.data() + b * info.num_outputs);
    if (status != RVGG_STATUS_OK) {
      cli.Die("inference failed on image " + std::to_string(b) + ": " + rvgg_status_string(status));
    }
  }
  if (!rvgg::tools::WriteNpy(output_path, {n, info.num_outputs}, logits.data(), &error)) {
    cli.Die(error);
  }
  std::printf("rvgg-run: %llu image%s -> %s [%llu, %u] (%s backend, %s, %u thread%s)\n",
              static_cast<unsigned long long>(n), n == 1 ? "" : "s", output_path.c_str(),
              static_cast<unsigned long long>(n), info.num_outputs,
              options.backend == RVGG_BACKEND_REFERENCE ? "reference" : "xnnpack",
              rvgg::tools::ComputeTypes(model.handle).c_str(),
              options.num_threads > 1 ? options.num_threads : 1u,
              options.num_threads > 1 ? "s" : "");
  return 0;
}
