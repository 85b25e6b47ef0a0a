// Serializes a fused network into the .rvgg FlatBuffers format and writes it
// without ever leaving a partial or clobbered file behind.
#ifndef RVGG_CONVERTER_SRC_WRITER_H_
#define RVGG_CONVERTER_SRC_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "converter/src/fusion.h"
#include "converter/src/quantize.h"

namespace rvgg::convert {

// Version of the converter recorded in every model's provenance.
extern const char kConverterVersion[];

struct ModelMetadata {
  uint32_t input_height = 0;
  uint32_t input_width = 0;
  std::vector<float> mean;  // empty or one per input channel
  std::vector<float> std;
  std::vector<std::string> labels;
  std::string source_file;
  std::string source_format;
  std::string architecture;
  std::string quantization;
  float fusion_max_abs_diff = 0.0f;
  float fusion_rel_diff = 0.0f;
};

// Builds the model bytes (weights 64-byte aligned), verifies them with the
// runtime's own verifier and records the runtime's planned arena size.
// `quantization` (one entry per layer, or null) stores int8 layers.
// Throws ConvertError if the runtime rejects the result.
std::vector<uint8_t> SerializeModel(const FusedNet& net, const ModelMetadata& metadata,
                                    const std::vector<LayerQuantization>* quantization = nullptr);

// Writes `bytes` to a temporary file next to `path`, then renames it over
// `path`. On any failure the temporary is removed, `path` is untouched, and
// ConvertError names the problem.
void WriteFileAtomically(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace rvgg::convert

#endif  // RVGG_CONVERTER_SRC_WRITER_H_
