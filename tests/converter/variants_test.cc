// The official variant table and IdentifyVariant (converter/src/variants.cc):
// every official variant is recognized from its shapes, in any deploy form,
// and anything else is "custom".
#include "converter/src/variants.h"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>

#include "converter/src/error.h"
#include "converter/src/fusion.h"
#include "tests/converter/repvgg_oracle.h"

namespace rvgg::convert {
namespace {

// Deploy parameters: fused convs (weights + biases) and the classifier.
uint64_t DeployParameters(const RepVGGNet& net) {
  uint64_t n = 0;
  for (const Block& b : net.blocks) {
    n += uint64_t{b.out_channels} * (b.in_channels / b.groups) * 9 + b.out_channels;
    if (b.se) n += 2ull * b.se->reduced * b.out_channels + b.se->reduced + b.out_channels;
  }
  return n + uint64_t{net.classifier.in_features} * net.classifier.out_features +
         net.classifier.out_features;
}

// A network of `spec`'s shapes without weights: IdentifyVariant looks at
// shapes only, and the big variants' weights would cost seconds to draw.
RepVGGNet ShapeNet(const VariantSpec& spec, uint32_t in_channels = 3, uint32_t classes = 1000) {
  RepVGGNet net;
  net.in_channels = in_channels;
  uint32_t in = in_channels, global = 0;
  for (uint32_t stage = 0; stage < spec.blocks.size(); ++stage) {
    for (uint32_t i = 0; i < spec.blocks[stage]; ++i, ++global) {
      Block b;
      b.name = "stage" + std::to_string(stage) + "." + std::to_string(i);
      b.stage = stage;
      b.in_channels = in;
      b.out_channels = spec.widths[stage];
      b.stride = i == 0 ? 2 : 1;
      b.groups = spec.groups[global];
      b.fused = FusedKernel{};
      if (spec.se) {
        b.se = SqueezeExciteWeights{};
        b.se->reduced = b.out_channels / 16;
      }
      in = b.out_channels;
      net.blocks.push_back(std::move(b));
    }
  }
  net.classifier.in_features = in;
  net.classifier.out_features = classes;
  return net;
}

// The same block as train-time branches (shapes only).
Block Unfused(const Block& fused) {
  Block b = fused;
  b.fused.reset();
  b.dense = ConvBn{};
  b.one_by_one = ConvBn{};
  if (b.in_channels == b.out_channels && b.stride == 1) b.identity = BatchNorm{};
  return b;
}

TEST_CASE("variants: the table is the paper's (blocks, widths, groups, deploy parameter counts)") {
  // /work/shared/REFERENCE.md: widths s0..s4 and deploy parameter counts (M).
  const std::map<std::string, std::pair<std::vector<uint32_t>, double>> paper = {
      {"RepVGG-A0", {{48, 48, 96, 192, 1280}, 8.30}},
      {"RepVGG-A1", {{64, 64, 128, 256, 1280}, 12.78}},
      {"RepVGG-A2", {{64, 96, 192, 384, 1408}, 25.49}},
      {"RepVGG-B0", {{64, 64, 128, 256, 1280}, 14.33}},
      {"RepVGG-B1", {{64, 128, 256, 512, 2048}, 51.82}},
      {"RepVGG-B1g2", {{64, 128, 256, 512, 2048}, 41.36}},
      {"RepVGG-B1g4", {{64, 128, 256, 512, 2048}, 36.12}},
      {"RepVGG-B2", {{64, 160, 320, 640, 2560}, 80.31}},
      {"RepVGG-B2g2", {{64, 160, 320, 640, 2560}, 0}},
      {"RepVGG-B2g4", {{64, 160, 320, 640, 2560}, 55.77}},
      {"RepVGG-B3", {{64, 192, 384, 768, 2560}, 110.96}},
      {"RepVGG-B3g2", {{64, 192, 384, 768, 2560}, 0}},
      {"RepVGG-B3g4", {{64, 192, 384, 768, 2560}, 75.62}},
      {"RepVGG-D2se", {{64, 160, 320, 640, 2560}, 0}},
  };
  REQUIRE(OfficialVariants().size() == paper.size());
  for (const VariantSpec& v : OfficialVariants()) {
    CAPTURE(v.name);
    REQUIRE(paper.count(v.name) == 1);
    const auto& [widths, params_m] = paper.at(v.name);
    CHECK(v.widths == widths);
    const char family = v.name[7];
    const std::vector<uint32_t> blocks = family == 'A'   ? std::vector<uint32_t>{1, 2, 4, 14, 1}
                                         : family == 'B' ? std::vector<uint32_t>{1, 4, 6, 16, 1}
                                                         : std::vector<uint32_t>{1, 8, 14, 24, 1};
    CHECK(v.blocks == blocks);
    CHECK(v.se == (v.name == "RepVGG-D2se"));
    const uint32_t g = v.name.find("g2") != std::string::npos   ? 2
                       : v.name.find("g4") != std::string::npos ? 4
                                                                : 1;
    for (size_t i = 0; i < v.groups.size(); ++i) {
      CAPTURE(i);
      CHECK(v.groups[i] == ((g > 1 && i % 2 == 0 && i >= 2 && i <= 26) ? g : 1));
    }
    if (params_m > 0) {
      // The paper truncates to 10^4 parameters (A0: 8,309,384 -> 8.30M).
      const uint64_t params = DeployParameters(ShapeNet(v));
      CAPTURE(params);
      CHECK(params / 10000 == static_cast<uint64_t>(std::lround(params_m * 100)));
    }
  }
}

TEST_CASE("variants: every official variant is identified from its shapes") {
  for (const VariantSpec& v : OfficialVariants()) {
    CAPTURE(v.name);
    CHECK(IdentifyVariant(ShapeNet(v)) == v.name);
    // Input channels and classes do not change the architecture.
    CHECK(IdentifyVariant(ShapeNet(v, 1, 10)) == v.name);
  }
  // The synthetic models rvgg-convert --synthetic writes have the same shapes.
  for (const char* name : {"A0", "B1g2"}) {
    const RepVGGNet net = MakeSyntheticNet(FindVariant(name), 3, 1000, 7);
    CHECK(IdentifyVariant(net) == FindVariant(name).name);
    const RepVGGNet shapes = ShapeNet(FindVariant(name));
    REQUIRE(net.blocks.size() == shapes.blocks.size());
    for (size_t i = 0; i < net.blocks.size(); ++i) {
      CHECK(net.blocks[i].in_channels == shapes.blocks[i].in_channels);
      CHECK(net.blocks[i].groups == shapes.blocks[i].groups);
      CHECK(net.blocks[i].fused->weight.size() ==
            size_t{shapes.blocks[i].out_channels} *
                (shapes.blocks[i].in_channels / shapes.blocks[i].groups) * 9);
    }
  }
}

TEST_CASE("variants: train-time and mixed forms are identified too") {
  for (const char* name : {"A0", "B1g4", "D2se"}) {
    CAPTURE(name);
    RepVGGNet net = ShapeNet(FindVariant(name));
    for (size_t i = 0; i < net.blocks.size(); i += 2) net.blocks[i] = Unfused(net.blocks[i]);
    CHECK(IdentifyVariant(net) == FindVariant(name).name);
    for (Block& b : net.blocks) {
      if (b.fused) b = Unfused(b);
    }
    CHECK(net.num_fused_blocks() == 0);
    CHECK(IdentifyVariant(net) == FindVariant(name).name);
  }
}

TEST_CASE("variants: D2se with timm's squeeze-excite widths (C/16 rounded half up) is D2se") {
  RepVGGNet net = ShapeNet(FindVariant("D2se"));
  for (Block& b : net.blocks) {
    CHECK(b.se->reduced == b.out_channels / 16);
    b.se->reduced = (b.out_channels + 8) / 16;  // equal for the official widths
  }
  CHECK(IdentifyVariant(net) == "RepVGG-D2se");
  net.blocks[5].se->reduced = net.blocks[5].out_channels / 8;
  CHECK(IdentifyVariant(net) == "custom");
}

TEST_CASE("variants: anything else is custom") {
  const VariantSpec& a0 = FindVariant("A0");
  SUBCASE("one width changed") {
    RepVGGNet net = ShapeNet(a0);
    net.blocks.back().out_channels = 1024;
    CHECK(IdentifyVariant(net) == "custom");
  }
  SUBCASE("one block more") {
    VariantSpec v = a0;
    v.blocks[3] += 1;
    v.groups.push_back(1);
    CHECK(IdentifyVariant(ShapeNet(v)) == "custom");
  }
  SUBCASE("one block less") {
    VariantSpec v = a0;
    v.blocks[2] -= 1;
    v.groups.pop_back();
    CHECK(IdentifyVariant(ShapeNet(v)) == "custom");
  }
  SUBCASE("groups on another block") {
    VariantSpec v = FindVariant("B1g2");
    std::swap(v.groups[2], v.groups[3]);
    CHECK(IdentifyVariant(ShapeNet(v)) == "custom");
  }
  SUBCASE("squeeze-excite added to A0, or missing from one D2se block") {
    VariantSpec v = a0;
    v.se = true;
    CHECK(IdentifyVariant(ShapeNet(v)) == "custom");
    RepVGGNet d2 = ShapeNet(FindVariant("D2se"));
    d2.blocks[10].se.reset();
    CHECK(IdentifyVariant(d2) == "custom");
  }
  SUBCASE("four stages") {
    VariantSpec v = a0;
    v.blocks.pop_back();
    v.widths.pop_back();
    v.groups.pop_back();
    CHECK(IdentifyVariant(ShapeNet(v)) == "custom");
  }
}

TEST_CASE("variants: names are found case-insensitively, with or without the RepVGG prefix") {
  CHECK(FindVariant("a0").name == "RepVGG-A0");
  CHECK(FindVariant("RepVGG-B1g4").name == "RepVGG-B1g4");
  CHECK(FindVariant("repvgg_d2se").name == "RepVGG-D2se");
  try {
    FindVariant("A3");
    FAIL("no error");
  } catch (const ConvertError& e) {
    CHECK(std::string(e.what()) ==
          "unknown RepVGG variant 'A3' (known: A0 A1 A2 B0 B1 B1g2 B1g4 B2 B2g2 B2g4 B3 B3g2 B3g4 "
          "D2se)");
  }
}

TEST_CASE("variants: the description lists stages, widths, groups and squeeze-excite") {
  CHECK(DescribeArchitecture(ShapeNet(FindVariant("A0"))) ==
        "stages 1/2/4/14/1, widths 48/48/96/192/1280, groups 1");
  CHECK(DescribeArchitecture(ShapeNet(FindVariant("B2g4"))) ==
        "stages 1/4/6/16/1, widths 64/160/320/640/2560, 13 grouped blocks (up to 4 groups)");
  CHECK(DescribeArchitecture(ShapeNet(FindVariant("D2se"))) ==
        "stages 1/8/14/24/1, widths 64/160/320/640/2560, groups 1, squeeze-excite in 48 blocks");
}

TEST_CASE("variants: synthetic networks keep activations bounded through every depth") {
  for (const char* name : {"A0", "B1g4", "D2se"}) {
    CAPTURE(name);
    const RepVGGNet net = MakeSyntheticNet(FindVariant(name), 3, 10, 2);  // D2se: ~2 s
    std::mt19937 rng(1);
    const test::Image x = test::MakeImage(3, 32, 32, &rng);
    const std::vector<float> logits = RunFused(Fuse(net), 32, 32, test::ToNhwc(x));
    double m = 0.0;
    for (float v : logits) m = std::max(m, static_cast<double>(std::fabs(v)));
    CHECK(std::isfinite(m));
    CHECK(m > 1e-3);
    CHECK(m < 1e3);
  }
}

}  // namespace
}  // namespace rvgg::convert
