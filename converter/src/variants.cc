#include "converter/src/variants.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>
#include <sstream>

#include "converter/src/error.h"

namespace rvgg::convert {
namespace {

VariantSpec Make(const std::string& name, std::vector<uint32_t> stage_blocks, double a, double b,
                 uint32_t group_count, bool se) {
  VariantSpec v;
  v.name = "RepVGG-" + name;
  v.blocks.push_back(1);
  v.blocks.insert(v.blocks.end(), stage_blocks.begin(), stage_blocks.end());
  v.widths = {std::min<uint32_t>(64, static_cast<uint32_t>(64 * a)), static_cast<uint32_t>(64 * a),
              static_cast<uint32_t>(128 * a), static_cast<uint32_t>(256 * a),
              static_cast<uint32_t>(512 * b)};
  uint32_t total = 0;
  for (uint32_t n : v.blocks) total += n;
  for (uint32_t i = 0; i < total; ++i) {
    // Official g2/g4 maps: global block indices 2, 4, ..., 26.
    const bool grouped = group_count > 1 && i >= 2 && i <= 26 && i % 2 == 0;
    v.groups.push_back(grouped ? group_count : 1);
  }
  v.se = se;
  return v;
}

// D2se reduces C to C / 16: floor in the official code and MMPretrain,
// round-half-up in timm (make_divisible(C * 0.0625, 1)); the official widths
// are multiples of 16, where both agree.
bool IsOfficialSeWidth(uint32_t channels, uint32_t reduced) {
  return reduced == channels / 16 || reduced == (channels + 8) / 16;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

const std::vector<VariantSpec>& OfficialVariants() {
  static const std::vector<VariantSpec> variants = {
      Make("A0", {2, 4, 14, 1}, 0.75, 2.5, 1, false),
      Make("A1", {2, 4, 14, 1}, 1, 2.5, 1, false),
      Make("A2", {2, 4, 14, 1}, 1.5, 2.75, 1, false),
      Make("B0", {4, 6, 16, 1}, 1, 2.5, 1, false),
      Make("B1", {4, 6, 16, 1}, 2, 4, 1, false),
      Make("B1g2", {4, 6, 16, 1}, 2, 4, 2, false),
      Make("B1g4", {4, 6, 16, 1}, 2, 4, 4, false),
      Make("B2", {4, 6, 16, 1}, 2.5, 5, 1, false),
      Make("B2g2", {4, 6, 16, 1}, 2.5, 5, 2, false),
      Make("B2g4", {4, 6, 16, 1}, 2.5, 5, 4, false),
      Make("B3", {4, 6, 16, 1}, 3, 5, 1, false),
      Make("B3g2", {4, 6, 16, 1}, 3, 5, 2, false),
      Make("B3g4", {4, 6, 16, 1}, 3, 5, 4, false),
      Make("D2se", {8, 14, 24, 1}, 2.5, 5, 1, true),
  };
  return variants;
}

const VariantSpec& FindVariant(const std::string& name) {
  std::string key = Lower(name);
  if (key.rfind("repvgg-", 0) == 0 || key.rfind("repvgg_", 0) == 0) key = key.substr(7);
  std::string known;
  for (const auto& v : OfficialVariants()) {
    if (Lower(v.name.substr(7)) == key) return v;
    known += (known.empty() ? "" : " ") + v.name.substr(7);
  }
  throw ConvertError("unknown RepVGG variant '" + name + "' (known: " + known + ")");
}

std::string IdentifyVariant(const RepVGGNet& net) {
  for (const auto& v : OfficialVariants()) {
    if (v.blocks.size() != net.num_stages()) continue;
    bool match = net.blocks.size() == v.groups.size();
    for (size_t i = 0; match && i < net.blocks.size(); ++i) {
      const Block& b = net.blocks[i];
      match = b.out_channels == v.widths[b.stage] && b.groups == v.groups[i] &&
              b.se.has_value() == v.se &&
              (!b.se || IsOfficialSeWidth(b.out_channels, b.se->reduced));
    }
    for (size_t s = 0; match && s < v.blocks.size(); ++s) {
      match = static_cast<size_t>(std::count_if(net.blocks.begin(), net.blocks.end(),
                                                [&](const Block& b) { return b.stage == s; })) ==
              v.blocks[s];
    }
    if (match) return v.name;
  }
  return "custom";
}

std::string DescribeArchitecture(const RepVGGNet& net) {
  std::vector<uint32_t> counts(net.num_stages(), 0), widths(net.num_stages(), 0);
  uint32_t max_groups = 1;
  size_t se = 0;
  for (const Block& b : net.blocks) {
    ++counts[b.stage];
    widths[b.stage] = b.out_channels;
    max_groups = std::max(max_groups, b.groups);
    se += b.se ? 1 : 0;
  }
  std::ostringstream out;
  out << "stages ";
  for (size_t i = 0; i < counts.size(); ++i) out << (i ? "/" : "") << counts[i];
  out << ", widths ";
  for (size_t i = 0; i < widths.size(); ++i) out << (i ? "/" : "") << widths[i];
  if (max_groups > 1) {
    size_t grouped = 0;
    for (const Block& b : net.blocks) grouped += b.groups > 1 ? 1 : 0;
    out << ", " << grouped << " grouped blocks (up to " << max_groups << " groups)";
  } else {
    out << ", groups 1";
  }
  if (se > 0) out << ", squeeze-excite in " << se << " blocks";
  return out.str();
}

RepVGGNet MakeSyntheticNet(const VariantSpec& spec, uint32_t in_channels, uint32_t classes,
                           uint32_t seed) {
  std::mt19937 rng(seed);
  RepVGGNet net;
  net.scheme = "synthetic";
  net.in_channels = in_channels;
  uint32_t in = in_channels;
  uint32_t global = 0;
  for (uint32_t stage = 0; stage < spec.blocks.size(); ++stage) {
    for (uint32_t i = 0; i < spec.blocks[stage]; ++i, ++global) {
      Block b;
      b.name = stage == 0 ? "stage0" : "stage" + std::to_string(stage) + "." + std::to_string(i);
      b.stage = stage;
      b.in_channels = in;
      b.out_channels = spec.widths[stage];
      b.stride = i == 0 ? 2 : 1;
      b.groups = spec.groups[global];
      const uint32_t fan_in = (in / b.groups) * 9;
      std::normal_distribution<float> w(0.0f, std::sqrt(2.0f / fan_in));
      std::uniform_real_distribution<float> bias(-0.05f, 0.05f);
      FusedKernel f;
      f.weight.resize(size_t{b.out_channels} * (in / b.groups) * 9);
      for (float& v : f.weight) v = w(rng);
      f.bias.resize(b.out_channels);
      for (float& v : f.bias) v = bias(rng);
      b.fused = std::move(f);
      if (spec.se) {
        SqueezeExciteWeights se;
        se.reduced = std::max<uint32_t>(1, b.out_channels / 16);
        std::normal_distribution<float> down(0.0f, std::sqrt(1.0f / b.out_channels));
        std::normal_distribution<float> up(0.0f, std::sqrt(1.0f / se.reduced));
        se.down_weight.resize(size_t{se.reduced} * b.out_channels);
        for (float& v : se.down_weight) v = down(rng);
        se.down_bias.assign(se.reduced, 0.0f);
        se.up_weight.resize(size_t{b.out_channels} * se.reduced);
        for (float& v : se.up_weight) v = up(rng);
        se.up_bias.assign(b.out_channels, 1.0f);
        b.se = std::move(se);
      }
      in = b.out_channels;
      net.blocks.push_back(std::move(b));
    }
  }
  net.classifier.in_features = in;
  net.classifier.out_features = classes;
  std::normal_distribution<float> fc(0.0f, std::sqrt(1.0f / in));
  net.classifier.weight.resize(size_t{classes} * in);
  for (float& v : net.classifier.weight) v = fc(rng);
  net.classifier.bias.assign(classes, 0.0f);
  return net;
}

}  // namespace rvgg::convert
