// The Winograd convolution kernel: transforms (ours) around (m+2)^2 x groups
// XNNPACK fully-connected operators, all created and set up at load.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <limits>

#include "runtime/src/memory.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "runtime/src/ops/winograd/winograd.h"
#include "runtime/src/ops/xnnpack/xnnpack.h"
#include "runtime/src/status.h"

namespace rvgg::winograd {
namespace {

class WinogradConv2DKernel final : public Kernel {
 public:
  WinogradConv2DKernel(int m, pthreadpool_t threadpool) : threadpool_(threadpool) {
    std::snprintf(name_, sizeof(name_), "winograd-f%d", m);
  }
  ~WinogradConv2DKernel() override {
    for (size_t i = 0; i < num_operators_; ++i) {
      if (operators_[i] != nullptr) xnn_delete_operator(operators_[i]);
    }
    FreeAligned(operators_);
  }

  rvgg_status Run() override {
    // With a null pool pthreadpool runs the chunks on this thread.
    pthreadpool_parallelize_1d_tile_1d(threadpool_, InputTask, this, tiles_, chunk_, 0);
    // The (m+2)^2 GEMMs are independent and small (tiles rows each): with a
    // pool, threads take whole operators (one dispatch per layer instead of
    // one per operator); each operator runs single-threaded.
    failed_.store(false, std::memory_order_relaxed);
    pthreadpool_parallelize_1d(threadpool_, GemmTask, this, num_operators_, 0);
    if (failed_.load(std::memory_order_relaxed)) return RVGG_STATUS_BACKEND_ERROR;
    pthreadpool_parallelize_1d_tile_1d(threadpool_, OutputTask, this, tiles_, chunk_, 0);
    return RVGG_STATUS_OK;
  }
  const char* name() const override { return name_; }
  size_t owned_bytes() const override { return owned_bytes_; }

 private:
  friend rvgg_status rvgg::winograd::CreateConv2DKernel(const LayerDesc&, int, const Bindings&,
                                                        pthreadpool_t, Kernel**, rvgg_message*);

  static void InputTask(void* context, size_t start, size_t count) {
    auto* k = static_cast<WinogradConv2DKernel*>(context);
    k->transforms_.input(k->input_, start, start + count);
  }
  static void GemmTask(void* context, size_t index) {
    auto* k = static_cast<WinogradConv2DKernel*>(context);
    if (xnn_run_operator(k->operators_[index], /*threadpool=*/nullptr) != xnn_status_success) {
      k->failed_.store(true, std::memory_order_relaxed);
    }
  }
  static void OutputTask(void* context, size_t start, size_t count) {
    auto* k = static_cast<WinogradConv2DKernel*>(context);
    k->transforms_.output(k->output_, start, start + count);
  }

