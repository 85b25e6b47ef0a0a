#include "converter/src/fusion.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "converter/src/error.h"
#include "runtime/reference/reference.h"

namespace rvgg::convert {
namespace {

// BatchNorm as a per-channel affine map: y = x * scale + shift.
void BnAffine(const BatchNorm& bn, size_t c, double* scale, double* shift) {
  const double std = std::sqrt(static_cast<double>(bn.var[c]) + bn.eps);
  *scale = bn.gamma[c] / std;
  *shift = bn.beta[c] - bn.mean[c] * *scale;
}

uint32_t OutSize(uint32_t in, uint32_t kernel, uint32_t stride, uint32_t padding) {
  return (in + 2 * padding - kernel) / stride + 1;
}

ref::Conv2DShape ConvShape(uint32_t h, uint32_t w, uint32_t in_c, uint32_t out_c, uint32_t kernel,
                           uint32_t stride, uint32_t padding, uint32_t groups, bool relu) {
  return ref::Conv2DShape{h,      w,      in_c,   OutSize(h, kernel, stride, padding),
                          OutSize(w, kernel, stride, padding), out_c, kernel, kernel,
                          stride, padding, groups, relu};
}

void ApplySqueezeExcite(const SqueezeExciteWeights& se, uint32_t h, uint32_t w, uint32_t c,
                        bool relu, std::vector<float>* x) {
  std::vector<float> scratch(size_t{c} + se.reduced);
  ref::SqueezeExcite(h, w, c, se.reduced, se.down_weight.data(), se.down_bias.data(),
                     se.up_weight.data(), se.up_bias.data(), relu, x->data(), scratch.data());
}

std::vector<float> Classify(const Classifier& cls, uint32_t h, uint32_t w,
                            const std::vector<float>& x) {
  std::vector<float> pooled(cls.in_features), logits(cls.out_features);
  ref::GlobalAveragePool(h, w, cls.in_features, x.data(), pooled.data());
  ref::FullyConnected(cls.in_features, cls.out_features, pooled.data(), cls.weight.data(),
                      cls.bias.data(), false, logits.data());
  return logits;
}

// A fused value beyond float32 (a tiny running_var under a large gamma)
// would become Inf; say which block instead.
void CheckFloatRange(const std::string& block, const char* what, const std::vector<double>& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (!(std::fabs(v[i]) <= std::numeric_limits<float>::max())) {
      throw ConvertError(
          "block '" + block + "': fused " + what + " value " + std::to_string(v[i]) +
          " at flat index " + std::to_string(i) +
          " does not fit float32 (BatchNorm gamma / sqrt(running_var + eps) too large)");
    }
  }
}

}  // namespace

std::vector<float> ToOhwi(const std::vector<float>& oihw, uint32_t out, uint32_t in, uint32_t kh,
                          uint32_t kw) {
  std::vector<float> ohwi(oihw.size());
  for (uint32_t o = 0; o < out; ++o)
    for (uint32_t i = 0; i < in; ++i)
      for (uint32_t y = 0; y < kh; ++y)
        for (uint32_t x = 0; x < kw; ++x)
          ohwi[((size_t{o} * kh + y) * kw + x) * in + i] = oihw[((size_t{o} * in + i) * kh + y) * kw + x];
  return ohwi;
}

