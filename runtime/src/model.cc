#include "runtime/src/model.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "runtime/src/status.h"

namespace rvgg {
namespace {

using schema::DataType;

// "layer 7 (conv 3x3 'stage2.1')" for messages.
struct LayerLabel {
  char text[160];
  explicit LayerLabel(const LayerDesc& d) {
    std::snprintf(text, sizeof(text), "layer %u (%s '%.80s')", d.index, d.kind_name(), d.name);
  }
};

// Scales must be positive normal floats (XNNPACK rejects subnormal ones).
bool IsPositiveNormal(float v) { return std::isnormal(v) && v > 0.0f; }

const char* TypeName(DataType t) {
  switch (t) {
    case DataType::Float32:
      return "float32";
    case DataType::Int8:
      return "int8";
    case DataType::Int32:
      return "int32";
  }
  return "unknown";
}

// Checks the declared shape of `t` against `dims` and returns the element count.
rvgg_status CheckShape(const schema::Tensor* t, const LayerDesc& d, const char* what,
                       const uint32_t* dims, size_t rank, uint64_t* count, rvgg_message* message) {
  const LayerLabel label(d);
  if (t == nullptr) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: %s tensor is missing", label.text, what);
  }
  const auto* shape = t->shape();
  if (shape == nullptr || shape->size() != rank) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: %s has rank %u, expected %u", label.text,
                what, shape == nullptr ? 0u : shape->size(), static_cast<unsigned>(rank));
  }
  uint64_t n = 1;
  for (size_t i = 0; i < rank; ++i) {
    if (shape->Get(static_cast<flatbuffers::uoffset_t>(i)) != dims[i]) {
      return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: %s dimension %u is %u, expected %u",
                  label.text, what, static_cast<unsigned>(i),
                  shape->Get(static_cast<flatbuffers::uoffset_t>(i)), dims[i]);
    }
    n *= dims[i];  // dims are bounded by kMaxChannels and kernel sizes: no overflow
  }
  *count = n;
  return RVGG_STATUS_OK;
}

rvgg_status CheckF32(const schema::Tensor* t, const LayerDesc& d, const char* what,
                     const uint32_t* dims, size_t rank, const float** out, uint64_t* params,
                     uint64_t* bytes, rvgg_message* message) {
  uint64_t n = 0;
  RVGG_RETURN_IF_ERROR(CheckShape(t, d, what, dims, rank, &n, message));
  const LayerLabel label(d);
  if (t->type() != DataType::Float32) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: %s is %s, expected float32", label.text,
                what, TypeName(t->type()));
  }
  const auto* data = t->f32();
  if (data == nullptr || data->size() != n) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: %s hold %u floats, shape needs %llu",
                label.text, what, data == nullptr ? 0u : data->size(),
                static_cast<unsigned long long>(n));
  }
  *out = data->data();
  *params += n;
  *bytes += n * sizeof(float);
  return RVGG_STATUS_OK;
}

rvgg_status CheckActivationQuant(const schema::Quantization* q, const LayerDesc& d,
                                 const char* what, QuantParams* out, rvgg_message* message) {
  const LayerLabel label(d);
  if (q == nullptr || q->scale() == nullptr || q->scale()->size() != 1) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: int8 layer needs one %s scale (per-tensor quantization)", label.text, what);
  }
  const float scale = q->scale()->Get(0);
  if (!IsPositiveNormal(scale)) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: %s scale %g is not a positive normal number",
                label.text, what, static_cast<double>(scale));
  }
  int32_t zero_point = 0;
  if (q->zero_point() != nullptr) {
    if (q->zero_point()->size() != 1) {
      return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: %s has %u zero points, expected 1",
                  label.text, what, q->zero_point()->size());
    }
    zero_point = q->zero_point()->Get(0);
  }
  if (zero_point < -128 || zero_point > 127) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: %s zero point %d is outside int8",
                label.text, what, zero_point);
  }
  out->scale = scale;
  out->zero_point = zero_point;
  return RVGG_STATUS_OK;
}

