// An independent float64 RepVGG for the converter tests: NCHW, written from
// the paper's definition (conv -> BatchNorm per branch, identity BatchNorm,
// sum, squeeze-excite, ReLU) without any converter or runtime code, plus
// helpers that build random blocks and networks.
#ifndef RVGG_TESTS_CONVERTER_REPVGG_ORACLE_H_
#define RVGG_TESTS_CONVERTER_REPVGG_ORACLE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "converter/src/repvgg.h"

namespace rvgg::convert::test {

// A [C, H, W] float64 image.
struct Image {
  uint32_t c = 0, h = 0, w = 0;
  std::vector<double> v;
  double& at(uint32_t ch, uint32_t y, uint32_t x) { return v[(size_t{ch} * h + y) * w + x]; }
  double at(uint32_t ch, uint32_t y, uint32_t x) const { return v[(size_t{ch} * h + y) * w + x]; }
};

inline Image MakeImage(uint32_t c, uint32_t h, uint32_t w, std::mt19937* rng) {
  std::normal_distribution<double> n(0.0, 1.0);
  Image im{c, h, w, std::vector<double>(size_t{c} * h * w)};
  for (double& x : im.v) x = static_cast<float>(n(*rng));  // representable in float
  return im;
}

// NHWC float copy, as the runtime and RunFused take images.
inline std::vector<float> ToNhwc(const Image& im) {
  std::vector<float> out(im.v.size());
  for (uint32_t y = 0; y < im.h; ++y)
    for (uint32_t x = 0; x < im.w; ++x)
      for (uint32_t ch = 0; ch < im.c; ++ch)
        out[(size_t{y} * im.w + x) * im.c + ch] = static_cast<float>(im.at(ch, y, x));
  return out;
}

// Grouped convolution, OIHW weights (any float type), zero padding.
template <typename W>
Image Conv(const Image& x, const std::vector<W>& weight, uint32_t out, uint32_t k, uint32_t stride,
           uint32_t pad, uint32_t groups) {
  const uint32_t gin = x.c / groups, gout = out / groups;
  Image y{out, (x.h + 2 * pad - k) / stride + 1, (x.w + 2 * pad - k) / stride + 1, {}};
  y.v.assign(size_t{y.c} * y.h * y.w, 0.0);
  for (uint32_t o = 0; o < out; ++o) {
    const uint32_t g = o / gout;
    for (uint32_t oy = 0; oy < y.h; ++oy)
      for (uint32_t ox = 0; ox < y.w; ++ox) {
        double s = 0.0;
        for (uint32_t i = 0; i < gin; ++i)
          for (uint32_t ky = 0; ky < k; ++ky)
            for (uint32_t kx = 0; kx < k; ++kx) {
              const int iy = static_cast<int>(oy * stride + ky) - static_cast<int>(pad);
              const int ix = static_cast<int>(ox * stride + kx) - static_cast<int>(pad);
              if (iy < 0 || ix < 0 || iy >= static_cast<int>(x.h) || ix >= static_cast<int>(x.w))
                continue;
              s += static_cast<double>(weight[((size_t{o} * gin + i) * k + ky) * k + kx]) *
                   x.at(g * gin + i, static_cast<uint32_t>(iy), static_cast<uint32_t>(ix));
            }
        y.at(o, oy, ox) = s;
      }
  }
  return y;
}

// Eval-mode BatchNorm: (x - mean) / sqrt(var + eps) * gamma + beta.
inline Image ApplyBn(const Image& x, const BatchNorm& bn) {
  Image y = x;
  for (uint32_t ch = 0; ch < x.c; ++ch) {
    const double s = bn.gamma[ch] / std::sqrt(static_cast<double>(bn.var[ch]) + bn.eps);
    for (uint32_t p = 0; p < x.h * x.w; ++p) {
      double& v = y.v[size_t{ch} * x.h * x.w + p];
      v = (v - bn.mean[ch]) * s + bn.beta[ch];
    }
  }
  return y;
}

inline void AddTo(Image* a, const Image& b) {
  for (size_t i = 0; i < a->v.size(); ++i) a->v[i] += b.v[i];
}

inline void SqueezeExciteInPlace(const SqueezeExciteWeights& se, Image* x) {
  const size_t hw = size_t{x->h} * x->w;
  std::vector<double> pooled(x->c, 0.0), hidden(se.reduced, 0.0);
  for (uint32_t ch = 0; ch < x->c; ++ch) {
    for (size_t p = 0; p < hw; ++p) pooled[ch] += x->v[ch * hw + p];
    pooled[ch] /= static_cast<double>(hw);
  }
  for (uint32_t r = 0; r < se.reduced; ++r) {
    double s = se.down_bias[r];
    for (uint32_t ch = 0; ch < x->c; ++ch) s += se.down_weight[size_t{r} * x->c + ch] * pooled[ch];
    hidden[r] = std::max(0.0, s);
  }
  for (uint32_t ch = 0; ch < x->c; ++ch) {
    double s = se.up_bias[ch];
    for (uint32_t r = 0; r < se.reduced; ++r)
      s += se.up_weight[size_t{ch} * se.reduced + r] * hidden[r];
    const double gate = 1.0 / (1.0 + std::exp(-s));
    for (size_t p = 0; p < hw; ++p) x->v[ch * hw + p] *= gate;
  }
}

// One block before its activation: the sum of its branches (or its fused conv).
inline Image BlockPreActivation(const Block& b, const Image& x) {
  if (b.fused) {
    Image y = Conv(x, b.fused->weight, b.out_channels, 3, b.stride, 1, b.groups);
    for (uint32_t ch = 0; ch < y.c; ++ch)
      for (uint32_t p = 0; p < y.h * y.w; ++p) y.v[size_t{ch} * y.h * y.w + p] += b.fused->bias[ch];
    return y;
  }
  Image y =
      ApplyBn(Conv(x, b.dense->weight, b.out_channels, 3, b.stride, 1, b.groups), b.dense->bn);
  AddTo(&y, ApplyBn(Conv(x, b.one_by_one->weight, b.out_channels, 1, b.stride, 0, b.groups),
                    b.one_by_one->bn));
  if (b.identity) AddTo(&y, ApplyBn(x, *b.identity));
  return y;
}

// relu(se(branches(x))): SE before the ReLU, as in D2se.
inline Image BlockForward(const Block& b, const Image& x) {
  Image y = BlockPreActivation(b, x);
  if (b.se) SqueezeExciteInPlace(*b.se, &y);
  for (double& v : y.v) v = std::max(0.0, v);
  return y;
}

inline std::vector<double> NetForward(const RepVGGNet& net, const Image& input) {
  Image x = input;
  for (const Block& b : net.blocks) x = BlockForward(b, x);
  std::vector<double> logits(net.classifier.out_features);
  for (uint32_t o = 0; o < net.classifier.out_features; ++o) {
    double s = net.classifier.bias[o];
    for (uint32_t ch = 0; ch < x.c; ++ch) {
      double mean = 0.0;
      for (uint32_t p = 0; p < x.h * x.w; ++p) mean += x.v[size_t{ch} * x.h * x.w + p];
      s += net.classifier.weight[size_t{o} * x.c + ch] * mean / (x.h * x.w);
    }
    logits[o] = s;
  }
  return logits;
}

// Random parameters. Variances are kept away from zero and gammas moderate so
// the network's activations stay O(1).
inline std::vector<float> RandomVector(size_t n, double lo, double hi, std::mt19937* rng) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(u(*rng));
  return v;
}

