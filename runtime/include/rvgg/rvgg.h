/*
 * rvgg: inference runtime for re-parameterized (plain) RepVGG networks.
 *
 * The whole device-side API. Valid C99 and C++; no allocation happens inside
 * rvgg_model_run().
 *
 * Life cycle
 *   1. rvgg_model_verify()      optional: checks a buffer, fills rvgg_model_info.
 *   2. rvgg_model_arena_size()  optional: activation bytes the caller may supply.
 *   3. rvgg_model_load()        verifies, plans memory, prepares the backend
 *                               (packs weights, builds XNNPACK operators and
 *                               binds them to the arena). May allocate.
 *   4. rvgg_model_run()         per image; allocates nothing, checks little.
 *   5. rvgg_model_free()
 *
 * Ownership
 *   - The model buffer passed to rvgg_model_verify/_load is borrowed: it must
 *     stay valid and unchanged until rvgg_model_free(), because weights, names
 *     and labels are read in place. It must be at least 8-byte aligned
 *     (64 recommended: weight vectors are 64-byte aligned inside the file).
 *   - An arena supplied through rvgg_options is borrowed the same way; it must
 *     be 64-byte aligned and at least rvgg_model_arena_size() bytes.
 *   - Strings and pointers returned by info functions point into the model
 *     buffer or the loaded model and live as long as they do.
 *
 * Memory
 *   Load allocates (from the system heap, within rvgg_options.memory_limit,
 *   or, with rvgg_options.memory, only from memory the caller supplied);
 *   run allocates nothing. In caller-memory mode no call from
 *   rvgg_model_load() to rvgg_model_free() reaches malloc, free or operator
 *   new, with one exception that happens once per process: the first
 *   XNNPACK load initializes XNNPACK and cpuinfo, and cpuinfo (which does not
 *   use XNNPACK's allocator hooks) reads the CPU description into the system
 *   heap on Linux and keeps it for the life of the process. Load one model
 *   (any mode) or call rvgg_kernel_isa() at start-up to get that done early.
 *   XNNPACK's own initialization-time blocks always go to the heap, never
 *   into a caller's memory.
 *
 * Threads
 *   A loaded model is used by one thread at a time. Different models may be
 *   loaded, run and freed concurrently from different threads, each with its
 *   own options (caller memory included). rvgg_options.num_threads > 1 gives
 *   the model its own worker pool (XNNPACK backend; not with caller memory).
 *
 * Errors
 *   Every fallible call returns an rvgg_status. Calls that take an
 *   rvgg_message* (may be NULL) write one human-readable line there that
 *   names the layer and the value, e.g.
 *   "layer 7 (conv 3x3 'stage2.1'): weights hold 1200 floats, shape needs 1296".
 */
#ifndef RVGG_RVGG_H_
#define RVGG_RVGG_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RVGG_VERSION_MAJOR 0
#define RVGG_VERSION_MINOR 1
#define RVGG_VERSION_PATCH 0
#define RVGG_VERSION_STRING "0.1.0"

/* Newest model schema version this runtime reads (see schema/rvgg.fbs). */
#define RVGG_SCHEMA_VERSION 1

/* Minimum alignment of an arena supplied by the caller. */
#define RVGG_ARENA_ALIGNMENT 64

typedef enum rvgg_status {
  RVGG_STATUS_OK = 0,
  /* A NULL pointer, an out-of-range option or index, a misaligned buffer. */
  RVGG_STATUS_INVALID_ARGUMENT = 1,
  /* The buffer is not a well-formed rvgg model (structure or meaning). */
  RVGG_STATUS_INVALID_MODEL = 2,
  /* Well-formed, but this build cannot run it (newer schema, missing backend). */
  RVGG_STATUS_UNSUPPORTED = 3,
  /* The caller-supplied arena is smaller than rvgg_model_arena_size(). */
  RVGG_STATUS_ARENA_TOO_SMALL = 4,
  /* An allocation at load time failed, or would have gone past
   * rvgg_options.memory_limit or the caller's memory (rvgg_options.memory). */
  RVGG_STATUS_OUT_OF_MEMORY = 5,
  /* XNNPACK (or another backend) refused an operator. */
  RVGG_STATUS_BACKEND_ERROR = 6
} rvgg_status;

/* Short constant name of a status, e.g. "invalid model". Never NULL. */
const char* rvgg_status_string(rvgg_status status);

/* One line of diagnostics. Functions that take an rvgg_message* accept NULL. */
#define RVGG_MESSAGE_CAPACITY 256
typedef struct rvgg_message {
  char text[RVGG_MESSAGE_CAPACITY];
} rvgg_message;