// Symmetric per-output-channel int8 weights and int32 bias.
rvgg_status CheckQuantizedWeights(const schema::Tensor* w, const schema::Tensor* b,
                                  const uint32_t* dims, size_t rank, LayerDesc* d,
                                  uint64_t* params, uint64_t* bytes, rvgg_message* message) {
  const LayerLabel label(*d);
  uint64_t n = 0;
  RVGG_RETURN_IF_ERROR(CheckShape(w, *d, "weights", dims, rank, &n, message));
  if (w->type() != DataType::Int8 || w->i8() == nullptr || w->i8()->size() != n) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: int8 weights hold %u values, shape needs %llu",
                label.text, w->i8() == nullptr ? 0u : w->i8()->size(),
                static_cast<unsigned long long>(n));
  }
  const auto* q = w->quantization();
  if (q == nullptr || q->scale() == nullptr || q->scale()->size() != d->out_c) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: int8 weights need %u per-channel scales, found %u", label.text, d->out_c,
                (q == nullptr || q->scale() == nullptr) ? 0u : q->scale()->size());
  }
  for (uint32_t i = 0; i < d->out_c; ++i) {
    if (!IsPositiveNormal(q->scale()->Get(i))) {
      return Fail(message, RVGG_STATUS_INVALID_MODEL,
                  "%s: weight scale %u is %g, not a positive normal number",
                  label.text, i, static_cast<double>(q->scale()->Get(i)));
    }
  }
  if (q->zero_point() != nullptr) {
    for (uint32_t i = 0; i < q->zero_point()->size(); ++i) {
      if (q->zero_point()->Get(i) != 0) {
        return Fail(message, RVGG_STATUS_INVALID_MODEL,
                    "%s: weight zero point %u is %d; int8 weights are symmetric", label.text, i,
                    q->zero_point()->Get(i));
      }
    }
  }
  const uint32_t bias_dims[1] = {d->out_c};
  uint64_t nb = 0;
  RVGG_RETURN_IF_ERROR(CheckShape(b, *d, "bias", bias_dims, 1, &nb, message));
  if (b->type() != DataType::Int32 || b->i32() == nullptr || b->i32()->size() != nb) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: int8 layer needs an int32 bias of %u values",
                label.text, d->out_c);
  }
  d->weights_q = w->i8()->data();
  d->weight_scales = q->scale()->data();
  d->bias_q = b->i32()->data();
  *params += n + nb;
  *bytes += n + nb * sizeof(int32_t) + uint64_t{d->out_c} * sizeof(float);
  return RVGG_STATUS_OK;
}

// Keeps int8 layers within the arithmetic every backend runs (model.h):
// the requantization scales and a non-empty ReLU range.
rvgg_status CheckRequantization(const LayerDesc& d, rvgg_message* message) {
  const LayerLabel label(d);
  if (d.kind == LayerKind::kGlobalAveragePool) {
    // The int32 sum of (q - zero_point) over the pixels must not overflow.
    if (uint64_t{d.in_h} * d.in_w > kMaxQs8PoolPixels) {
      return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: %ux%u pixels are too many to pool in int8",
                  label.text, d.in_h, d.in_w);
    }
    const float ratio = d.input_q.scale / d.output_q.scale;
    if (!(ratio >= kMinPoolScaleRatio && ratio < kMaxPoolScaleRatio)) {
      return Fail(message, RVGG_STATUS_INVALID_MODEL,
                  "%s: input scale / output scale is %g, outside [2^-8, 2^8)", label.text,
                  static_cast<double>(ratio));
    }
    return RVGG_STATUS_OK;
  }
  // The int32 accumulator holds bias + sum of (q - zero_point) * w over the
  // kernel, |q - zero_point| <= 255 and |w| <= 128: bound it below 2^31.
  const uint64_t taps = d.kind == LayerKind::kConv2D
                            ? uint64_t{d.in_c / d.groups} * d.kernel_h * d.kernel_w
                            : uint64_t{d.in_c};
  const uint64_t products = taps * 255u * 128u;
  for (uint32_t o = 0; o < d.out_c; ++o) {
    const int64_t bias = d.bias_q[o];
    const uint64_t magnitude = static_cast<uint64_t>(bias < 0 ? -bias : bias);
    if (products + magnitude > uint64_t{INT32_MAX}) {
      return Fail(message, RVGG_STATUS_INVALID_MODEL,
                  "%s: channel %u int32 bias %d with %llu taps can overflow the accumulator",
                  label.text, o, d.bias_q[o], static_cast<unsigned long long>(taps));
    }
  }
  for (uint32_t o = 0; o < d.out_c; ++o) {
    // The expression XNNPACK evaluates, in the same order.
    const float scale = d.input_q.scale * d.weight_scales[o] / d.output_q.scale;
    if (!(scale >= kMinRequantScale && scale < kMaxRequantScale)) {
      return Fail(message, RVGG_STATUS_INVALID_MODEL,
                  "%s: channel %u requantization scale (input x weight / output scale) is %g, "
                  "outside [2^-32, 256)",
                  label.text, o, static_cast<double>(scale));
    }
  }
  if (d.relu && d.output_q.zero_point == 127) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: output zero point 127 leaves the ReLU output no range", label.text);
  }
  return RVGG_STATUS_OK;
}