inline BatchNorm RandomBn(uint32_t c, std::mt19937* rng) {
  BatchNorm bn;
  bn.gamma = RandomVector(c, 0.3, 0.8, rng);
  bn.beta = RandomVector(c, -0.2, 0.3, rng);
  bn.mean = RandomVector(c, -0.3, 0.3, rng);
  bn.var = RandomVector(c, 0.5, 2.0, rng);
  return bn;
}

// A BatchNorm whose output is zero whatever the input: the branch is off.
inline BatchNorm ZeroBn(uint32_t c, std::mt19937* rng) {
  BatchNorm bn = RandomBn(c, rng);
  bn.gamma.assign(c, 0.0f);
  bn.beta.assign(c, 0.0f);
  return bn;
}

struct BlockSpec {
  uint32_t in = 8, out = 8, stride = 1, groups = 1;
  bool se = false, fused = false;
};

inline Block RandomBlock(const BlockSpec& s, std::mt19937* rng, const std::string& name = "b") {
  Block b;
  b.name = name;
  b.in_channels = s.in;
  b.out_channels = s.out;
  b.stride = s.stride;
  b.groups = s.groups;
  const uint32_t gin = s.in / s.groups;
  const double a3 = std::sqrt(3.0 / (gin * 9)), a1 = std::sqrt(3.0 / gin);
  if (s.fused) {
    b.fused = FusedKernel{RandomVector(size_t{s.out} * gin * 9, -a3, a3, rng),
                          RandomVector(s.out, -0.1, 0.2, rng)};
  } else {
    b.dense = ConvBn{RandomVector(size_t{s.out} * gin * 9, -a3, a3, rng), 3, RandomBn(s.out, rng)};
    b.one_by_one = ConvBn{RandomVector(size_t{s.out} * gin, -a1, a1, rng), 1, RandomBn(s.out, rng)};
    if (s.in == s.out && s.stride == 1) b.identity = RandomBn(s.out, rng);
  }
  if (s.se) {
    SqueezeExciteWeights se;
    se.reduced = std::max<uint32_t>(1, s.out / 4);
    const double ad = std::sqrt(3.0 / s.out), au = std::sqrt(3.0 / se.reduced);
    se.down_weight = RandomVector(size_t{se.reduced} * s.out, -ad, ad, rng);
    se.down_bias = RandomVector(se.reduced, -0.1, 0.1, rng);
    se.up_weight = RandomVector(size_t{s.out} * se.reduced, -au, au, rng);
    se.up_bias = RandomVector(s.out, -0.5, 0.5, rng);
    b.se = std::move(se);
  }
  return b;
}

}  // namespace rvgg::convert::test

#endif  // RVGG_TESTS_CONVERTER_REPVGG_ORACLE_H_
