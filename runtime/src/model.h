// Verification of a model buffer and the validated per-layer view the rest of
// the runtime works from. Everything a model can get wrong is caught here,
// once, before anything is allocated; later stages trust LayerDesc.
#ifndef RVGG_RUNTIME_SRC_MODEL_H_
#define RVGG_RUNTIME_SRC_MODEL_H_

#include <cstddef>
#include <cstdint>

#include "runtime/reference/quant.h"
#include "rvgg/rvgg.h"
#include "schema/rvgg_generated.h"

namespace rvgg {

// Limits enforced before any allocation. They are far above any RepVGG
// (D2se has 48 blocks, B3 2560 channels) and keep every size computation
// below 2^63 in the 64-bit arithmetic used to check it.
constexpr uint32_t kMaxLayers = 4096;
constexpr uint32_t kMaxChannels = 1u << 16;
constexpr uint32_t kMaxSpatial = 1u << 14;               // H and W
constexpr uint64_t kMaxActivationElements = 1ull << 28;  // 1 GiB of fp32
constexpr uint64_t kMaxModelBytes = (1ull << 31) - 1;    // FlatBuffers' 2 GiB limit

// Bytes per activation element.
constexpr uint32_t DTypeSize(rvgg_dtype type) {
  return type == RVGG_DTYPE_INT8 ? 1u : type == RVGG_DTYPE_FLOAT16 ? 2u : 4u;
}

// One verified layer: shapes (NHWC, batch 1), parameters and pointers into the
// model buffer. Pointers for the other data type are null.
struct LayerDesc {
  uint32_t index = 0;
  schema::Op op = schema::Op::Conv2D;
  const char* name = "";
  rvgg_dtype compute_type = RVGG_DTYPE_FLOAT32;

  uint32_t in_h = 0, in_w = 0, in_c = 0;
  uint32_t out_h = 0, out_w = 0, out_c = 0;

  // Conv2D (FullyConnected uses in_c -> out_c).
  uint32_t kernel_h = 0, kernel_w = 0, stride = 1, padding = 0, groups = 1;
  bool relu = false;
  // SqueezeExcite: channels = in_c = out_c, reduced width.
  uint32_t reduced = 0;

  // fp32 constants.
  const float* weights = nullptr;
  const float* bias = nullptr;
  const float* se_down_weights = nullptr;
  const float* se_down_bias = nullptr;
  const float* se_up_weights = nullptr;
  const float* se_up_bias = nullptr;

  // int8 constants: symmetric per-output-channel weights, int32 bias in
  // units of input_scale * weight_scale[o].
  const int8_t* weights_q = nullptr;
  const int32_t* bias_q = nullptr;
  const float* weight_scales = nullptr;  // out_c values
  QuantParams input_q;
  QuantParams output_q;

  // Element type of the activations this layer reads and writes in the
  // arena. An int8 layer reads float32 when it is the first layer or follows
  // a float32 one, and writes float32 when it is the last layer or a float32
  // layer follows: its kernel converts at those edges. Float32 layers always
  // read and write float32.
  rvgg_dtype input_type = RVGG_DTYPE_FLOAT32;
  rvgg_dtype output_type = RVGG_DTYPE_FLOAT32;

  uint64_t parameters = 0;
  uint64_t macs = 0;

  // Whether the layer overwrites its input (its registry row says).
  bool in_place() const;
  uint64_t input_elements() const { return uint64_t{in_h} * in_w * in_c; }
  uint64_t output_elements() const { return uint64_t{out_h} * out_w * out_c; }
  uint64_t output_bytes() const { return output_elements() * DTypeSize(output_type); }
  // Short human description used in messages and tables: "conv 3x3/2"
  // (rvgg_layer_label()).
  const char* label() const;
};

// Model-level facts gathered during verification.
struct ModelSummary {
  const schema::Model* model = nullptr;
  uint32_t input_h = 0, input_w = 0, input_c = 0;
  uint32_t num_layers = 0;
  uint32_t num_outputs = 0;
  uint64_t parameters = 0;
  uint64_t weight_bytes = 0;
  uint64_t macs = 0;
  uint64_t max_activation_elements = 0;
  bool has_int8 = false;
};

// Called once per layer, in order, with the verified description. A non-OK
// return stops verification and is returned as is.
using LayerVisitor = rvgg_status (*)(void* context, const LayerDesc& desc, rvgg_message* message);

// Verifies `data` completely: FlatBuffers structure, schema version, limits,
// shape chaining, tensor sizes and types, quantization parameters, labels and
// normalization. Fills `summary` (may be null) and calls `visitor` (may be
// null) for each layer. Allocates nothing.
rvgg_status VerifyModel(const void* data, size_t size, ModelSummary* summary, LayerVisitor visitor,
                        void* context, rvgg_message* message);

// Public view of a verified layer (no backend fields).
void FillLayerInfo(const LayerDesc& desc, rvgg_layer_info* info);

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_MODEL_H_
