// The C API: load = verify + plan + prepare; run = walk the prepared kernels.
#include <cstring>

#include "rvgg/rvgg.h"
#include "runtime/src/load_memory.h"
#include "runtime/src/memory.h"
#include "runtime/src/model.h"
#include "runtime/src/model_io.h"
#include "runtime/src/ops/kernel.h"
#include "runtime/src/ops/registry.h"
#include "runtime/src/plan.h"
#include "runtime/src/precision.h"
#include "runtime/src/status.h"

#if RVGG_WITH_XNNPACK
#include <pthreadpool.h>
#endif

struct rvgg_model {
  const uint8_t* data = nullptr;
  size_t size = 0;
  rvgg::ModelSummary summary;
  rvgg_options options{};
  rvgg::LayerDesc* layers = nullptr;
  rvgg::Kernel** kernels = nullptr;
  rvgg::KernelChoice* choices = nullptr;  // per layer: what runs it (op registry)
  rvgg::ArenaPlan plan;
  uint8_t* arena = nullptr;
  bool owns_arena = false;
  void* input = nullptr;          // NHWC input inside the arena, in input_type
  const void* output = nullptr;   // last layer's output inside the arena, in output_type
  rvgg_dtype input_type = RVGG_DTYPE_FLOAT32;
  rvgg_dtype output_type = RVGG_DTYPE_FLOAT32;
  pthreadpool_t threadpool = nullptr;
  rvgg::MemoryPool* pool = nullptr;  // caller-memory mode: where all of the above lives
  rvgg_layer_callback callback = nullptr;
  void* callback_data = nullptr;
};

namespace rvgg {
namespace {

rvgg_status CheckOptions(const rvgg_options* options, rvgg_options* out, rvgg_message* message) {
  rvgg_options_default(out);
  if (options == nullptr) return RVGG_STATUS_OK;
  *out = *options;
  const long long backend = RawEnumValue(out->backend);
  if (backend != RVGG_BACKEND_XNNPACK && backend != RVGG_BACKEND_REFERENCE) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "unknown backend %lld", backend);
  }
  if (out->flags != 0) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "options.flags must be 0");
  }
  switch (RawEnumValue(out->winograd)) {
    case RVGG_WINOGRAD_AUTO:
    case RVGG_WINOGRAD_OFF:
    case RVGG_WINOGRAD_F2:
    case RVGG_WINOGRAD_F4:
    case RVGG_WINOGRAD_F6:
      break;
    default:
      return Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "unknown winograd setting %lld",
                  RawEnumValue(out->winograd));
  }
  switch (RawEnumValue(out->precision)) {
    case RVGG_PRECISION_AUTO:
    case RVGG_PRECISION_FP32:
    case RVGG_PRECISION_FP16:
      break;
    default:
      return Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "unknown precision %lld",
                  RawEnumValue(out->precision));
  }
  if (out->num_threads > 1024) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "num_threads %u is out of range",
                out->num_threads);
  }
  if (out->arena != nullptr && reinterpret_cast<uintptr_t>(out->arena) % RVGG_ARENA_ALIGNMENT != 0) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "arena must be %d-byte aligned",
                RVGG_ARENA_ALIGNMENT);
  }
  return CheckMemoryOptions(*out, message);
}

// Second verification pass: records each layer.
rvgg_status RecordLayer(void* context, const LayerDesc& desc, rvgg_message*) {
  static_cast<LayerDesc*>(context)[desc.index] = desc;
  return RVGG_STATUS_OK;
}

// A lower bound of the arena, without storing the layers (so without the
// Winograd scratch, which needs every layer to choose): lets a load refuse
// what cannot fit before anything is allocated. Planned in both precisions
// while verifying, since the choice needs the whole model.
struct PreviewContext {
  ArenaPlanner planner[2];  // float layers in float32, in float16
  rvgg_backend backend;
};

rvgg_status PreviewLayer(void* context, const LayerDesc& desc, rvgg_message*) {
  auto* preview = static_cast<PreviewContext*>(context);
  for (int half = 0; half < 2; ++half) {
    LayerDesc d = desc;
    if (half) ApplyHalfPrecision(&d, 1);
    ArenaPlanner& planner = preview->planner[half];
    if (d.index == 0) planner.AddInput(d.input_elements() * DTypeSize(d.input_type));
    planner.AddLayer(d.output_bytes(), d.in_place(), PreviewScratchBytes(d, preview->backend));
  }
  return RVGG_STATUS_OK;
}

