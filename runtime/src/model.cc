// Model verification: runs the checks of runtime/src/verify.h in order --
// header, metadata, then per layer its registry row's describe step and the
// int8 rules -- and gathers the model's summary. Everything a model can get
// wrong is caught here, once, before anything is allocated.
#include "runtime/src/model.h"

#include <cstring>

#include "runtime/src/ops/registry.h"
#include "runtime/src/status.h"
#include "runtime/src/verify.h"

namespace rvgg {
namespace {

rvgg_status ComputeType(const schema::Layer& layer, LayerDesc* d, rvgg_message* message) {
  switch (layer.compute_type()) {
    case schema::DataType::Float32:
      d->compute_type = RVGG_DTYPE_FLOAT32;
      return RVGG_STATUS_OK;
    case schema::DataType::Int8:
      d->compute_type = RVGG_DTYPE_INT8;
      return RVGG_STATUS_OK;
    default:
      return Fail(message, RVGG_STATUS_UNSUPPORTED,
                  "layer %u ('%.80s'): compute type %d is not supported", d->index, d->name,
                  static_cast<int>(layer.compute_type()));
  }
}

// The op's own checks, through its registry row.
rvgg_status DescribeLayer(const schema::Layer& layer, LayerDesc* d, uint64_t* bytes,
                          rvgg_message* message) {
  const OpRegistration* row = FindOp(layer.op_type());
  if (row == nullptr) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED,
                "layer %u ('%.80s'): operator type %d is not supported by this runtime", d->index,
                d->name, static_cast<int>(layer.op_type()));
  }
  d->op = row->op;
  if (d->compute_type == RVGG_DTYPE_INT8 && row->check_int8 == nullptr) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: %s runs in float32 only",
                LayerLabel(*d).text, row->name);
  }
  return row->describe(layer, d, bytes, message);
}

// The int8 rules of layer `d`: its activation quantization, the op's own
// arithmetic limits, and that its input is what the previous int8 layer
// gives. Sets where the layer converts from and to float32.
rvgg_status CheckInt8Layer(const schema::Layer& layer, const schema::Layer* next,
                           const LayerDesc* prev, LayerDesc* d, rvgg_message* message) {
  RVGG_RETURN_IF_ERROR(
      CheckActivationQuant(layer.input_quantization(), *d, "input", &d->input_q, message));
  RVGG_RETURN_IF_ERROR(
      CheckActivationQuant(layer.output_quantization(), *d, "output", &d->output_q, message));
  RVGG_RETURN_IF_ERROR(OpOf(*d).check_int8(*d, message));
  const bool prev_int8 = prev != nullptr && prev->compute_type == RVGG_DTYPE_INT8;
  if (prev_int8 && (prev->output_q.scale != d->input_q.scale ||
                    prev->output_q.zero_point != d->input_q.zero_point)) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "layer %u ('%.80s'): input quantization (scale %g, zero point %d) differs from "
                "the previous layer's output (scale %g, zero point %d)",
                d->index, d->name, static_cast<double>(d->input_q.scale), d->input_q.zero_point,
                static_cast<double>(prev->output_q.scale), prev->output_q.zero_point);
  }
  // Conversions at the edges where a float32 neighbour (or the float API
  // input and output) meets this layer.
  const bool next_int8 = next != nullptr && next->compute_type() == schema::DataType::Int8;
  d->input_type = prev_int8 ? RVGG_DTYPE_INT8 : RVGG_DTYPE_FLOAT32;
  d->output_type = next_int8 ? RVGG_DTYPE_INT8 : RVGG_DTYPE_FLOAT32;
  return RVGG_STATUS_OK;
}

rvgg_status CheckOutputShape(const LayerDesc& d, rvgg_message* message) {
  if (d.out_h > kMaxSpatial || d.out_w > kMaxSpatial) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "layer %u: output %ux%u is too large", d.index,
                d.out_h, d.out_w);
  }
  const uint64_t elements = d.output_elements();
  if (elements == 0 || elements > kMaxActivationElements) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "layer %u ('%.80s'): output %ux%ux%u exceeds the activation limit of %llu elements",
                d.index, d.name, d.out_h, d.out_w, d.out_c,
                static_cast<unsigned long long>(kMaxActivationElements));
  }
  return RVGG_STATUS_OK;
}

