// The canonical RepVGG description every naming scheme parses into and the
// fusion consumes: blocks in order, each with its train-time branches or its
// already-fused kernel. It knows nothing about files or key names.
#ifndef RVGG_CONVERTER_SRC_REPVGG_H_
#define RVGG_CONVERTER_SRC_REPVGG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rvgg::convert {

// Default BatchNorm epsilon of PyTorch, used by the official code, timm and
// MMPretrain alike.
constexpr double kBatchNormEps = 1e-5;

struct BatchNorm {
  std::vector<float> gamma, beta, mean, var;
  double eps = kBatchNormEps;
};

// A bias-free convolution followed by BatchNorm. weight is OIHW:
// [out, in / groups, k, k].
struct ConvBn {
  std::vector<float> weight;
  uint32_t kernel = 3;
  BatchNorm bn;
};

// An already re-parameterized block (deploy checkpoints): 3x3 OIHW + bias.
struct FusedKernel {
  std::vector<float> weight;
  std::vector<float> bias;
};

// Squeeze-excite: 1x1 convs with bias, down [reduced, C], up [C, reduced].
struct SqueezeExciteWeights {
  uint32_t reduced = 0;
  std::vector<float> down_weight, down_bias, up_weight, up_bias;
};

struct Block {
  std::string name;  // as in the checkpoint, e.g. "stage1.0" or "stages.0.0"
  uint32_t stage = 0;
  uint32_t in_channels = 0;
  uint32_t out_channels = 0;
  uint32_t stride = 1;
  uint32_t groups = 1;
  std::optional<ConvBn> dense;       // 3x3 + BN
  std::optional<ConvBn> one_by_one;  // 1x1 + BN
  std::optional<BatchNorm> identity; // BN on the input (in == out, stride 1)
  std::optional<FusedKernel> fused;  // instead of the three branches
  std::optional<SqueezeExciteWeights> se;  // before the block's ReLU
};

struct Classifier {
  uint32_t in_features = 0;
  uint32_t out_features = 0;
  std::vector<float> weight;  // [out, in]
  std::vector<float> bias;
};

struct RepVGGNet {
  uint32_t in_channels = 0;
  std::vector<Block> blocks;  // stage0 first
  Classifier classifier;
  std::string scheme;         // "official", "timm", "mmpretrain", "synthetic"

  uint32_t num_classes() const { return classifier.out_features; }
  uint32_t num_stages() const { return blocks.empty() ? 0 : blocks.back().stage + 1; }
  size_t num_fused_blocks() const;
};

}  // namespace rvgg::convert

#endif  // RVGG_CONVERTER_SRC_REPVGG_H_