rvgg_status PreviewModel(const void* data, size_t size, const rvgg_options& options,
                         ModelSummary* summary, ArenaPlan* plan, rvgg_message* message) {
  PreviewContext context{{ArenaPlanner(), ArenaPlanner()}, options.backend};
  RVGG_RETURN_IF_ERROR(VerifyModel(data, size, summary, PreviewLayer, &context, message));
  bool fp16 = false;
  RVGG_RETURN_IF_ERROR(ChooseHalfPrecision(options, *summary, &fp16, message));
  *plan = context.planner[fp16 ? 1 : 0].Finish();
  return RVGG_STATUS_OK;
}

// Records the layers (`layers` and `choices` hold summary->num_layers
// entries, known from a first verification), chooses what runs each of them
// (op registry: implementations, and Winograd tiles, which share a budget
// across the model), and plans the arena.
rvgg_status PlanModel(const void* data, size_t size, const rvgg_options& options,
                      ModelSummary* summary, LayerDesc* layers, KernelChoice* choices,
                      ArenaPlan* plan, rvgg_message* message) {
  RVGG_RETURN_IF_ERROR(VerifyModel(data, size, summary, RecordLayer, layers, message));
  const uint32_t n = summary->num_layers;
  bool fp16 = false;
  RVGG_RETURN_IF_ERROR(ChooseHalfPrecision(options, *summary, &fp16, message));
  if (fp16) ApplyHalfPrecision(layers, n);
  RVGG_RETURN_IF_ERROR(PlanKernels(layers, n, options, choices, message));
  ArenaPlanner planner;
  for (uint32_t i = 0; i < n; ++i) {
    const LayerDesc& desc = layers[i];
    if (i == 0) planner.AddInput(desc.input_elements() * DTypeSize(desc.input_type));
    planner.AddLayer(desc.output_bytes(), desc.in_place(), ScratchBytes(desc, choices[i]));
  }
  *plan = planner.Finish();
  return RVGG_STATUS_OK;
}

const char* StringOrEmpty(const flatbuffers::String* s) { return s != nullptr ? s->c_str() : ""; }

void FillModelInfo(const ModelSummary& s, rvgg_model_info* info) {
  std::memset(info, 0, sizeof(*info));
  const schema::Model* m = s.model;
  info->schema_version = m->schema_version();
  info->input_height = s.input_h;
  info->input_width = s.input_w;
  info->input_channels = s.input_c;
  info->num_outputs = s.num_outputs;
  info->num_layers = s.num_layers;
  if (const auto* pre = m->preprocessing()) {
    info->num_labels = pre->labels() != nullptr ? pre->labels()->size() : 0;
    info->mean = pre->mean() != nullptr ? pre->mean()->data() : nullptr;
    info->std = pre->std() != nullptr ? pre->std()->data() : nullptr;
  }
  info->parameters = s.parameters;
  info->weight_bytes = s.weight_bytes;
  info->macs = s.macs;
  info->recorded_arena_bytes = m->arena_bytes();
  const schema::Provenance* p = m->provenance();
  info->architecture = p != nullptr ? StringOrEmpty(p->architecture()) : "";
  info->source_file = p != nullptr ? StringOrEmpty(p->source_file()) : "";
  info->source_format = p != nullptr ? StringOrEmpty(p->source_format()) : "";
  info->converter_version = p != nullptr ? StringOrEmpty(p->converter_version()) : "";
  info->quantization = p != nullptr ? StringOrEmpty(p->quantization()) : "";
  info->fusion_max_abs_diff = p != nullptr ? p->fusion_max_abs_diff() : 0.0f;
  info->fusion_rel_diff = p != nullptr ? p->fusion_rel_diff() : 0.0f;
}

struct FindLayer {
  uint32_t index;
  LayerDesc found;
  bool ok = false;
};

rvgg_status VisitFindLayer(void* context, const LayerDesc& desc, rvgg_message*) {
  auto* find = static_cast<FindLayer*>(context);
  if (desc.index == find->index) {
    find->found = desc;
    find->ok = true;
  }
  return RVGG_STATUS_OK;
}

