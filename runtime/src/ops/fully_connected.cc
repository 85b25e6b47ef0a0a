#include "runtime/src/ops/reference.h"

namespace rvgg::ref {

void FullyConnected(uint32_t in_features, uint32_t out_features, const float* input,
                    const float* weights, const float* bias, bool relu, float* output) {
  for (uint32_t o = 0; o < out_features; ++o) {
    float acc = (bias != nullptr ? bias[o] : 0.0f) +
                Dot(weights + static_cast<size_t>(o) * in_features, input, in_features);
    output[o] = (relu && acc < 0.0f) ? 0.0f : acc;
  }
}

namespace {

class FullyConnectedReferenceKernel final : public Kernel {
 public:
  FullyConnectedReferenceKernel(const LayerDesc& d, const Bindings& b)
      : in_(d.in_c),
        out_(d.out_c),
        relu_(d.relu),
        weights_(d.weights),
        bias_(d.bias),
        input_(static_cast<const float*>(b.input)),
        output_(static_cast<float*>(b.output)) {}
  rvgg_status Run() override {
    FullyConnected(in_, out_, input_, weights_, bias_, relu_, output_);
    return RVGG_STATUS_OK;
  }
  const char* name() const override { return "reference"; }

 private:
  uint32_t in_, out_;
  bool relu_;
  const float* weights_;
  const float* bias_;
  const float* input_;
  float* output_;
};

}  // namespace

rvgg_status CreateFullyConnectedReferenceKernel(const LayerDesc& desc, const Bindings& bindings,
                                                Kernel** kernel, rvgg_message* message) {
  return MakeKernel<FullyConnectedReferenceKernel>(desc, kernel, message, desc, bindings);
}

}  // namespace rvgg::ref
