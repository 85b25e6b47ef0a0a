// The conversion pipeline behind rvgg-convert: read -> parse -> fuse ->
// prove -> serialize -> write. The CLI only parses flags and prints.
#ifndef RVGG_CONVERTER_SRC_CONVERT_H_
#define RVGG_CONVERTER_SRC_CONVERT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "converter/src/quantize.h"

namespace rvgg::convert {

struct ConvertOptions {
  std::string checkpoint;  // empty with `synthetic`
  // The checkpoint entry holding the weights ("model", "state_dict.model");
  // empty: found automatically (EMA weights first, see WrapperKeys()).
  std::string weights_key;
  std::string output;
  uint32_t input_height = 224;
  uint32_t input_width = 224;
  std::vector<float> mean;  // empty: default for the channel count
  std::vector<float> std;
  std::string labels_file;
  // Synthetic model (no checkpoint): official variant name, classes, channels.
  std::string synthetic;
  uint32_t synthetic_classes = 1000;
  uint32_t synthetic_in_channels = 3;
  uint32_t seed = 1;
  // The fusion proof fails above this difference relative to max(1, |logit|).
  double fusion_tolerance = 1e-3;
  // The proof runs at the model's input size unless that costs more than
  // this many multiply-accumulates; then at a smaller size of the same shape.
  double proof_max_macs = 4e9;
  // Post-training quantization: "" (float32) or "int8", calibrated on a
  // float32 NCHW .npy (normalized, like rvgg-run's input) and/or a folder of
  // images (decoded and normalized as rvgg-classify does).
  std::string quantize;
  std::string calibration_npy;
  std::string calibration_images;
  size_t calibration_limit = 0;  // use at most this many images; 0 = all
  QuantizeOptions quantization;
};

struct ConvertReport {
  std::string source_format;  // "torch-zip, official train-time, state_dict, module. prefix"
  // The same, in parts for the summary:
  std::string container;      // "torch.save zip archive", "safetensors"
  std::string dtypes;         // storage dtypes: "float16"
  std::string naming;         // "official mixed train/deploy"
  std::string weights;        // WeightsSource::Describe()
  std::string architecture;   // "RepVGG-A0" or "custom"
  std::string description;    // stages/widths/groups
  uint32_t in_channels = 0, input_height = 0, input_width = 0, classes = 0;
  size_t blocks = 0, fused_blocks = 0, layers = 0;
  std::string layer_summary;  // "22 conv 3x3, 1 global avg pool, 1 fully connected"
  uint64_t parameters = 0;
  uint64_t macs = 0;
  uint64_t arena_bytes = 0;
  uint64_t file_bytes = 0;
  std::string normalization;  // human description
  size_t labels = 0;
  uint32_t proof_height = 0, proof_width = 0;
  double fusion_max_abs_diff = 0.0, fusion_rel_diff = 0.0;
  double seconds = 0.0;
  std::optional<QuantizationResult> quantization;
  double quantization_seconds = 0.0;
};

// Converts and writes options.output. Throws ConvertError with one line.
ConvertReport Convert(const ConvertOptions& options);

// Parses "224" or "224x320" (height x width).
bool ParseInputSize(const std::string& text, uint32_t* height, uint32_t* width);
// Parses "0.5" or "0.485,0.456,0.406".
bool ParseFloatList(const std::string& text, std::vector<float>* values);

}  // namespace rvgg::convert

#endif  // RVGG_CONVERTER_SRC_CONVERT_H_