void FreeModel(rvgg_model* model) {
  if (model == nullptr) return;
  if (model->kernels != nullptr) {
    for (uint32_t i = 0; i < model->summary.num_layers; ++i) DestroyKernel(model->kernels[i]);
    FreeAligned(model->kernels);
  }
  FreeAligned(model->choices);
#if RVGG_WITH_XNNPACK
  if (model->threadpool != nullptr) pthreadpool_destroy(model->threadpool);
#endif
  FreeAligned(model->layers);
  if (model->owns_arena) FreeAligned(model->arena);
  Delete(model);
}

// Load, or (with `trial` set) the measurement behind rvgg_model_memory_size:
// the same allocations in the same order, except that the arena is only
// counted, layers are bound to placeholder buffers, and each layer's kernel
// is destroyed (and its bytes released) right after it was made and measured.
rvgg_status LoadModel(const void* data, size_t size, const rvgg_options* user_options,
                      rvgg_model** out, rvgg_message* message, LoadTrial* trial = nullptr) {
  rvgg_options options;
  RVGG_RETURN_IF_ERROR(CheckOptions(user_options, &options, message));
  // Verify and plan without allocating, then refuse what cannot fit.
  ModelSummary summary;
  ArenaPlan preview;
  RVGG_RETURN_IF_ERROR(PreviewModel(data, size, options, &summary, &preview, message));
  LoadMemory memory;
  RVGG_RETURN_IF_ERROR(memory.Begin(options, summary, preview.total_bytes, trial, message));

  rvgg_model* model = New<rvgg_model>();
  if (model == nullptr) return memory.OutOfMemory(message, "the model object");
  model->data = static_cast<const uint8_t*>(data);
  model->size = size;
  model->options = options;
  model->summary = summary;
  model->pool = memory.pool();

  const uint32_t n = summary.num_layers;  // bounded by kMaxLayers
  model->layers = static_cast<LayerDesc*>(AllocateAligned(n * sizeof(LayerDesc), kAlignment));
  model->kernels = static_cast<Kernel**>(AllocateAligned(n * sizeof(Kernel*), kAlignment));
  model->choices =
      static_cast<KernelChoice*>(AllocateAligned(n * sizeof(KernelChoice), kAlignment));
  if (model->layers == nullptr || model->kernels == nullptr || model->choices == nullptr) {
    FreeModel(model);
    return memory.OutOfMemory(message, "the layer tables");
  }
  for (uint32_t i = 0; i < n; ++i) {
    new (&model->layers[i]) LayerDesc();
    new (&model->choices[i]) KernelChoice();
    model->kernels[i] = nullptr;
  }
  rvgg_status status = PlanModel(data, size, options, &model->summary, model->layers,
                                 model->choices, &model->plan, message);
  if (status != RVGG_STATUS_OK) {
    FreeModel(model);
    return status;
  }

  const size_t arena_bytes = model->plan.total_bytes;
  if (options.arena != nullptr) {
    if (options.arena_size < arena_bytes) {
      FreeModel(model);
      return Fail(message, RVGG_STATUS_ARENA_TOO_SMALL,
                  "arena is %zu bytes, the model needs %zu", options.arena_size, arena_bytes);
    }
    model->arena = static_cast<uint8_t*>(options.arena);
  } else if (trial != nullptr) {
    trial->CountArena(arena_bytes);
    model->arena = trial->placeholder();
  } else {
    model->arena = static_cast<uint8_t*>(AllocateAligned(arena_bytes, kAlignment));
    model->owns_arena = true;
    if (model->arena == nullptr) {
      FreeModel(model);
      return memory.OutOfMemory(message, "the arena");
    }
  }
  // Deterministic contents (the XNNPACK tail bytes are read, never used).
  if (trial == nullptr) std::memset(model->arena, 0, arena_bytes);

#if RVGG_WITH_XNNPACK
  if (options.backend == RVGG_BACKEND_XNNPACK && options.num_threads > 1) {
    model->threadpool = pthreadpool_create(options.num_threads);
    if (model->threadpool == nullptr) {
      FreeModel(model);
      return Fail(message, RVGG_STATUS_OUT_OF_MEMORY, "cannot create a pool of %u threads",
                  options.num_threads);
    }
  }
#endif

  uint8_t* buffers[2] = {model->arena + model->plan.buffer_offset[0],
                         model->arena + model->plan.buffer_offset[1]};
  if (trial != nullptr) buffers[0] = buffers[1] = trial->placeholder();
  int current = 0;
  model->input = buffers[0];
  model->input_type = model->layers[0].input_type;
  model->output_type = model->layers[n - 1].output_type;
  for (uint32_t i = 0; i < n; ++i) {
    const LayerDesc& desc = model->layers[i];
    Bindings bindings;
    bindings.input = buffers[current];
    if (!desc.in_place()) current = 1 - current;
    bindings.output = buffers[current];
    bindings.scratch = trial != nullptr ? trial->placeholder()
                                        : model->arena + model->plan.scratch_offset;
    bindings.scratch_bytes = model->plan.scratch_bytes;
    if (trial != nullptr) trial->BeginLayer();
    status = CreateKernel(desc, model->choices[i], bindings, model->threadpool,
                          &model->kernels[i], message);
    if (status == RVGG_STATUS_OUT_OF_MEMORY) status = memory.LayerOutOfMemory(desc, message);
    if (status != RVGG_STATUS_OK) {
      FreeModel(model);
      return status;
    }
    if (trial != nullptr) {
      trial->EndLayer(model->kernels[i]);
      model->kernels[i] = nullptr;
    }
  }
  model->output = buffers[current];
  if (trial != nullptr) {
    FreeModel(model);
    return trial->Finish(message);
  }
  *out = model;
  return RVGG_STATUS_OK;
}

}  // namespace
}  // namespace rvgg