typedef enum rvgg_backend {
  /* XNNPACK operators for every layer (NEON on ARM, SSE/AVX on x86). */
  RVGG_BACKEND_XNNPACK = 0,
  /* Plain portable loops, single-threaded: the test oracle. */
  RVGG_BACKEND_REFERENCE = 1
} rvgg_backend;

/* Winograd selection for padding-1 3x3 convolutions (value = output tile m
 * of F(m x m, 3 x 3)): AUTO picks a tile per layer, rectangular ones and
 * stride-2 layers (in a polyphase form) included; F2, F4 and F6 force that
 * square tile on every stride-1 layer. XNNPACK backend only, the reference
 * backend never uses it.
 *
 * A Winograd layer trades memory for compute: its weights are transformed at
 * load (the file keeps the plain 3x3 kernel) into (m+2)^2 matrices packed for
 * the GEMM that runs them (rvgg's own on x86 with AVX2 but no AVX-512,
 * XNNPACK's elsewhere), about 1.8x (F2), 4x (F4) or 7.1x (F6) the layer's
 * weight bytes (docs/benchmarks.md has the totals per model), and it
 * needs arena scratch for the transformed input and output
 * (rvgg_model_arena_size() includes it).
 * Each layer's choice and bytes show in rvgg_layer_info.kernel
 * ("winograd-f4") and kernel_bytes. Accuracy: F2 is as exact as the direct
 * convolution; F4 and F6 lose about one decimal digit of fp32 (max error
 * around 5e-6 of the largest activation on RepVGG-like layers).
 * On x86 with AVX2 or AVX-512, AUTO may also run a layer Winograd does not
 * win (most stride-2 layers) as a direct convolution on rvgg's own GEMM
 * ("gemm-direct": windows read in place, no extra weight memory); OFF and the forced
 * sizes keep XNNPACK's direct convolution for those layers. */
typedef enum rvgg_winograd {
  RVGG_WINOGRAD_AUTO = 0, /* per layer, from the shape and the memory budget */
  RVGG_WINOGRAD_OFF = 1,  /* always XNNPACK's direct convolution */
  RVGG_WINOGRAD_F2 = 2,   /* F(2x2, 3x3) wherever it applies */
  RVGG_WINOGRAD_F4 = 4,   /* F(4x4, 3x3) */
  RVGG_WINOGRAD_F6 = 6    /* F(6x6, 3x3) */
} rvgg_winograd;

/* The arithmetic of a model's float layers. int8 layers of a quantized model
 * always compute in int8.
 *   AUTO: half precision where the CPU has FP16 arithmetic (ARMv8.2-A and
 *         later: Cortex-A55/A76/A78, Raspberry Pi 5, Jetson Orin) and the
 *         model has no int8 layers, as ncnn does; float32 elsewhere (every
 *         x86 CPU, ARMv8.0 such as the Cortex-A53, armv7) and on the
 *         reference backend.
 *   FP32: float32 everywhere.
 *   FP16: half precision for every layer: activations stored as fp16 in the
 *         arena (half of it), fp16 weights packed at load, XNNPACK's fp16
 *         operators and fp16 Winograd. The caller's input and the logits stay
 *         float32 (converted inside rvgg_model_run). Refused with
 *         RVGG_STATUS_UNSUPPORTED on a CPU without FP16 arithmetic, on the
 *         reference backend, and for models with int8 layers.
 * Each layer's precision shows in rvgg_layer_info.compute_type. Accuracy:
 * fp16 keeps about three decimal digits of each activation; on RepVGG the
 * logits move by about 1e-3 of their largest value (docs/benchmarks.md). */
typedef enum rvgg_precision {
  RVGG_PRECISION_AUTO = 0,
  RVGG_PRECISION_FP32 = 1,
  RVGG_PRECISION_FP16 = 2
} rvgg_precision;

typedef enum rvgg_layout {
  RVGG_LAYOUT_NCHW = 0, /* PyTorch's layout: planes of H x W per channel */
  RVGG_LAYOUT_NHWC = 1  /* interleaved pixels, as cameras deliver them */
} rvgg_layout;

/* Load options. Start from rvgg_options_default(): XNNPACK, one thread, no
 * caller arena (in a build without XNNPACK, RVGG_WITH_XNNPACK=OFF, the
 * default backend is RVGG_BACKEND_REFERENCE). A zero-initialized struct means
 * the same in an XNNPACK build. */
