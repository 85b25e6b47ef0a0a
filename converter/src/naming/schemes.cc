// Key names of the three RepVGG code bases rvgg reads.
//
// Block prefixes are matched by hand rather than with std::regex: libstdc++'s
// regex recurses once per character, so a crafted key of a million digits
// would overflow the stack.
#include <cstring>

#include "converter/src/naming/scheme.h"

namespace rvgg::convert {
namespace {

// Block names of one code base: `<stem>.` for stage 0 and
// `<stage_prefix><S>.<I>.` for the stages, with S counted from `first_stage`.
struct BlockPattern {
  const char* stem;          // "stage0"
  const char* stage_prefix;  // "stage"
  uint32_t first_stage;      // the stage number S of stage 1
};

bool Consume(const std::string& key, size_t* pos, const char* literal) {
  const size_t n = std::strlen(literal);
  if (key.compare(*pos, n, literal) != 0) return false;
  *pos += n;
  return true;
}

// A canonical decimal number (no sign, no leading zero) of at most 4 digits.
bool ConsumeNumber(const std::string& key, size_t* pos, uint32_t* value) {
  size_t end = *pos;
  while (end < key.size() && key[end] >= '0' && key[end] <= '9') ++end;
  const size_t digits = end - *pos;
  if (digits == 0 || digits > 4 || (digits > 1 && key[*pos] == '0')) return false;
  *value = 0;
  for (size_t i = *pos; i < end; ++i) *value = *value * 10 + static_cast<uint32_t>(key[i] - '0');
  *pos = end;
  return true;
}

bool Match(const BlockPattern& p, const std::string& key, BlockRef* ref) {
  size_t pos = 0;
  if (Consume(key, &pos, p.stem) && Consume(key, &pos, ".")) {
    ref->stage = 0;
    ref->index = 0;
    ref->prefix = p.stem;
    return true;
  }
  pos = 0;
  uint32_t stage = 0, index = 0;
  if (!Consume(key, &pos, p.stage_prefix) || !ConsumeNumber(key, &pos, &stage) ||
      !Consume(key, &pos, ".") || !ConsumeNumber(key, &pos, &index)) {
    return false;
  }
  const size_t prefix_end = pos;
  if (!Consume(key, &pos, ".")) return false;
  if (stage < p.first_stage || stage - p.first_stage > 63) return false;
  ref->stage = stage - p.first_stage + 1;
  ref->index = index;
  ref->prefix = key.substr(0, prefix_end);
  return true;
}

// DingXiaoH/RepVGG: stage0, stage1.0 ... stage4.N, linear.
bool MatchOfficial(const std::string& key, BlockRef* ref) {
  return Match({"stage0", "stage", 1}, key, ref);
}

// timm byobnet: stem, stages.0.0 ... stages.3.N, head.fc.
bool MatchTimm(const std::string& key, BlockRef* ref) {
  return Match({"stem", "stages.", 0}, key, ref);
}

// MMPretrain: backbone.stem, backbone.stage_1.0 ..., head.fc.
bool MatchMmpretrain(const std::string& key, BlockRef* ref) {
  return Match({"backbone.stem", "backbone.stage_", 1}, key, ref);
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
