#include "tools/common/cli.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace rvgg::tools {

void Cli::Die(const std::string& message) const {
  std::fprintf(stderr, "%s: error: %s\n", program_, message.c_str());
  std::exit(1);
}

std::string Cli::Value(int argc, char** argv, int* i) const {
  const std::string flag = argv[*i];
  if (*i + 1 >= argc) Die(flag + " needs a value");
  return argv[++*i];
}

uint32_t Cli::Count(const std::string& flag, const std::string& value, uint32_t min,
                    uint32_t max) const {
  char* end = nullptr;
  const unsigned long v = std::strtoul(value.c_str(), &end, 10);
  if (value.empty() || value[0] == '-' || *end != '\0' || v < min || v > max) {
    Die(flag + " expects a whole number from " + std::to_string(min) + " to " +
        std::to_string(max) + ", got '" + value + "'");
  }
  return static_cast<uint32_t>(v);
}

size_t Cli::Bytes(const std::string& flag, const std::string& value) const {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
  unsigned shift = 0;
  const std::string suffix = end != nullptr ? end : "";
  if (suffix == "K" || suffix == "k") {
    shift = 10;
  } else if (suffix == "M" || suffix == "m") {
    shift = 20;
  } else if (suffix == "G" || suffix == "g") {
    shift = 30;
  } else if (!suffix.empty()) {
    shift = 64;  // unknown suffix
  }
  const unsigned long long limit =
      static_cast<unsigned long long>(SIZE_MAX) >> (shift < 64 ? shift : 0);
  if (value.empty() || value[0] < '0' || value[0] > '9' || shift == 64 || v > limit) {
    Die(flag + " expects a byte count such as 65536, 512K, 64M or 1G, got '" + value + "'");
  }
  return static_cast<size_t>(v << shift);
}

bool Cli::ParseRuntimeOption(int argc, char** argv, int* i, rvgg_options* options) const {
  const std::string flag = argv[*i];
  if (flag == "--threads") {
    options->num_threads = Count(flag, Value(argc, argv, i), 1, 256);
  } else if (flag == "--backend") {
    const std::string v = Value(argc, argv, i);
    if (v == "xnnpack") {
      options->backend = RVGG_BACKEND_XNNPACK;
    } else if (v == "reference") {
      options->backend = RVGG_BACKEND_REFERENCE;
    } else {
      Die("--backend expects xnnpack or reference, got '" + v + "'");
    }
  } else if (flag == "--winograd") {
    const std::string v = Value(argc, argv, i);
    if (v == "auto") {
      options->winograd = RVGG_WINOGRAD_AUTO;
    } else if (v == "off") {
      options->winograd = RVGG_WINOGRAD_OFF;
    } else if (v == "2") {
      options->winograd = RVGG_WINOGRAD_F2;
    } else if (v == "4") {
      options->winograd = RVGG_WINOGRAD_F4;
    } else if (v == "6") {
      options->winograd = RVGG_WINOGRAD_F6;
    } else {
      Die("--winograd expects off, auto, 2, 4 or 6, got '" + v + "'");
    }
  } else if (flag == "--winograd-budget") {
    options->winograd_budget_bytes = Bytes(flag, Value(argc, argv, i));
  } else if (flag == "--precision") {
    const std::string v = Value(argc, argv, i);
    if (v == "auto") {
      options->precision = RVGG_PRECISION_AUTO;
    } else if (v == "fp32") {
      options->precision = RVGG_PRECISION_FP32;
    } else if (v == "fp16") {
      options->precision = RVGG_PRECISION_FP16;
    } else {
      Die("--precision expects auto, fp32 or fp16, got '" + v + "'");
    }
  } else {
    return false;
  }
  return true;
}

const char* PrecisionName(rvgg_precision precision) {
  switch (precision) {
    case RVGG_PRECISION_AUTO:
      return "auto";
    case RVGG_PRECISION_FP32:
      return "fp32";
    case RVGG_PRECISION_FP16:
      return "fp16";
  }
  return "?";
}

const char* DTypeName(rvgg_dtype type) {
  switch (type) {
    case RVGG_DTYPE_FLOAT32:
      return "fp32";
    case RVGG_DTYPE_FLOAT16:
      return "fp16";
    case RVGG_DTYPE_INT8:
      return "int8";
  }
  return "?";
}

std::string ComputeTypes(const rvgg_model* model) {
  rvgg_model_info info;
  if (rvgg_model_get_info(model, &info) != RVGG_STATUS_OK) return "";
  std::string types;
  for (rvgg_dtype type : {RVGG_DTYPE_FLOAT16, RVGG_DTYPE_INT8, RVGG_DTYPE_FLOAT32}) {
    for (uint32_t i = 0; i < info.num_layers; ++i) {
      rvgg_layer_info l;
      if (rvgg_model_get_layer_info(model, i, &l) != RVGG_STATUS_OK || l.compute_type != type) {
        continue;
      }
      types += std::string(types.empty() ? "" : "+") + DTypeName(type);
      break;
    }
  }
  return types;
}

void Cli::ParseCommonArgument(int argc, char** argv, int* i, rvgg_options* options,
                              std::string* model_path) const {
  const std::string arg = argv[*i];
  if (arg == "-h" || arg == "--help") {
    std::fputs(usage_, stdout);
    std::exit(0);
  } else if (ParseRuntimeOption(argc, argv, i, options)) {
  } else if (!arg.empty() && arg[0] == '-') {
    Die("unknown option '" + arg + "' (see --help)");
  } else if (model_path->empty()) {
    *model_path = arg;
  } else {
    Die("unexpected argument '" + arg + "'");
  }
}

void Cli::LoadModel(const std::string& path, const rvgg_options& options,
                    LoadedModel* model) const {
  std::string error;
  if (!model->buffer.Load(path, &error)) Die(error);
  rvgg_message message;
  const rvgg_status status = rvgg_model_load(model->buffer.data(), model->buffer.size(), &options,
                                             &model->handle, &message);
  if (status != RVGG_STATUS_OK) {
    Die(path + ": " + rvgg_status_string(status) + ": " + message.text);
  }
  rvgg_model_get_info(model->handle, &model->info);
}

}  // namespace rvgg::tools