extern "C" {

void rvgg_options_default(rvgg_options* options) {
  if (options == nullptr) return;
  std::memset(options, 0, sizeof(*options));
  // The best backend this build has: a build without XNNPACK defaults to the
  // reference kernels rather than to a backend it would refuse.
  options->backend = RVGG_WITH_XNNPACK ? RVGG_BACKEND_XNNPACK : RVGG_BACKEND_REFERENCE;
  options->num_threads = 1;
  options->winograd = RVGG_WINOGRAD_AUTO;
}

rvgg_status rvgg_model_verify(const void* data, size_t size, rvgg_model_info* info,
                              rvgg_message* message) {
  rvgg::ModelSummary summary;
  RVGG_RETURN_IF_ERROR(rvgg::VerifyModel(data, size, &summary, nullptr, nullptr, message));
  if (info != nullptr) rvgg::FillModelInfo(summary, info);
  return RVGG_STATUS_OK;
}

rvgg_status rvgg_model_verify_layer(const void* data, size_t size, uint32_t index,
                                    rvgg_layer_info* info, rvgg_message* message) {
  return rvgg_model_describe_layer(data, size, index, info, message);
}

rvgg_status rvgg_model_describe_layer(const void* data, size_t size, uint32_t index,
                                      rvgg_layer_info* info, rvgg_message* message) {
  if (info == nullptr) {
    return rvgg::Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "info is NULL");
  }
  rvgg::FindLayer find{index, {}};
  rvgg::ModelSummary summary;
  RVGG_RETURN_IF_ERROR(
      rvgg::VerifyModel(data, size, &summary, rvgg::VisitFindLayer, &find, message));
  if (!find.ok) {
    return rvgg::Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "layer %u is out of range (%u layers)",
                      index, summary.num_layers);
  }
  rvgg::FillLayerInfo(find.found, info);
  return RVGG_STATUS_OK;
}

rvgg_status rvgg_model_arena_size(const void* data, size_t size, const rvgg_options* options,
                                  size_t* arena_bytes, rvgg_message* message) {
  if (arena_bytes == nullptr) {
    return rvgg::Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "arena_bytes is NULL");
  }
  rvgg_options checked;
  RVGG_RETURN_IF_ERROR(rvgg::CheckOptions(options, &checked, message));
  rvgg::ModelSummary summary;
  RVGG_RETURN_IF_ERROR(rvgg::VerifyModel(data, size, &summary, nullptr, nullptr, message));
  // The plan needs every layer at once (Winograd choices share one budget).
  const uint32_t n = summary.num_layers;  // bounded by kMaxLayers
  auto* layers = static_cast<rvgg::LayerDesc*>(
      rvgg::AllocateAligned(n * sizeof(rvgg::LayerDesc), rvgg::kAlignment));
  auto* choices = static_cast<rvgg::KernelChoice*>(
      rvgg::AllocateAligned(n * sizeof(rvgg::KernelChoice), rvgg::kAlignment));
  rvgg_status status = RVGG_STATUS_OK;
  if (layers == nullptr || choices == nullptr) {
    status = rvgg::Fail(message, RVGG_STATUS_OUT_OF_MEMORY, "out of memory for %u layers", n);
  } else {
    for (uint32_t i = 0; i < n; ++i) new (&layers[i]) rvgg::LayerDesc();
    rvgg::ArenaPlan plan;
    status = rvgg::PlanModel(data, size, checked, &summary, layers, choices, &plan, message);
    if (status == RVGG_STATUS_OK) *arena_bytes = plan.total_bytes;
  }
  rvgg::FreeAligned(layers);
  rvgg::FreeAligned(choices);
  return status;
}

