// The direct convolution on rvgg's own GEMM (winograd.h, kGemmDirect):
//
//   for each chunk of output pixels (rows of the GEMM):
//     rows:  a table of pointers to each pixel's kh window rows (kw x in_c
//            floats each), read in place from the image; a row of zeros
//            above and below it, and for the few windows that cross its
//            left or right edge a copy with the padding as zeros, in the
//            worker's slot of the scratch;
//     GEMM:  chunk x (kh kw in_c) by the weights packed at load (gemm.h),
//            reading A through the table, bias and ReLU applied as it
//            stores into the output rows.
//
// This is the path for the layers Winograd does not win (stride 2, the
// 3-channel stem, small maps with many channels): on the CPUs where rvgg's
// GEMM runs, it beats XNNPACK's indirect convolution on the same layer
// (tools/bench/notes.md). Reading the windows in place, rather than copying
// them into im2col rows, saves a write and a read of kh kw in_c floats per
// pixel. The work is split into tasks of (chunk, column group): chunks of
// about kChunkBytes of window values, and, where a layer has too few chunks
// for the threads (a small map with many output channels, whose weights
// dominate), groups of weight panels, so that each thread streams its own
// part of the weights once. A worker keeps the table of the chunk it built
// while it takes the next column group of the same chunk.
//
// rvgg's float GEMM exists on x86 only (gemm.h: ARM runs XNNPACK's NEON
// GEMMs), so other builds compile the stubs at the end and stay smaller.
#include <pthreadpool.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>

#include "runtime/src/kernels/range_claims.h"
#include "runtime/src/kernels/tsan.h"
#include "runtime/src/memory.h"
#include "runtime/src/ops/winograd/gemm.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "runtime/src/ops/winograd/winograd.h"
#include "runtime/src/status.h"

namespace rvgg::winograd {

#if defined(__x86_64__) || defined(__i386__)
namespace {

using kernels::HappensAfter;
using kernels::HappensBefore;

uint64_t RoundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

// Output pixels per chunk: about this many bytes of their windows, which
// stay in L2 while the weight panels pass over them; layers whose packed
// weights exceed kLargeWeightBytes take chunks up to kLargeChunkBytes, so
// that the weights (the larger stream there) pass fewer times.
constexpr uint64_t kChunkBytes = 192u << 10;
constexpr uint64_t kLargeWeightBytes = 1u << 20;
constexpr uint64_t kLargeChunkBytes = 512u << 10;

// Rows of the GEMM's register block (whole blocks per chunk where possible).
constexpr uint64_t kBlockRows = 12;

// Copies n floats; short runs (the 3-channel stem's 3-float pixels) in
// fixed-size pieces the compiler inlines rather than a library call each.
inline void CopyFloats(float* dst, const float* src, size_t n) {
  if (n >= 64) {
    std::memcpy(dst, src, n * sizeof(float));
    return;
  }
  size_t i = 0;
  for (; i + 8 <= n; i += 8) std::memcpy(dst + i, src + i, 8 * sizeof(float));
  if (i + 4 <= n) {
    std::memcpy(dst + i, src + i, 4 * sizeof(float));
    i += 4;
  }
  if (i + 2 <= n) {
    std::memcpy(dst + i, src + i, 2 * sizeof(float));
    i += 2;
  }
  if (i < n) dst[i] = src[i];
}

// Whether output column ox's window crosses the image's left or right edge.
bool CrossesEdge(const LayerDesc& d, uint32_t ox) {
  const int64_t x0 = int64_t{ox} * d.stride - d.padding;
  return x0 < 0 || x0 + d.kernel_w > d.in_w;
}

uint64_t DepthOf(const LayerDesc& d) { return uint64_t{d.kernel_h} * d.kernel_w * d.in_c; }

uint64_t PackedBytes(const LayerDesc& d) {
  return PackedGemmFloats(static_cast<size_t>(DepthOf(d)), d.out_c) * sizeof(float);
}

class GemmConv2DKernel final : public Kernel {
 public:
  explicit GemmConv2DKernel(pthreadpool_t threadpool) : threadpool_(threadpool) {}
  ~GemmConv2DKernel() override {
    FreeAligned(packed_);
    FreeAligned(bias_);
    FreeAligned(zeros_);
  }

