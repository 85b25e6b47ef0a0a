// The generic RepVGG parser: architecture from tensor names and shapes alone.
#include <algorithm>
#include <map>
#include <sstream>

#include "converter/src/checkpoint/tensor_data.h"
#include "converter/src/error.h"
#include "converter/src/naming/scheme.h"

namespace rvgg::convert {
namespace {

std::string Join(const std::string& prefix, const char* part) {
  return prefix + "." + part;
}

bool HasAny(const StateDict& state, const std::string& prefix) {
  return !state.WithPrefix(prefix + ".").empty();
}

// Reads a [out, in/groups, k, k] conv weight, deriving out and groups from
// its shape. `in` is known from the previous block.
std::vector<float> ReadConvWeight(const StateDict& state, const std::string& key, uint32_t in,
                                  uint32_t kernel, uint32_t* out, uint32_t* groups) {
  const Tensor& t = state.Get(key);
  if (t.shape.size() != 4 || t.shape[2] != kernel || t.shape[3] != kernel || t.shape[0] <= 0 ||
      t.shape[1] <= 0) {
    throw ConvertError("tensor '" + key + "' has shape " + ShapeString(t.shape) +
                       ", expected [out, in/groups, " + std::to_string(kernel) + ", " +
                       std::to_string(kernel) + "]");
  }
  if (t.shape[0] > (1 << 16) || t.shape[1] > (1 << 16)) {
    throw ConvertError("tensor '" + key + "' has shape " + ShapeString(t.shape) +
                       ": channel counts above 65536 are not supported");
  }
  const auto group_in = static_cast<uint32_t>(t.shape[1]);
  if (in % group_in != 0) {
    throw ConvertError("tensor '" + key + "' has shape " + ShapeString(t.shape) +
                       ": the block's input has " + std::to_string(in) +
                       " channels, not a multiple of " + std::to_string(group_in));
  }
  *out = static_cast<uint32_t>(t.shape[0]);
  *groups = in / group_in;
  if (*out % *groups != 0) {
    throw ConvertError("tensor '" + key + "' has shape " + ShapeString(t.shape) + ": " +
                       std::to_string(*groups) + " groups do not divide " +
                       std::to_string(*out) + " output channels");
  }
  // Re-read through the checked accessor (finite values).
  return state.Get(key, t.shape).data;
}

std::string OutputsOf(const StateDict& state, const std::string& key) {
  return "the output channels of '" + key + "' " + ShapeString(state.Get(key).shape);
}

void ParseBlock(const StateDict& state, const Scheme& s, Block* b) {
  const std::string& p = b->name;
  const int64_t in = b->in_channels;
  if (HasAny(state, Join(p, s.fused))) {
    for (const char* branch : {s.dense_conv, s.one_conv, s.identity}) {
      if (HasAny(state, Join(p, branch))) {
        throw ConvertError("block '" + p + "' has both '" + s.fused + "' and '" + branch +
                           "' tensors; expected one or the other");
      }
    }
    const std::string wkey = Join(p, s.fused) + ".weight";
    FusedKernel f;
    f.weight = ReadConvWeight(state, wkey, b->in_channels, 3, &b->out_channels, &b->groups);
    f.bias = state.Get(Join(p, s.fused) + ".bias", {b->out_channels}, OutputsOf(state, wkey)).data;
    b->fused = std::move(f);
  } else {
    const std::string dense_key = Join(p, s.dense_conv) + ".weight";
    ConvBn dense;
    dense.kernel = 3;
    dense.weight =
        ReadConvWeight(state, dense_key, b->in_channels, 3, &b->out_channels, &b->groups);
    const int64_t out = b->out_channels;
    const std::string outputs = OutputsOf(state, dense_key);
    dense.bn = ReadBatchNorm(state, Join(p, s.dense_bn), out, outputs);
    b->dense = std::move(dense);

    // The 1x1 branch shares the 3x3's stride and groups.
    ConvBn one;
    one.kernel = 1;
    one.weight =
        state
            .Get(Join(p, s.one_conv) + ".weight", {out, in / b->groups, 1, 1},
                 "to match '" + dense_key + "' " + ShapeString(state.Get(dense_key).shape) +
                     " on a " + std::to_string(in) + "-channel input" +
                     (b->groups > 1 ? ", " + std::to_string(b->groups) + " groups" : ""))
            .data;
    one.bn = ReadBatchNorm(state, Join(p, s.one_bn), out, outputs);
    b->one_by_one = std::move(one);

    const bool identity_expected = b->in_channels == b->out_channels && b->stride == 1;
    const bool identity_present = HasAny(state, Join(p, s.identity));
    if (identity_present && !identity_expected) {
      throw ConvertError("block '" + p + "' has an identity branch but " +
                         (b->stride != 1 ? "stride " + std::to_string(b->stride)
                                         : std::to_string(b->in_channels) + " -> " +
                                               std::to_string(b->out_channels) + " channels") +
                         " cannot have one");
    }
    if (identity_expected && !identity_present) {
      throw ConvertError("missing key '" + Join(p, s.identity) + ".weight': block '" + p +
                         "' maps " + std::to_string(in) + " to " + std::to_string(out) +
                         " channels at stride 1, so it has an identity branch");
    }
    if (identity_expected) {
      b->identity = ReadBatchNorm(state, Join(p, s.identity), out, "the block's channels");
    }
  }
  if (HasAny(state, Join(p, s.se_down)) || HasAny(state, Join(p, s.se_up))) {
    const int64_t c = b->out_channels;
    const Tensor& down = state.Get(Join(p, s.se_down) + ".weight");
    if (down.shape.size() != 4 || down.shape[1] != c || down.shape[2] != 1 || down.shape[3] != 1 ||
        down.shape[0] <= 0 || down.shape[0] > c) {
      throw ConvertError("tensor '" + Join(p, s.se_down) + ".weight' has shape " +
                         ShapeString(down.shape) + ", expected [reduced, " + std::to_string(c) +
                         ", 1, 1] (the block's " + std::to_string(c) + " output channels)");
    }
    const int64_t r = down.shape[0];
    SqueezeExciteWeights se;
    se.reduced = static_cast<uint32_t>(r);
    const std::string why =
        "squeeze-excite of " + std::to_string(c) + " channels reduced to " + std::to_string(r);
    se.down_weight = state.Get(Join(p, s.se_down) + ".weight", {r, c, 1, 1}).data;
    se.down_bias = state.Get(Join(p, s.se_down) + ".bias", {r}, why).data;
    se.up_weight = state.Get(Join(p, s.se_up) + ".weight", {c, r, 1, 1}, why).data;
    se.up_bias = state.Get(Join(p, s.se_up) + ".bias", {c}, why).data;
    b->se = std::move(se);
  }
}

}  // namespace

size_t CountBlockKeys(const StateDict& state, const Scheme& scheme) {
  // Only the tensors that make a block a RepVGG block: its 3x3 conv or its
  // fused conv. Other networks share names like 'identity' (timm MobileOne).
  size_t n = 0;
  BlockRef ref;
  for (const auto& name : state.names()) {
    if (!scheme.match_block(name, &ref)) continue;
    const std::string rest = name.substr(ref.prefix.size() + 1);
    for (const char* part : {scheme.dense_conv, scheme.fused}) {
      if (rest == std::string(part) + ".weight") {
        ++n;
        break;
      }
    }
  }
  return n;
}

RepVGGNet ParseWithScheme(const StateDict& state, const Scheme& s) {
  // Blocks by (stage, index), from the keys.
  std::map<std::pair<uint32_t, uint32_t>, std::string> found;
  BlockRef ref;
  for (const auto& name : state.names()) {
    if (!s.match_block(name, &ref)) continue;
    auto [it, inserted] = found.emplace(std::make_pair(ref.stage, ref.index), ref.prefix);
    if (!inserted && it->second != ref.prefix) {
      throw ConvertError("blocks '" + it->second + "' and '" + ref.prefix + "' collide");
    }
  }
  if (found.empty()) throw ConvertError("no RepVGG blocks found");

  RepVGGNet net;
  net.scheme = s.name;
  uint32_t expect_stage = 0, expect_index = 0;
  for (const auto& [key, prefix] : found) {
    const auto [stage, index] = key;
    if (stage == expect_stage && index == expect_index) {
      ++expect_index;
    } else if (stage == expect_stage + 1 && index == 0 && expect_index > 0) {
      expect_stage = stage;
      expect_index = 1;
    } else {
      std::ostringstream msg;
      msg << "block '" << prefix << "' breaks the sequence of stages and blocks (expected stage "
          << expect_stage << " block " << expect_index << " or stage " << expect_stage + 1
          << " block 0)";
      throw ConvertError(msg.str());
    }
    if (stage == 0 && index > 0) {
      throw ConvertError("the stem (stage 0) must be a single block; found '" + prefix + "'");
    }
    Block b;
    b.name = prefix;
    b.stage = stage;
    b.stride = index == 0 ? 2 : 1;
    if (net.blocks.empty()) {
      // The stem is never grouped: its input channels are the weight's dim 1.
      const std::string wkey = HasAny(state, Join(prefix, s.fused))
                                   ? Join(prefix, s.fused) + ".weight"
                                   : Join(prefix, s.dense_conv) + ".weight";
      const Tensor& w = state.Get(wkey);
      if (w.shape.size() != 4 || w.shape[1] <= 0 || w.shape[1] > (1 << 16)) {
        throw ConvertError("tensor '" + wkey + "' has shape " + ShapeString(w.shape) +
                           ", expected [out, in, 3, 3]");
      }
      b.in_channels = static_cast<uint32_t>(w.shape[1]);
      net.in_channels = b.in_channels;
    } else {
      b.in_channels = net.blocks.back().out_channels;
    }
    ParseBlock(state, s, &b);
    net.blocks.push_back(std::move(b));
  }

  const int64_t features = net.blocks.back().out_channels;
  const Tensor& w = state.Get(std::string(s.classifier) + ".weight");
  if (w.shape.size() != 2 || w.shape[1] != features || w.shape[0] <= 0 || w.shape[0] > (1 << 20)) {
    throw ConvertError("tensor '" + std::string(s.classifier) + ".weight' has shape " +
                       ShapeString(w.shape) + ", expected [classes, " + std::to_string(features) +
                       "] (the last block '" + net.blocks.back().name + "' has " +
                       std::to_string(features) + " output channels)");
  }
  const int64_t classes = w.shape[0];
  net.classifier.in_features = static_cast<uint32_t>(features);
  net.classifier.out_features = static_cast<uint32_t>(classes);
  net.classifier.weight = state.Get(std::string(s.classifier) + ".weight", {classes, features}).data;
  net.classifier.bias =
      state
          .Get(std::string(s.classifier) + ".bias", {classes},
               std::to_string(classes) + " classes in '" + s.classifier + ".weight'")
          .data;

  // Everything else must have been read: a stray tensor means the network is
  // not the plain RepVGG this parser understands.
  for (const auto& name : state.names()) {
    const bool counter = name.size() >= 20 && name.compare(name.size() - 20, 20, "num_batches_tracked") == 0;
    if (!state.WasRead(name) && !counter) {
      throw ConvertError("unexpected tensor '" + ckpt::Printable(name, 120) +
                         "': not part of a RepVGG in the " + s.name +
                         " naming (stem, stages of blocks, classifier); is this another network?");
    }
  }
  return net;
}

}  // namespace rvgg::convert
