// Key names of the three RepVGG code bases rvgg reads.
#include <regex>

#include "converter/src/naming/scheme.h"

namespace rvgg::convert {
namespace {

bool MatchWith(const std::regex& stem, const std::regex& stage, uint32_t stage_offset,
               const std::string& key, BlockRef* ref) {
  std::smatch m;
  if (std::regex_search(key, m, stem)) {
    ref->stage = 0;
    ref->index = 0;
    ref->prefix = m[1];
    return true;
  }
  if (std::regex_search(key, m, stage)) {
    const unsigned long s = std::stoul(m[2]);
    const unsigned long i = std::stoul(m[3]);
    if (s > 64 || i > 4096) return false;
    ref->stage = static_cast<uint32_t>(s) + stage_offset;
    ref->index = static_cast<uint32_t>(i);
    ref->prefix = m[1];
    return true;
  }
  return false;
}

// DingXiaoH/RepVGG: stage0, stage1.0 ... stage4.N, linear.
bool MatchOfficial(const std::string& key, BlockRef* ref) {
  static const std::regex stem(R"(^(stage0)\.)");
  static const std::regex stage(R"(^(stage([1-9][0-9]*)\.([0-9]+))\.)");
  return MatchWith(stem, stage, 0, key, ref);
}

// timm byobnet: stem, stages.0.0 ... stages.3.N, head.fc.
bool MatchTimm(const std::string& key, BlockRef* ref) {
  static const std::regex stem(R"(^(stem)\.)");
  static const std::regex stage(R"(^(stages\.([0-9]+)\.([0-9]+))\.)");
  return MatchWith(stem, stage, 1, key, ref);
}

// MMPretrain: backbone.stem, backbone.stage_1.0 ..., head.fc.
bool MatchMmpretrain(const std::string& key, BlockRef* ref) {
  static const std::regex stem(R"(^(backbone\.stem)\.)");
  static const std::regex stage(R"(^(backbone\.stage_([1-9][0-9]*)\.([0-9]+))\.)");
  return MatchWith(stem, stage, 0, key, ref);
}

}  // namespace

const Scheme kOfficialScheme = {
    "official",  MatchOfficial, "rbr_dense.conv", "rbr_dense.bn", "rbr_1x1.conv", "rbr_1x1.bn",
    "rbr_identity", "rbr_reparam", "se.down", "se.up", "linear",
};

const Scheme kTimmScheme = {
    "timm",     MatchTimm,      "conv_kxk.conv", "conv_kxk.bn", "conv_1x1.conv", "conv_1x1.bn",
    "identity", "reparam_conv", "attn.fc1",      "attn.fc2",    "head.fc",
};

const Scheme kMmpretrainScheme = {
    "MMPretrain",  MatchMmpretrain, "branch_3x3.conv",      "branch_3x3.norm",
    "branch_1x1.conv", "branch_1x1.norm", "branch_norm",   "branch_reparam",
    "se_layer.conv1.conv", "se_layer.conv2.conv", "head.fc",
};

}  // namespace rvgg::convert
