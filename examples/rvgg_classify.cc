// rvgg-classify: the most likely classes of image files.
//
//   rvgg-classify MODEL.rvgg IMAGE... [--top K] [--threads N]
//                 [--backend xnnpack|reference] [--winograd off|auto|2|4|6] [--winograd-budget
//                 SIZE]
//
// Each image is decoded (PNG, JPEG, BMP, PGM/PPM, GIF, TGA, ... through
// stb_image), brought to the model's channel count (grey <-> RGB), resized
// (and centre-cropped for models of 64 px and more), normalized with the
// mean and std recorded in the model, and run; tools/common/image.h holds
// the preprocessing, shared with rvgg-convert's calibration.
//
// Output, on stdout, tab-separated, K lines per image (K = 1 without --top):
//   IMAGE<TAB>LABEL<TAB>PROBABILITY      most likely class first
// LABEL is the model's label, or the class index when the model has none;
// PROBABILITY is the softmax of the logits, with 4 decimals. An image that
// cannot be read gets one line instead, in the same place:
//   IMAGE<TAB>error: REASON
// and the other images are still classified.
//
// Exit status: 0 every image classified; 1 bad arguments or model (one line on
// stderr, nothing classified); 2 at least one image could not be read (a
// count on stderr after the results).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/common/cli.h"
#include "tools/common/image.h"
#include "rvgg/rvgg.h"

namespace {

const char kUsage[] =
    "usage: rvgg-classify MODEL.rvgg IMAGE... [--top K] [--threads N]\n"
    "                     [--backend xnnpack|reference] [--winograd off|auto|2|4|6]\n"
    "                  [--winograd-budget SIZE] [--precision auto|fp32|fp16]\n"
    "\n"
    "Prints IMAGE<TAB>LABEL<TAB>PROBABILITY for the most likely class of each\n"
    "image, and the next K-1 classes on the following lines with --top K (K\n"
    "above the class count prints every class). LABEL is the class index when\n"
    "the model has no labels. An image that cannot be read gets one line\n"
    "IMAGE<TAB>error: REASON and the exit status is 2; the others are still\n"
    "classified. Images: PNG, JPEG, BMP, PGM/PPM, GIF, TGA (grey or colour,\n"
    "any size); preprocessed with the model's size, mean and std.\n";

// Softmax in double (logits of any magnitude), largest first; ties keep the
// lower class index first.
std::vector<std::pair<uint32_t, double>> Ranked(const std::vector<float>& logits) {
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    p[i] = std::exp(static_cast<double>(logits[i]) - top);
    sum += p[i];
  }
  std::vector<std::pair<uint32_t, double>> ranked(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) ranked[i] = {static_cast<uint32_t>(i), p[i] / sum};
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return ranked;
}

}  // namespace

int main(int argc, char** argv) {
  rvgg::tools::Cli cli("rvgg-classify", kUsage);
  std::string model_path;
  std::vector<std::string> images;
  uint32_t top = 1;
  rvgg_options options;
  rvgg_options_default(&options);
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (options_done || arg.empty() || arg[0] != '-' || arg == "-") {
      if (model_path.empty()) {
        model_path = arg;
      } else {
        images.push_back(arg);
      }
    } else if (arg == "--") {
      options_done = true;  // every later argument is a file, even "-x.png"
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--top") {
      top = cli.Count(arg, cli.Value(argc, argv, &i), 1, 1u << 20);
    } else if (cli.ParseRuntimeOption(argc, argv, &i, &options)) {
      // --threads, --backend, --winograd, --winograd-budget, --precision
    } else {
      cli.Die("unknown option '" + arg + "' (see --help)");
    }
  }
  if (model_path.empty()) cli.Die("no model given (see --help)");
  if (images.empty()) cli.Die("no images given (usage: rvgg-classify MODEL.rvgg IMAGE...)");

  rvgg::tools::LoadedModel model;
  cli.LoadModel(model_path, options, &model);
  const rvgg_model_info& info = model.info;
  if (info.input_channels != 1 && info.input_channels != 3) {
    cli.Die(model_path + " takes " + std::to_string(info.input_channels) +
            " input channels; images give 1 (grey) or 3 (RGB)");
  }
  const rvgg::tools::Preprocessing preprocessing = rvgg::tools::PreprocessingOf(info);
  top = std::min(top, info.num_outputs);

  std::vector<float> input;
  std::vector<float> logits(info.num_outputs);
  size_t failed = 0;
  for (const std::string& path : images) {
    std::string error;
    if (!rvgg::tools::LoadImage(path, preprocessing, &input, &error)) {
      // The reason without the "PATH: " prefix: the path is the first column.
      if (error.compare(0, path.size() + 2, path + ": ") == 0) error.erase(0, path.size() + 2);
      std::printf("%s\terror: %s\n", path.c_str(), error.c_str());
      ++failed;
      continue;
    }
    const rvgg_status status =
        rvgg_model_run(model.handle, input.data(), RVGG_LAYOUT_NCHW, logits.data());
    if (status != RVGG_STATUS_OK) {
      std::printf("%s\terror: inference failed: %s\n", path.c_str(), rvgg_status_string(status));
      ++failed;
      continue;
    }
    const auto ranked = Ranked(logits);
    for (uint32_t k = 0; k < top; ++k) {
      const uint32_t index = ranked[k].first;
      const char* label = rvgg_model_label(model.handle, index);
      const std::string name = label != nullptr ? label : std::to_string(index);
      std::printf("%s\t%s\t%.4f\n", path.c_str(), name.c_str(), ranked[k].second);
    }
  }
  std::fflush(stdout);
  if (failed != 0) {
    std::fprintf(stderr, "rvgg-classify: %zu of %zu image%s could not be classified\n", failed,
                 images.size(), images.size() == 1 ? "" : "s");
    return 2;
  }
  return 0;
}
