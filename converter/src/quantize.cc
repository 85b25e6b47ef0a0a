#include "converter/src/quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "converter/src/error.h"
#include "runtime/reference/reference.h"

namespace rvgg::convert {
namespace {

// MSE search: min/max scaled by 1, 1 - d, ..., down to kMinAlpha.
constexpr int kMseSteps = 240;
constexpr double kMinAlpha = 0.04;
// Narrowest activation range quantized (a tensor that is always 0).
constexpr float kMinRange = 1e-6f;

bool HasWeights(const FusedLayer& l) {
  return l.type == RVGG_LAYER_CONV2D || l.type == RVGG_LAYER_FULLY_CONNECTED;
}

// Products accumulated per output (verification's overflow bound uses it).
uint64_t Taps(const FusedLayer& l) {
  if (l.type == RVGG_LAYER_FULLY_CONNECTED) return l.in_channels;
  return uint64_t{l.in_channels / l.groups} * l.kernel * l.kernel;
}

std::vector<int8_t> QuantizeTensor(const std::vector<float>& x, QuantParams q) {
  std::vector<int8_t> out(x.size());
  ref::QuantizeF32(x.size(), x.data(), q, out.data());
  return out;
}

std::vector<float> DequantizeTensor(const std::vector<int8_t>& x, QuantParams q) {
  std::vector<float> out(x.size());
  ref::DequantizeInt8(x.size(), x.data(), q, out.data());
  return out;
}

// One int8 layer on the runtime's reference kernels; updates the shape.
std::vector<int8_t> RunInt8Layer(const FusedLayer& l, const LayerQuantization& q, uint32_t* h,
                                uint32_t* w, uint32_t* c, const std::vector<int8_t>& x) {
  std::vector<int8_t> y;
  switch (l.type) {
    case RVGG_LAYER_CONV2D: {
      const uint32_t oh = (*h + 2 * l.padding - l.kernel) / l.stride + 1;
      const uint32_t ow = (*w + 2 * l.padding - l.kernel) / l.stride + 1;
      const ref::Conv2DShape s{*h,       *w,       *c,       oh,        ow,       l.out_channels,
                               l.kernel, l.kernel, l.stride, l.padding, l.groups, l.relu};
      y.resize(size_t{oh} * ow * l.out_channels);
      ref::Conv2DInt8(s, q.input, q.output, x.data(), q.weights.values.data(),
                     q.weights.scales.data(), q.bias.data(), y.data());
      *h = oh;
      *w = ow;
      *c = l.out_channels;
      break;
    }
    case RVGG_LAYER_GLOBAL_AVERAGE_POOL:
      y.resize(*c);
      ref::GlobalAveragePoolInt8(*h, *w, *c, q.input, q.output, x.data(), y.data());
      *h = *w = 1;
      break;
    case RVGG_LAYER_FULLY_CONNECTED:
      y.resize(l.out_channels);
      ref::FullyConnectedInt8(l.in_channels, l.out_channels, q.input, q.output, x.data(),
                             q.weights.values.data(), q.weights.scales.data(), q.bias.data(),
                             l.relu, y.data());
      *c = l.out_channels;
      break;
    case RVGG_LAYER_SQUEEZE_EXCITE:
      throw ConvertError("internal error: squeeze-excite has no int8 form");
  }
  return y;
}

// An activation of the int8 network: int8 after an int8 layer, else float.
struct Activation {
  bool quantized = false;
  std::vector<int8_t> q;
  QuantParams params;
  std::vector<float> f;
  std::vector<float> Float() const { return quantized ? DequantizeTensor(q, params) : f; }
};

// The next activation of the int8 network, exactly as the runtime computes it.
Activation Step(const FusedLayer& l, const LayerQuantization& q, uint32_t* h, uint32_t* w,
                uint32_t* c, const Activation& x) {
  Activation y;
  if (!q.int8) {
    y.f = RunFusedLayer(l, h, w, c, x.Float());
    return y;
  }
  y.quantized = true;
  y.params = q.output;
  y.q = RunInt8Layer(l, q, h, w, c, x.quantized ? x.q : QuantizeTensor(x.f, q.input));
  return y;
}

double SquaredError(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    sum += d * d;
  }
  return sum;
}

double Db(double signal, double noise) {
  if (noise <= 0.0) return std::numeric_limits<double>::infinity();
  if (signal <= 0.0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

size_t ArgMax(const std::vector<float>& v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Widens `params` (keeping its zero at the same place) by `factor` >= 1.
QuantParams Widen(QuantParams params, float factor) {
  const float lo = (-128.0f - params.zero_point) * params.scale;
  const float hi = (127.0f - params.zero_point) * params.scale;
  return QuantParamsFor(ActivationRange{lo * factor, hi * factor});
}

std::string FormatFloat(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// The layer without its ReLU, with `weights` (dequantized int8 or float).
FusedLayer PreActivation(const FusedLayer& l, const std::vector<float>& weights) {
  FusedLayer p = l;
  p.relu = false;
  p.weight = weights;
  return p;
}

std::vector<float> Dequantized(const QuantizedWeights& q) {
  std::vector<float> w(q.values.size());
  const size_t per_channel = q.values.size() / q.scales.size();
  for (size_t i = 0; i < w.size(); ++i) w[i] = q.values[i] * q.scales[i / per_channel];
  return w;
}

// Empirical bias correction, layer by layer: the int8 network (corrected so
// far) and the float network run side by side on the first `images`
// calibration images; each int8 conv / fully connected layer's bias loses the
// mean per-channel difference of its pre-activation outputs. This removes
// the systematic shift that weight rounding causes: RepVGG's fused kernels
// carry the identity branch as one large centre tap, so each channel's scale
// is set by that tap and the other weights round coarsely (their errors do
// not average out against inputs that are all >= 0 after ReLU). Returns the
// number of images used.
size_t CorrectBiases(const FusedNet& net, const CalibrationSet& cal, size_t images,
                     std::vector<LayerQuantization>* layers) {
  images = std::min(images, cal.images.size());
  if (images == 0) return 0;
  std::vector<std::vector<float>> fp(cal.images.begin(), cal.images.begin() + images);
  std::vector<Activation> q(images);
  for (size_t j = 0; j < images; ++j) q[j].f = fp[j];
  uint32_t h = cal.height, w = cal.width, c = cal.channels;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const FusedLayer& l = net.layers[i];
    LayerQuantization& lq = (*layers)[i];
    if (lq.int8 && HasWeights(l)) {
      const FusedLayer exact = PreActivation(l, l.weight);
      const FusedLayer rounded = PreActivation(l, Dequantized(lq.weights));
      std::vector<double> shift(l.out_channels, 0.0);
      size_t pixels = 0;
      for (size_t j = 0; j < images; ++j) {
        uint32_t ah = h, aw = w, ac = c, bh = h, bw = w, bc = c;
        const std::vector<float> want = RunFusedLayer(exact, &ah, &aw, &ac, fp[j]);
        // The int8 input as the layer sees it (quantized with its input parameters).
        const std::vector<float> input =
            q[j].quantized ? DequantizeTensor(q[j].q, q[j].params)
                           : DequantizeTensor(QuantizeTensor(q[j].f, lq.input), lq.input);
        const std::vector<float> got = RunFusedLayer(rounded, &bh, &bw, &bc, input);
        for (size_t k = 0; k < got.size(); ++k) shift[k % l.out_channels] += got[k] - want[k];
        pixels += got.size() / l.out_channels;
      }
      std::vector<float> bias = l.bias;
      for (uint32_t o = 0; o < l.out_channels; ++o) {
        bias[o] -= static_cast<float>(shift[o] / static_cast<double>(pixels));
      }
      lq.bias = QuantizeBias(bias, lq.input.scale, lq.weights.scales, Taps(l));
    }
    uint32_t fh = h, fw = w, fc = c;
    for (size_t j = 0; j < images; ++j) {
      fh = h, fw = w, fc = c;
      fp[j] = RunFusedLayer(l, &fh, &fw, &fc, fp[j]);
      uint32_t qh = h, qw = w, qc = c;
      q[j] = Step(l, lq, &qh, &qw, &qc, q[j]);
    }
    h = fh;
    w = fw;
    c = fc;
  }
  return images;
}

}  // namespace

const char* CalibrationMethodName(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kMinMax:
      return "minmax";
    case CalibrationMethod::kPercentile:
      return "percentile";
    case CalibrationMethod::kMse:
      return "mse";
  }
  return "?";
}

bool ParseCalibrationMethod(const std::string& text, CalibrationMethod* method) {
  for (CalibrationMethod m :
       {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kMse}) {
    if (text == CalibrationMethodName(m)) {
      *method = m;
      return true;
    }
  }
  return false;
}

// --- ActivationHistogram ------------------------------------------------------

void ActivationHistogram::Grow(double magnitude) {
  if (range_ == 0.0) {
    range_ = std::ldexp(1.0, std::ilogb(magnitude) + 1);  // a power of two > magnitude
    bins_.assign(2 * kBinsPerSide, 0);
    return;
  }
  while (magnitude > range_) {
    // Doubling R: old bin k ([-R + k w, ...)) lies in new bin (B + k) / 2.
    std::vector<uint64_t> merged(bins_.size(), 0);
    for (size_t k = 0; k < bins_.size(); ++k) merged[(kBinsPerSide + k) / 2] += bins_[k];
    bins_.swap(merged);
    range_ *= 2.0;
  }
}

void ActivationHistogram::Add(const float* values, size_t n) {
  double magnitude = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const float x = values[i];
    if (!std::isfinite(x)) continue;
    if (count_ == 0) min_ = max_ = x;
    min_ = std::min(min_, x);
    max_ = std::max(max_, x);
    ++count_;
    magnitude = std::max(magnitude, static_cast<double>(std::fabs(x)));
  }
  if (magnitude > range_) Grow(magnitude);
  if (range_ == 0.0) {  // only zeros so far
    for (size_t i = 0; i < n; ++i) zeros_ += values[i] == 0.0f;
    return;
  }
  const double per_unit = kBinsPerSide / range_;
  const int64_t last = 2 * int64_t{kBinsPerSide} - 1;
  for (size_t i = 0; i < n; ++i) {
    const float x = values[i];
    if (!std::isfinite(x)) continue;
    if (x == 0.0f) {
      ++zeros_;
      continue;
    }
    const int64_t k = static_cast<int64_t>(std::floor((x + range_) * per_unit));
    ++bins_[static_cast<size_t>(std::clamp<int64_t>(k, 0, last))];
  }
}

float ActivationHistogram::Quantile(double fraction) const {
  if (count_ == 0) return 0.0f;
  const double target = fraction * static_cast<double>(count_);
  double cumulative = 0.0;
  for (uint32_t k = 0; k < bins_.size(); ++k) {
    if (k == kBinsPerSide) {
      cumulative += static_cast<double>(zeros_);
      if (cumulative >= target) return std::clamp(0.0f, min_, max_);
    }
    cumulative += static_cast<double>(bins_[k]);
    if (cumulative >= target) {
      const double edge = -range_ + (k + 1) * bin_width();
      return std::clamp(static_cast<float>(edge), min_, max_);
    }
  }
  return max_;
}

double ActivationHistogram::FractionOutside(float lo, float hi) const {
  if (count_ == 0) return 0.0;
  uint64_t outside = 0;
  for (uint32_t k = 0; k < bins_.size(); ++k) {
    const double centre = -range_ + (k + 0.5) * bin_width();
    if (centre < lo || centre > hi) outside += bins_[k];
  }
  return static_cast<double>(outside) / static_cast<double>(count_);
}

double ActivationHistogram::QuantizationError(QuantParams q) const {
  if (count_ == 0) return 0.0;
  const double step = q.scale;
  const double lo = (-128.0 - q.zero_point) * step;
  const double hi = (127.0 - q.zero_point) * step;
  const double rounding = step * step / 12.0;
  double error = 0.0;
  for (uint32_t k = 0; k < bins_.size(); ++k) {
    if (bins_[k] == 0) continue;
    const double centre = -range_ + (k + 0.5) * bin_width();
    const double clip = centre < lo ? lo - centre : (centre > hi ? centre - hi : 0.0);
    error += static_cast<double>(bins_[k]) * (clip > 0.0 ? clip * clip : rounding);
  }
  return error / static_cast<double>(count_);
}

// --- ranges and parameters ------------------------------------------------------

ActivationRange ChooseRange(const ActivationHistogram& h, CalibrationMethod method,
                            double percentile) {
  const ActivationRange minmax{std::min(h.min(), 0.0f), std::max(h.max(), 0.0f)};
  switch (method) {
    case CalibrationMethod::kMinMax:
      return minmax;
    case CalibrationMethod::kPercentile: {
      const double tail = 1.0 - percentile / 100.0;
      ActivationRange r;
      r.lo = h.min() < 0.0f ? std::min(h.Quantile(tail), 0.0f) : 0.0f;
      r.hi = h.max() > 0.0f ? std::max(h.Quantile(1.0 - tail), 0.0f) : 0.0f;
      return r;
    }
    case CalibrationMethod::kMse: {
      ActivationRange best = minmax;
      double best_error = h.QuantizationError(QuantParamsFor(minmax));
      for (int k = 1; k <= kMseSteps; ++k) {
        const double alpha = 1.0 - k * (1.0 - kMinAlpha) / kMseSteps;
        const ActivationRange r{static_cast<float>(minmax.lo * alpha),
                                static_cast<float>(minmax.hi * alpha)};
        const double error = h.QuantizationError(QuantParamsFor(r));
        if (error < best_error) {
          best_error = error;
          best = r;
        }
      }
      return best;
    }
  }
  return minmax;
}

QuantParams QuantParamsFor(ActivationRange range) {
  const float lo = std::min(range.lo, 0.0f);
  float hi = std::max(range.hi, 0.0f);
  if (hi - lo < kMinRange) hi = lo + kMinRange;
  const float scale = (hi - lo) / 255.0f;
  const long zero_point = std::lround(-128.0 - static_cast<double>(lo) / scale);
  return QuantParams{scale, static_cast<int32_t>(std::clamp<long>(zero_point, -128, 127))};
}

QuantizedWeights QuantizeWeightsPerChannel(const std::vector<float>& weights,
                                           uint32_t out_channels) {
  QuantizedWeights q;
  const size_t per_channel = weights.size() / out_channels;
  q.scales.assign(out_channels, 0.0f);
  float smallest = 0.0f;
  for (uint32_t o = 0; o < out_channels; ++o) {
    float largest = 0.0f;
    for (size_t i = 0; i < per_channel; ++i) {
      largest = std::max(largest, std::fabs(weights[o * per_channel + i]));
    }
    // Keep scales normal floats (the runtime rejects subnormal ones).
    q.scales[o] = largest > 0.0f ? std::max(largest / 127.0f, 1e-30f) : 0.0f;
    if (q.scales[o] > 0.0f && (smallest == 0.0f || q.scales[o] < smallest)) smallest = q.scales[o];
  }
  for (float& s : q.scales) {
    if (s == 0.0f) s = smallest > 0.0f ? smallest : 1.0f;
  }
  q.values.resize(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    const long v = std::lround(weights[i] / q.scales[i / per_channel]);
    q.values[i] = static_cast<int8_t>(std::clamp<long>(v, -127, 127));
  }
  return q;
}

std::vector<int32_t> QuantizeBias(const std::vector<float>& bias, float input_scale,
                                  const std::vector<float>& weight_scales, uint64_t taps) {
  // The runtime's bound: |bias| + taps * 255 * 128 <= INT32_MAX.
  const double limit = static_cast<double>(INT32_MAX) - static_cast<double>(taps) * 255.0 * 128.0;
  std::vector<int32_t> q(bias.size());
  for (size_t o = 0; o < bias.size(); ++o) {
    const double v = std::nearbyint(static_cast<double>(bias[o]) /
                                    (static_cast<double>(input_scale) * weight_scales[o]));
    q[o] = static_cast<int32_t>(std::clamp(v, -limit, limit));
  }
  return q;
}

std::vector<bool> SelectInt8Layers(const FusedNet& net, const std::vector<std::string>& keep_fp32) {
  std::vector<bool> int8(net.layers.size(), true);
  std::vector<bool> used(keep_fp32.size(), false);
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const FusedLayer& l = net.layers[i];
    if (l.type == RVGG_LAYER_SQUEEZE_EXCITE) int8[i] = false;
    for (size_t k = 0; k < keep_fp32.size(); ++k) {
      const std::string& name = keep_fp32[k];
      if (l.name == name || l.name.rfind(name + ".", 0) == 0) {
        int8[i] = false;
        used[k] = true;
      }
    }
  }
  for (size_t k = 0; k < keep_fp32.size(); ++k) {
    if (used[k]) continue;
    std::string names;
    for (const FusedLayer& l : net.layers) {
      if (l.type == RVGG_LAYER_SQUEEZE_EXCITE) continue;
      names += (names.empty() ? "" : ", ") + l.name;
    }
    throw ConvertError("--keep-fp32: no layer is named '" + keep_fp32[k] + "' (layers: " + names +
                       "; a stage name such as 'stage1' keeps all its blocks)");
  }
  return int8;
}

