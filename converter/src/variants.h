// The official RepVGG variants (paper, DingXiaoH/RepVGG): recognition from a
// parsed network, and synthetic models with random weights for benchmarks.
#ifndef RVGG_CONVERTER_SRC_VARIANTS_H_
#define RVGG_CONVERTER_SRC_VARIANTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "converter/src/repvgg.h"

namespace rvgg::convert {

struct VariantSpec {
  std::string name;                 // "RepVGG-A0"
  std::vector<uint32_t> blocks;     // per stage, stage0 first (always 1)
  std::vector<uint32_t> widths;     // per stage
  std::vector<uint32_t> groups;     // per block, global block index
  bool se = false;
};

// Every official variant: A0 A1 A2 B0 B1 B1g2 B1g4 B2 B2g2 B2g4 B3 B3g2 B3g4 D2se.
const std::vector<VariantSpec>& OfficialVariants();

// The variant named `name` ("A0", "RepVGG-A0", case-insensitive); throws
// ConvertError listing the known names.
const VariantSpec& FindVariant(const std::string& name);

// The official variant whose blocks per stage, widths, groups (per global
// block index) and squeeze-excite (in every block, C -> C/16 rounded down as
// in the official code or half-up as in timm) `net` has, or "custom". Input
// channels, classes and which blocks are already fused do not matter.
std::string IdentifyVariant(const RepVGGNet& net);

// "stages 1/2/4/14/1, widths 48/48/96/192/1280, groups 1"
std::string DescribeArchitecture(const RepVGGNet& net);

// A deploy-form network of `spec` with random weights (He-scaled kernels,
// small biases) so activations stay bounded through any depth.
RepVGGNet MakeSyntheticNet(const VariantSpec& spec, uint32_t in_channels, uint32_t classes,
                           uint32_t seed);

}  // namespace rvgg::convert

#endif  // RVGG_CONVERTER_SRC_VARIANTS_H_