rvgg_status DescribeConv(const schema::Conv2D* op, LayerDesc* d, uint64_t* bytes,
                         rvgg_message* message) {
  d->kind = LayerKind::kConv2D;
  const LayerLabel pre(*d);
  if (op == nullptr) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: missing Conv2D options", pre.text);
  }
  d->kernel_h = op->kernel_h();
  d->kernel_w = op->kernel_w();
  d->stride = op->stride();
  d->padding = op->padding();
  d->groups = op->groups();
  d->relu = op->activation() == schema::Activation::Relu;
  const LayerLabel label(*d);
  const bool k3 = d->kernel_h == 3 && d->kernel_w == 3;
  const bool k1 = d->kernel_h == 1 && d->kernel_w == 1;
  if (!k3 && !k1) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: kernel %ux%u is not supported (3x3 or 1x1)",
                label.text, d->kernel_h, d->kernel_w);
  }
  if (d->stride != 1 && d->stride != 2) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: stride %u is not supported (1 or 2)",
                label.text, d->stride);
  }
  if (d->padding >= d->kernel_h) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: padding %u is not supported for a %ux%u kernel",
                label.text, d->padding, d->kernel_h, d->kernel_w);
  }
  if (op->activation() != schema::Activation::None && op->activation() != schema::Activation::Relu) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: unknown activation %d", label.text,
                static_cast<int>(op->activation()));
  }
  if (op->in_channels() != d->in_c) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: in_channels is %u but the previous layer gives %u", label.text,
                op->in_channels(), d->in_c);
  }
  d->out_c = op->out_channels();
  if (d->out_c == 0 || d->out_c > kMaxChannels) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: out_channels %u is outside 1..%u",
                label.text, d->out_c, kMaxChannels);
  }
  if (d->groups == 0 || d->in_c % d->groups != 0 || d->out_c % d->groups != 0) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: groups %u must divide in_channels %u and out_channels %u", label.text,
                d->groups, d->in_c, d->out_c);
  }
  const uint64_t padded_h = uint64_t{d->in_h} + 2u * d->padding;
  const uint64_t padded_w = uint64_t{d->in_w} + 2u * d->padding;
  if (padded_h < d->kernel_h || padded_w < d->kernel_w) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: input %ux%u is smaller than the kernel",
                label.text, d->in_h, d->in_w);
  }
  d->out_h = static_cast<uint32_t>((padded_h - d->kernel_h) / d->stride + 1);
  d->out_w = static_cast<uint32_t>((padded_w - d->kernel_w) / d->stride + 1);

  const uint32_t group_in = d->in_c / d->groups;
  const uint32_t wdims[4] = {d->out_c, d->kernel_h, d->kernel_w, group_in};
  const uint32_t bdims[1] = {d->out_c};
  if (d->compute_type == RVGG_DTYPE_INT8) {
    RVGG_RETURN_IF_ERROR(
        CheckQuantizedWeights(op->weights(), op->bias(), wdims, 4, d, &d->parameters, bytes, message));
  } else {
    RVGG_RETURN_IF_ERROR(CheckF32(op->weights(), *d, "weights", wdims, 4, &d->weights,
                                  &d->parameters, bytes, message));
    RVGG_RETURN_IF_ERROR(
        CheckF32(op->bias(), *d, "bias", bdims, 1, &d->bias, &d->parameters, bytes, message));
  }
  d->macs = uint64_t{d->out_h} * d->out_w * d->out_c * group_in * d->kernel_h * d->kernel_w;
  return RVGG_STATUS_OK;
}