QuantizationResult Quantize(const FusedNet& net, const CalibrationSet& cal,
                            const QuantizeOptions& options) {
  const size_t n = net.layers.size();
  if (cal.images.empty()) throw ConvertError("the calibration set is empty");
  if (cal.channels != net.in_channels) {
    throw ConvertError("calibration images have " + std::to_string(cal.channels) +
                       " channels, the model takes " + std::to_string(net.in_channels));
  }
  const size_t image_size = size_t{cal.height} * cal.width * cal.channels;
  for (const auto& image : cal.images) {
    if (image.size() != image_size) throw ConvertError("calibration images differ in size");
  }
  if (!(options.percentile > 50.0 && options.percentile <= 100.0)) {
    throw ConvertError("--percentile must be in (50, 100]");
  }
  const std::vector<bool> int8 = SelectInt8Layers(net, options.keep_fp32);

  // Statistics: tensor 0 is the input, tensor i + 1 the output of layer i.
  std::vector<ActivationHistogram> histograms(n + 1);
  for (const auto& image : cal.images) {
    histograms[0].Add(image.data(), image.size());
    RunFused(net, cal.height, cal.width, image,
             [&](size_t layer, uint32_t, uint32_t, const std::vector<float>& output) {
               histograms[layer + 1].Add(output.data(), output.size());
             });
  }

  // Ranges. The input and the logits keep their full range: normalized 8-bit
  // pixels have at most 256 levels, which min/max represents exactly, and
  // clipping the largest logits would tie the classes the decision is about.
  std::vector<ActivationRange> chosen(n + 1);
  std::vector<QuantParams> params(n + 1);
  for (size_t t = 0; t <= n; ++t) {
    const CalibrationMethod method =
        t == 0 || t == n ? CalibrationMethod::kMinMax : options.method;
    chosen[t] = ChooseRange(histograms[t], method, options.percentile);
    params[t] = QuantParamsFor(chosen[t]);
  }

  QuantizationResult result;
  result.layers.resize(n);
  result.calibration_images = cal.images.size();
  for (size_t i = 0; i < n; ++i) {
    const FusedLayer& l = net.layers[i];
    LayerQuantization& q = result.layers[i];
    if (!int8[i]) continue;
    q.int8 = true;
    q.input = params[i];
    if (HasWeights(l)) {
      q.weights = QuantizeWeightsPerChannel(l.weight, l.out_channels);
      // Requantization must stay below 256 (runtime/reference/quant.h): widen
      // an output range too narrow for the input and weight scales.
      const float largest = *std::max_element(q.weights.scales.begin(), q.weights.scales.end());
      if (q.input.scale * largest / params[i + 1].scale >= 0.99f * kMaxRequantScale) {
        const float factor = q.input.scale * largest / (0.99f * kMaxRequantScale) /
                             params[i + 1].scale;
        params[i + 1] = Widen(params[i + 1], factor * 1.01f);
      }
      const float smallest = *std::min_element(q.weights.scales.begin(), q.weights.scales.end());
      if (q.input.scale * smallest / params[i + 1].scale < kMinRequantScale) {
        throw ConvertError("layer '" + l.name + "': its output range is too wide for int8 " +
                           "requantization; keep it float32 (--keep-fp32 " + l.name + ")");
      }
    } else if (l.type == RVGG_LAYER_GLOBAL_AVERAGE_POOL &&
               q.input.scale / params[i + 1].scale >= 0.99f * kMaxPoolScaleRatio) {
      params[i + 1] = Widen(params[i + 1], q.input.scale / params[i + 1].scale /
                                                (0.99f * kMaxPoolScaleRatio) * 1.01f);
    }
    q.output = params[i + 1];
    if (HasWeights(l)) q.bias = QuantizeBias(l.bias, q.input.scale, q.weights.scales, Taps(l));
  }
  const size_t corrected = CorrectBiases(net, cal, options.bias_correction_images, &result.layers);

  // The report: every layer's output against the float network.
  const size_t report_images = std::min(options.report_images, cal.images.size());
  std::vector<double> signal(n, 0.0), layer_noise(n, 0.0), network_noise(n, 0.0);
  size_t agree = 0;
  for (size_t img = 0; img < report_images; ++img) {
    std::vector<float> x = cal.images[img];
    Activation net_x;
    net_x.f = x;
    uint32_t h = cal.height, w = cal.width, c = cal.channels;
    for (size_t i = 0; i < n; ++i) {
      const FusedLayer& l = net.layers[i];
      const LayerQuantization& q = result.layers[i];
      uint32_t fh = h, fw = w, fc = c;
      std::vector<float> y = RunFusedLayer(l, &fh, &fw, &fc, x);
      for (float v : y) signal[i] += static_cast<double>(v) * v;
      if (q.int8) {
        uint32_t lh = h, lw = w, lc = c;
        const auto alone = RunInt8Layer(l, q, &lh, &lw, &lc, QuantizeTensor(x, q.input));
        layer_noise[i] += SquaredError(DequantizeTensor(alone, q.output), y);
      }
      net_x = Step(l, q, &h, &w, &c, net_x);
      network_noise[i] += SquaredError(net_x.Float(), y);
      x.swap(y);
    }
    agree += ArgMax(net_x.Float()) == ArgMax(x);
  }
  result.report_images = report_images;
  result.top1_agreement = report_images ? static_cast<double>(agree) / report_images : 0.0;

  for (size_t i = 0; i < n; ++i) {
    const FusedLayer& l = net.layers[i];
    LayerReport r;
    r.name = l.name;
    r.kind = rvgg_layer_label(l.type, l.kernel, l.stride);
    r.int8 = int8[i];
    const ActivationHistogram& h = histograms[i + 1];
    r.observed = ActivationRange{h.min(), h.max()};
    if (r.int8) {
      const QuantParams& q = result.layers[i].output;
      r.chosen = ActivationRange{(-128.0f - q.zero_point) * q.scale, (127.0f - q.zero_point) * q.scale};
      r.clipped_fraction = h.FractionOutside(r.chosen.lo, r.chosen.hi);
      r.sqnr_layer_db = Db(signal[i], layer_noise[i]);
    }
    r.sqnr_network_db = Db(signal[i], network_noise[i]);
    result.report.push_back(r);
  }

  std::ostringstream d;
  d << "int8 post-training: weights symmetric per output channel; activations asymmetric per "
       "tensor, ranges by "
    << CalibrationMethodName(options.method);
  if (options.method == CalibrationMethod::kPercentile) d << " " << FormatFloat(options.percentile);
  d << " over " << cal.images.size() << " calibration image" << (cal.images.size() == 1 ? "" : "s");
  if (!cal.source.empty()) d << " (" << cal.source << ")";
  d << ", input and logits by min/max";
  if (corrected > 0) {
    d << "; biases corrected for the mean rounding shift over " << corrected << " image"
      << (corrected == 1 ? "" : "s");
  }
  d << "; float32 layers: ";
  std::string kept;
  for (size_t i = 0; i < n; ++i) {
    if (!int8[i]) kept += (kept.empty() ? "" : ", ") + net.layers[i].name;
  }
  d << (kept.empty() ? "none" : kept);
  result.description = d.str();
  return result;
}

std::vector<float> RunQuantized(const FusedNet& net, const std::vector<LayerQuantization>& layers,
                                uint32_t height, uint32_t width, const std::vector<float>& input) {
  Activation x;
  x.f = input;
  uint32_t h = height, w = width, c = net.in_channels;
  for (size_t i = 0; i < net.layers.size(); ++i) x = Step(net.layers[i], layers[i], &h, &w, &c, x);
  return x.Float();
}

}  // namespace rvgg::convert
