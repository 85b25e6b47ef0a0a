// The model's edges inside rvgg_model_run: the caller's float32 image (NCHW
// or NHWC) into the first layer's NHWC activation in its element type, and
// the last layer's output back to float32 logits. Allocation-free.
#ifndef RVGG_RUNTIME_SRC_MODEL_IO_H_
#define RVGG_RUNTIME_SRC_MODEL_IO_H_

#include <cstddef>
#include <cstdint>

#include "rvgg/rvgg.h"

// pthreadpool.h's handle; builds without XNNPACK have no pthreadpool.
typedef struct pthreadpool* pthreadpool_t;

namespace rvgg {

// `input` holds height x width x channels floats in `layout`; `output` gets
// them NHWC as `type` (float32 or float16), in bands of rows on the
// threads of `threadpool` (null: on this thread).
void WriteModelInput(const float* input, rvgg_layout layout, uint32_t height, uint32_t width,
                     uint32_t channels, rvgg_dtype type, void* output,
                     pthreadpool_t threadpool = nullptr);

// `count` values of `type` (float32 or float16) into floats.
void ReadModelOutput(const void* input, rvgg_dtype type, size_t count, float* output);

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_MODEL_IO_H_