rvgg_status DescribeFullyConnected(const schema::FullyConnected* op, LayerDesc* d,
                                   uint64_t* bytes, rvgg_message* message) {
  d->kind = LayerKind::kFullyConnected;
  const LayerLabel label(*d);
  if (op == nullptr) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: missing FullyConnected options", label.text);
  }
  if (d->in_h != 1 || d->in_w != 1) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: input is %ux%ux%u; a fully connected layer needs a pooled 1x1 input",
                label.text, d->in_h, d->in_w, d->in_c);
  }
  if (op->in_features() != d->in_c) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: in_features is %u but the previous layer gives %u", label.text,
                op->in_features(), d->in_c);
  }
  if (op->activation() != schema::Activation::None && op->activation() != schema::Activation::Relu) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: unknown activation %d", label.text,
                static_cast<int>(op->activation()));
  }
  d->out_h = d->out_w = 1;
  d->out_c = op->out_features();
  d->relu = op->activation() == schema::Activation::Relu;
  if (d->out_c == 0 || d->out_c > kMaxChannels) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: out_features %u is outside 1..%u",
                label.text, d->out_c, kMaxChannels);
  }
  const uint32_t wdims[2] = {d->out_c, d->in_c};
  const uint32_t bdims[1] = {d->out_c};
  if (d->compute_type == RVGG_DTYPE_INT8) {
    RVGG_RETURN_IF_ERROR(
        CheckQuantizedWeights(op->weights(), op->bias(), wdims, 2, d, &d->parameters, bytes, message));
  } else {
    RVGG_RETURN_IF_ERROR(CheckF32(op->weights(), *d, "weights", wdims, 2, &d->weights,
                                  &d->parameters, bytes, message));
    RVGG_RETURN_IF_ERROR(
        CheckF32(op->bias(), *d, "bias", bdims, 1, &d->bias, &d->parameters, bytes, message));
  }
  d->macs = uint64_t{d->in_c} * d->out_c;
  return RVGG_STATUS_OK;
}

rvgg_status DescribeSqueezeExcite(const schema::SqueezeExcite* op, LayerDesc* d, uint64_t* bytes,
                                  rvgg_message* message) {
  d->kind = LayerKind::kSqueezeExcite;
  const LayerLabel label(*d);
  if (op == nullptr) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: missing SqueezeExcite options", label.text);
  }
  if (d->compute_type != RVGG_DTYPE_FLOAT32) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: squeeze-excite runs in float32 only",
                label.text);
  }
  if (op->channels() != d->in_c) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: channels is %u but the previous layer gives %u", label.text, op->channels(),
                d->in_c);
  }
  d->reduced = op->reduced();
  if (d->reduced == 0 || d->reduced > kMaxChannels) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s: reduced width %u is outside 1..%u",
                label.text, d->reduced, kMaxChannels);
  }
  if (op->activation() != schema::Activation::None && op->activation() != schema::Activation::Relu) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: unknown activation %d", label.text,
                static_cast<int>(op->activation()));
  }
  d->relu = op->activation() == schema::Activation::Relu;
  d->out_h = d->in_h;
  d->out_w = d->in_w;
  d->out_c = d->in_c;
  const uint32_t down_dims[2] = {d->reduced, d->in_c};
  const uint32_t down_bias_dims[1] = {d->reduced};
  const uint32_t up_dims[2] = {d->in_c, d->reduced};
  const uint32_t up_bias_dims[1] = {d->in_c};
  RVGG_RETURN_IF_ERROR(CheckF32(op->down_weights(), *d, "down weights", down_dims, 2,
                                &d->se_down_weights, &d->parameters, bytes, message));
  RVGG_RETURN_IF_ERROR(CheckF32(op->down_bias(), *d, "down bias", down_bias_dims, 1,
                                &d->se_down_bias, &d->parameters, bytes, message));
  RVGG_RETURN_IF_ERROR(CheckF32(op->up_weights(), *d, "up weights", up_dims, 2,
                                &d->se_up_weights, &d->parameters, bytes, message));
  RVGG_RETURN_IF_ERROR(CheckF32(op->up_bias(), *d, "up bias", up_bias_dims, 1, &d->se_up_bias,
                                &d->parameters, bytes, message));
  d->macs = 2 * uint64_t{d->in_c} * d->reduced;
  return RVGG_STATUS_OK;
}

