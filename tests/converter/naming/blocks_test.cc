// Architecture from names and shapes (converter/src/naming/blocks.cc,
// detect.cc, schemes.cc): the three naming schemes, train/deploy/mixed,
// groups from shapes, where identity branches must be, sequence errors and the
// messages users get for checkpoints that are not what they should be.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "converter/src/error.h"
#include "converter/src/naming/naming.h"
#include "tests/converter/naming/checkpoint_builder.h"

namespace rvgg::convert {
namespace {

using test::CheckpointBuilder;
using test::KeyNames;
using test::NetSpec;

RepVGGNet Parse(const CheckpointBuilder& b, std::string* description = nullptr) {
  const Checkpoint ck = b.AsCheckpoint();
  const StateDict state = ExtractStateDict(ck, "", nullptr);
  std::string d;
  RepVGGNet net = ParseRepVGG(state, &d);
  if (description) *description = d;
  return net;
}

std::string ParseError(const CheckpointBuilder& b) {
  try {
    Parse(b);
  } catch (const ConvertError& e) {
    return e.what();
  }
  FAIL("no ConvertError");
  return "";
}

void CheckNet(const RepVGGNet& net, const NetSpec& s, const KeyNames& n) {
  size_t total = 0;
  for (uint32_t c : s.blocks) total += c;
  REQUIRE(net.blocks.size() == total);
  CHECK(net.in_channels == s.in_channels);
  CHECK(net.num_stages() == s.blocks.size());
  uint32_t in = s.in_channels, global = 0;
  for (uint32_t stage = 0; stage < s.blocks.size(); ++stage) {
    for (uint32_t i = 0; i < s.blocks[stage]; ++i, ++global) {
      const Block& b = net.blocks[global];
      CAPTURE(b.name);
      CHECK(b.name == n.Block(stage, i));
      CHECK(b.stage == stage);
      CHECK(b.in_channels == in);
      CHECK(b.out_channels == s.widths[stage]);
      CHECK(b.stride == (i == 0 ? 2u : 1u));
      CHECK(b.groups == (s.groups.count(global) ? s.groups.at(global) : 1u));
      CHECK(b.fused.has_value() == (s.fused.count(global) != 0));
      if (!b.fused) {
        CHECK(b.dense.has_value());
        CHECK(b.one_by_one.has_value());
        CHECK(b.identity.has_value() == (in == s.widths[stage] && i > 0));
      }
      CHECK(b.se.has_value() == s.se);
      in = s.widths[stage];
    }
  }
  CHECK(net.classifier.in_features == in);
  CHECK(net.classifier.out_features == s.classes);
}

TEST_CASE(
    "naming: official, timm and MMPretrain train-time checkpoints parse to the same network") {
  NetSpec spec;
  spec.groups = {{3, 2}};
  const std::pair<const KeyNames*, std::string> schemes[] = {
      {&test::OfficialNames(), "official"},
      {&test::TimmNames(), "timm"},
      {&test::MmpretrainNames(), "MMPretrain"}};
  for (const auto& [names, scheme] : schemes) {
    CAPTURE(scheme);
    CheckpointBuilder b;
    b.AddNet(*names, spec);
    std::string description;
    const RepVGGNet net = Parse(b, &description);
    CHECK(description == scheme + " train-time");
    CHECK(net.scheme == scheme);
    CheckNet(net, spec, *names);
  }
}

TEST_CASE(
    "naming: tensors land in the right fields (BN weight/bias/mean/var, convs, SE, classifier)") {
  NetSpec spec;
  spec.se = true;
  CheckpointBuilder b;
  b.AddNet(test::OfficialNames(), spec);
  const RepVGGNet net = Parse(b);
  const Block& blk = net.blocks[3];  // stage2.1: all three branches
  REQUIRE(blk.identity.has_value());
  CHECK(blk.dense->weight == b.At("stage2.1.rbr_dense.conv.weight").data);
  CHECK(blk.dense->bn.gamma == b.At("stage2.1.rbr_dense.bn.weight").data);
  CHECK(blk.dense->bn.beta == b.At("stage2.1.rbr_dense.bn.bias").data);
  CHECK(blk.dense->bn.mean == b.At("stage2.1.rbr_dense.bn.running_mean").data);
  CHECK(blk.dense->bn.var == b.At("stage2.1.rbr_dense.bn.running_var").data);
  CHECK(blk.one_by_one->weight == b.At("stage2.1.rbr_1x1.conv.weight").data);
  CHECK(blk.one_by_one->bn.var == b.At("stage2.1.rbr_1x1.bn.running_var").data);
  CHECK(blk.identity->gamma == b.At("stage2.1.rbr_identity.weight").data);
  CHECK(blk.identity->mean == b.At("stage2.1.rbr_identity.running_mean").data);
  CHECK(blk.se->reduced == 4);
  CHECK(blk.se->down_weight == b.At("stage2.1.se.down.weight").data);
  CHECK(blk.se->up_bias == b.At("stage2.1.se.up.bias").data);
  CHECK(net.classifier.weight == b.At("linear.weight").data);
  CHECK(net.classifier.bias == b.At("linear.bias").data);
}

TEST_CASE("naming: deploy and mixed checkpoints in every scheme") {
  for (const KeyNames* names :
       {&test::OfficialNames(), &test::TimmNames(), &test::MmpretrainNames()}) {
    CAPTURE(names->stem);
    NetSpec spec;
    spec.fused = {0, 1, 2, 3, 4, 5, 6};
    CheckpointBuilder deploy;
    deploy.AddNet(*names, spec);
    std::string description;
    RepVGGNet net = Parse(deploy, &description);
    CHECK(description.size() > 7);
    CHECK(description.substr(description.size() - 7) == " deploy");
    CheckNet(net, spec, *names);
    CHECK(net.num_fused_blocks() == 7);

    spec.fused = {0, 3, 6};
    spec.se = true;
    CheckpointBuilder mixed;
    mixed.AddNet(*names, spec);
    net = Parse(mixed, &description);
    CHECK(description.find(" mixed train/deploy") != std::string::npos);
    CheckNet(net, spec, *names);
    CHECK(net.num_fused_blocks() == 3);
  }
}

TEST_CASE("naming: groups come from in_channels / weight.shape[1]") {
  NetSpec spec;
  spec.blocks = {1, 1, 4, 1, 1};
  spec.widths = {8, 16, 16, 16, 32};
  spec.groups = {{2, 2}, {3, 4}, {4, 16}};  // stage2.0 .. stage2.2
  CheckpointBuilder b;
  b.AddNet(test::OfficialNames(), spec);
  const RepVGGNet net = Parse(b);
  CHECK(net.blocks[2].groups == 2);
  CHECK(net.blocks[3].groups == 4);
  CHECK(net.blocks[4].groups == 16);
  CHECK(net.blocks[5].groups == 1);
  CheckNet(net, spec, test::OfficialNames());

  SUBCASE("a 1x1 weight of another grouping is named with the 3x3 it contradicts") {
    b.Add("stage2.1.rbr_1x1.conv.weight", {16, 16, 1, 1});
    const std::string e = ParseError(b);
    CHECK(e.find("tensor 'stage2.1.rbr_1x1.conv.weight' has shape [16, 16, 1, 1], expected [16, 4, "
                 "1, 1]") == 0);
    CHECK(e.find("'stage2.1.rbr_dense.conv.weight' [16, 4, 3, 3]") != std::string::npos);
    CHECK(e.find("4 groups") != std::string::npos);
  }
  SUBCASE("groups that do not divide the input are refused") {
    b.Add("stage2.2.rbr_dense.conv.weight", {16, 3, 3, 3});
    const std::string e = ParseError(b);
    CHECK(e.find("tensor 'stage2.2.rbr_dense.conv.weight' has shape [16, 3, 3, 3]") == 0);
    CHECK(e.find("16 channels, not a multiple of 3") != std::string::npos);
  }
}

TEST_CASE("naming: an identity branch exists iff in == out and stride 1") {
  NetSpec spec;
  SUBCASE("missing where expected: names the first missing key") {
    CheckpointBuilder b;
    b.AddNet(test::OfficialNames(), spec);
    b.RemovePrefix("stage3.1.rbr_identity.");
    const std::string e = ParseError(b);
    CHECK(e.find("missing key 'stage3.1.rbr_identity.weight'") == 0);
    CHECK(e.find("16 to 16 channels at stride 1") != std::string::npos);
  }
  SUBCASE("partly missing") {
    CheckpointBuilder b;
    b.AddNet(test::TimmNames(), spec);
    b.Remove("stages.2.1.identity.running_var");
    CHECK(ParseError(b) == "missing key 'stages.2.1.identity.running_var'");
  }
  SUBCASE("present on a stride-2 block") {
    CheckpointBuilder b;
    b.AddNet(test::MmpretrainNames(), spec);
    b.AddBn("backbone.stage_3.0.branch_norm", 16);
    CHECK(ParseError(b) ==
          "block 'backbone.stage_3.0' has an identity branch but stride 2 cannot have one");
  }
  SUBCASE("present on the stem") {
    CheckpointBuilder b;
    b.AddNet(test::OfficialNames(), spec);
    b.AddBn("stage0.rbr_identity", 8);
    CHECK(ParseError(b).find("block 'stage0' has an identity branch but stride 2") == 0);
  }
}

TEST_CASE("naming: blocks must form stem, then stages of consecutive blocks") {
  NetSpec spec;
  SUBCASE("no stem") {
    CheckpointBuilder b;
    b.AddNet(test::OfficialNames(), spec);
    b.RemovePrefix("stage0.");
    CHECK(ParseError(b).find(
              "block 'stage1.0' breaks the sequence of stages and blocks (expected stage 0 "
              "block 0") == 0);
  }
  SUBCASE("a block missing inside a stage") {
    CheckpointBuilder b;
    b.AddNet(test::TimmNames(), spec);
    b.Rename("stages.1.1.", "stages.1.2.");
    CHECK(
        ParseError(b) ==
        "block 'stages.1.2' breaks the sequence of stages and blocks (expected stage 2 block 1 or "
        "stage 3 block 0)");
  }
  SUBCASE("a stage missing") {
    CheckpointBuilder b;
    b.AddNet(test::MmpretrainNames(), spec);
    b.Rename("backbone.stage_4.", "backbone.stage_5.");
    b.Rename("backbone.stage_3.", "backbone.stage_4.");
    const std::string e = ParseError(b);
    CHECK(e.find("block 'backbone.stage_4.0' breaks the sequence") == 0);
    CHECK(e.find("expected stage 2 block 2 or stage 3 block 0") != std::string::npos);
  }
  SUBCASE("a stage starting at block 1") {
    CheckpointBuilder b;
    b.AddNet(test::OfficialNames(), spec);
    b.Rename("stage4.0.", "stage4.1.");
    CHECK(ParseError(b).find("block 'stage4.1' breaks the sequence") == 0);
  }
}

TEST_CASE("naming: shape errors name the tensor, the shape found and the shape expected") {
  NetSpec spec;
  CheckpointBuilder b;
  b.AddNet(test::OfficialNames(), spec);
  SUBCASE("BatchNorm") {
    b.Add("stage2.1.rbr_1x1.bn.running_mean", {15});
    CHECK(ParseError(b) ==
          "tensor 'stage2.1.rbr_1x1.bn.running_mean' has shape [15], expected [16] (the output "
          "channels "
          "of 'stage2.1.rbr_dense.conv.weight' [16, 16, 3, 3])");
  }
  SUBCASE("3x3 kernel of another size") {
    b.Add("stage1.0.rbr_dense.conv.weight", {8, 8, 5, 5});
    CHECK(ParseError(b) ==
          "tensor 'stage1.0.rbr_dense.conv.weight' has shape [8, 8, 5, 5], expected [out, "
          "in/groups, 3, 3]");
  }
  SUBCASE("fused bias") {
    CheckpointBuilder d;
    NetSpec ds;
    ds.fused = {2};
    d.AddNet(test::OfficialNames(), ds);
    d.Add("stage2.0.rbr_reparam.bias", {8});
    CHECK(ParseError(d) ==
          "tensor 'stage2.0.rbr_reparam.bias' has shape [8], expected [16] (the output channels of "
          "'stage2.0.rbr_reparam.weight' [16, 8, 3, 3])");
  }
  SUBCASE("classifier") {
    b.Add("linear.weight", {10, 16});
    CHECK(ParseError(b) ==
          "tensor 'linear.weight' has shape [10, 16], expected [classes, 32] (the last block "
          "'stage4.0' has "
          "32 output channels)");
  }
  SUBCASE("classifier bias") {
    b.Add("linear.bias", {1000});
    CHECK(ParseError(b) ==
          "tensor 'linear.bias' has shape [1000], expected [10] (10 classes in 'linear.weight')");
  }
  SUBCASE("squeeze-excite") {
    CheckpointBuilder s;
    NetSpec ss;
    ss.se = true;
    s.AddNet(test::OfficialNames(), ss);
    s.Add("stage3.0.se.up.weight", {16, 3, 1, 1});
    CHECK(ParseError(s) ==
          "tensor 'stage3.0.se.up.weight' has shape [16, 3, 1, 1], expected [16, 4, 1, 1] "
          "(squeeze-excite of 16 channels reduced to 4)");
  }
}

TEST_CASE("naming: NaN and Inf are refused with the tensor and the index") {
  NetSpec spec;
  CheckpointBuilder b;
  b.AddNet(test::OfficialNames(), spec);
  b.At("stage3.0.rbr_dense.conv.weight").data[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK(ParseError(b) == "tensor 'stage3.0.rbr_dense.conv.weight' contains NaN at flat index 5");
  b.At("stage3.0.rbr_dense.conv.weight").data[5] = 0.0f;
  b.At("stage1.0.rbr_1x1.bn.running_var").data[2] = -std::numeric_limits<float>::infinity();
  CHECK(ParseError(b) == "tensor 'stage1.0.rbr_1x1.bn.running_var' contains Inf at flat index 2");
}

TEST_CASE("naming: other networks are recognized as such") {
  SUBCASE("a ResNet state dict") {
    CheckpointBuilder b;
    b.Add("conv1.weight", {64, 3, 7, 7});
    b.AddBn("bn1", 64);
    b.Add("layer1.0.conv1.weight", {64, 64, 3, 3});
    b.Add("fc.weight", {1000, 512});
    const std::string e = ParseError(b);
    CHECK(e.find("not a RepVGG checkpoint") == 0);
    CHECK(e.find("found e.g. 'conv1.weight', 'bn1.weight'") != std::string::npos);
  }
  SUBCASE("timm MobileOne (shares 'stem', 'stages' and 'identity' with RepVGG)") {
    CheckpointBuilder b;
    b.Add("stem.conv_kxk.0.conv.weight", {48, 3, 3, 3});
    b.AddBn("stem.conv_kxk.0.bn", 48);
    b.Add("stem.conv_scale.conv.weight", {48, 3, 1, 1});
    b.AddBn("stages.0.0.identity", 48);
    b.Add("stages.0.0.conv_kxk.0.conv.weight", {48, 1, 3, 3});
    b.Add("head.fc.weight", {1000, 1024});
    CHECK(ParseError(b).find("not a RepVGG checkpoint") == 0);
  }
  SUBCASE("a RepVGG with extra layers") {
    CheckpointBuilder b;
    b.AddNet(test::OfficialNames(), NetSpec());
    b.Add("stage2.1.rbr_dense.extra.weight", {4});
    CHECK(ParseError(b) ==
          "unexpected tensor 'stage2.1.rbr_dense.extra.weight': not part of a RepVGG in the "
          "official naming (stem, stages of blocks, classifier); is this another network?");
  }
  SUBCASE("a block with both fused and branch tensors") {
    CheckpointBuilder b;
    b.AddNet(test::TimmNames(), NetSpec());
    b.Add("stages.1.1.reparam_conv.weight", {16, 16, 3, 3});
    b.Add("stages.1.1.reparam_conv.bias", {16});
    CHECK(ParseError(b) ==
          "block 'stages.1.1' has both 'reparam_conv' and 'conv_kxk.conv' tensors; expected one "
          "or the other");
  }
  SUBCASE("an empty state dict") {
    CheckpointBuilder b;
    b.Add("something", {1});
    CHECK(ParseError(b).find("not a RepVGG checkpoint") == 0);
  }
}

TEST_CASE("naming: block names are matched exactly, and absurd keys cannot crash the parser") {
  CheckpointBuilder b;
  b.AddNet(test::OfficialNames(), NetSpec());
  SUBCASE("a million-digit block index") {
    b.Add("stage1." + std::string(1000000, '1') + ".rbr_dense.conv.weight", {1});
    const std::string e = ParseError(b);
    CHECK(e.find("unexpected tensor 'stage1.1111") == 0);
    CHECK(e.size() < 400);  // the key is shortened in the message
  }
  SUBCASE("leading zeros are not the same block") {
    b.Add("stage01.0.rbr_dense.conv.weight", {1});
    CHECK(ParseError(b).find("unexpected tensor 'stage01.0.rbr_dense.conv.weight'") == 0);
  }
  SUBCASE("num_batches_tracked may be absent") {
    for (const char* n :
         {"stage0.rbr_dense.bn.num_batches_tracked", "stage3.1.rbr_identity.num_batches_tracked"})
      b.Remove(n);
    CHECK(Parse(b).blocks.size() == 7);
  }
}

}  // namespace
}  // namespace rvgg::convert
