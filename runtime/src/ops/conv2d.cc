#include "runtime/src/ops/reference.h"

namespace rvgg::ref {

float Dot(const float* a, const float* b, uint32_t n) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (uint32_t j = 0; j < 8; ++j) partial[j] += a[i + j] * b[i + j];
  }
  for (; i < n; ++i) partial[0] += a[i] * b[i];
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

Conv2DShape ShapeOf(const LayerDesc& d) {
  return Conv2DShape{d.in_h,     d.in_w,     d.in_c,   d.out_h,   d.out_w, d.out_c,
                     d.kernel_h, d.kernel_w, d.stride, d.padding, d.groups, d.relu};
}

void Conv2D(const Conv2DShape& s, const float* input, const float* weights, const float* bias,
            float* output) {
  const uint32_t group_in = s.in_c / s.groups;
  const uint32_t group_out = s.out_c / s.groups;
  for (uint32_t oy = 0; oy < s.out_h; ++oy) {
    for (uint32_t ox = 0; ox < s.out_w; ++ox) {
      float* out = output + (static_cast<size_t>(oy) * s.out_w + ox) * s.out_c;
      for (uint32_t o = 0; o < s.out_c; ++o) {
        const uint32_t g = o / group_out;
        float acc = bias != nullptr ? bias[o] : 0.0f;
        for (uint32_t ky = 0; ky < s.kernel_h; ++ky) {
          const int64_t iy = int64_t{oy} * s.stride - s.padding + ky;
          if (iy < 0 || iy >= s.in_h) continue;
          for (uint32_t kx = 0; kx < s.kernel_w; ++kx) {
            const int64_t ix = int64_t{ox} * s.stride - s.padding + kx;
            if (ix < 0 || ix >= s.in_w) continue;
            const float* x = input + (static_cast<size_t>(iy) * s.in_w + ix) * s.in_c + g * group_in;
            const float* w =
                weights + ((static_cast<size_t>(o) * s.kernel_h + ky) * s.kernel_w + kx) * group_in;
            acc += Dot(x, w, group_in);
          }
        }
        out[o] = (s.relu && acc < 0.0f) ? 0.0f : acc;
      }
    }
  }
}

namespace {

class Conv2DReferenceKernel final : public Kernel {
 public:
  Conv2DReferenceKernel(const LayerDesc& d, const Bindings& b)
      : shape_(ShapeOf(d)),
        weights_(d.weights),
        bias_(d.bias),
        input_(static_cast<const float*>(b.input)),
        output_(static_cast<float*>(b.output)) {}
  rvgg_status Run() override {
    Conv2D(shape_, input_, weights_, bias_, output_);
    return RVGG_STATUS_OK;
  }
  const char* name() const override { return "reference"; }

 private:
  Conv2DShape shape_;
  const float* weights_;
  const float* bias_;
  const float* input_;
  float* output_;
};

}  // namespace

rvgg_status CreateConv2DReferenceKernel(const LayerDesc& desc, const Bindings& bindings,
                                        Kernel** kernel, rvgg_message* message) {
  return MakeKernel<Conv2DReferenceKernel>(desc, kernel, message, desc, bindings);
}

}  // namespace rvgg::ref