  rvgg_status Run() override {
    claims_.Reset();
    HappensBefore(this);
    if (plan_.slots == 1) {
      Worker(this, 0);
    } else {
      pthreadpool_parallelize_1d(threadpool_, Worker, this, plan_.slots, 0);
    }
    HappensAfter(this);
    return RVGG_STATUS_OK;
  }
  const char* name() const override { return "gemm-direct"; }
  size_t owned_bytes() const override {
    return AllocatedSize(packed_) + AllocatedSize(bias_) + AllocatedSize(zeros_) +
           claims_.owned_bytes();
  }

  GemmDirectPlan plan_{};
  pthreadpool_t threadpool_;
  GemmBiasFn gemm_ = nullptr;
  float* packed_ = nullptr;  // PackedGemmFloats(depth_, out_c) floats
  float* bias_ = nullptr;    // out_c values, zero padded to whole panels
  float* zeros_ = nullptr;   // one window row (kw x in_c) of zeros
  float lo_ = 0.0f;          // 0 with ReLU, -inf without
  uint8_t* slots_ = nullptr;
  const float* input_ = nullptr;
  float* output_ = nullptr;
  uint32_t in_h_ = 0, in_w_ = 0, in_c_ = 0, out_w_ = 0, out_c_ = 0;
  uint32_t kernel_h_ = 0, kernel_w_ = 0, stride_ = 1, padding_ = 0;
  size_t depth_ = 0, pixels_ = 0;
  // Which worker takes which task (range_claims.h).
  kernels::RangeClaims claims_;

 private:
  // The window rows of output pixels [first, first + count): kh pointers
  // per pixel into `rows`, copies of the rows that cross the image's left
  // or right edge into `border` (plan_.border_rows rows at most).
  void BuildRows(size_t first, size_t count, const float** rows, float* border) const {
    const size_t c = in_c_, kw = kernel_w_, window = kw * c;
    const int h = static_cast<int>(in_h_), w = static_cast<int>(in_w_);
    const int stride = static_cast<int>(stride_), pad = static_cast<int>(padding_);
    int oy = static_cast<int>(first / out_w_), ox = static_cast<int>(first % out_w_);
    for (size_t p = 0; p < count; ++p) {
      const int y0 = oy * stride - pad, x0 = ox * stride - pad;
      const bool x_inside = x0 >= 0 && x0 + static_cast<int>(kw) <= w;
      for (uint32_t ky = 0; ky < kernel_h_; ++ky) {
        const int iy = y0 + static_cast<int>(ky);
        if (iy < 0 || iy >= h) {
          *rows++ = zeros_;
          continue;
        }
        const float* line = input_ + size_t(iy) * in_w_ * c;
        if (x_inside) {
          *rows++ = line + size_t(x0) * c;
          continue;
        }
        for (size_t kx = 0; kx < kw; ++kx) {
          const int ix = x0 + static_cast<int>(kx);
          if (ix < 0 || ix >= w) {
            std::memset(border + kx * c, 0, c * sizeof(float));
          } else {
            CopyFloats(border + kx * c, line + size_t(ix) * c, c);
          }
        }
        *rows++ = border;
        border += window;
      }
      if (++ox == static_cast<int>(out_w_)) {
        ox = 0;
        ++oy;
      }
    }
  }

