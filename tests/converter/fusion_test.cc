// Structural re-parameterization (converter/src/fusion.cc) against the
// float64 oracle in repvgg_oracle.h: each branch alone, all together, grouped
// and stride-2 blocks, BatchNorm eps, squeeze-excite placement, whole networks.
#include "converter/src/fusion.h"

#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "converter/src/error.h"
#include "tests/converter/repvgg_oracle.h"

namespace rvgg::convert {
namespace {

using test::BlockSpec;
using test::Image;

double Scale(const BatchNorm& bn, uint32_t c) {
  return bn.gamma[c] / std::sqrt(static_cast<double>(bn.var[c]) + 1e-5);
}
double Shift(const BatchNorm& bn, uint32_t c) { return bn.beta[c] - bn.mean[c] * Scale(bn, c); }

// The fused kernel applied by the oracle equals the block's branches, in float64.
double MaxFusedVsBranches(const Block& b, uint32_t h, uint32_t w, uint32_t seed) {
  std::mt19937 rng(seed);
  const Image x = test::MakeImage(b.in_channels, h, w, &rng);
  std::vector<double> k, bias;
  FuseBlock(b, &k, &bias);
  Image fused = test::Conv(x, k, b.out_channels, 3, b.stride, 1, b.groups);
  for (uint32_t c = 0; c < fused.c; ++c)
    for (uint32_t p = 0; p < fused.h * fused.w; ++p)
      fused.v[size_t{c} * fused.h * fused.w + p] += bias[c];
  const Image branches = test::BlockPreActivation(b, x);
  REQUIRE(fused.v.size() == branches.v.size());
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < fused.v.size(); ++i) {
    diff = std::max(diff, std::fabs(fused.v[i] - branches.v[i]));
    scale = std::max(scale, std::fabs(branches.v[i]));
  }
  REQUIRE(scale > 0.1);  // the branch under test does something
  return diff;
}

// A block with only `keep` switched on ("dense", "1x1", "identity").
Block OnlyBranch(BlockSpec spec, const std::string& keep, std::mt19937* rng) {
  Block b = test::RandomBlock(spec, rng);
  if (keep != "dense") b.dense->bn = test::ZeroBn(spec.out, rng);
  if (keep != "1x1") b.one_by_one->bn = test::ZeroBn(spec.out, rng);
  if (keep != "identity" && b.identity) b.identity = test::ZeroBn(spec.out, rng);
  return b;
}

TEST_CASE("fusion: 3x3 + BN alone is the kernel times gamma/std and the folded shift") {
  std::mt19937 rng(1);
  const Block b = OnlyBranch({8, 8, 1, 1}, "dense", &rng);
  std::vector<double> k, bias;
  FuseBlock(b, &k, &bias);
  REQUIRE(k.size() == 8 * 8 * 9);
  for (uint32_t o = 0; o < 8; ++o) {
    for (size_t j = 0; j < 8 * 9; ++j) {
      CHECK(k[o * 72 + j] ==
            doctest::Approx(b.dense->weight[o * 72 + j] * Scale(b.dense->bn, o)).epsilon(1e-12));
    }
    CHECK(bias[o] == doctest::Approx(Shift(b.dense->bn, o)).epsilon(1e-12));
  }
  CHECK(MaxFusedVsBranches(b, 9, 7, 2) < 1e-12);
}

TEST_CASE("fusion: 1x1 + BN alone lands at the centre of the 3x3 kernel, zeros elsewhere") {
  std::mt19937 rng(3);
  const Block b = OnlyBranch({8, 8, 1, 1}, "1x1", &rng);
  std::vector<double> k, bias;
  FuseBlock(b, &k, &bias);
  for (uint32_t o = 0; o < 8; ++o) {
    for (uint32_t i = 0; i < 8; ++i) {
      for (uint32_t t = 0; t < 9; ++t) {
        const double want =
            t == 4 ? b.one_by_one->weight[o * 8 + i] * Scale(b.one_by_one->bn, o) : 0.0;
        CHECK(k[(o * 8 + i) * 9 + t] == doctest::Approx(want).epsilon(1e-12));
      }
    }
    CHECK(bias[o] == doctest::Approx(Shift(b.one_by_one->bn, o)).epsilon(1e-12));
  }
  CHECK(MaxFusedVsBranches(b, 6, 10, 4) < 1e-12);
}

TEST_CASE(
    "fusion: identity alone is k[o, o % (in/groups), 1, 1] = gamma/std, for 1, 2 and 4 groups") {
  for (uint32_t groups : {1u, 2u, 4u}) {
    CAPTURE(groups);
    std::mt19937 rng(5 + groups);
    const Block b = OnlyBranch({8, 8, 1, groups}, "identity", &rng);
    REQUIRE(b.identity.has_value());
    std::vector<double> k, bias;
    FuseBlock(b, &k, &bias);
    const uint32_t gin = 8 / groups;
    REQUIRE(k.size() == size_t{8} * gin * 9);
    for (uint32_t o = 0; o < 8; ++o) {
      for (uint32_t i = 0; i < gin; ++i) {
        for (uint32_t t = 0; t < 9; ++t) {
          const double want = (t == 4 && i == o % gin) ? Scale(*b.identity, o) : 0.0;
          CHECK(k[(o * gin + i) * 9 + t] == doctest::Approx(want).epsilon(1e-12));
        }
      }
      CHECK(bias[o] == doctest::Approx(Shift(*b.identity, o)).epsilon(1e-12));
    }
    CHECK(MaxFusedVsBranches(b, 5, 5, 6) < 1e-12);
  }
}

TEST_CASE("fusion: all three branches together, plain and grouped") {
  for (uint32_t groups : {1u, 2u, 4u, 8u}) {
    CAPTURE(groups);
    std::mt19937 rng(20 + groups);
    const Block b = test::RandomBlock({8, 8, 1, groups}, &rng);
    REQUIRE(b.identity.has_value());
    CHECK(MaxFusedVsBranches(b, 7, 6, 21) < 1e-12);
  }
  // Wider groups (16 channels, 4 groups of 4 inputs): identity index o % 4.
  std::mt19937 rng(30);
  CHECK(MaxFusedVsBranches(test::RandomBlock({16, 16, 1, 4}, &rng), 5, 5, 31) < 1e-12);
}

TEST_CASE("fusion: the identity column uses o % (in/groups), not o") {
  // Taking k[o, o, 1, 1] would index past the group's inputs; placing it at
  // column 0 would be wrong for every o % gin != 0. Both differ from the branches.
  std::mt19937 rng(40);
  Block b = OnlyBranch({8, 8, 1, 4}, "identity", &rng);
  std::vector<double> k, bias;
  FuseBlock(b, &k, &bias);
  const uint32_t gin = 2;
  std::vector<double> wrong(k.size(), 0.0);
  for (uint32_t o = 0; o < 8; ++o) wrong[(o * gin + 0) * 9 + 4] = Scale(*b.identity, o);
  CHECK(wrong != k);
  Image x;
  std::mt19937 r2(41);
  x = test::MakeImage(8, 4, 4, &r2);
  const Image good = test::Conv(x, k, 8, 3, 1, 1, 4);
  const Image bad = test::Conv(x, wrong, 8, 3, 1, 1, 4);
  double d = 0.0;
  for (size_t i = 0; i < good.v.size(); ++i) d = std::max(d, std::fabs(good.v[i] - bad.v[i]));
  CHECK(d > 0.1);
}

TEST_CASE("fusion: stride-2 blocks have no identity and fuse 3x3 + 1x1 with the same stride") {
  for (uint32_t groups : {1u, 2u}) {
    CAPTURE(groups);
    std::mt19937 rng(50 + groups);
    const Block b = test::RandomBlock({4, 8, 2, groups}, &rng);
    CHECK_FALSE(b.identity.has_value());
    CHECK(MaxFusedVsBranches(b, 9, 8, 51) < 1e-12);  // odd and even sizes
    CHECK(MaxFusedVsBranches(b, 8, 9, 52) < 1e-12);
  }
}

TEST_CASE("fusion: BatchNorm eps is 1e-5") {
  CHECK(kBatchNormEps == 1e-5);
  std::mt19937 rng(60);
  Block b = OnlyBranch({4, 4, 1, 1}, "identity", &rng);
  CHECK(b.identity->eps == 1e-5);
  // A small variance makes eps visible: 1 / sqrt(1e-4 + 1e-5), not 1 / sqrt(1e-4 + 1e-3).
  b.identity->var.assign(4, 1e-4f);
  b.identity->gamma.assign(4, 1.0f);
  std::vector<double> k, bias;
  FuseBlock(b, &k, &bias);
  CHECK(k[4] == doctest::Approx(1.0 / std::sqrt(static_cast<double>(1e-4f) + 1e-5)).epsilon(1e-12));
  // A zero variance is fine: scale gamma / sqrt(eps).
  b.identity->var.assign(4, 0.0f);
  FuseBlock(b, &k, &bias);
  CHECK(k[4] == doctest::Approx(1.0 / std::sqrt(1e-5)).epsilon(1e-12));
}

TEST_CASE("fusion: a fused value beyond float32 is refused, naming the block") {
  std::mt19937 rng(65);
  RepVGGNet net;
  net.in_channels = 4;
  net.blocks.push_back(test::RandomBlock({4, 4, 1, 1}, &rng, "stage1.1"));
  net.blocks[0].identity->gamma[2] = 1e38f;
  net.blocks[0].identity->var[2] = 0.0f;  // scale 1e38 / sqrt(1e-5) > FLT_MAX
  net.classifier.in_features = 4;
  net.classifier.out_features = 1;
  net.classifier.weight = {1, 1, 1, 1};
  net.classifier.bias = {0};
  try {
    Fuse(net);
    FAIL("no error");
  } catch (const ConvertError& e) {
    CHECK(std::string(e.what()).find("block 'stage1.1': fused kernel value") == 0);
    CHECK(std::string(e.what()).find("does not fit float32") != std::string::npos);
  }
}

TEST_CASE("fusion: an already fused block passes through unchanged") {
  std::mt19937 rng(70);
  const Block b = test::RandomBlock({8, 8, 1, 2, false, true}, &rng);
  std::vector<double> k, bias;
  FuseBlock(b, &k, &bias);
  for (size_t i = 0; i < k.size(); ++i) CHECK(k[i] == b.fused->weight[i]);
  for (size_t i = 0; i < bias.size(); ++i) CHECK(bias[i] == b.fused->bias[i]);
}

TEST_CASE("fusion: ToOhwi moves OIHW element [o][i][y][x] to [o][y][x][i]") {
  std::vector<float> oihw(2 * 3 * 3 * 3);
  for (size_t i = 0; i < oihw.size(); ++i) oihw[i] = static_cast<float>(i);
  const std::vector<float> ohwi = ToOhwi(oihw, 2, 3, 3, 3);
  for (uint32_t o = 0; o < 2; ++o)
    for (uint32_t i = 0; i < 3; ++i)
      for (uint32_t y = 0; y < 3; ++y)
        for (uint32_t x = 0; x < 3; ++x)
          CHECK(ohwi[((o * 3 + y) * 3 + x) * 3 + i] == oihw[((o * 3 + i) * 3 + y) * 3 + x]);
}

RepVGGNet SmallNet(bool se, std::mt19937* rng) {
  RepVGGNet net;
  net.in_channels = 3;
  const std::vector<BlockSpec> specs = {{3, 8, 2, 1, se, false},   {8, 16, 2, 1, se, false},
                                        {16, 16, 1, 2, se, false}, {16, 16, 1, 1, se, true},
                                        {16, 16, 1, 4, se, false}, {16, 24, 2, 1, se, false}};
  uint32_t stage = 0, index = 0;
  for (const BlockSpec& s : specs) {
    if (s.stride == 2 && !net.blocks.empty()) ++stage, index = 0;
    Block b =
        test::RandomBlock(s, rng, "stage" + std::to_string(stage) + "." + std::to_string(index++));
    b.stage = stage;
    net.blocks.push_back(std::move(b));
  }
  net.classifier.in_features = 24;
  net.classifier.out_features = 5;
  net.classifier.weight = test::RandomVector(5 * 24, -0.5, 0.5, rng);
  net.classifier.bias = test::RandomVector(5, -0.2, 0.2, rng);
  return net;
}

TEST_CASE("fusion: squeeze-excite follows the fused conv, and the ReLU moves after it") {
  std::mt19937 rng(80);
  const RepVGGNet net = SmallNet(true, &rng);
  const FusedNet fused = Fuse(net);
  REQUIRE(fused.layers.size() == 2 * net.blocks.size() + 2);
  for (size_t i = 0; i < net.blocks.size(); ++i) {
    const FusedLayer& conv = fused.layers[2 * i];
    const FusedLayer& se = fused.layers[2 * i + 1];
    CHECK(conv.type == RVGG_LAYER_CONV2D);
    CHECK_FALSE(conv.relu);  // relu(se(conv(x))): no ReLU between them
    CHECK(se.type == RVGG_LAYER_SQUEEZE_EXCITE);
    CHECK(se.relu);
    CHECK(se.in_channels == net.blocks[i].out_channels);
    CHECK(se.se.reduced == net.blocks[i].se->reduced);
    CHECK(se.name == net.blocks[i].name + ".se");
  }
  CHECK(fused.layers[fused.layers.size() - 2].type == RVGG_LAYER_GLOBAL_AVERAGE_POOL);
  CHECK(fused.layers.back().type == RVGG_LAYER_FULLY_CONNECTED);

  const RepVGGNet plain = SmallNet(false, &rng);
  const FusedNet plain_fused = Fuse(plain);
  REQUIRE(plain_fused.layers.size() == plain.blocks.size() + 2);
  for (size_t i = 0; i < plain.blocks.size(); ++i) {
    CHECK(plain_fused.layers[i].type == RVGG_LAYER_CONV2D);
    CHECK(plain_fused.layers[i].relu);
    CHECK(plain_fused.layers[i].groups == plain.blocks[i].groups);
    CHECK(plain_fused.layers[i].stride == plain.blocks[i].stride);
  }
}

TEST_CASE(
    "fusion: whole networks (grouped, stride 2, SE, one block pre-fused) match the float64 "
    "oracle") {
  for (bool se : {false, true}) {
    CAPTURE(se);
    std::mt19937 rng(90 + se);
    const RepVGGNet net = SmallNet(se, &rng);
    const FusedNet fused = Fuse(net);
    for (auto [h, w] : {std::pair<uint32_t, uint32_t>{16, 16}, {13, 22}}) {
      CAPTURE(h);
      CAPTURE(w);
      const Image x = test::MakeImage(3, h, w, &rng);
      const std::vector<double> want = test::NetForward(net, x);
      const std::vector<float> got_fused = RunFused(fused, h, w, test::ToNhwc(x));
      const std::vector<float> got_branches = RunMultiBranch(net, h, w, test::ToNhwc(x));
      REQUIRE(got_fused.size() == want.size());
      double scale = 0.0;
      for (double v : want) scale = std::max(scale, std::fabs(v));
      REQUIRE(scale > 0.1);
      for (size_t i = 0; i < want.size(); ++i) {
        CHECK(std::fabs(got_fused[i] - want[i]) < 1e-5 * std::max(1.0, scale));
        CHECK(std::fabs(got_branches[i] - want[i]) < 1e-5 * std::max(1.0, scale));
      }
      const FusionCheck check = CheckFusion(net, fused, h, w, 7);
      CHECK(check.max_abs_diff < 1e-5 * std::max(1.0, check.max_abs_logit));
      CHECK(check.max_abs_logit > 0.0);
    }
  }
}

TEST_CASE("fusion: the proof notices a wrong fusion") {
  std::mt19937 rng(100);
  const RepVGGNet net = SmallNet(false, &rng);
  FusedNet fused = Fuse(net);
  // One channel's bias off by 0.5 in a middle block.
  FusedNet broken = fused;
  const FusionCheck ok = CheckFusion(net, fused, 16, 16, 3);
  broken.layers[4].bias[3] += 0.5f;
  const FusionCheck bad = CheckFusion(net, broken, 16, 16, 3);
  CHECK(ok.max_abs_diff < 1e-5);
  CHECK(bad.max_abs_diff > 1e-3);
}

}  // namespace
}  // namespace rvgg::convert