rvgg_status CheckFloatVector(const flatbuffers::Vector<float>* v, uint32_t expected,
                             const char* what, bool positive, rvgg_message* message) {
  if (v == nullptr) return RVGG_STATUS_OK;
  if (v->size() != expected) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "preprocessing %s has %u values, the input has %u channels", what, v->size(),
                expected);
  }
  for (uint32_t i = 0; i < v->size(); ++i) {
    const float x = v->Get(i);
    if (!std::isfinite(x) || (positive && !(x > 0.0f))) {
      return Fail(message, RVGG_STATUS_INVALID_MODEL, "preprocessing %s[%u] is %g", what, i,
                  static_cast<double>(x));
    }
  }
  return RVGG_STATUS_OK;
}

// Strings from the file end up in messages, tables and terminals: a
// newline would break the one-line message promise, an escape sequence would
// reach the user's terminal. No legitimate name, label or provenance field
// has control characters, so they are refused (without echoing the string).
// `index` < 0: `what` alone names the string.
rvgg_status CheckText(const flatbuffers::String* text, const char* what, int64_t index,
                      rvgg_message* message) {
  if (text == nullptr) return RVGG_STATUS_OK;
  for (uint32_t i = 0; i < text->size(); ++i) {
    const uint8_t c = static_cast<uint8_t>(text->Get(i));
    if (c < 0x20 || c == 0x7f) {
      char name[64];
      if (index < 0) {
        std::snprintf(name, sizeof(name), "%s", what);
      } else {
        std::snprintf(name, sizeof(name), "%s %lld", what, static_cast<long long>(index));
      }
      return Fail(message, RVGG_STATUS_INVALID_MODEL, "%s holds control character 0x%02x at byte %u",
                  name, c, i);
    }
  }
  return RVGG_STATUS_OK;
}

}  // namespace

const char* LayerDesc::kind_name() const {
  switch (kind) {
    case LayerKind::kConv2D:
      if (kernel_h == 1) return stride == 2 ? "conv 1x1/2" : "conv 1x1";
      return stride == 2 ? "conv 3x3/2" : "conv 3x3";
    case LayerKind::kGlobalAveragePool:
      return "global avg pool";
    case LayerKind::kFullyConnected:
      return "fully connected";
    case LayerKind::kSqueezeExcite:
      return "squeeze-excite";
  }
  return "layer";
}

