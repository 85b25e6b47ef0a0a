#include "tests/runtime/int8_models.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "runtime/reference/reference.h"
#include "schema/rvgg_generated.h"

namespace rvgg::testing {
namespace {

namespace fb = flatbuffers;
using schema::DataType;

enum class Kind { kConv, kSqueezeExcite, kPool, kFc };

struct FloatLayer {
  Kind kind = Kind::kConv;
  std::string name;
  ref::Conv2DShape shape{};  // conv; pool/fc use in/out dims
  uint32_t reduced = 0;
  bool relu = false;
  std::vector<float> weights, bias, down_w, down_b, up_w, up_b;
  float in_lo = 0, in_hi = 0, out_lo = 0, out_hi = 0;  // measured ranges
};

std::vector<float> Normal(size_t n, float stddev, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

void Range(const std::vector<float>& v, float* lo, float* hi) {
  *lo = 0.0f;
  *hi = 0.0f;
  for (float x : v) {
    *lo = std::min(*lo, x);
    *hi = std::max(*hi, x);
  }
}

QuantParams ParamsFor(float lo, float hi) {
  if (hi - lo < 1e-6f) hi = lo + 1e-6f;
  const float scale = (hi - lo) / 255.0f;
  const long zp = std::lround(-128.0f - lo / scale);
  return QuantParams{scale, static_cast<int32_t>(std::clamp<long>(zp, -128, 127))};
}

// Float layers of `spec` with ranges from one forward pass.
std::vector<FloatLayer> MakeLayers(const ModelSpec& spec) {
  std::mt19937 rng(spec.seed);
  std::vector<FloatLayer> layers;
  uint32_t h = spec.height, w = spec.width, c = spec.channels;
  int index = 0;
  for (const ConvSpec& conv : spec.convs) {
    FloatLayer l;
    l.kind = Kind::kConv;
    l.name = "block" + std::to_string(index++);
    const uint32_t oh = (h + 2 * conv.padding - conv.kernel) / conv.stride + 1;
    const uint32_t ow = (w + 2 * conv.padding - conv.kernel) / conv.stride + 1;
    l.relu = conv.relu && conv.se_reduced == 0;
    l.shape = ref::Conv2DShape{h, w, c, oh, ow, conv.out_channels, conv.kernel, conv.kernel,
                               conv.stride, conv.padding, conv.groups, l.relu};
    const uint32_t group_in = c / conv.groups;
    l.weights = Normal(size_t{conv.out_channels} * conv.kernel * conv.kernel * group_in,
                       std::sqrt(2.0f / (group_in * conv.kernel * conv.kernel)), rng);
    l.bias = Normal(conv.out_channels, 0.1f, rng);
    layers.push_back(std::move(l));
    h = oh;
    w = ow;
    c = conv.out_channels;
    if (conv.se_reduced > 0) {
      FloatLayer se;
      se.kind = Kind::kSqueezeExcite;
      se.name = layers.back().name + ".se";
      se.shape = ref::Conv2DShape{h, w, c, h, w, c, 1, 1, 1, 0, 1, conv.relu};
      se.relu = conv.relu;
      se.reduced = conv.se_reduced;
      se.down_w = Normal(size_t{se.reduced} * c, 1.0f / std::sqrt(float(c)), rng);
      se.down_b = Normal(se.reduced, 0.1f, rng);
      se.up_w = Normal(size_t{c} * se.reduced, 1.0f / std::sqrt(float(se.reduced)), rng);
      se.up_b = Normal(c, 0.5f, rng);
      layers.push_back(std::move(se));
    }
  }
  FloatLayer pool;
  pool.kind = Kind::kPool;
  pool.name = "gap";
  pool.shape = ref::Conv2DShape{h, w, c, 1, 1, c, 1, 1, 1, 0, 1, false};
  layers.push_back(std::move(pool));
  FloatLayer fc;
  fc.kind = Kind::kFc;
  fc.name = "classifier";
  fc.shape = ref::Conv2DShape{1, 1, c, 1, 1, spec.classes, 1, 1, 1, 0, 1, false};
  fc.weights = Normal(size_t{spec.classes} * c, 1.0f / std::sqrt(float(c)), rng);
  fc.bias = Normal(spec.classes, 0.1f, rng);
  layers.push_back(std::move(fc));

  // Ranges from one N(0, 1) input (NHWC: the values do not care).
  std::vector<float> x = RandomInput(size_t{spec.height} * spec.width * spec.channels, spec.seed + 1);
  for (FloatLayer& l : layers) {
    Range(x, &l.in_lo, &l.in_hi);
    const ref::Conv2DShape& s = l.shape;
    std::vector<float> y(size_t{s.out_h} * s.out_w * s.out_c);
    switch (l.kind) {
      case Kind::kConv:
        ref::Conv2D(s, x.data(), l.weights.data(), l.bias.data(), y.data());
        break;
      case Kind::kSqueezeExcite: {
        y = x;
        std::vector<float> scratch(size_t{s.in_c} + l.reduced);
        ref::SqueezeExcite(s.in_h, s.in_w, s.in_c, l.reduced, l.down_w.data(), l.down_b.data(),
                           l.up_w.data(), l.up_b.data(), l.relu, y.data(), scratch.data());
        break;
      }
      case Kind::kPool:
        ref::GlobalAveragePool(s.in_h, s.in_w, s.in_c, x.data(), y.data());
        break;
      case Kind::kFc:
        ref::FullyConnected(s.in_c, s.out_c, x.data(), l.weights.data(), l.bias.data(), false,
                            y.data());
        break;
    }
    Range(y, &l.out_lo, &l.out_hi);
    x.swap(y);
  }
  return layers;
}

template <typename T>
fb::Offset<fb::Vector<T>> Aligned(fb::FlatBufferBuilder& b, const std::vector<T>& v) {
  b.ForceVectorAlignment(v.size(), sizeof(T), 64);
  return b.CreateVector(v);
}

fb::Offset<schema::Tensor> FloatTensor(fb::FlatBufferBuilder& b, std::vector<uint32_t> shape,
                                       const std::vector<float>& data) {
  auto values = Aligned(b, data);
  return schema::CreateTensor(b, b.CreateVector(shape), DataType::Float32, values);
}

fb::Offset<schema::Quantization> Quant(fb::FlatBufferBuilder& b, const std::vector<float>& scales,
                                       const std::vector<int32_t>& zero_points) {
  auto s = b.CreateVector(scales);
  auto z = zero_points.empty() ? 0 : b.CreateVector(zero_points);
  return schema::CreateQuantization(b, s, z);
}

fb::Offset<schema::Quantization> Quant(fb::FlatBufferBuilder& b, QuantParams q) {
  return Quant(b, {q.scale}, {q.zero_point});
}

struct Tensors {
  fb::Offset<schema::Tensor> weights, bias;
  QuantParams input, output;
};

// Quantized (or float) weights and bias of a conv or fc layer.
Tensors MakeTensors(fb::FlatBufferBuilder& b, const FloatLayer& l, std::vector<uint32_t> wshape,
                    bool int8, bool per_tensor, bool bad, Int8Fault fault,
                    const QuantParams* previous_output) {
  Tensors t;
  const uint32_t out = l.shape.out_c;
  if (!int8) {
    t.weights = FloatTensor(b, wshape, l.weights);
    t.bias = FloatTensor(b, {out}, l.bias);
    return t;
  }
  t.input = previous_output != nullptr ? *previous_output : ParamsFor(l.in_lo, l.in_hi);
  t.output = ParamsFor(l.out_lo, l.out_hi);
  const size_t per_channel = l.weights.size() / out;
  std::vector<float> scales(out);
  float largest = 0.0f;
  for (float v : l.weights) largest = std::max(largest, std::fabs(v));
  for (uint32_t o = 0; o < out; ++o) {
    float m = 0.0f;
    for (size_t i = 0; i < per_channel; ++i) m = std::max(m, std::fabs(l.weights[o * per_channel + i]));
    scales[o] = (per_tensor ? largest : m) / 127.0f;
  }
  std::vector<int8_t> q(l.weights.size());
  for (size_t i = 0; i < q.size(); ++i) {
    q[i] = static_cast<int8_t>(std::lround(l.weights[i] / scales[i / per_channel]));
  }
  std::vector<int32_t> bias(out);
  for (uint32_t o = 0; o < out; ++o) {
    bias[o] = static_cast<int32_t>(std::lround(l.bias[o] / (t.input.scale * scales[o])));
  }
  std::vector<int32_t> weight_zero_points;
  if (bad) {
    switch (fault) {
      case Int8Fault::kNanWeightScale:
        scales[out / 2] = std::nanf("");
        break;
      case Int8Fault::kMissingWeightScale:
        scales.pop_back();
        break;
      case Int8Fault::kWeightZeroPoint:
        weight_zero_points.assign(out, 0);
        weight_zero_points[1] = 3;
        break;
      case Int8Fault::kRequantTooLarge:
        t.output.scale = t.input.scale * scales[0] / 512.0f;
        break;
      case Int8Fault::kBiasOverflow:
        bias[0] = INT32_MAX - 10;
        break;
      default:
        break;
    }
  }
  auto values = Aligned(b, q);
  auto quant = Quant(b, scales, weight_zero_points);
  t.weights = schema::CreateTensor(b, b.CreateVector(wshape), DataType::Int8, 0, values, 0, quant);
  if (bad && fault == Int8Fault::kFloatBias) {
    t.bias = FloatTensor(b, {out}, l.bias);
  } else {
    auto bias_values = Aligned(b, bias);
    t.bias = schema::CreateTensor(b, b.CreateVector(std::vector<uint32_t>{out}), DataType::Int32, 0,
                                  0, bias_values);
  }
  return t;
}

}  // namespace

std::vector<uint8_t> BuildInt8Model(const Int8ModelSpec& spec) {
  const std::vector<FloatLayer> layers = MakeLayers(spec.base);
  fb::FlatBufferBuilder b;
  std::vector<fb::Offset<schema::Layer>> offsets;
  bool previous_int8 = false;
  QuantParams previous_output;
  for (size_t i = 0; i < layers.size(); ++i) {
    const FloatLayer& l = layers[i];
    const bool se = l.kind == Kind::kSqueezeExcite;
    const bool int8 = spec.int8.empty() ? (!se || spec.int8_squeeze_excite) : bool(spec.int8[i]);
    const bool bad = static_cast<int>(i) == spec.bad_layer;
    const auto activation = l.relu ? schema::Activation::Relu : schema::Activation::None;
    const QuantParams* chained = previous_int8 ? &previous_output : nullptr;
    const ref::Conv2DShape& s = l.shape;
    fb::Offset<void> op;
    schema::Op op_type = schema::Op::NONE;
    Tensors t;
    switch (l.kind) {
      case Kind::kConv:
        t = MakeTensors(b, l, {s.out_c, s.kernel_h, s.kernel_w, s.in_c / s.groups}, int8, false, bad,
                        spec.fault, chained);
        op = schema::CreateConv2D(b, static_cast<uint8_t>(s.kernel_h),
                                  static_cast<uint8_t>(s.kernel_w), static_cast<uint8_t>(s.stride),
                                  static_cast<uint8_t>(s.padding), s.groups, s.in_c, s.out_c,
                                  activation, t.weights, t.bias)
                 .Union();
        op_type = schema::Op::Conv2D;
        break;
      case Kind::kSqueezeExcite: {
        const uint32_t c = s.in_c, r = l.reduced;
        auto dw = FloatTensor(b, {r, c}, l.down_w);
        auto db = FloatTensor(b, {r}, l.down_b);
        auto uw = FloatTensor(b, {c, r}, l.up_w);
        auto ub = FloatTensor(b, {c}, l.up_b);
        op = schema::CreateSqueezeExcite(b, c, r, activation, dw, db, uw, ub).Union();
        op_type = schema::Op::SqueezeExcite;
        t.input = chained != nullptr ? *chained : ParamsFor(l.in_lo, l.in_hi);
        t.output = ParamsFor(l.out_lo, l.out_hi);
        break;
      }
      case Kind::kPool:
        op = schema::CreateGlobalAveragePool(b).Union();
        op_type = schema::Op::GlobalAveragePool;
        t.input = chained != nullptr ? *chained : ParamsFor(l.in_lo, l.in_hi);
        t.output = ParamsFor(l.out_lo, l.out_hi);
        break;
      case Kind::kFc:
        t = MakeTensors(b, l, {s.out_c, s.in_c}, int8, spec.per_tensor_classifier, bad, spec.fault,
                        chained);
        op = schema::CreateFullyConnected(b, s.in_c, s.out_c, schema::Activation::None, t.weights,
                                          t.bias)
                 .Union();
        op_type = schema::Op::FullyConnected;
        break;
    }
    fb::Offset<schema::Quantization> in_q, out_q;
    if (int8) {
      QuantParams input = t.input, output = t.output;
      std::vector<float> input_scales = {input.scale};
      if (bad) {
        switch (spec.fault) {
          case Int8Fault::kZeroInputScale:
            input_scales[0] = 0.0f;
            break;
          case Int8Fault::kTwoInputScales:
            input_scales.push_back(input.scale);
            break;
          case Int8Fault::kChainMismatch:
            input_scales[0] *= 1.5f;
            break;
          case Int8Fault::kSubnormalOutputScale:
            output.scale = 1e-40f;
            break;
          case Int8Fault::kZeroPointRange:
            output.zero_point = 200;
            break;
          default:
            break;
        }
      }
      in_q = Quant(b, input_scales, {input.zero_point});
      if (!(bad && spec.fault == Int8Fault::kMissingOutputQuant)) out_q = Quant(b, output);
      previous_output = t.output;
    }
    previous_int8 = int8;
    offsets.push_back(schema::CreateLayer(b, b.CreateString(l.name), op_type, op,
                                          int8 ? DataType::Int8 : DataType::Float32, in_q, out_q));
  }
  auto layer_vector = b.CreateVector(offsets);
  const ModelSpec& m = spec.base;
  auto mean = b.CreateVector(std::vector<float>(m.channels, 0.5f));
  auto std = b.CreateVector(std::vector<float>(m.channels, 0.25f));
  auto pre = schema::CreatePreprocessing(b, mean, std);
  auto provenance = schema::CreateProvenanceDirect(b, "test", "test builder", "custom", "tests", 0,
                                                   0, "int8 test model");
  auto model = schema::CreateModel(b, m.schema_version, m.height, m.width, m.channels, pre,
                                   layer_vector, 0, provenance);
  schema::FinishModelBuffer(b, model);
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

}  // namespace rvgg::testing