  // One worker: its range of (chunk, column group) tasks in chunk-major
  // order, then what is left of the others' (range_claims.h), in its own
  // slot.
  static void Worker(void* context, size_t slot) {
    HappensAfter(context);
    auto* k = static_cast<GemmConv2DKernel*>(context);
    const GemmDirectPlan& plan = k->plan_;
    uint8_t* base = k->slots_ + slot * plan.slot_bytes;
    const float** rows = reinterpret_cast<const float**>(base);
    float* border = reinterpret_cast<float*>(base + plan.table_bytes);
    const size_t group_cols = size_t{plan.group_panels} * kGemmPanel;
    const size_t run = size_t{k->kernel_w_} * k->in_c_;
    size_t built = SIZE_MAX;
    k->claims_.Run(static_cast<uint32_t>(slot), [&](uint32_t task) {
      const size_t chunk = task / plan.column_groups, group = task % plan.column_groups;
      const size_t first = chunk * plan.chunk_rows;
      const size_t count = std::min<size_t>(plan.chunk_rows, k->pixels_ - first);
      if (chunk != built) {
        k->BuildRows(first, count, rows, border);
        built = chunk;
      }
      const size_t col = group * group_cols;
      const size_t cols = std::min(group_cols, size_t{k->out_c_} - col);
      k->gemm_(count, cols, k->kernel_h_, run, rows, k->packed_ + col * k->depth_,
               k->output_ + first * k->out_c_ + col, k->out_c_, k->bias_ + col, k->lo_);
    });
    HappensBefore(context);
  }
};

}  // namespace

bool GemmDirectApplies(const LayerDesc& d) {
  // Fixed per process, like OwnGemm(); the chooser asks per layer and step.
  static const bool has_gemm = GetWinogradTransforms().gemm_bias != nullptr;
  return d.op == schema::Op::Conv2D && d.compute_type == RVGG_DTYPE_FLOAT32 && d.groups == 1 &&
         has_gemm && d.in_c > 0 && d.out_c > 0 &&
         DepthOf(d) * sizeof(float) * kBlockRows <= kLargeChunkBytes;
}

GemmDirectPlan PlanGemmDirect(const LayerDesc& d, uint32_t threads) {
  GemmDirectPlan plan;
  if (!GemmDirectApplies(d)) return plan;
  if (threads < 1) threads = 1;
  const uint64_t row_bytes = DepthOf(d) * sizeof(float);
  const uint64_t pixels = uint64_t{d.out_h} * d.out_w;
  const uint64_t budget = PackedBytes(d) > kLargeWeightBytes ? kLargeChunkBytes : kChunkBytes;
  uint64_t cap = budget / row_bytes / kBlockRows * kBlockRows;
  if (cap < kBlockRows) cap = kBlockRows;
  uint64_t chunks = (pixels + cap - 1) / cap;
  const uint64_t panels = (uint64_t{d.out_c} + kGemmPanel - 1) / kGemmPanel;
  // Column groups of whole panel pairs (the AVX-512 block's width).
  const uint64_t step = panels > 1 ? 2 : 1;
  const auto group_panels_for = [&](uint64_t groups) {
    return RoundUp((panels + groups - 1) / groups, step);
  };
  uint64_t group_panels = panels;
  if (threads > 1 && budget == kLargeChunkBytes) {
    // Weights dominate: keep the few large chunks and give each thread its
    // own columns, so that each streams its share of the weights; the
    // first group count from 2 tasks per thread up that shares evenly.
    const uint64_t want = (2 * uint64_t{threads} + chunks - 1) / chunks;
    group_panels = group_panels_for(want);
    for (uint64_t groups = want; groups <= panels; ++groups) {
      const uint64_t gp = group_panels_for(groups);
      if (chunks * ((panels + gp - 1) / gp) % threads == 0) {
        group_panels = gp;
        break;
      }
    }
  } else if (threads > 1 && chunks < 4 * uint64_t{threads}) {
    // Equal shares: a multiple of the threads while chunks are few.
    chunks = RoundUp(chunks, threads);
  }
  if (chunks > pixels) chunks = pixels;
  const uint64_t rows = (pixels + chunks - 1) / chunks;
  plan.chunk_rows = static_cast<uint32_t>(rows);
  plan.chunks = static_cast<uint32_t>((pixels + rows - 1) / rows);
  plan.group_panels = static_cast<uint32_t>(group_panels);
  plan.column_groups = static_cast<uint32_t>((panels + group_panels - 1) / group_panels);
  const uint64_t tasks = uint64_t{plan.chunks} * plan.column_groups;
  plan.slots = static_cast<uint32_t>(tasks < threads ? tasks : threads);
  // Border windows per chunk: those of the edge columns of every output row
  // the chunk touches (it spans at most rows / out_w + 2 of them).
  uint64_t edge_columns = 0;
  for (uint32_t ox = 0; ox < d.out_w; ++ox) edge_columns += CrossesEdge(d, ox) ? 1 : 0;
  const uint64_t border_pixels = std::min<uint64_t>(rows, edge_columns * (rows / d.out_w + 2));
  plan.border_rows = static_cast<uint32_t>(border_pixels * d.kernel_h);
  plan.table_bytes = static_cast<size_t>(RoundUp(rows * d.kernel_h * sizeof(float*), kAlignment));
  const uint64_t window_bytes = uint64_t{d.kernel_w} * d.in_c * sizeof(float);
  plan.slot_bytes =
      static_cast<size_t>(RoundUp(plan.table_bytes + plan.border_rows * window_bytes, kAlignment));
  return plan;
}

size_t GemmDirectScratchBytes(const LayerDesc& d, uint32_t threads) {
  const GemmDirectPlan plan = PlanGemmDirect(d, threads);
  return size_t{plan.slots} * plan.slot_bytes;
}

rvgg_status CreateGemmConv2DKernel(const LayerDesc& d, const Bindings& b, pthreadpool_t threadpool,
                                   Kernel** kernel, rvgg_message* message) {
  *kernel = nullptr;
  const uint32_t threads =
      threadpool != nullptr ? static_cast<uint32_t>(pthreadpool_get_threads_count(threadpool)) : 1;
  GemmDirectPlan plan = PlanGemmDirect(d, threads);
  if (plan.slots == 0) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT,
                "layer %u (%s '%.80s'): the GEMM direct convolution cannot run this layer", d.index,
                d.label(), d.name);
  }
  if (b.scratch != nullptr && b.scratch_bytes < size_t{plan.slots} * plan.slot_bytes) {
    // Scratch planned for fewer threads: as many workers as it has slots.
    plan.slots = static_cast<uint32_t>(b.scratch_bytes / plan.slot_bytes);
  }
  if (b.scratch == nullptr || plan.slots == 0) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT,
                "layer %u (%s '%.80s'): the GEMM direct convolution needs %zu scratch bytes, the "
                "plan gives %zu",
                d.index, d.label(), d.name, plan.slot_bytes, b.scratch_bytes);
  }
  Kernel* made = nullptr;
  RVGG_RETURN_IF_ERROR(MakeKernel<GemmConv2DKernel>(d, &made, message, threadpool));
  auto* k = static_cast<GemmConv2DKernel*>(made);
  k->plan_ = plan;
  k->gemm_ = GetWinogradTransforms().gemm_bias;
  k->depth_ = static_cast<size_t>(DepthOf(d));
  k->pixels_ = size_t{d.out_h} * d.out_w;
  k->packed_ =
      static_cast<float*>(AllocateAligned(static_cast<size_t>(PackedBytes(d)), kAlignment));
  const size_t bias_floats = RoundUp(d.out_c, kGemmPanel);
  k->bias_ = static_cast<float*>(AllocateAligned(bias_floats * sizeof(float), kAlignment));
  const size_t window_bytes = size_t{d.kernel_w} * d.in_c * sizeof(float);
  k->zeros_ = static_cast<float*>(AllocateAligned(window_bytes, kAlignment));
  if (k->packed_ == nullptr || k->bias_ == nullptr || k->zeros_ == nullptr ||
      !k->claims_.Allocate(plan.chunks * plan.column_groups, plan.slots)) {
    DestroyKernel(k);
    return Fail(message, RVGG_STATUS_OUT_OF_MEMORY, "layer %u (%s '%.80s'): out of memory", d.index,
                d.label(), d.name);
  }
  // The model's weights are [out_c][kh][kw][in_c]: rows of the GEMM's B in
  // the order of a window's values (kh runs of kw x in_c).
  PackGemmWeights(d.weights, k->depth_, d.out_c, k->packed_);
  std::memset(k->bias_, 0, bias_floats * sizeof(float));
  std::memset(k->zeros_, 0, window_bytes);
  if (d.bias != nullptr) std::memcpy(k->bias_, d.bias, size_t{d.out_c} * sizeof(float));
  k->lo_ = d.relu ? 0.0f : -std::numeric_limits<float>::infinity();
  k->slots_ = static_cast<uint8_t*>(b.scratch);
  k->input_ = static_cast<const float*>(b.input);
  k->output_ = static_cast<float*>(b.output);
  k->in_h_ = d.in_h;
  k->in_w_ = d.in_w;
  k->in_c_ = d.in_c;
  k->out_w_ = d.out_w;
  k->out_c_ = d.out_c;
  k->kernel_h_ = d.kernel_h;
  k->kernel_w_ = d.kernel_w;
  k->stride_ = d.stride;
  k->padding_ = d.padding;
  *kernel = k;
  return RVGG_STATUS_OK;
}

#else  // no rvgg float GEMM in this build

bool GemmDirectApplies(const LayerDesc&) { return false; }
GemmDirectPlan PlanGemmDirect(const LayerDesc&, uint32_t) { return {}; }
size_t GemmDirectScratchBytes(const LayerDesc&, uint32_t) { return 0; }
rvgg_status CreateGemmConv2DKernel(const LayerDesc& d, const Bindings&, pthreadpool_t,
                                   Kernel** kernel, rvgg_message* message) {
  *kernel = nullptr;
  return Fail(message, RVGG_STATUS_INVALID_ARGUMENT,
              "layer %u (%s '%.80s'): this build has no GEMM direct convolution", d.index,
              d.label(), d.name);
}

#endif

}  // namespace rvgg::winograd
