/*
 * rvgg-firmware: the smallest complete program on the installed package,
 * written the way firmware uses it (plain C99, memory handed over
 * explicitly, one image, no C++ in sight).
 *
 *   rvgg-firmware MODEL.rvgg [INPUT.f32]
 *
 * INPUT.f32 holds input_channels x input_height x input_width float32 values
 * (host byte order, NCHW, already normalized with the model's mean and std);
 * without it a fixed test pattern is used. Prints the logits, one per line,
 * and the top-1 class.
 *
 * Build against an installed package (`cmake --install build/aarch64 --prefix X`):
 *   cmake -S examples/firmware -B build/firmware-aarch64 -DCMAKE_PREFIX_PATH=X \
 *         -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake
 *   cmake --build build/firmware-aarch64
 *   build/firmware-aarch64/emulator build/firmware-aarch64/rvgg-firmware model.rvgg
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "rvgg/rvgg.h"

/* Memory that must be RVGG_ARENA_ALIGNMENT-aligned, from plain malloc (C99
 * has no aligned allocator). Firmware would use a linker-placed buffer. */
typedef struct aligned_block {
  void* raw;
  void* data;
} aligned_block;

static int aligned_alloc64(size_t size, aligned_block* block) {
  block->raw = malloc(size + RVGG_ARENA_ALIGNMENT - 1);
  if (block->raw == NULL) return 0;
  block->data = (void*)(((uintptr_t)block->raw + RVGG_ARENA_ALIGNMENT - 1) &
                        ~(uintptr_t)(RVGG_ARENA_ALIGNMENT - 1));
  return 1;
}

static int fail(const char* what, const char* detail) {
  fprintf(stderr, "rvgg-firmware: error: %s%s%s\n", what, detail[0] ? ": " : "", detail);
  return 1;
}

/* Reads a whole file into a 64-byte aligned block; returns its size or 0. */
static size_t read_file(const char* path, aligned_block* block) {
  FILE* f = fopen(path, "rb");
  long size;
  size_t got;
  if (f == NULL) return 0;
  if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
      !aligned_alloc64((size_t)size, block)) {
    fclose(f);
    return 0;
  }
  got = fread(block->data, 1, (size_t)size, f);
  fclose(f);
  if (got != (size_t)size) {
    free(block->raw);
    return 0;
  }
  return got;
}

int main(int argc, char** argv) {
  aligned_block model_file, arena, input_file = {NULL, NULL};
  size_t model_size, arena_size = 0, input_count, i, fp16_layers = 0;
  rvgg_options options;
  rvgg_message message;
  rvgg_model* model = NULL;
  rvgg_model_info info;
  rvgg_status status;
  const float* input;
  float* pattern = NULL;
  float* logits;
  uint32_t best = 0;
  const char* label;

  if (argc < 2 || argc > 3) {
    fputs("usage: rvgg-firmware MODEL.rvgg [INPUT.f32]\n", stderr);
    return 2;
  }
  model_size = read_file(argv[1], &model_file);
  if (model_size == 0) return fail("cannot read", argv[1]);

  /* Check the model, then size and hand over the activation arena. */
  status = rvgg_model_verify(model_file.data, model_size, &info, &message);
  if (status != RVGG_STATUS_OK) return fail(rvgg_status_string(status), message.text);
  rvgg_options_default(&options);
  status = rvgg_model_arena_size(model_file.data, model_size, &options, &arena_size, &message);
  if (status != RVGG_STATUS_OK) return fail(rvgg_status_string(status), message.text);
  if (!aligned_alloc64(arena_size, &arena)) return fail("out of memory", "");
  options.arena = arena.data;
  options.arena_size = arena_size;
  status = rvgg_model_load(model_file.data, model_size, &options, &model, &message);
  if (status != RVGG_STATUS_OK) return fail(rvgg_status_string(status), message.text);

  input_count = (size_t)info.input_channels * info.input_height * info.input_width;
  if (argc == 3) {
    if (read_file(argv[2], &input_file) != input_count * sizeof(float)) {
      return fail("input must hold channels x height x width float32 values", argv[2]);
    }
    input = (const float*)input_file.data;
  } else {
    pattern = (float*)malloc(input_count * sizeof(float));
    if (pattern == NULL) return fail("out of memory", "");
    for (i = 0; i < input_count; ++i) pattern[i] = (float)((int)(i % 17) - 8) / 8.0f;
    input = pattern;
  }
  logits = (float*)malloc(info.num_outputs * sizeof(float));
  if (logits == NULL) return fail("out of memory", "");

  status = rvgg_model_run(model, input, RVGG_LAYOUT_NCHW, logits);
  if (status != RVGG_STATUS_OK) return fail("inference failed", rvgg_status_string(status));

  printf("model: %s, %ux%ux%u -> %u classes, %u layers, arena %lu bytes, kernels: %s\n",
         info.architecture[0] ? info.architecture : "(unnamed)", info.input_height,
         info.input_width, info.input_channels, info.num_outputs, info.num_layers,
         (unsigned long)arena_size, rvgg_kernel_isa());
  /* Half-precision layers: AUTO picks fp16 on CPUs with FP16 arithmetic. */
  for (i = 0; i < info.num_layers; ++i) {
    rvgg_layer_info layer;
    if (rvgg_model_get_layer_info(model, (uint32_t)i, &layer) == RVGG_STATUS_OK &&
        layer.compute_type == RVGG_DTYPE_FLOAT16) {
      ++fp16_layers;
    }
  }
  printf("fp16 layers %lu\n", (unsigned long)fp16_layers);
  for (i = 0; i < info.num_outputs; ++i) {
    printf("logit %lu %.9g\n", (unsigned long)i, logits[i]);
    if (logits[i] > logits[best]) best = (uint32_t)i;
  }
  label = rvgg_model_label(model, best);
  printf("top-1 %u %s %.9g\n", best, label ? label : "-", logits[best]);

  rvgg_model_free(model);
  free(logits);
  free(pattern);
  free(input_file.raw);
  free(arena.raw);
  free(model_file.raw);
  return 0;
}
