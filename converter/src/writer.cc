#include "converter/src/writer.h"

#include "converter/src/error.h"
#include "tools/common/files.h"
#include "rvgg/rvgg.h"
#include "schema/rvgg_generated.h"

namespace rvgg::convert {

const char kConverterVersion[] = "rvgg-convert " RVGG_VERSION_STRING;

namespace {

namespace fb = flatbuffers;
using schema::DataType;

constexpr size_t kDataAlignment = 64;

template <typename T>
fb::Offset<fb::Vector<T>> AlignedVector(fb::FlatBufferBuilder& b, const std::vector<T>& v) {
  b.ForceVectorAlignment(v.size(), sizeof(T), kDataAlignment);
  return b.CreateVector(v);
}

fb::Offset<schema::Tensor> FloatTensor(fb::FlatBufferBuilder& b, std::vector<uint32_t> shape,
                                       const std::vector<float>& data) {
  auto data_offset = AlignedVector(b, data);
  auto shape_offset = b.CreateVector(shape);
  return schema::CreateTensor(b, shape_offset, DataType::Float32, data_offset);
}

fb::Offset<schema::Quantization> Quantization(fb::FlatBufferBuilder& b, const QuantParams& q) {
  auto scale = b.CreateVector(std::vector<float>{q.scale});
  auto zero_point = b.CreateVector(std::vector<int32_t>{q.zero_point});
  return schema::CreateQuantization(b, scale, zero_point);
}

// Symmetric int8 weights with one scale per output channel (zero points 0).
fb::Offset<schema::Tensor> Int8Tensor(fb::FlatBufferBuilder& b, std::vector<uint32_t> shape,
                                      const QuantizedWeights& w) {
  auto data_offset = AlignedVector(b, w.values);
  auto scales = b.CreateVector(w.scales);
  auto zero_points = b.CreateVector(std::vector<int32_t>(w.scales.size(), 0));
  auto quantization = schema::CreateQuantization(b, scales, zero_points);
  auto shape_offset = b.CreateVector(shape);
  return schema::CreateTensor(b, shape_offset, DataType::Int8, 0, data_offset, 0, quantization);
}

fb::Offset<schema::Tensor> Int32Tensor(fb::FlatBufferBuilder& b, std::vector<uint32_t> shape,
                                       const std::vector<int32_t>& data) {
  auto data_offset = AlignedVector(b, data);
  auto shape_offset = b.CreateVector(shape);
  return schema::CreateTensor(b, shape_offset, DataType::Int32, 0, 0, data_offset);
}

// Weights and bias of a conv or fully connected layer, float32 or int8.
void WeightTensors(fb::FlatBufferBuilder& b, const FusedLayer& l, const LayerQuantization* q,
                   std::vector<uint32_t> shape, fb::Offset<schema::Tensor>* weights,
                   fb::Offset<schema::Tensor>* bias) {
  if (q != nullptr) {
    *weights = Int8Tensor(b, shape, q->weights);
    *bias = Int32Tensor(b, {l.out_channels}, q->bias);
  } else {
    *weights = FloatTensor(b, shape, l.weight);
    *bias = FloatTensor(b, {l.out_channels}, l.bias);
  }
}

fb::Offset<schema::Layer> BuildLayer(fb::FlatBufferBuilder& b, const FusedLayer& l,
                                     const LayerQuantization* q) {
  const auto activation = l.relu ? schema::Activation::Relu : schema::Activation::None;
  fb::Offset<void> op;
  schema::Op op_type = schema::Op::NONE;
  switch (l.type) {
    case RVGG_LAYER_CONV2D: {
      fb::Offset<schema::Tensor> w, bias;
      WeightTensors(b, l, q, {l.out_channels, l.kernel, l.kernel, l.in_channels / l.groups}, &w,
                    &bias);
      op = schema::CreateConv2D(b, static_cast<uint8_t>(l.kernel), static_cast<uint8_t>(l.kernel),
                                static_cast<uint8_t>(l.stride), static_cast<uint8_t>(l.padding),
                                l.groups, l.in_channels, l.out_channels, activation, w, bias)
               .Union();
      op_type = schema::Op::Conv2D;
      break;
    }
    case RVGG_LAYER_SQUEEZE_EXCITE: {
      const uint32_t c = l.in_channels, r = l.se.reduced;
      auto dw = FloatTensor(b, {r, c}, l.se.down_weight);
      auto db = FloatTensor(b, {r}, l.se.down_bias);
      auto uw = FloatTensor(b, {c, r}, l.se.up_weight);
      auto ub = FloatTensor(b, {c}, l.se.up_bias);
      op = schema::CreateSqueezeExcite(b, c, r, activation, dw, db, uw, ub).Union();
      op_type = schema::Op::SqueezeExcite;
      break;
    }
    case RVGG_LAYER_GLOBAL_AVERAGE_POOL:
      op = schema::CreateGlobalAveragePool(b).Union();
      op_type = schema::Op::GlobalAveragePool;
      break;
    case RVGG_LAYER_FULLY_CONNECTED: {
      fb::Offset<schema::Tensor> w, bias;
      WeightTensors(b, l, q, {l.out_channels, l.in_channels}, &w, &bias);
      op = schema::CreateFullyConnected(b, l.in_channels, l.out_channels, activation, w, bias)
               .Union();
      op_type = schema::Op::FullyConnected;
      break;
    }
  }
  auto name = b.CreateString(l.name);
  if (q == nullptr) return schema::CreateLayer(b, name, op_type, op);
  auto input = Quantization(b, q->input);
  auto output = Quantization(b, q->output);
  return schema::CreateLayer(b, name, op_type, op, DataType::Int8, input, output);
}

// Bytes the weights take in the buffer, with their alignment padding; the
// builder starts this big so it never regrows (each regrowth copies the whole
// buffer, and page-faults in a fresh one: seconds for the big variants).
size_t EstimateBytes(const FusedNet& net, const ModelMetadata& m) {
  size_t bytes = 1 << 16;
  for (const FusedLayer& l : net.layers) {
    const size_t floats = l.weight.size() + l.bias.size() + l.se.down_weight.size() +
                          l.se.down_bias.size() + l.se.up_weight.size() + l.se.up_bias.size();
    bytes += floats * sizeof(float) + 6 * (kDataAlignment + 64) + l.name.size() + 256;
  }
  for (const std::string& label : m.labels) bytes += label.size() + 16;
  return bytes;
}

}  // namespace

std::vector<uint8_t> SerializeModel(const FusedNet& net, const ModelMetadata& m,
                                    const std::vector<LayerQuantization>* quantization) {
  if (quantization != nullptr && quantization->size() != net.layers.size()) {
    throw ConvertError("internal error: quantization does not match the layers");
  }
  fb::FlatBufferBuilder b(EstimateBytes(net, m));
  std::vector<fb::Offset<schema::Layer>> layers;
  layers.reserve(net.layers.size());
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const LayerQuantization* q = quantization != nullptr && (*quantization)[i].int8
                                     ? &(*quantization)[i]
                                     : nullptr;
    layers.push_back(BuildLayer(b, net.layers[i], q));
  }
  auto layers_offset = b.CreateVector(layers);

