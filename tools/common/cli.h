// Command-line plumbing shared by the tools: one-line errors with a non-zero
// exit, the runtime options every tool takes, and model loading.
#ifndef RVGG_TOOLS_COMMON_CLI_H_
#define RVGG_TOOLS_COMMON_CLI_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "rvgg/rvgg.h"
#include "tools/common/files.h"

namespace rvgg::tools {

// "auto", "fp32", "fp16" (as --precision spells them).
const char* PrecisionName(rvgg_precision precision);
// "fp32", "fp16", "int8" (a layer's compute type in tables).
const char* DTypeName(rvgg_dtype type);

// The compute types a loaded model's layers run in: "fp32", "fp16",
// "int8+fp32", ... (fp16, int8, fp32 in that order).
std::string ComputeTypes(const rvgg_model* model);

// A model file loaded and prepared; frees itself.
struct LoadedModel {
  AlignedBuffer buffer;
  rvgg_model* handle = nullptr;
  rvgg_model_info info{};
  LoadedModel() = default;
  LoadedModel(const LoadedModel&) = delete;
  LoadedModel& operator=(const LoadedModel&) = delete;
  ~LoadedModel() { rvgg_model_free(handle); }
};

class Cli {
 public:
  Cli(const char* program, const char* usage) : program_(program), usage_(usage) {}

  // Prints "PROGRAM: error: MESSAGE" on stderr and exits with status 1.
  [[noreturn]] void Die(const std::string& message) const;

  // The value after flag argv[*i]; advances *i. Dies when missing.
  std::string Value(int argc, char** argv, int* i) const;

  // Whole number in [min, max] for `flag`; dies otherwise.
  uint32_t Count(const std::string& flag, const std::string& value, uint32_t min,
                 uint32_t max) const;

  // Byte count for `flag`: digits with an optional K, M or G (binary)
  // suffix; dies otherwise or on overflow.
  size_t Bytes(const std::string& flag, const std::string& value) const;

  // Consumes --threads N, --backend xnnpack|reference, --winograd
  // off|auto|2|4|6, --winograd-budget SIZE, --precision auto|fp32|fp16 at
  // argv[*i]. Returns false if argv[*i] is none of them.
  bool ParseRuntimeOption(int argc, char** argv, int* i, rvgg_options* options) const;

  // The arguments rvgg-run, rvgg-bench and rvgg-info share, at argv[*i]:
  // -h/--help (prints the usage and exits 0), the runtime options above, the
  // model path (the first positional argument); dies on an unknown option or
  // a second positional argument. Call it after the tool's own flags.
  void ParseCommonArgument(int argc, char** argv, int* i, rvgg_options* options,
                           std::string* model_path) const;

  // Reads, verifies and loads `path`; dies with the runtime's message.
  void LoadModel(const std::string& path, const rvgg_options& options, LoadedModel* model) const;

 private:
  const char* program_;
  const char* usage_;
};

}  // namespace rvgg::tools

#endif  // RVGG_TOOLS_COMMON_CLI_H_