rvgg_status VerifyModel(const void* data, size_t size, ModelSummary* summary,
                        LayerVisitor visitor, void* context, rvgg_message* message) {
  ClearMessage(message);
  if (data == nullptr) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "model buffer is NULL");
  }
  // FlatBuffers checks field alignment relative to the buffer start and then
  // reads scalars in place: the buffer must be aligned for the widest one
  // (Model.arena_bytes, 8 bytes), or reading it is a misaligned load.
  if (reinterpret_cast<uintptr_t>(data) % 8 != 0) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT,
                "model buffer must be at least 8-byte aligned (64 recommended)");
  }
  if (size < 8) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "model is %zu bytes, too small to be an rvgg model",
                size);
  }
  if (size > kMaxModelBytes) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "model is %zu bytes, over the 2 GiB limit", size);
  }
  const auto* bytes = static_cast<const uint8_t*>(data);
  if (!schema::ModelBufferHasIdentifier(bytes)) {
    char id[5];
    for (int i = 0; i < 4; ++i) {
      const char c = static_cast<char>(bytes[4 + i]);
      id[i] = (c >= 32 && c < 127) ? c : '?';
    }
    id[4] = '\0';
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "not an rvgg model (file identifier '%s', expected 'RVGG')", id);
  }
  flatbuffers::Verifier::Options options;
  options.max_depth = 16;
  options.max_tables = 64 * kMaxLayers;
  options.check_alignment = true;
  flatbuffers::Verifier verifier(bytes, size, options);
  if (!schema::VerifyModelBuffer(verifier)) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "model structure is corrupt (FlatBuffers verification failed; truncated or damaged file?)");
  }
  const schema::Model* model = schema::GetModel(bytes);

  if (model->schema_version() == 0) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "schema_version is missing");
  }
  if (model->schema_version() > RVGG_SCHEMA_VERSION) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED,
                "model schema version %u is newer than this runtime's %u; update rvgg",
                model->schema_version(), RVGG_SCHEMA_VERSION);
  }
  const uint32_t h = model->input_height(), w = model->input_width(), c = model->input_channels();
  if (h == 0 || w == 0 || c == 0 || h > kMaxSpatial || w > kMaxSpatial || c > kMaxChannels) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "input shape %ux%ux%u is outside the limits (1..%u spatial, 1..%u channels)", h, w,
                c, kMaxSpatial, kMaxChannels);
  }
  if (uint64_t{h} * w * c > kMaxActivationElements) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "input %ux%ux%u exceeds the activation limit of %llu elements", h, w, c,
                static_cast<unsigned long long>(kMaxActivationElements));
  }
  const auto* layers = model->layers();
  if (layers == nullptr || layers->size() == 0) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "model has no layers");
  }
  if (layers->size() > kMaxLayers) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "model has %u layers, the limit is %u",
                layers->size(), kMaxLayers);
  }
  if (const auto* pre = model->preprocessing()) {
    RVGG_RETURN_IF_ERROR(CheckFloatVector(pre->mean(), c, "mean", false, message));
    RVGG_RETURN_IF_ERROR(CheckFloatVector(pre->std(), c, "std", true, message));
    if (const auto* labels = pre->labels()) {
      for (uint32_t i = 0; i < labels->size(); ++i) {
        RVGG_RETURN_IF_ERROR(CheckText(labels->Get(i), "label", i, message));
      }
    }
  }
  if (const schema::Provenance* p = model->provenance()) {
    RVGG_RETURN_IF_ERROR(CheckText(p->source_file(), "provenance source_file", -1, message));
    RVGG_RETURN_IF_ERROR(CheckText(p->source_format(), "provenance source_format", -1, message));
    RVGG_RETURN_IF_ERROR(CheckText(p->architecture(), "provenance architecture", -1, message));
    RVGG_RETURN_IF_ERROR(
        CheckText(p->converter_version(), "provenance converter_version", -1, message));
    RVGG_RETURN_IF_ERROR(CheckText(p->quantization(), "provenance quantization", -1, message));
  }

  ModelSummary s;
  s.model = model;
  s.input_h = h;
  s.input_w = w;
  s.input_c = c;
  s.num_layers = layers->size();
  s.max_activation_elements = uint64_t{h} * w * c;

  uint32_t cur_h = h, cur_w = w, cur_c = c;
  bool prev_int8 = false;
  QuantParams prev_out_q;
  for (uint32_t i = 0; i < layers->size(); ++i) {
    const schema::Layer* layer = layers->Get(i);
    RVGG_RETURN_IF_ERROR(CheckText(layer->name(), "the name of layer", i, message));
    LayerDesc d;
    d.index = i;
    d.name = (layer->name() != nullptr) ? layer->name()->c_str() : "";
    d.in_h = cur_h;
    d.in_w = cur_w;
    d.in_c = cur_c;
    switch (layer->compute_type()) {
      case schema::DataType::Float32:
        d.compute_type = RVGG_DTYPE_FLOAT32;
        break;
      case schema::DataType::Int8:
        d.compute_type = RVGG_DTYPE_INT8;
        break;
      default:
        return Fail(message, RVGG_STATUS_UNSUPPORTED, "layer %u ('%.80s'): compute type %d is not supported",
                    i, d.name, static_cast<int>(layer->compute_type()));
    }
    uint64_t layer_bytes = 0;
    switch (layer->op_type()) {
      case schema::Op::Conv2D:
        RVGG_RETURN_IF_ERROR(DescribeConv(layer->op_as_Conv2D(), &d, &layer_bytes, message));
        break;
      case schema::Op::FullyConnected:
        RVGG_RETURN_IF_ERROR(
            DescribeFullyConnected(layer->op_as_FullyConnected(), &d, &layer_bytes, message));
        break;
      case schema::Op::GlobalAveragePool:
        d.kind = LayerKind::kGlobalAveragePool;
        d.out_h = d.out_w = 1;
        d.out_c = d.in_c;
        break;
      case schema::Op::SqueezeExcite:
        RVGG_RETURN_IF_ERROR(
            DescribeSqueezeExcite(layer->op_as_SqueezeExcite(), &d, &layer_bytes, message));
        break;
      default:
        return Fail(message, RVGG_STATUS_UNSUPPORTED,
                    "layer %u ('%.80s'): operator type %d is not supported by this runtime", i,
                    d.name, static_cast<int>(layer->op_type()));
    }
    if (d.compute_type == RVGG_DTYPE_INT8) {
      RVGG_RETURN_IF_ERROR(
          CheckActivationQuant(layer->input_quantization(), d, "input", &d.input_q, message));
      RVGG_RETURN_IF_ERROR(
          CheckActivationQuant(layer->output_quantization(), d, "output", &d.output_q, message));
      RVGG_RETURN_IF_ERROR(CheckRequantization(d, message));
      if (prev_int8 && (prev_out_q.scale != d.input_q.scale ||
                        prev_out_q.zero_point != d.input_q.zero_point)) {
        return Fail(message, RVGG_STATUS_INVALID_MODEL,
                    "layer %u ('%.80s'): input quantization (scale %g, zero point %d) differs from "
                    "the previous layer's output (scale %g, zero point %d)",
                    i, d.name, static_cast<double>(d.input_q.scale), d.input_q.zero_point,
                    static_cast<double>(prev_out_q.scale), prev_out_q.zero_point);
      }
      s.has_int8 = true;
      // Conversions at the edges where a float32 neighbour (or the float
      // API input and output) meets this layer.
      const bool next_int8 = i + 1 < layers->size() &&
                             layers->Get(i + 1)->compute_type() == schema::DataType::Int8;
      d.input_type = prev_int8 ? RVGG_DTYPE_INT8 : RVGG_DTYPE_FLOAT32;
      d.output_type = next_int8 ? RVGG_DTYPE_INT8 : RVGG_DTYPE_FLOAT32;
    }
    if (d.out_h > kMaxSpatial || d.out_w > kMaxSpatial) {
      return Fail(message, RVGG_STATUS_INVALID_MODEL, "layer %u: output %ux%u is too large", i,
                  d.out_h, d.out_w);
    }
    const uint64_t elements = d.output_elements();
    if (elements == 0 || elements > kMaxActivationElements) {
      return Fail(message, RVGG_STATUS_INVALID_MODEL,
                  "layer %u ('%.80s'): output %ux%ux%u exceeds the activation limit of %llu elements",
                  i, d.name, d.out_h, d.out_w, d.out_c,
                  static_cast<unsigned long long>(kMaxActivationElements));
    }
    if (elements > s.max_activation_elements) s.max_activation_elements = elements;
    s.parameters += d.parameters;
    s.weight_bytes += layer_bytes;
    s.macs += d.macs;
    prev_int8 = d.compute_type == RVGG_DTYPE_INT8;
    prev_out_q = d.output_q;
    cur_h = d.out_h;
    cur_w = d.out_w;
    cur_c = d.out_c;
    if (visitor != nullptr) {
      RVGG_RETURN_IF_ERROR(visitor(context, d, message));
    }
  }
  if (cur_h != 1 || cur_w != 1) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "the last layer gives %ux%ux%u; a classifier must end in a 1x1 output", cur_h,
                cur_w, cur_c);
  }
  s.num_outputs = cur_c;
  if (const auto* pre = model->preprocessing()) {
    if (pre->labels() != nullptr && pre->labels()->size() != 0 &&
        pre->labels()->size() != s.num_outputs) {
      return Fail(message, RVGG_STATUS_INVALID_MODEL, "model has %u labels for %u outputs",
                  pre->labels()->size(), s.num_outputs);
    }
  }
  if (summary != nullptr) *summary = s;
  return RVGG_STATUS_OK;
}

void FillLayerInfo(const LayerDesc& d, rvgg_layer_info* info) {
  std::memset(info, 0, sizeof(*info));
  info->name = d.name;
  switch (d.kind) {
    case LayerKind::kConv2D:
      info->type = RVGG_LAYER_CONV2D;
      break;
    case LayerKind::kGlobalAveragePool:
      info->type = RVGG_LAYER_GLOBAL_AVERAGE_POOL;
      break;
    case LayerKind::kFullyConnected:
      info->type = RVGG_LAYER_FULLY_CONNECTED;
      break;
    case LayerKind::kSqueezeExcite:
      info->type = RVGG_LAYER_SQUEEZE_EXCITE;
      break;
  }
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