void FuseBlock(const Block& b, std::vector<double>* weight, std::vector<double>* bias) {
  const uint32_t out = b.out_channels;
  const uint32_t group_in = b.in_channels / b.groups;
  weight->assign(size_t{out} * group_in * 9, 0.0);
  bias->assign(out, 0.0);
  auto at = [&](uint32_t o, uint32_t i, uint32_t y, uint32_t x) -> double& {
    return (*weight)[((size_t{o} * group_in + i) * 3 + y) * 3 + x];
  };
  if (b.fused) {
    for (size_t k = 0; k < weight->size(); ++k) (*weight)[k] = b.fused->weight[k];
    for (uint32_t o = 0; o < out; ++o) (*bias)[o] = b.fused->bias[o];
    return;
  }
  for (uint32_t o = 0; o < out; ++o) {
    double scale, shift;
    BnAffine(b.dense->bn, o, &scale, &shift);
    for (uint32_t i = 0; i < group_in; ++i)
      for (uint32_t y = 0; y < 3; ++y)
        for (uint32_t x = 0; x < 3; ++x)
          at(o, i, y, x) += b.dense->weight[((size_t{o} * group_in + i) * 3 + y) * 3 + x] * scale;
    (*bias)[o] += shift;

    BnAffine(b.one_by_one->bn, o, &scale, &shift);
    for (uint32_t i = 0; i < group_in; ++i) {
      at(o, i, 1, 1) += b.one_by_one->weight[size_t{o} * group_in + i] * scale;
    }
    (*bias)[o] += shift;

    if (b.identity) {
      BnAffine(*b.identity, o, &scale, &shift);
      at(o, o % group_in, 1, 1) += scale;
      (*bias)[o] += shift;
    }
  }
}

FusedNet Fuse(const RepVGGNet& net) {
  FusedNet fused;
  fused.in_channels = net.in_channels;
  for (const Block& b : net.blocks) {
    std::vector<double> w, bias;
    FuseBlock(b, &w, &bias);
    FusedLayer conv;
    conv.type = RVGG_LAYER_CONV2D;
    conv.name = b.name;
    conv.in_channels = b.in_channels;
    conv.out_channels = b.out_channels;
    conv.kernel = 3;
    conv.stride = b.stride;
    conv.padding = 1;
    conv.groups = b.groups;
    conv.relu = !b.se.has_value();
    CheckFloatRange(b.name, "kernel", w);
    CheckFloatRange(b.name, "bias", bias);
    conv.weight = ToOhwi(std::vector<float>(w.begin(), w.end()), b.out_channels,
                         b.in_channels / b.groups, 3, 3);
    conv.bias.assign(bias.begin(), bias.end());
    fused.layers.push_back(std::move(conv));
    if (b.se) {
      FusedLayer se;
      se.type = RVGG_LAYER_SQUEEZE_EXCITE;
      se.name = b.name + ".se";
      se.in_channels = se.out_channels = b.out_channels;
      se.relu = true;
      se.se = *b.se;
      fused.layers.push_back(std::move(se));
    }
  }
  FusedLayer pool;
  pool.type = RVGG_LAYER_GLOBAL_AVERAGE_POOL;
  pool.name = "gap";
  pool.in_channels = pool.out_channels = net.classifier.in_features;
  fused.layers.push_back(std::move(pool));
  FusedLayer fc;
  fc.type = RVGG_LAYER_FULLY_CONNECTED;
  fc.name = "classifier";
  fc.in_channels = net.classifier.in_features;
  fc.out_channels = net.classifier.out_features;
  fc.weight = net.classifier.weight;
  fc.bias = net.classifier.bias;
  fused.layers.push_back(std::move(fc));
  return fused;
}

std::vector<float> RunFusedLayer(const FusedLayer& l, uint32_t* height, uint32_t* width,
                                 uint32_t* channels, const std::vector<float>& x) {
  uint32_t& h = *height;
  uint32_t& w = *width;
  uint32_t& c = *channels;
  std::vector<float> y;
  switch (l.type) {
    case RVGG_LAYER_CONV2D: {
      const ref::Conv2DShape s =
          ConvShape(h, w, c, l.out_channels, l.kernel, l.stride, l.padding, l.groups, l.relu);
      y.assign(size_t{s.out_h} * s.out_w * s.out_c, 0.0f);
      ref::Conv2D(s, x.data(), l.weight.data(), l.bias.data(), y.data());
      h = s.out_h;
      w = s.out_w;
      c = s.out_c;
      break;
    }
    case RVGG_LAYER_SQUEEZE_EXCITE:
      y = x;
      ApplySqueezeExcite(l.se, h, w, c, l.relu, &y);
      break;
    case RVGG_LAYER_GLOBAL_AVERAGE_POOL:
      y.assign(c, 0.0f);
      ref::GlobalAveragePool(h, w, c, x.data(), y.data());
      h = w = 1;
      break;
    case RVGG_LAYER_FULLY_CONNECTED:
      y.assign(l.out_channels, 0.0f);
      ref::FullyConnected(l.in_channels, l.out_channels, x.data(), l.weight.data(), l.bias.data(),
                          l.relu, y.data());
      c = l.out_channels;
      break;
  }
  return y;
}

