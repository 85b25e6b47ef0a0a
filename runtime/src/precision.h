// The precision a load runs its float layers in (rvgg_precision): half
// precision where the options, the backend, the CPU and the model allow it.
#ifndef RVGG_RUNTIME_SRC_PRECISION_H_
#define RVGG_RUNTIME_SRC_PRECISION_H_

#include <cstdint>

#include "runtime/src/model.h"
#include "rvgg/rvgg.h"

namespace rvgg {

// Whether this CPU has FP16 arithmetic (ARMv8.2-A FP16) that this build can
// use. Fixed per process.
bool CpuHasFp16Arithmetic();

// Decides whether the float layers of `summary`'s model run in fp16 with
// `options` (AUTO, FP32, FP16; see rvgg.h). A forced FP16 that cannot be
// honoured is UNSUPPORTED with a message saying why.
rvgg_status ChooseHalfPrecision(const rvgg_options& options, const ModelSummary& summary,
                                bool* fp16, rvgg_message* message);

// Turns the float layers of a verified model into fp16 layers: fp16
// compute, fp16 activations in and out (rvgg_model_run converts the model's
// input and logits).
void ApplyHalfPrecision(LayerDesc* layers, uint32_t count);

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_PRECISION_H_
