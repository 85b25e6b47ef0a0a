#include "runtime/src/ops/reference.h"

namespace rvgg::ref {

void GlobalAveragePool(uint32_t height, uint32_t width, uint32_t channels, const float* input,
                       float* output) {
  const size_t pixels = static_cast<size_t>(height) * width;
  for (uint32_t c = 0; c < channels; ++c) output[c] = 0.0f;
  for (size_t p = 0; p < pixels; ++p) {
    const float* x = input + p * channels;
    for (uint32_t c = 0; c < channels; ++c) output[c] += x[c];
  }
  const float scale = 1.0f / static_cast<float>(pixels);
  for (uint32_t c = 0; c < channels; ++c) output[c] *= scale;
}

namespace {

class GlobalAveragePoolReferenceKernel final : public Kernel {
 public:
  GlobalAveragePoolReferenceKernel(const LayerDesc& d, const Bindings& b)
      : h_(d.in_h),
        w_(d.in_w),
        c_(d.in_c),
        input_(static_cast<const float*>(b.input)),
        output_(static_cast<float*>(b.output)) {}
  rvgg_status Run() override {
    GlobalAveragePool(h_, w_, c_, input_, output_);
    return RVGG_STATUS_OK;
  }
  const char* name() const override { return "reference"; }

 private:
  uint32_t h_, w_, c_;
  const float* input_;
  float* output_;
};

}  // namespace

rvgg_status CreateGlobalAveragePoolReferenceKernel(const LayerDesc& desc,
                                                   const Bindings& bindings, Kernel** kernel,
                                                   rvgg_message* message) {
  return MakeKernel<GlobalAveragePoolReferenceKernel>(desc, kernel, message, desc, bindings);
}

}  // namespace rvgg::ref