  fb::Offset<fb::Vector<float>> mean, std;
  if (!m.mean.empty()) mean = b.CreateVector(m.mean);
  if (!m.std.empty()) std = b.CreateVector(m.std);
  fb::Offset<fb::Vector<fb::Offset<fb::String>>> labels;
  if (!m.labels.empty()) labels = b.CreateVectorOfStrings(m.labels);
  auto pre = schema::CreatePreprocessing(b, mean, std, labels);
  auto provenance = schema::CreateProvenanceDirect(
      b, m.source_file.c_str(), m.source_format.c_str(), m.architecture.c_str(),
      kConverterVersion, m.fusion_max_abs_diff, m.fusion_rel_diff, m.quantization.c_str());
  // arena_bytes is patched in place below, so it must be stored even while 0.
  b.ForceDefaults(true);
  auto model = schema::CreateModel(b, RVGG_SCHEMA_VERSION, m.input_height, m.input_width,
                                   net.in_channels, pre, layers_offset, /*arena_bytes=*/0,
                                   provenance);
  b.ForceDefaults(false);
  schema::FinishModelBuffer(b, model);

  std::vector<uint8_t> bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  rvgg_message message;
  size_t arena = 0;
  const rvgg_status status =
      rvgg_model_arena_size(bytes.data(), bytes.size(), nullptr, &arena, &message);
  if (status != RVGG_STATUS_OK) {
    throw ConvertError(std::string("the runtime rejects the converted model: ") + message.text);
  }
  if (!schema::GetMutableModel(bytes.data())->mutate_arena_bytes(arena)) {
    throw ConvertError("internal error: cannot record the arena size");
  }
  return bytes;
}

void WriteFileAtomically(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::string error;
  if (!tools::WriteFileAtomically(path, bytes, &error)) throw ConvertError("cannot write " + error);
}

}  // namespace rvgg::convert
