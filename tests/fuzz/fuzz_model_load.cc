// Fuzz target: bytes -> rvgg_model_load -> (when it loads) rvgg_model_run.
//
// The first byte chooses how the model is loaded, the rest is the model:
//   bit 0   reference backend (else XNNPACK, when built in)
//   bit 1   caller memory: rvgg_model_memory_size, then a load into exactly
//           that many bytes (which must then succeed)
//   bit 2   NHWC input (else NCHW)
// Besides "no crash, no sanitizer report", it checks the API's promises:
// every failure comes with one non-empty line of message, a verified model
// loads (unless memory runs out), and a loaded model runs.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "rvgg/rvgg.h"

namespace {

// Loads touch at most this much (a 2 GiB default would trip libFuzzer's
// malloc limit on inputs that are merely large, not wrong).
constexpr size_t kMemoryLimit = size_t{256} << 20;
// Larger models are loaded but not run: the reference kernels would make
// one input take seconds.
constexpr uint64_t kMaxRunMacs = 20'000'000;

[[noreturn]] void Broken(const char* what, const rvgg_message& message) {
  std::fprintf(stderr, "fuzz_model_load: broken promise: %s (message: '%s')\n", what, message.text);
  std::abort();
}

void CheckMessage(rvgg_status status, const rvgg_message& message) {
  if (status == RVGG_STATUS_OK) return;
  const size_t n = strnlen(message.text, sizeof(message.text));
  if (n == 0 || n == sizeof(message.text)) Broken("failure without a terminated message", message);
  if (std::strchr(message.text, '\n') != nullptr) Broken("message spans lines", message);
}

struct Aligned {
  explicit Aligned(size_t n) {
    if (posix_memalign(&data, 64, n == 0 ? 1 : n) != 0) std::abort();
  }
  ~Aligned() { std::free(data); }
  void* data = nullptr;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  ++data;
  --size;
  // Exactly `size` bytes, so that AddressSanitizer sees any read past them.
  Aligned model_bytes(size);
  if (size != 0) std::memcpy(model_bytes.data, data, size);

  rvgg_options options;
  rvgg_options_default(&options);
#if RVGG_WITH_XNNPACK
  options.backend = (mode & 1) ? RVGG_BACKEND_REFERENCE : RVGG_BACKEND_XNNPACK;
#else
  options.backend = RVGG_BACKEND_REFERENCE;
#endif
  options.memory_limit = kMemoryLimit;
  const rvgg_layout layout = (mode & 4) ? RVGG_LAYOUT_NHWC : RVGG_LAYOUT_NCHW;

  rvgg_message message;
  rvgg_model_info info;
  const rvgg_status verified = rvgg_model_verify(model_bytes.data, size, &info, &message);
  CheckMessage(verified, message);

  Aligned* memory = nullptr;
  if (mode & 2) {
    size_t need = 0;
    const rvgg_status measured =
        rvgg_model_memory_size(model_bytes.data, size, &options, &need, &message);
    CheckMessage(measured, message);
    if (measured != RVGG_STATUS_OK) {
      if (verified == RVGG_STATUS_OK && measured != RVGG_STATUS_OUT_OF_MEMORY &&
          measured != RVGG_STATUS_UNSUPPORTED && measured != RVGG_STATUS_BACKEND_ERROR) {
        Broken("a verified model cannot be measured", message);
      }
      return 0;
    }
    memory = new Aligned(need);
    options.memory = memory->data;
    options.memory_size = need;
  }

  rvgg_model* model = nullptr;
  const rvgg_status loaded = rvgg_model_load(model_bytes.data, size, &options, &model, &message);
  CheckMessage(loaded, message);
  if (loaded != RVGG_STATUS_OK) {
    if (model != nullptr) Broken("failed load returned a model", message);
    if (memory != nullptr) Broken("a load into the measured memory failed", message);
    if (verified == RVGG_STATUS_OK && loaded == RVGG_STATUS_INVALID_MODEL) {
      Broken("verify accepted what load calls invalid", message);
    }
    return 0;
  }
  if (verified != RVGG_STATUS_OK) Broken("load accepted what verify refused", message);
  if (info.macs <= kMaxRunMacs) {
    std::vector<float> input(size_t{info.input_height} * info.input_width * info.input_channels);
    for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>(i % 7) - 3.0f;
    std::vector<float> output(info.num_outputs);
    if (rvgg_model_run(model, input.data(), layout, output.data()) != RVGG_STATUS_OK) {
      Broken("a loaded model failed to run", message);
    }
  }
  rvgg_model_free(model);
  delete memory;
  return 0;
}