typedef struct rvgg_options {
  rvgg_backend backend;
  /* Worker threads for the XNNPACK backend; 0 and 1 mean the calling thread. */
  uint32_t num_threads;
  /* Reserved for future use; must be 0. */
  uint32_t flags;
  rvgg_winograd winograd;
  /* Upper bound on memory spent on Winograd-transformed weights (an upper
   * estimate of XNNPACK's packed matrices per layer); 0 = no limit. Over
   * budget, AUTO steps layers down (F6 -> F4 -> F2 -> direct) where that
   * costs least time per byte freed; forced F2/F4/F6 put layers back on the
   * direct convolution. A tiny budget therefore means plain XNNPACK.
   * Whatever the budget, Winograd never takes more than half of what
   * memory_limit leaves after the direct path's estimated needs, so it never
   * makes a load fail that plain XNNPACK would pass (RepVGG-B3 at 224 loads
   * under the default limit with fewer Winograd layers). */
  size_t winograd_budget_bytes;
  /* Optional caller-owned activation arena (RVGG_ARENA_ALIGNMENT-aligned,
   * at least rvgg_model_arena_size() bytes). NULL: allocated at load. */
  void* arena;
  size_t arena_size;
  /* Caller-owned memory mode. When `memory` is not NULL, every byte the
   * model needs from load to rvgg_model_free() -- the model object, layer
   * tables, the arena (unless `arena` is given), packed weights and XNNPACK's
   * operators and indirection buffers -- is carved from these `memory_size`
   * bytes, and the system allocator is never called (see "Memory" above).
   * RVGG_ARENA_ALIGNMENT-aligned; borrowed until rvgg_model_free(); size it
   * with rvgg_model_memory_size(). Requires num_threads <= 1 (worker threads
   * allocate their own stacks and queues). NULL: the system heap. */
  void* memory;
  size_t memory_size;
  /* Heap mode: most bytes one load may allocate (0 = RVGG_DEFAULT_MEMORY_LIMIT).
   * A model whose arena plus weights alone exceed it is refused before
   * anything is allocated; any later allocation past it fails the load with
   * RVGG_STATUS_OUT_OF_MEMORY. Ignored when `memory` is given (its size is
   * the limit). */
  size_t memory_limit;
  /* Precision of the float layers (see rvgg_precision); AUTO by default. */
  rvgg_precision precision;
} rvgg_options;

/* Default rvgg_options.memory_limit: 2 GiB, above any official RepVGG at
 * 224x224 (B3 needs about 0.5 GiB) and below what a small corrupt file
 * could otherwise make a load reserve and touch. */
#define RVGG_DEFAULT_MEMORY_LIMIT ((size_t)1 << 31)

void rvgg_options_default(rvgg_options* options);

typedef enum rvgg_dtype {
  RVGG_DTYPE_FLOAT32 = 0,
  RVGG_DTYPE_INT8 = 1,
  RVGG_DTYPE_FLOAT16 = 2 /* a float layer run in half precision (rvgg_precision) */
} rvgg_dtype;

/* What a model buffer holds. Pointers point into the model buffer. */
typedef struct rvgg_model_info {
  uint32_t schema_version;
  uint32_t input_height;
  uint32_t input_width;
  uint32_t input_channels;
  uint32_t num_outputs; /* logits per image (number of classes) */
  uint32_t num_layers;
  uint32_t num_labels;  /* 0 or num_outputs */
  const float* mean;    /* input_channels values, or NULL when not recorded */
  const float* std;     /* input_channels values, or NULL when not recorded */
  uint64_t parameters;  /* weights and biases */
  uint64_t weight_bytes;
  uint64_t macs;        /* multiply-accumulates per image */
  uint64_t recorded_arena_bytes; /* as planned by the converter */
  const char* architecture;      /* "RepVGG-A0", "custom", ... ("" if absent) */
  const char* source_file;
  const char* source_format;
  const char* converter_version;
  const char* quantization;      /* "" for fp32 models */
  float fusion_max_abs_diff;
  float fusion_rel_diff;
} rvgg_model_info;

typedef enum rvgg_layer_type {
  RVGG_LAYER_CONV2D = 0,
  RVGG_LAYER_GLOBAL_AVERAGE_POOL = 1,
  RVGG_LAYER_FULLY_CONNECTED = 2,
  RVGG_LAYER_SQUEEZE_EXCITE = 3
} rvgg_layer_type;

typedef struct rvgg_layer_info {
  const char* name; /* source block name, "" if absent */
  rvgg_layer_type type;
  rvgg_dtype compute_type;
  uint32_t kernel_h, kernel_w, stride, padding, groups;
  uint32_t input_height, input_width, input_channels;
  uint32_t output_height, output_width, output_channels;
  uint32_t relu; /* 1 when a ReLU is fused */
  uint64_t parameters;
  uint64_t macs;
  /* Filled for loaded models only: what executes the layer ("xnnpack",
   * "reference", "winograd-f4", "xnnpack qc8", "reference int8", ...) and
   * the bytes it owns beyond the model file (packed or transformed weights).
   * int8 layers take and give float32 where a neighbour (or the API) is
   * float32, converting inside the layer. */
  const char* kernel;
  uint64_t kernel_bytes;
} rvgg_layer_info;

typedef struct rvgg_model rvgg_model;