rvgg_status rvgg_model_memory_size(const void* data, size_t size, const rvgg_options* options,
                                   size_t* memory_bytes, rvgg_message* message) {
  rvgg::ClearMessage(message);
  if (memory_bytes == nullptr) {
    return rvgg::Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "memory_bytes is NULL");
  }
  *memory_bytes = 0;
  if (options != nullptr && options->num_threads > 1) {
    return rvgg::Fail(message, RVGG_STATUS_INVALID_ARGUMENT,
                      "options.num_threads is %u; caller memory (what this measures for) runs on "
                      "the calling thread only",
                      options->num_threads);
  }
  rvgg::LoadTrial trial;
  RVGG_RETURN_IF_ERROR(rvgg::LoadModel(data, size, options, nullptr, message, &trial));
  *memory_bytes = trial.bytes();
  return RVGG_STATUS_OK;
}

rvgg_status rvgg_model_load(const void* data, size_t size, const rvgg_options* options,
                            rvgg_model** model, rvgg_message* message) {
  rvgg::ClearMessage(message);
  if (model == nullptr) {
    return rvgg::Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "model output pointer is NULL");
  }
  *model = nullptr;
  return rvgg::LoadModel(data, size, options, model, message);
}

void rvgg_model_free(rvgg_model* model) { rvgg::FreeModel(model); }

rvgg_status rvgg_model_get_info(const rvgg_model* model, rvgg_model_info* info) {
  if (model == nullptr || info == nullptr) return RVGG_STATUS_INVALID_ARGUMENT;
  rvgg::FillModelInfo(model->summary, info);
  return RVGG_STATUS_OK;
}

rvgg_status rvgg_model_get_layer_info(const rvgg_model* model, uint32_t index,
                                      rvgg_layer_info* info) {
  if (model == nullptr || info == nullptr || index >= model->summary.num_layers) {
    return RVGG_STATUS_INVALID_ARGUMENT;
  }
  rvgg::FillLayerInfo(model->layers[index], info);
  info->kernel = model->kernels[index]->name();
  info->kernel_bytes = model->kernels[index]->owned_bytes();
  return RVGG_STATUS_OK;
}

const char* rvgg_model_label(const rvgg_model* model, uint32_t index) {
  if (model == nullptr) return nullptr;
  const auto* pre = model->summary.model->preprocessing();
  if (pre == nullptr || pre->labels() == nullptr || index >= pre->labels()->size()) return nullptr;
  return pre->labels()->Get(index)->c_str();
}

rvgg_status rvgg_model_run(rvgg_model* model, const float* input, rvgg_layout layout,
                           float* output) {
  if (model == nullptr || input == nullptr || output == nullptr ||
      (rvgg::RawEnumValue(layout) != RVGG_LAYOUT_NCHW &&
       rvgg::RawEnumValue(layout) != RVGG_LAYOUT_NHWC)) {
    return RVGG_STATUS_INVALID_ARGUMENT;
  }
  const rvgg::ModelSummary& s = model->summary;
  rvgg::WriteModelInput(input, layout, s.input_h, s.input_w, s.input_c, model->input_type,
                        model->input, model->threadpool);
  const uint32_t n = model->summary.num_layers;
  for (uint32_t i = 0; i < n; ++i) {
    const rvgg_status status = model->kernels[i]->Run();
    if (status != RVGG_STATUS_OK) return status;
    if (model->callback != nullptr) model->callback(model->callback_data, i);
  }
  rvgg::ReadModelOutput(model->output, model->output_type, s.num_outputs, output);
  return RVGG_STATUS_OK;
}

void rvgg_model_set_layer_callback(rvgg_model* model, rvgg_layer_callback callback,
                                   void* user_data) {
  if (model == nullptr) return;
  model->callback = callback;
  model->callback_data = user_data;
}

}  // extern "C"
