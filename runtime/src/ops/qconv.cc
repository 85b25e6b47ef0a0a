#include "runtime/src/ops/qconv.h"

#include <xnnpack.h>

#include "runtime/src/memory.h"
#include "runtime/src/ops/int8_io.h"
#include "runtime/src/ops/xnnpack/xnnpack.h"
#include "runtime/src/status.h"

namespace rvgg {
namespace {

class QConvKernel final : public Kernel {
 public:
  QConvKernel(const kernels::QConvFamily& family, const LayerDesc& desc, const Bindings& bindings,
              pthreadpool_t threadpool)
      : family_(family),
        params_(QConvParamsOf(desc)),
        io_(Int8IoOf(desc, bindings)),
        threadpool_(threadpool) {}
  ~QConvKernel() override {
    if (quantize_ != nullptr) xnn_delete_operator(quantize_);
    if (dequantize_ != nullptr) xnn_delete_operator(dequantize_);
    FreeAligned(packed_);
    FreeAligned(scales_);
  }

  rvgg_status Run() override {
    if (quantize_ != nullptr && xnn_run_operator(quantize_, threadpool_) != xnn_status_success) {
      return RVGG_STATUS_BACKEND_ERROR;
    }
    family_.run(params_, packed_, io_.input, io_.output, io_.kernel_scratch, threadpool_);
    if (dequantize_ != nullptr &&
        xnn_run_operator(dequantize_, threadpool_) != xnn_status_success) {
      return RVGG_STATUS_BACKEND_ERROR;
    }
    return RVGG_STATUS_OK;
  }
  const char* name() const override { return family_.name; }
  size_t owned_bytes() const override { return owned_bytes_; }

 private:
  friend rvgg_status rvgg::CreateQConvKernel(const kernels::QConvFamily&, const LayerDesc&,
                                             const Bindings&, pthreadpool_t, Kernel**,
                                             rvgg_message*);

  const kernels::QConvFamily& family_;
  kernels::QConvParams params_;
  Int8Io io_;
  pthreadpool_t threadpool_;
  void* packed_ = nullptr;
  float* scales_ = nullptr;  // params_.requant_scale
  xnn_operator_t quantize_ = nullptr;
  xnn_operator_t dequantize_ = nullptr;
  size_t owned_bytes_ = 0;
};

}  // namespace

kernels::QConvParams QConvParamsOf(const LayerDesc& d) {
  kernels::QConvParams p;
  const bool fc = d.op == schema::Op::FullyConnected;
  p.in_h = d.in_h;
  p.in_w = d.in_w;
  p.in_c = d.in_c;
  p.out_h = d.out_h;
  p.out_w = d.out_w;
  p.out_c = d.out_c;
  p.kernel_h = fc ? 1 : d.kernel_h;
  p.kernel_w = fc ? 1 : d.kernel_w;
  p.stride = fc ? 1 : d.stride;
  p.padding = fc ? 0 : d.padding;
  p.input_zero_point = d.input_q.zero_point;
  p.output_zero_point = d.output_q.zero_point;
  // The reference's ReLU clamps at the output zero point.
  p.output_min = d.relu && d.output_q.zero_point > -128 ? d.output_q.zero_point : -128;
  p.output_max = 127;
  return p;
}

bool QConvApplies(const kernels::QConvFamily& family, const LayerDesc& d) {
  if (d.compute_type != RVGG_DTYPE_INT8) return false;
  if (d.op == schema::Op::Conv2D && d.groups != 1) return false;
  if (d.op != schema::Op::Conv2D && d.op != schema::Op::FullyConnected) return false;
  const kernels::QConvParams params = QConvParamsOf(d);
  return family.applies(params) &&
         (family.accepts == nullptr || family.accepts(params, d.weights_q, d.bias_q));
}

uint64_t QConvWeightBytes(const kernels::QConvFamily& family, const LayerDesc& desc) {
  return uint64_t{family.packed_bytes(QConvParamsOf(desc))} + desc.out_c * sizeof(float);
}

size_t QConvScratchBytes(const kernels::QConvFamily& family, const LayerDesc& desc,
                         uint32_t threads) {
  return AlignUp(family.scratch_bytes(QConvParamsOf(desc), threads), kAlignment);
}

rvgg_status CreateQConvKernel(const kernels::QConvFamily& family, const LayerDesc& d,
                              const Bindings& b, pthreadpool_t threadpool, Kernel** kernel,
                              rvgg_message* message) {
  Kernel* made = nullptr;
  RVGG_RETURN_IF_ERROR(MakeKernel<QConvKernel>(d, &made, message, family, d, b, threadpool));
  auto* k = static_cast<QConvKernel*>(made);
  const int64_t start_bytes = xnn::LiveBytesOnThisThread();
  k->scales_ = static_cast<float*>(AllocateAligned(d.out_c * sizeof(float), kAlignment));
  k->packed_ = AllocateAligned(family.packed_bytes(k->params_), kAlignment);
  if (k->scales_ == nullptr || k->packed_ == nullptr) {
    DestroyKernel(k);
    return Fail(message, RVGG_STATUS_OUT_OF_MEMORY, "layer %u (%s '%.80s'): out of memory",
                d.index, d.label(), d.name);
  }
  for (uint32_t o = 0; o < d.out_c; ++o) {
    // The expression the reference and verification evaluate, in the same order.
    k->scales_[o] = d.input_q.scale * d.weight_scales[o] / d.output_q.scale;
  }
  k->params_.requant_scale = k->scales_;
  if (!family.pack(k->params_, d.weights_q, d.bias_q, k->packed_)) {
    DestroyKernel(k);
    return Fail(message, RVGG_STATUS_BACKEND_ERROR, "layer %u (%s '%.80s'): %s cannot run it",
                d.index, d.label(), d.name, family.name);
  }
  rvgg_status status = xnn::CreateInputQuantize(d, k->io_, threadpool, &k->quantize_, message);
  if (status == RVGG_STATUS_OK) {
    status = xnn::CreateOutputDequantize(d, k->io_, threadpool, &k->dequantize_, message);
  }
  if (status != RVGG_STATUS_OK) {
    DestroyKernel(k);
    return status;
  }
  const int64_t xnn_bytes = xnn::LiveBytesOnThisThread() - start_bytes;
  k->owned_bytes_ = AllocatedSize(k->packed_) + AllocatedSize(k->scales_) +
                    (xnn_bytes > 0 ? static_cast<size_t>(xnn_bytes) : 0);
  *kernel = k;
  return RVGG_STATUS_OK;
}

}  // namespace rvgg