/* Checks `data` completely (structure with the FlatBuffers verifier, then
 * meaning: shapes chain, sizes match, arithmetic cannot overflow) without
 * allocating. `info` may be NULL.
 * Returns OK, INVALID_ARGUMENT, INVALID_MODEL or UNSUPPORTED. */
rvgg_status rvgg_model_verify(const void* data, size_t size,
                              rvgg_model_info* info, rvgg_message* message);

/* Describes layer `index` of a model buffer without loading it (the whole
 * buffer is verified first, as rvgg_model_verify() does; kernel and
 * kernel_bytes are empty). */
rvgg_status rvgg_model_describe_layer(const void* data, size_t size,
                                      uint32_t index, rvgg_layer_info* info,
                                      rvgg_message* message);

/* The former name of rvgg_model_describe_layer(), kept for existing callers. */
rvgg_status rvgg_model_verify_layer(const void* data, size_t size,
                                    uint32_t index, rvgg_layer_info* info,
                                    rvgg_message* message);

/* A layer type's short identifier, as machine-readable output (rvgg-bench
 * --json) spells it: "conv", "avgpool", "fc", "se"; "?" for an unknown
 * value. Never NULL. */
const char* rvgg_layer_type_name(rvgg_layer_type type);

/* How tables and messages name a layer: "conv 3x3", "conv 3x3/2",
 * "conv 1x1", "global avg pool", "fully connected", "squeeze-excite"
 * (kernel and stride matter for convolutions only). Never NULL. */
const char* rvgg_layer_label(rvgg_layer_type type, uint32_t kernel,
                             uint32_t stride);

/* Activation arena bytes rvgg_model_load() needs for `data` with `options`
 * (NULL = defaults). Depends on the backend and Winograd choices. */
rvgg_status rvgg_model_arena_size(const void* data, size_t size,
                                  const rvgg_options* options,
                                  size_t* arena_bytes, rvgg_message* message);

/* Bytes of rvgg_options.memory that rvgg_model_load(data, size, options)
 * with `memory` set will use, exactly, for this build on this CPU (packed
 * weight layouts and so the sizes depend on the microkernels XNNPACK picks
 * for the CPU; the number does not depend on where the memory is). It is
 * found by preparing the model for real, one layer at a time, and adding up
 * what each layer took: the model's own tables, the arena (unless
 * options->arena is given), each layer's packed weights, operators and
 * indirection buffers, and 64 bytes of header per block.
 *   - options->memory given: the trial runs inside that memory, which then
 *     only needs to hold the tables and the largest single layer (not the
 *     whole model); the system heap is not used.
 *   - options->memory NULL: the trial takes its blocks from the system heap
 *     (at most the largest layer at a time), capped by options->memory_limit.
 * rvgg_model_load() with memory_size equal to the result succeeds; one byte
 * less fails with RVGG_STATUS_OUT_OF_MEMORY. Returns OK, INVALID_ARGUMENT,
 * INVALID_MODEL, UNSUPPORTED, OUT_OF_MEMORY (the trial memory or limit is too
 * small for one layer) or BACKEND_ERROR. */
rvgg_status rvgg_model_memory_size(const void* data, size_t size,
                                   const rvgg_options* options,
                                   size_t* memory_bytes, rvgg_message* message);

/* Verifies and prepares a model. On success *model owns everything it
 * allocated; free it with rvgg_model_free(). */
rvgg_status rvgg_model_load(const void* data, size_t size,
                            const rvgg_options* options, rvgg_model** model,
                            rvgg_message* message);

void rvgg_model_free(rvgg_model* model);

rvgg_status rvgg_model_get_info(const rvgg_model* model, rvgg_model_info* info);

rvgg_status rvgg_model_get_layer_info(const rvgg_model* model, uint32_t index,
                                      rvgg_layer_info* info);

/* Class label `index`, or NULL when the model has no labels or the index is
 * out of range. */
const char* rvgg_model_label(const rvgg_model* model, uint32_t index);

/* Runs one image. `input` holds input_height * input_width * input_channels
 * floats, already normalized, in `layout`; `output` receives num_outputs
 * logits. Allocates nothing. */
rvgg_status rvgg_model_run(rvgg_model* model, const float* input,
                           rvgg_layout layout, float* output);

/* Called after each layer during rvgg_model_run (for profiling); NULL clears. */
typedef void (*rvgg_layer_callback)(void* user_data, uint32_t layer_index);
void rvgg_model_set_layer_callback(rvgg_model* model,
                                   rvgg_layer_callback callback,
                                   void* user_data);

/* The SIMD level XNNPACK's kernels use on this CPU, e.g. "aarch64 NEON+FMA",
 * "x86-64 AVX-512F", or "reference" when built without XNNPACK. */
const char* rvgg_kernel_isa(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RVGG_RVGG_H_ */