std::vector<float> RunFused(const FusedNet& net, uint32_t height, uint32_t width,
                            const std::vector<float>& input, const ActivationObserver& observer) {
  std::vector<float> x = input;
  uint32_t h = height, w = width, c = net.in_channels;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    x = RunFusedLayer(net.layers[i], &h, &w, &c, x);
    if (observer) observer(i, h, w, x);
  }
  return x;
}

std::vector<float> RunMultiBranch(const RepVGGNet& net, uint32_t height, uint32_t width,
                                  const std::vector<float>& input) {
  std::vector<float> x = input;
  uint32_t h = height, w = width;
  for (const Block& b : net.blocks) {
    const uint32_t group_in = b.in_channels / b.groups;
    const ref::Conv2DShape s3 =
        ConvShape(h, w, b.in_channels, b.out_channels, 3, b.stride, 1, b.groups, false);
    const size_t pixels = size_t{s3.out_h} * s3.out_w;
    std::vector<float> sum(pixels * b.out_channels, 0.0f);
    if (b.fused) {
      const std::vector<float> k = ToOhwi(b.fused->weight, b.out_channels, group_in, 3, 3);
      ref::Conv2D(s3, x.data(), k.data(), b.fused->bias.data(), sum.data());
    } else {
      // Each branch as PyTorch computes it: conv, then BatchNorm in float.
      auto add_branch = [&](const std::vector<float>& branch, const BatchNorm& bn) {
        for (uint32_t o = 0; o < b.out_channels; ++o) {
          const float inv_std = 1.0f / std::sqrt(bn.var[o] + static_cast<float>(bn.eps));
          for (size_t p = 0; p < pixels; ++p) {
            const float v = branch[p * b.out_channels + o];
            sum[p * b.out_channels + o] += (v - bn.mean[o]) * inv_std * bn.gamma[o] + bn.beta[o];
          }
        }
      };
      std::vector<float> branch(sum.size());
      const std::vector<float> k3 = ToOhwi(b.dense->weight, b.out_channels, group_in, 3, 3);
      ref::Conv2D(s3, x.data(), k3.data(), nullptr, branch.data());
      add_branch(branch, b.dense->bn);
      const ref::Conv2DShape s1 =
          ConvShape(h, w, b.in_channels, b.out_channels, 1, b.stride, 0, b.groups, false);
      ref::Conv2D(s1, x.data(), b.one_by_one->weight.data(), nullptr, branch.data());
      add_branch(branch, b.one_by_one->bn);
      if (b.identity) add_branch(x, *b.identity);
    }
    if (b.se) {
      ApplySqueezeExcite(*b.se, s3.out_h, s3.out_w, b.out_channels, true, &sum);
    } else {
      for (float& v : sum) v = v < 0.0f ? 0.0f : v;
    }
    x.swap(sum);
    h = s3.out_h;
    w = s3.out_w;
  }
  return Classify(net.classifier, h, w, x);
}

FusionCheck CheckFusion(const RepVGGNet& net, const FusedNet& fused, uint32_t height,
                        uint32_t width, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> input(size_t{height} * width * net.in_channels);
  for (float& v : input) v = normal(rng);
  const std::vector<float> a = RunMultiBranch(net, height, width, input);
  const std::vector<float> b = RunFused(fused, height, width, input);
  FusionCheck check;
  check.height = height;
  check.width = width;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) {
      throw ConvertError("fusion check: logit " + std::to_string(i) +
                         " is not finite; the weights overflow float32");
    }
    check.max_abs_diff = std::max(check.max_abs_diff, static_cast<double>(std::fabs(a[i] - b[i])));
    check.max_abs_logit = std::max(check.max_abs_logit, static_cast<double>(std::fabs(a[i])));
  }
  return check;
}

}  // namespace rvgg::convert
