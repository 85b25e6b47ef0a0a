// rvgg-info: what a .rvgg model holds and how this runtime would run it.
//
//   rvgg-info MODEL.rvgg [--backend xnnpack|reference] [--threads N] [--winograd ...]
#include <cstdio>
#include <string>

#include "rvgg/rvgg.h"
#include "tools/common/cli.h"
#include "tools/common/files.h"

namespace {

const char kUsage[] =
    "usage: rvgg-info MODEL.rvgg [--backend xnnpack|reference] [--threads N]\n"
    "                 [--winograd off|auto|2|4|6]\n"
    "                  [--winograd-budget SIZE] [--precision auto|fp32|fp16]\n"
    "\n"
    "Verifies the model, prints its provenance, memory plan and layer table,\n"
    "and which kernel runs each layer with the given options.\n";

void PrintFloats(const char* label, const float* v, uint32_t n) {
  std::printf("%s", label);
  for (uint32_t i = 0; i < n; ++i) std::printf("%s%g", i ? "," : " ", static_cast<double>(v[i]));
}

}  // namespace

int main(int argc, char** argv) {
  rvgg::tools::Cli cli("rvgg-info", kUsage);
  std::string path;
  rvgg_options options;
  rvgg_options_default(&options);
  for (int i = 1; i < argc; ++i) cli.ParseCommonArgument(argc, argv, &i, &options, &path);
  if (path.empty()) cli.Die("no model given (see --help)");

  rvgg::tools::LoadedModel model;
  cli.LoadModel(path, options, &model);
  const rvgg_model_info& m = model.info;
  size_t arena = 0;
  rvgg_model_arena_size(model.buffer.data(), model.buffer.size(), &options, &arena, nullptr);

  std::printf("%s: rvgg model, schema %u, %zu bytes\n", path.c_str(), m.schema_version,
              model.buffer.size());
  std::printf("  architecture  %s\n", m.architecture[0] ? m.architecture : "(not recorded)");
  std::printf("  source        %s (%s)\n", m.source_file, m.source_format);
  std::printf("  converter     %s; fusion check max |diff| %.3g (%.3g of max |logit|)\n",
              m.converter_version, static_cast<double>(m.fusion_max_abs_diff),
              static_cast<double>(m.fusion_rel_diff));
  if (m.quantization[0]) std::printf("  quantization  %s\n", m.quantization);
  std::printf("  input         %u x %u x %u (C x H x W)", m.input_channels, m.input_height,
              m.input_width);
  if (m.mean != nullptr) PrintFloats(", mean", m.mean, m.input_channels);
  if (m.std != nullptr) PrintFloats(", std", m.std, m.input_channels);
  std::printf("\n  outputs       %u%s\n", m.num_outputs, m.num_labels ? " (labelled)" : "");
  std::printf("  parameters    %llu (%llu bytes of weights)\n",
              static_cast<unsigned long long>(m.parameters),
              static_cast<unsigned long long>(m.weight_bytes));
  std::printf("  compute       %.3f GMAC = %.3f GFLOP per image\n", m.macs / 1e9, 2 * m.macs / 1e9);
  std::printf(
      "  arena         %zu bytes planned with these options (%llu recorded by the converter)\n",
      arena, static_cast<unsigned long long>(m.recorded_arena_bytes));
  std::printf("  kernel ISA    %s\n", rvgg_kernel_isa());

  std::printf("\n  %3s  %-22s %-8s %-6s %3s %6s %-5s  %-16s %-16s %12s %9s  %-16s %12s\n", "#",
              "name", "type", "kernel", "s", "groups", "dtype", "input HxWxC", "output HxWxC",
              "params", "MMAC", "runs on", "kernel bytes");
  uint64_t kernel_bytes = 0;
  for (uint32_t i = 0; i < m.num_layers; ++i) {
    rvgg_layer_info l;
    rvgg_model_get_layer_info(model.handle, i, &l);
    char kernel[16] = "-", in[32], out[32];
    if (l.type == RVGG_LAYER_CONV2D)
      std::snprintf(kernel, sizeof(kernel), "%ux%u", l.kernel_h, l.kernel_w);
    std::snprintf(in, sizeof(in), "%ux%ux%u", l.input_height, l.input_width, l.input_channels);
    std::snprintf(out, sizeof(out), "%ux%ux%u", l.output_height, l.output_width, l.output_channels);
    std::printf("  %3u  %-22.22s %-8s %-6s %3u %6u %-5s  %-16s %-16s %12llu %9.2f  %-16s %12llu\n",
                i, l.name, rvgg_layer_type_name(l.type), kernel,
                l.type == RVGG_LAYER_CONV2D ? l.stride : 1,
                l.type == RVGG_LAYER_CONV2D ? l.groups : 1,
                rvgg::tools::DTypeName(l.compute_type), in, out,
                static_cast<unsigned long long>(l.parameters), l.macs / 1e6, l.kernel,
                static_cast<unsigned long long>(l.kernel_bytes));
    kernel_bytes += l.kernel_bytes;
  }
  std::printf("\n  backend memory beyond the file (packed weights, indirection): %llu bytes\n",
              static_cast<unsigned long long>(kernel_bytes));
  // What a load into caller memory (rvgg_options.memory) takes on this CPU.
  rvgg_options in_memory = options;
  in_memory.num_threads = 1;
  size_t memory = 0;
  rvgg_message message;
  if (rvgg_model_memory_size(model.buffer.data(), model.buffer.size(), &in_memory, &memory,
                             &message) == RVGG_STATUS_OK) {
    const unsigned long long rest = memory - arena - kernel_bytes;
    std::printf(
        "  caller memory %zu bytes for rvgg_options.memory on this CPU: arena %zu + backend "
        "%llu + tables, block headers and padding %llu\n",
        memory, arena, static_cast<unsigned long long>(kernel_bytes), rest);
  } else {
    std::printf("  caller memory (not measured: %s)\n", message.text);
  }
  return 0;
}
