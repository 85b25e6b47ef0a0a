// Fuzz target, structure-aware: the bytes choose a small network (input size,
// convolutions with any kernel/stride/padding/groups, squeeze-excite, one
// deliberate inconsistency or none), tests/runtime/test_models builds it as
// a well-formed file, and it is loaded with both backends. What one backend
// accepts the other must too (except what only one supports), and the
// XNNPACK logits must match the reference kernels'. Byte-level mutation
// (fuzz_model_load) rarely gets past the FlatBuffers verifier; this reaches
// the meaning checks and the kernels with odd shapes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "rvgg/rvgg.h"
#include "tests/runtime/test_models.h"

namespace {

class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  // A value in [lo, hi]; 0-filled once the input runs out.
  uint32_t In(uint32_t lo, uint32_t hi) {
    const uint32_t b = pos_ < size_ ? data_[pos_++] : 0;
    return lo + b % (hi - lo + 1);
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

[[noreturn]] void Broken(const char* what, const char* detail) {
  std::fprintf(stderr, "fuzz_model_spec: broken promise: %s (%s)\n", what, detail);
  std::abort();
}

struct Result {
  rvgg_status status = RVGG_STATUS_OK;
  std::vector<float> logits;
  rvgg_message message{};
};

Result LoadAndRun(const std::vector<uint8_t>& model, rvgg_backend backend, bool caller_memory,
                  const std::vector<float>& input) {
  Result r;
  rvgg_options o;
  rvgg_options_default(&o);
  o.backend = backend;
  o.memory_limit = size_t{256} << 20;
  void* memory = nullptr;
  if (caller_memory) {
    size_t need = 0;
    r.status = rvgg_model_memory_size(model.data(), model.size(), &o, &need, &r.message);
    if (r.status != RVGG_STATUS_OK) return r;
    if (posix_memalign(&memory, 64, need) != 0) std::abort();
    o.memory = memory;
    o.memory_size = need;
  }
  rvgg_model* m = nullptr;
  r.status = rvgg_model_load(model.data(), model.size(), &o, &m, &r.message);
  if (r.status == RVGG_STATUS_OK) {
    rvgg_model_info info;
    rvgg_model_get_info(m, &info);
    r.logits.resize(info.num_outputs);
    if (rvgg_model_run(m, input.data(), RVGG_LAYOUT_NHWC, r.logits.data()) != RVGG_STATUS_OK) {
      Broken("a loaded model failed to run", "");
    }
    rvgg_model_free(m);
  } else if (caller_memory) {
    Broken("a load into the measured memory failed", r.message.text);
  }
  std::free(memory);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rvgg::testing::ConvSpec;
  Bytes in(data, size);
  rvgg::testing::ModelSpec spec;
  spec.height = in.In(1, 24);
  spec.width = in.In(1, 24);
  spec.channels = in.In(1, 8);
  spec.convs.clear();
  const uint32_t layers = in.In(1, 4);
  uint32_t c = spec.channels;
  for (uint32_t i = 0; i < layers; ++i) {
    ConvSpec conv;
    const uint32_t groups_code = in.In(0, 3);
    conv.kernel = in.In(0, 1) ? 3 : 1;
    conv.stride = in.In(1, 2);
    conv.padding = in.In(0, 2);
    conv.relu = in.In(0, 1);
    // Groups dividing the input channels (or, sometimes, not).
    uint32_t groups = 1;
    if (groups_code == 1 && c % 2 == 0) groups = 2;
    if (groups_code == 2) groups = c;  // depthwise-like
    if (groups_code == 3) groups = in.In(1, 4);
    conv.groups = groups;
    const uint32_t per_group = in.In(1, 4);
    conv.out_channels = groups * per_group;
    conv.se_reduced = in.In(0, 3) == 0 ? in.In(1, 4) : 0;
    spec.convs.push_back(conv);
    c = conv.out_channels;
  }
  spec.classes = in.In(1, 6);
  spec.seed = in.In(0, 255);
  spec.with_mean_std = in.In(0, 1);
  // At most one deliberate inconsistency.
  switch (in.In(0, 7)) {
    case 1:
      spec.bad_layer = static_cast<int>(in.In(0, layers - 1));
      spec.weight_count_delta = static_cast<int>(in.In(0, 2)) - 1;  // the builder needs >= 0 values
      break;
    case 2:
      spec.bad_layer = static_cast<int>(in.In(0, layers - 1));
      spec.declared_in_channels_delta = static_cast<int>(in.In(0, 2)) - 1;
      break;
    case 3:
      spec.bad_layer = static_cast<int>(in.In(0, layers - 1));
      spec.override_groups = in.In(1, 9);
      break;
    case 4:
      spec.bad_layer = static_cast<int>(in.In(0, layers - 1));
      spec.drop_bias = true;
      break;
    default:
      break;
  }
  // The builder needs groups that divide the channels it tracks.
  uint32_t cc = spec.channels;
  for (const ConvSpec& conv : spec.convs) {
    if (conv.groups == 0 || cc % conv.groups != 0) return 0;
    cc = conv.out_channels;
  }
  const std::vector<uint8_t> model = rvgg::testing::BuildModel(spec);
  const bool caller_memory = in.In(0, 1);
  const std::vector<float> input =
      rvgg::testing::RandomInput(size_t{spec.height} * spec.width * spec.channels, spec.seed);

  const Result ref = LoadAndRun(model, RVGG_BACKEND_REFERENCE, caller_memory, input);
#if RVGG_WITH_XNNPACK
  const Result xnn = LoadAndRun(model, RVGG_BACKEND_XNNPACK, !caller_memory, input);
  const bool ref_ok = ref.status == RVGG_STATUS_OK, xnn_ok = xnn.status == RVGG_STATUS_OK;
  if (ref_ok != xnn_ok && ref.status != RVGG_STATUS_UNSUPPORTED &&
      xnn.status != RVGG_STATUS_UNSUPPORTED && ref.status != RVGG_STATUS_OUT_OF_MEMORY &&
      xnn.status != RVGG_STATUS_OUT_OF_MEMORY) {
    Broken("the backends disagree on whether the model loads",
           ref_ok ? xnn.message.text : ref.message.text);
  }
  if (ref_ok && xnn_ok) {
    float scale = 1.0f;
    for (float v : ref.logits) scale = std::max(scale, std::fabs(v));
    for (size_t i = 0; i < ref.logits.size(); ++i) {
      const float a = ref.logits[i], b = xnn.logits[i];
      if (!(std::fabs(a - b) <= 1e-3f * scale) && !(std::isnan(a) && std::isnan(b))) {
        char detail[128];
        std::snprintf(detail, sizeof(detail), "logit %zu: reference %g, xnnpack %g", i, a, b);
        Broken("xnnpack and reference logits differ", detail);
      }
    }
  }
#endif
  return 0;
}