// What holds once every layer passed: a classifier's 1x1 output and a label
// per class.
rvgg_status CheckOutputs(const schema::Model& model, const LayerDesc& last, rvgg_message* message) {
  if (last.out_h != 1 || last.out_w != 1) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "the last layer gives %ux%ux%u; a classifier must end in a 1x1 output", last.out_h,
                last.out_w, last.out_c);
  }
  if (const auto* pre = model.preprocessing()) {
    if (pre->labels() != nullptr && pre->labels()->size() != 0 &&
        pre->labels()->size() != last.out_c) {
      return Fail(message, RVGG_STATUS_INVALID_MODEL, "model has %u labels for %u outputs",
                  pre->labels()->size(), last.out_c);
    }
  }
  return RVGG_STATUS_OK;
}

}  // namespace

rvgg_status VerifyModel(const void* data, size_t size, ModelSummary* summary, LayerVisitor visitor,
                        void* context, rvgg_message* message) {
  ClearMessage(message);
  const schema::Model* model = nullptr;
  RVGG_RETURN_IF_ERROR(VerifyHeader(data, size, &model, message));
  const uint32_t h = model->input_height(), w = model->input_width(), c = model->input_channels();
  RVGG_RETURN_IF_ERROR(VerifyMetadata(*model, c, message));

  ModelSummary s;
  s.model = model;
  s.input_h = h;
  s.input_w = w;
  s.input_c = c;
  const auto* layers = model->layers();
  s.num_layers = layers->size();
  s.max_activation_elements = uint64_t{h} * w * c;

  // The layer before the current one: its output shape is the next input.
  LayerDesc prev;
  prev.out_h = h;
  prev.out_w = w;
  prev.out_c = c;
  for (uint32_t i = 0; i < layers->size(); ++i) {
    const schema::Layer& layer = *layers->Get(i);
    RVGG_RETURN_IF_ERROR(CheckText(layer.name(), "the name of layer", i, message));
    LayerDesc d;
    d.index = i;
    d.name = (layer.name() != nullptr) ? layer.name()->c_str() : "";
    d.in_h = prev.out_h;
    d.in_w = prev.out_w;
    d.in_c = prev.out_c;
    RVGG_RETURN_IF_ERROR(ComputeType(layer, &d, message));
    uint64_t layer_bytes = 0;
    RVGG_RETURN_IF_ERROR(DescribeLayer(layer, &d, &layer_bytes, message));
    if (d.compute_type == RVGG_DTYPE_INT8) {
      const schema::Layer* next = i + 1 < layers->size() ? layers->Get(i + 1) : nullptr;
      RVGG_RETURN_IF_ERROR(CheckInt8Layer(layer, next, i > 0 ? &prev : nullptr, &d, message));
      s.has_int8 = true;
    }
    RVGG_RETURN_IF_ERROR(CheckOutputShape(d, message));
    if (d.output_elements() > s.max_activation_elements) {
      s.max_activation_elements = d.output_elements();
    }
    s.parameters += d.parameters;
    s.weight_bytes += layer_bytes;
    s.macs += d.macs;
    if (visitor != nullptr) {
      RVGG_RETURN_IF_ERROR(visitor(context, d, message));
    }
    prev = d;
  }
  RVGG_RETURN_IF_ERROR(CheckOutputs(*model, prev, message));
  s.num_outputs = prev.out_c;
  if (summary != nullptr) *summary = s;
  return RVGG_STATUS_OK;
}

void FillLayerInfo(const LayerDesc& d, rvgg_layer_info* info) {
  std::memset(info, 0, sizeof(*info));
  info->name = d.name;
  info->type = OpOf(d).type;
  info->compute_type = d.compute_type;
  info->kernel_h = d.kernel_h;
  info->kernel_w = d.kernel_w;
  info->stride = d.stride;
  info->padding = d.padding;
  info->groups = d.groups;
  info->input_height = d.in_h;
  info->input_width = d.in_w;
  info->input_channels = d.in_c;
  info->output_height = d.out_h;
  info->output_width = d.out_w;
  info->output_channels = d.out_c;
  info->relu = d.relu ? 1u : 0u;
  info->parameters = d.parameters;
  info->macs = d.macs;
  info->kernel = "";
  info->kernel_bytes = 0;
}

}  // namespace rvgg
