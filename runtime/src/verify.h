// Pieces of model verification (runtime/src/model.cc runs them in order):
//   header    the buffer, its identifier, the FlatBuffers structure, the schema
//             version, the input shape and the layer count (verify_header.cc);
//   metadata  preprocessing, labels and provenance, and the text rules every
//             string from the file obeys (verify_metadata.cc);
//   layers    per op, the registry row's describe step (runtime/src/ops/),
//             built from the tensor checks below (verify_tensors.cc);
//   int8      activation quantization and the chaining of int8 layers
//             (verify_int8.cc).
// Every message names the layer and the value; nothing here allocates.
#ifndef RVGG_RUNTIME_SRC_VERIFY_H_
#define RVGG_RUNTIME_SRC_VERIFY_H_

#include <cstddef>
#include <cstdint>

#include "runtime/src/model.h"
#include "rvgg/rvgg.h"
#include "schema/rvgg_generated.h"

namespace rvgg {

// "layer 7 (conv 3x3 'stage2.1')" for messages.
struct LayerLabel {
  char text[160];
  explicit LayerLabel(const LayerDesc& d);
};

// --- header and metadata -------------------------------------------------------

// Checks everything before the layers; on success *model is the verified root.
rvgg_status VerifyHeader(const void* data, size_t size, const schema::Model** model,
                         rvgg_message* message);

// Preprocessing (mean, std for `input_channels`, label text) and provenance.
rvgg_status VerifyMetadata(const schema::Model& model, uint32_t input_channels,
                           rvgg_message* message);

// Strings from the file end up in messages, tables and terminals: control
// characters are refused. `index` < 0: `what` alone names the string.
rvgg_status CheckText(const flatbuffers::String* text, const char* what, int64_t index,
                      rvgg_message* message);

// --- tensors (the describe steps of the ops) -----------------------------------

// The declared shape of `t` is `dims`; *count receives its element count.
rvgg_status CheckShape(const schema::Tensor* t, const LayerDesc& d, const char* what,
                       const uint32_t* dims, size_t rank, uint64_t* count, rvgg_message* message);

// A float32 tensor of shape `dims`: *out points at its data; adds its
// elements to *params and its bytes to *bytes.
rvgg_status CheckF32(const schema::Tensor* t, const LayerDesc& d, const char* what,
                     const uint32_t* dims, size_t rank, const float** out, uint64_t* params,
                     uint64_t* bytes, rvgg_message* message);

// Symmetric per-output-channel int8 weights of shape `dims` and an int32
// bias of d->out_c values: sets d->weights_q, weight_scales and bias_q.
rvgg_status CheckInt8Weights(const schema::Tensor* w, const schema::Tensor* b, const uint32_t* dims,
                             size_t rank, LayerDesc* d, uint64_t* params, uint64_t* bytes,
                             rvgg_message* message);

// Weights and bias of a layer with `dims` weights in its compute type.
rvgg_status CheckWeightsAndBias(const schema::Tensor* w, const schema::Tensor* b,
                                const uint32_t* dims, size_t rank, LayerDesc* d, uint64_t* bytes,
                                rvgg_message* message);

// An activation field is None or Relu (*relu tells which).
rvgg_status CheckActivation(schema::Activation activation, const LayerDesc& d, bool* relu,
                            rvgg_message* message);

// --- int8 ------------------------------------------------------------------------

// One per-tensor activation quantization (positive normal scale, int8 zero point).
rvgg_status CheckActivationQuant(const schema::Quantization* q, const LayerDesc& d,
                                 const char* what, QuantParams* out, rvgg_message* message);

// The int8 arithmetic of a layer that accumulates `taps` products per output
// (conv, fully connected): the int32 accumulator cannot overflow with its
// bias, every requantization scale is within [kMinRequantScale,
// kMaxRequantScale), and a ReLU output keeps a range.
rvgg_status CheckAccumulatingInt8(const LayerDesc& d, uint64_t taps, rvgg_message* message);

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_VERIFY_H_
