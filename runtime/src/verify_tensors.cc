// Tensor and int8 checks the ops' describe steps are built from.
#include <cmath>
#include <cstdio>

#include "runtime/src/status.h"
#include "runtime/src/verify.h"

namespace rvgg {
namespace {

using schema::DataType;

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

}  // namespace

LayerLabel::LayerLabel(const LayerDesc& d) {
  std::snprintf(text, sizeof(text), "layer %u (%s '%.80s')", d.index, d.label(), d.name);
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
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: %s scale %g is not a positive normal number", label.text, what,
                static_cast<double>(scale));
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
rvgg_status CheckInt8Weights(const schema::Tensor* w, const schema::Tensor* b, const uint32_t* dims,
                             size_t rank, LayerDesc* d, uint64_t* params, uint64_t* bytes,
                             rvgg_message* message) {
  const LayerLabel label(*d);
  uint64_t n = 0;
  RVGG_RETURN_IF_ERROR(CheckShape(w, *d, "weights", dims, rank, &n, message));
  if (w->type() != DataType::Int8 || w->i8() == nullptr || w->i8()->size() != n) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: int8 weights hold %u values, shape needs %llu", label.text,
                w->i8() == nullptr ? 0u : w->i8()->size(), static_cast<unsigned long long>(n));
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
                  "%s: weight scale %u is %g, not a positive normal number", label.text, i,
                  static_cast<double>(q->scale()->Get(i)));
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
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "%s: int8 layer needs an int32 bias of %u values", label.text, d->out_c);
  }
  d->weights_q = w->i8()->data();
  d->weight_scales = q->scale()->data();
  d->bias_q = b->i32()->data();
  *params += n + nb;
  *bytes += n + nb * sizeof(int32_t) + uint64_t{d->out_c} * sizeof(float);
  return RVGG_STATUS_OK;
}

rvgg_status CheckWeightsAndBias(const schema::Tensor* w, const schema::Tensor* b,
                                const uint32_t* dims, size_t rank, LayerDesc* d, uint64_t* bytes,
                                rvgg_message* message) {
  if (d->compute_type == RVGG_DTYPE_INT8) {
    return CheckInt8Weights(w, b, dims, rank, d, &d->parameters, bytes, message);
  }
  const uint32_t bias_dims[1] = {dims[0]};
  RVGG_RETURN_IF_ERROR(
      CheckF32(w, *d, "weights", dims, rank, &d->weights, &d->parameters, bytes, message));
  return CheckF32(b, *d, "bias", bias_dims, 1, &d->bias, &d->parameters, bytes, message);
}

rvgg_status CheckActivation(schema::Activation activation, const LayerDesc& d, bool* relu,
                            rvgg_message* message) {
  if (activation != schema::Activation::None && activation != schema::Activation::Relu) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED, "%s: unknown activation %d", LayerLabel(d).text,
                static_cast<int>(activation));
  }
  *relu = activation == schema::Activation::Relu;
  return RVGG_STATUS_OK;
}

rvgg_status CheckAccumulatingInt8(const LayerDesc& d, uint64_t taps, rvgg_message* message) {
  const LayerLabel label(d);
  // The int32 accumulator holds bias + sum of (q - zero_point) * w over the
  // taps, |q - zero_point| <= 255 and |w| <= 128: bound it below 2^31.
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

}  // namespace rvgg