  char name_[16];
  pthreadpool_t threadpool_;
  TransformSet transforms_{};
  InputTransformParams input_{};
  OutputTransformParams output_{};
  size_t tiles_ = 0;
  size_t chunk_ = 1;
  xnn_operator_t* operators_ = nullptr;
  size_t num_operators_ = 0;
  size_t owned_bytes_ = 0;
  std::atomic<bool> failed_{false};
};

}  // namespace

rvgg_status CreateConv2DKernel(const LayerDesc& d, int m, const Bindings& b,
                               pthreadpool_t threadpool, Kernel** kernel, rvgg_message* message) {
  *kernel = nullptr;
  if (!Applies(d) || (m != 2 && m != 4 && m != 6) || !FitsScratch(d, m)) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT,
                "layer %u (%s '%.80s'): Winograd F(%d) cannot run this layer", d.index,
                d.kind_name(), d.name, m);
  }
  if (b.scratch == nullptr || b.scratch_bytes < ScratchBytes(d, m)) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT,
                "layer %u (%s '%.80s'): Winograd F(%d) needs %zu scratch bytes, the plan gives %zu",
                d.index, d.kind_name(), d.name, m, ScratchBytes(d, m), b.scratch_bytes);
  }
  const int n = m + 2;
  const uint32_t positions = static_cast<uint32_t>(n * n);
  const size_t tiles = TileCount(d, m);
  const uint32_t group_in = d.in_c / d.groups, group_out = d.out_c / d.groups;
  float* v = static_cast<float*>(b.scratch);
  float* mm =
      reinterpret_cast<float*>(static_cast<uint8_t*>(b.scratch) +
                               AlignUp(positions * tiles * d.in_c * sizeof(float), kAlignment));

  Kernel* made = nullptr;
  RVGG_RETURN_IF_ERROR(MakeKernel<WinogradConv2DKernel>(d, &made, message, m, threadpool));
  auto* k = static_cast<WinogradConv2DKernel*>(made);
  k->transforms_ = GetWinogradTransforms(m);
  k->tiles_ = tiles;
  if (threadpool != nullptr) {
    // A few chunks per thread balance border tiles against dispatch cost.
    const size_t threads = pthreadpool_get_threads_count(threadpool);
    const size_t parts = threads * 4;
    k->chunk_ = (tiles + parts - 1) / parts;
  } else {
    k->chunk_ = tiles;
  }
  k->input_ = InputTransformParams{
      static_cast<const float*>(b.input), d.in_h, d.in_w, d.in_c, TilesX(d, m), tiles * d.in_c, v};
  k->output_ = OutputTransformParams{mm,           d.bias,          d.relu,
                                     d.out_h,      d.out_w,         d.out_c,
                                     TilesX(d, m), tiles * d.out_c, static_cast<float*>(b.output)};

  const size_t num_operators = size_t{positions} * d.groups;
  k->operators_ = static_cast<xnn_operator_t*>(
      AllocateAligned(num_operators * sizeof(xnn_operator_t), kAlignment));
  float* u = static_cast<float*>(
      AllocateAligned(size_t{group_out} * group_in * sizeof(float), kAlignment));
  if (k->operators_ == nullptr || u == nullptr) {
    FreeAligned(u);
    DestroyKernel(k);
    return Fail(message, RVGG_STATUS_OUT_OF_MEMORY, "layer %u (%s '%.80s'): out of memory", d.index,
                d.kind_name(), d.name);
  }
  std::memset(k->operators_, 0, num_operators * sizeof(xnn_operator_t));
  k->num_operators_ = num_operators;

  const int64_t start_bytes = xnn::LiveBytesOnThisThread();
  const float inf = std::numeric_limits<float>::infinity();
  rvgg_status status = RVGG_STATUS_OK;
  for (uint32_t p = 0; p < positions && status == RVGG_STATUS_OK; ++p) {
    for (uint32_t g = 0; g < d.groups && status == RVGG_STATUS_OK; ++g) {
      TransformWeights(d, m, static_cast<int>(p) / n, static_cast<int>(p) % n, g, u);
      xnn_operator_t* op = &k->operators_[size_t{p} * d.groups + g];
      // Bias and ReLU belong to the output transform: the GEMM is plain.
      status = xnn::Check(xnn_create_fully_connected_nc_f32(group_in, group_out, d.in_c, d.out_c, u,
                                                            /*bias=*/nullptr, -inf, inf,
                                                            /*flags=*/0, op),
                          d, "xnn_create_fully_connected_nc_f32", message);
      if (status != RVGG_STATUS_OK) break;
      status = xnn::Check(
          xnn_setup_fully_connected_nc_f32(*op, tiles, v + p * tiles * d.in_c + g * group_in,
                                           mm + p * tiles * d.out_c + g * group_out,
                                           /*threadpool=*/nullptr),
          d, "xnn_setup_fully_connected_nc_f32", message);
    }
  }
  FreeAligned(u);  // XNNPACK holds its packed copy.
  if (status != RVGG_STATUS_OK) {
    DestroyKernel(k);
    return status;
  }
  const int64_t grown = xnn::LiveBytesOnThisThread() - start_bytes;
  k->owned_bytes_ =
      (grown > 0 ? static_cast<size_t>(grown) : 0) + num_operators * sizeof(xnn_operator_t);
  *kernel = k;
  return RVGG_STATUS_OK;
}

}  // namespace rvgg::winograd
