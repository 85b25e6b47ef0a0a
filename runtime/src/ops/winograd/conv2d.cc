// The Winograd convolution kernel: per tile, two passes of line transforms
// (ours) around positions x groups GEMMs, all created and set up at load:
// XNNPACK fully-connected operators, or rvgg's own GEMM over weights packed
// here (gemm.h says why). With rvgg's GEMM most layers run tile-blocked on
// the pool (winograd.h, BlockPlan), the others three passes. One template
// over the element type: float, and Half for fp16 layers (fp16 lines and
// rvgg's or XNNPACK's f16 GEMMs).
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <type_traits>

#include "runtime/src/half.h"
#include "runtime/src/kernels/range_claims.h"
#include "runtime/src/kernels/tsan.h"
#include "runtime/src/memory.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "runtime/src/ops/winograd/winograd.h"
#include "runtime/src/ops/xnnpack/xnnpack.h"
#include "runtime/src/status.h"

namespace rvgg::winograd {
namespace {

// pthreadpool's hand-offs are invisible to ThreadSanitizer (kernels/tsan.h).
using kernels::HappensAfter;
using kernels::HappensBefore;

// One pass over the pool, with the edges above around it.
struct PassEdges {
  explicit PassEdges(void* token) : token_(token) { HappensBefore(token_); }
  ~PassEdges() { HappensAfter(token_); }
  void* token_;
};

// The same inside a task.
struct TaskEdges {
  explicit TaskEdges(void* token) : token_(token) { HappensAfter(token_); }
  ~TaskEdges() { HappensBefore(token_); }
  void* token_;
};

uint32_t PadChannels(uint32_t c) { return (c + kChannelBlock - 1) / kChannelBlock * kChannelBlock; }

// One dimension of the tiling, over elements E.
template <class E>
struct Axis {
  int m;     // outputs per tile
  int n;     // positions, and input window pixels
  int step;  // input pixels between tiles: m * stride
  LineSetOf<E> lines;
};

// Everything a transform task reads; fixed at creation.
template <class E>
struct Geometry {
  Axis<E> y, x;
  uint32_t in_h, in_w, in_c, in_cp;  // cp: channels padded to kChannelBlock
  uint32_t out_h, out_w, out_c, out_cp;
  uint32_t tiles_x;
  size_t tiles;
  const E* input;
  E* output;
  E* v;            // [y.n * x.n][tiles][in_cp]
  E* m;            // [y.n * x.n][tiles][out_cp]
  const E* zeros;  // in_cp zeros: pixels outside the image
  const E* bias;   // out_cp values (zero padded)
  float lo;        // 0 with ReLU, -inf without
};

// The last `count % kChannelBlock` channels of lines whose rows are exactly
// `count` floats (the image) go through these staging lines.
template <class E>
struct Staging {
  alignas(64) E line[kMaxPositions][kChannelBlock];
};

// Tile t's input transform into v (its row of position 0; positions
// `position_stride` elements apart).
template <class E>
void InputTile(const Geometry<E>& g, size_t t, E* v, size_t position_stride, Staging<E>* staging) {
  const Axis<E>& ay = g.y;
  const Axis<E>& ax = g.x;
  const int ty = static_cast<int>(t / g.tiles_x), tx = static_cast<int>(t % g.tiles_x);
  const int y0 = ty * ay.step - 1, x0 = tx * ax.step - 1;
  const uint32_t full = g.in_c / kChannelBlock * kChannelBlock;
  const uint32_t rest = g.in_c - full;
  const E* src[kMaxPositions];
  E* dst[kMaxPositions];
  bool row_ok[kMaxPositions];
  // Pass 1, along x, over the window rows inside the image: V(i, j).
  for (int i = 0; i < ay.n; ++i) {
    const int iy = y0 + i;
    row_ok[i] = iy >= 0 && iy < static_cast<int>(g.in_h);
    if (!row_ok[i]) continue;
    const E* row = g.input + size_t(iy) * g.in_w * g.in_c;
    for (int j = 0; j < ax.n; ++j) {
      const int ix = x0 + j;
      src[j] = ix >= 0 && ix < static_cast<int>(g.in_w) ? row + size_t(ix) * g.in_c : nullptr;
      dst[j] = v + (size_t(i) * ax.n + j) * position_stride;
    }
    if (full > 0) {
      const E* s[kMaxPositions];
      for (int j = 0; j < ax.n; ++j) s[j] = src[j] != nullptr ? src[j] : g.zeros;
      ax.lines.input(s, dst, full);
    }
    if (rest > 0) {
      // The image's rows end at in_c: stage the last channels (zero padded).
      const E* s[kMaxPositions];
      E* d[kMaxPositions];
      for (int j = 0; j < ax.n; ++j) {
        E* line = staging->line[j];
        std::memset(line, 0, sizeof(staging->line[j]));
        if (src[j] != nullptr) std::memcpy(line, src[j] + full, rest * sizeof(E));
        s[j] = line;
        d[j] = dst[j] + full;
      }
      ax.lines.input(s, d, kChannelBlock);
    }
  }
  // Pass 2, along y, over each column, in place; rows outside the image are
  // zero (never written by pass 1).
  for (int j = 0; j < ax.n; ++j) {
    for (int i = 0; i < ay.n; ++i) {
      dst[i] = v + (size_t(i) * ax.n + j) * position_stride;
      src[i] = row_ok[i] ? dst[i] : g.zeros;
    }
    ay.lines.input(src, dst, g.in_cp);
  }
}

// Tile t's output transform from mm (its row of position 0; positions
// `position_stride` elements apart, overwritten).
template <class E>
void OutputTile(const Geometry<E>& g, size_t t, E* mm, size_t position_stride,
                Staging<E>* staging) {
  const Axis<E>& ay = g.y;
  const Axis<E>& ax = g.x;
  const int ty = static_cast<int>(t / g.tiles_x), tx = static_cast<int>(t % g.tiles_x);
  const int y0 = ty * ay.m, x0 = tx * ax.m;
  const int rows = std::min(ay.m, static_cast<int>(g.out_h) - y0);
  const int cols = std::min(ax.m, static_cast<int>(g.out_w) - x0);
  const E* src[kMaxPositions];
  E* dst[kMaxPositions];
  // Pass 1, along x, in place: M(a, j) for j < mx.
  for (int a = 0; a < ay.n; ++a) {
    for (int b = 0; b < ax.n; ++b) {
      dst[b] = mm + (size_t(a) * ax.n + b) * position_stride;
      src[b] = dst[b];
    }
    ax.lines.output(src, dst, g.out_cp, nullptr, 0.0f);
  }
  // Pass 2, along y, with bias and ReLU, into the image. Rows past its
  // bottom go to M(i, j) itself, read by this same call and dead after it.
  const uint32_t full = g.out_c / kChannelBlock * kChannelBlock;
  const uint32_t rest = g.out_c - full;
  for (int j = 0; j < cols; ++j) {
    E* out = g.output + (size_t(y0) * g.out_w + size_t(x0 + j)) * g.out_c;
    for (int a = 0; a < ay.n; ++a) src[a] = mm + (size_t(a) * ax.n + j) * position_stride;
    for (int i = 0; i < ay.m; ++i) {
      dst[i] = i < rows ? out + size_t(i) * g.out_w * g.out_c : const_cast<E*>(src[i]);
    }
    if (full > 0) ay.lines.output_epilogue(src, dst, full, g.bias, g.lo);
    if (rest > 0) {
      const E* s[kMaxPositions];
      E* d[kMaxPositions];
      for (int a = 0; a < ay.n; ++a) s[a] = src[a] + full;
      for (int i = 0; i < ay.m; ++i) d[i] = staging->line[i];
      ay.lines.output_epilogue(s, d, kChannelBlock, g.bias + full, g.lo);
      for (int i = 0; i < rows; ++i) std::memcpy(dst[i] + full, d[i], rest * sizeof(E));
    }
  }
}

// rvgg's own GEMM for elements E (gemm.h).
template <class E>
using OwnGemmFn = std::conditional_t<std::is_same_v<E, float>, GemmFn, GemmFnF16>;

void PackOwnGemm(const float* u, size_t k, size_t n, float* packed) {
  PackGemmWeights(u, k, n, packed);
}
void PackOwnGemm(const float* u, size_t k, size_t n, Half* packed) {
  PackGemmWeightsF16(u, k, n, packed);
}

template <class E>
class WinogradConv2DKernel final : public Kernel {
 public:
  WinogradConv2DKernel(const LayerDesc& d, uint32_t code, pthreadpool_t threadpool)
      : threadpool_(threadpool) {
    TileName(d, code, name_, sizeof(name_));
  }
  ~WinogradConv2DKernel() override {
    for (size_t i = 0; operators_ != nullptr && i < num_operators_; ++i) {
      if (operators_[i] != nullptr) xnn_delete_operator(operators_[i]);
    }
    FreeAligned(operators_);
    FreeAligned(packed_);
    FreeAligned(constants_);
  }

  rvgg_status Run() override {
    if (plan_.tiles_per_block != 0) {
      // The tile-blocked pass: one hand-off; the workers take blocks in
      // turn, each with its own slot of the scratch.
      claims_.Reset();
      const PassEdges edges(this);
      if (plan_.slots == 1) {
        BlockTask(this, 0);
      } else {
        pthreadpool_parallelize_1d(threadpool_, BlockTask, this, plan_.slots, 0);
      }
      return RVGG_STATUS_OK;
    }
    // With a null pool pthreadpool runs the chunks on this thread.
    {
      const PassEdges edges(this);
      pthreadpool_parallelize_1d_tile_1d(threadpool_, InputTask, this, geometry_.tiles, chunk_, 0);
    }
    // The GEMMs are independent and small (tiles rows each): with a pool,
    // threads take whole operators (one dispatch per layer instead of one
    // per operator); each operator runs single-threaded.
    failed_.store(false, std::memory_order_relaxed);
    {
      const PassEdges edges(this);
      pthreadpool_parallelize_1d(threadpool_, GemmTask, this, num_operators_, 0);
    }
    if (failed_.load(std::memory_order_relaxed)) return RVGG_STATUS_BACKEND_ERROR;
    {
      const PassEdges edges(this);
      pthreadpool_parallelize_1d_tile_1d(threadpool_, OutputTask, this, geometry_.tiles, chunk_, 0);
    }
    return RVGG_STATUS_OK;
  }
  const char* name() const override { return name_; }
  size_t owned_bytes() const override { return owned_bytes_; }

  char name_[24];
  pthreadpool_t threadpool_;
  Geometry<E> geometry_{};
  size_t chunk_ = 1;
  E* constants_ = nullptr;  // zero line and padded bias
  // Either XNNPACK runs the GEMMs (one fully-connected operator per position
  // and group) or rvgg's own (gemm.h) over weights packed here.
  xnn_operator_t* operators_ = nullptr;
  size_t num_operators_ = 0;
  OwnGemmFn<E> gemm_ = nullptr;
  E* packed_ = nullptr;  // num_operators_ blocks of packed_floats_ elements
  size_t packed_floats_ = 0;
  uint32_t groups_ = 1, group_in_ = 0, group_out_ = 0;
  size_t owned_bytes_ = 0;
  std::atomic<bool> failed_{false};
  // The tile-blocked pass (plan_.tiles_per_block != 0): slots of V and M in
  // the scratch.
  BlockPlan plan_{};
  uint8_t* slots_ = nullptr;
  uint32_t positions_ = 0;
  // Which worker takes which block (range_claims.h).
  kernels::RangeClaims claims_;

 private:
  // One worker of the tile-blocked pass: its range of blocks, then what is
  // left of the others' (range_claims.h), in its own slot (`slot` <
  // plan_.slots, one task per slot).
  static void BlockTask(void* context, size_t slot) {
    const TaskEdges edges(context);
    auto* k = static_cast<WinogradConv2DKernel*>(context);
    const Geometry<E>& g = k->geometry_;
    const BlockPlan& plan = k->plan_;
    E* v = reinterpret_cast<E*>(k->slots_ + slot * plan.slot_bytes);
    E* m = reinterpret_cast<E*>(k->slots_ + slot * plan.slot_bytes + plan.v_bytes);
    const size_t per_block = plan.tiles_per_block;
    const size_t v_stride = per_block * g.in_cp, m_stride = per_block * g.out_cp;
    Staging<E> staging;
    k->claims_.Run(static_cast<uint32_t>(slot), [&](uint32_t block) {
      const size_t first = BlockFirst(plan, block);
      const size_t count = BlockTiles(plan, block, static_cast<uint32_t>(g.tiles));
      for (size_t i = 0; i < count; ++i) {
        InputTile(g, first + i, v + i * g.in_cp, v_stride, &staging);
      }
      const E* packed = k->packed_;
      for (uint32_t p = 0; p < k->positions_; ++p) {
        for (uint32_t group = 0; group < k->groups_; ++group) {
          k->gemm_(count, k->group_out_, k->group_in_, v + p * v_stride + group * k->group_in_,
                   g.in_cp, packed, m + p * m_stride + group * k->group_out_, g.out_cp);
          packed += k->packed_floats_;
        }
      }
      for (size_t i = 0; i < count; ++i) {
        OutputTile(g, first + i, m + i * g.out_cp, m_stride, &staging);
      }
    });
  }
  static void InputTask(void* context, size_t start, size_t count) {
    const TaskEdges edges(context);
    auto* k = static_cast<WinogradConv2DKernel*>(context);
    Staging<E> staging;
    const Geometry<E>& g = k->geometry_;
    for (size_t t = start; t < start + count; ++t) {
      InputTile(g, t, g.v + t * g.in_cp, g.tiles * g.in_cp, &staging);
    }
  }
  static void GemmTask(void* context, size_t index) {
    const TaskEdges edges(context);
    auto* k = static_cast<WinogradConv2DKernel*>(context);
    if (k->gemm_ != nullptr) {
      const Geometry<E>& g = k->geometry_;
      const size_t p = index / k->groups_, group = index % k->groups_;
      k->gemm_(g.tiles, k->group_out_, k->group_in_,
               g.v + p * g.tiles * g.in_cp + group * k->group_in_, g.in_cp,
               k->packed_ + index * k->packed_floats_,
               g.m + p * g.tiles * g.out_cp + group * k->group_out_, g.out_cp);
      return;
    }
    if (xnn_run_operator(k->operators_[index], /*threadpool=*/nullptr) != xnn_status_success) {
      k->failed_.store(true, std::memory_order_relaxed);
    }
  }
  static void OutputTask(void* context, size_t start, size_t count) {
    const TaskEdges edges(context);
    auto* k = static_cast<WinogradConv2DKernel*>(context);
    Staging<E> staging;
    const Geometry<E>& g = k->geometry_;
    for (size_t t = start; t < start + count; ++t) {
      OutputTile(g, t, g.m + t * g.out_cp, g.tiles * g.out_cp, &staging);
    }
  }
};

// One position's GEMM as an XNNPACK fully-connected operator: created from
// the float32 transformed weights `u` (the f16 operator converts them while
// packing) and bound to V and M. Bias and ReLU belong to the output
// transform: the GEMM is plain.
rvgg_status CreateGemmOperator(const LayerDesc& d, const float* u, uint32_t group_in,
                               uint32_t group_out, uint32_t in_cp, uint32_t out_cp, size_t tiles,
                               const float* v, float* m, xnn_operator_t* op,
                               rvgg_message* message) {
  const float inf = std::numeric_limits<float>::infinity();
  RVGG_RETURN_IF_ERROR(
      xnn::Check(xnn_create_fully_connected_nc_f32(group_in, group_out, in_cp, out_cp, u,
                                                   /*bias=*/nullptr, -inf, inf, /*flags=*/0, op),
                 d, "xnn_create_fully_connected_nc_f32", message));
  return xnn::Check(xnn_setup_fully_connected_nc_f32(*op, tiles, v, m, /*threadpool=*/nullptr), d,
                    "xnn_setup_fully_connected_nc_f32", message);
}

rvgg_status CreateGemmOperator(const LayerDesc& d, const float* u, uint32_t group_in,
                               uint32_t group_out, uint32_t in_cp, uint32_t out_cp, size_t tiles,
                               const Half* v, Half* m, xnn_operator_t* op, rvgg_message* message) {
  const float inf = std::numeric_limits<float>::infinity();
  RVGG_RETURN_IF_ERROR(
      xnn::Check(xnn_create_fully_connected_nc_f16(group_in, group_out, in_cp, out_cp, u,
                                                   /*bias=*/nullptr, -inf, inf,
                                                   XNN_FLAG_FP32_STATIC_WEIGHTS, op),
                 d, "xnn_create_fully_connected_nc_f16", message));
  return xnn::Check(xnn_setup_fully_connected_nc_f16(*op, tiles, v, m, /*threadpool=*/nullptr), d,
                    "xnn_setup_fully_connected_nc_f16", message);
}

// The line transforms of element type E this CPU runs (isa null: none).
template <class E>
auto TransformsFor() {
  if constexpr (std::is_same_v<E, float>) {
    return GetWinogradTransforms();
  } else {
    return GetWinogradTransformsF16();
  }
}

void StoreConstant(const float* values, size_t count, float* out) {
  std::memcpy(out, values, count * sizeof(float));
}
void StoreConstant(const float* values, size_t count, Half* out) {
  FloatToHalf(values, count, out);
}

template <class E>
rvgg_status CreateKernel(const LayerDesc& d, uint32_t code, const Bindings& b,
                         pthreadpool_t threadpool, Kernel** kernel, rvgg_message* message) {
  *kernel = nullptr;
  const auto transforms = TransformsFor<E>();
  if (!ValidTile(d, code) || !FitsScratch(d, code) || transforms.isa == nullptr) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT,
                "layer %u (%s '%.80s'): Winograd tile %dx%d cannot run this layer", d.index,
                d.label(), d.name, TileRows(code), TileCols(code));
  }
  const uint32_t threads =
      threadpool != nullptr ? static_cast<uint32_t>(pthreadpool_get_threads_count(threadpool)) : 1;
  BlockPlan plan = PlanBlocks(d, code, threads);
  if (plan.tiles_per_block != 0 && b.scratch != nullptr &&
      b.scratch_bytes < size_t{plan.slots} * plan.slot_bytes) {
    // Scratch planned for fewer threads: as many workers as it has slots.
    plan.slots = static_cast<uint32_t>(b.scratch_bytes / plan.slot_bytes);
  }
  const size_t needed =
      plan.tiles_per_block != 0 ? plan.slot_bytes : ScratchBytes(d, code, threads);
  if (b.scratch == nullptr || b.scratch_bytes < needed ||
      (plan.tiles_per_block != 0 && plan.slots == 0)) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT,
                "layer %u (%s '%.80s'): Winograd needs %zu scratch bytes, the plan gives %zu",
                d.index, d.label(), d.name, needed, b.scratch_bytes);
  }
  const int s = static_cast<int>(d.stride);
  const int my = TileRows(code), mx = TileCols(code);
  const int ny = Positions(s, my), nx = Positions(s, mx);
  const uint32_t positions = static_cast<uint32_t>(ny * nx);
  const size_t tiles = TileCount(d, code);
  const uint32_t group_in = d.in_c / d.groups, group_out = d.out_c / d.groups;
  const uint32_t in_cp = PadChannels(d.in_c), out_cp = PadChannels(d.out_c);
  E* v = static_cast<E*>(b.scratch);
  E* mm = reinterpret_cast<E*>(static_cast<uint8_t*>(b.scratch) +
                               AlignUp(positions * tiles * in_cp * sizeof(E), kAlignment));

  Kernel* made = nullptr;
  RVGG_RETURN_IF_ERROR(MakeKernel<WinogradConv2DKernel<E>>(d, &made, message, d, code, threadpool));
  auto* k = static_cast<WinogradConv2DKernel<E>*>(made);
  const size_t num_operators = size_t{positions} * d.groups;
  if (OwnGemmFor(d)) k->gemm_ = transforms.gemm;
  k->groups_ = d.groups;
  k->group_in_ = group_in;
  k->group_out_ = group_out;
  if (k->gemm_ != nullptr) {
    k->packed_floats_ = PackedGemmFloats(group_in, group_out);
    // The budget keeps this far below SIZE_MAX; a 32-bit build still checks.
    const uint64_t packed_bytes = uint64_t{num_operators} * k->packed_floats_ * sizeof(E);
    if (packed_bytes <= SIZE_MAX) {
      k->packed_ = static_cast<E*>(AllocateAligned(static_cast<size_t>(packed_bytes), kAlignment));
    }
  } else {
    k->operators_ = static_cast<xnn_operator_t*>(
        AllocateAligned(num_operators * sizeof(xnn_operator_t), kAlignment));
  }
  k->constants_ =
      static_cast<E*>(AllocateAligned((size_t{in_cp} + out_cp) * sizeof(E), kAlignment));
  float* u = static_cast<float*>(
      AllocateAligned(size_t{group_out} * group_in * sizeof(float), kAlignment));
  if ((k->operators_ == nullptr && k->packed_ == nullptr) || k->constants_ == nullptr ||
      u == nullptr) {
    FreeAligned(u);
    DestroyKernel(k);
    return Fail(message, RVGG_STATUS_OUT_OF_MEMORY, "layer %u (%s '%.80s'): out of memory", d.index,
                d.label(), d.name);
  }
  if (k->operators_ != nullptr) {
    std::memset(k->operators_, 0, num_operators * sizeof(xnn_operator_t));
  }
  k->num_operators_ = num_operators;
  k->positions_ = positions;
  if (k->gemm_ != nullptr && plan.tiles_per_block != 0) {
    k->plan_ = plan;
    k->slots_ = static_cast<uint8_t*>(b.scratch);
    if (!k->claims_.Allocate(plan.blocks, plan.slots)) {
      FreeAligned(u);
      DestroyKernel(k);
      return Fail(message, RVGG_STATUS_OUT_OF_MEMORY, "layer %u (%s '%.80s'): out of memory",
                  d.index, d.label(), d.name);
    }
  }
  E* zeros = k->constants_;
  E* bias = k->constants_ + in_cp;
  std::memset(k->constants_, 0, (size_t{in_cp} + out_cp) * sizeof(E));
  if (d.bias != nullptr) StoreConstant(d.bias, d.out_c, bias);

  Geometry<E>& g = k->geometry_;
  g.y = Axis<E>{my, ny, my * s, transforms.lines(s, my)};
  g.x = Axis<E>{mx, nx, mx * s, transforms.lines(s, mx)};
  g.in_h = d.in_h;
  g.in_w = d.in_w;
  g.in_c = d.in_c;
  g.in_cp = in_cp;
  g.out_h = d.out_h;
  g.out_w = d.out_w;
  g.out_c = d.out_c;
  g.out_cp = out_cp;
  g.tiles_x = (d.out_w + mx - 1) / mx;
  g.tiles = tiles;
  g.input = static_cast<const E*>(b.input);
  g.output = static_cast<E*>(b.output);
  // The blocked pass keeps V and M in its slots instead.
  g.v = k->plan_.tiles_per_block == 0 ? v : nullptr;
  g.m = k->plan_.tiles_per_block == 0 ? mm : nullptr;
  g.zeros = zeros;
  g.bias = bias;
  g.lo = d.relu ? 0.0f : -std::numeric_limits<float>::infinity();
  if (threadpool != nullptr) {
    // A few chunks per thread balance border tiles against dispatch cost.
    const size_t parts = pthreadpool_get_threads_count(threadpool) * 4;
    k->chunk_ = (tiles + parts - 1) / parts;
  } else {
    k->chunk_ = tiles;
  }

  const int64_t start_bytes = xnn::LiveBytesOnThisThread();
  rvgg_status status = RVGG_STATUS_OK;
  for (uint32_t p = 0; p < positions && status == RVGG_STATUS_OK; ++p) {
    for (uint32_t gi = 0; gi < d.groups && status == RVGG_STATUS_OK; ++gi) {
      TransformWeights(d, code, static_cast<int>(p) / nx, static_cast<int>(p) % nx, gi, u);
      if (k->gemm_ != nullptr) {
        PackOwnGemm(u, group_in, group_out,
                    k->packed_ + (size_t{p} * d.groups + gi) * k->packed_floats_);
        continue;
      }
      status = CreateGemmOperator(d, u, group_in, group_out, in_cp, out_cp, tiles,
                                  v + p * tiles * in_cp + gi * group_in,
                                  mm + p * tiles * out_cp + gi * group_out,
                                  &k->operators_[size_t{p} * d.groups + gi], message);
    }
  }
  const int64_t grown = xnn::LiveBytesOnThisThread() - start_bytes;
  FreeAligned(u);  // XNNPACK holds its packed copy.
  if (status != RVGG_STATUS_OK) {
    DestroyKernel(k);
    return status;
  }
  k->owned_bytes_ =
      (grown > 0 ? static_cast<size_t>(grown) : 0) +
      (k->packed_ != nullptr ? AllocatedSize(k->packed_) : num_operators * sizeof(xnn_operator_t)) +
      (size_t{in_cp} + out_cp) * sizeof(E) + k->claims_.owned_bytes();
  *kernel = k;
  return RVGG_STATUS_OK;
}

}  // namespace

rvgg_status CreateConv2DKernel(const LayerDesc& d, uint32_t code, const Bindings& b,
                               pthreadpool_t threadpool, Kernel** kernel, rvgg_message* message) {
  if (d.compute_type == RVGG_DTYPE_FLOAT16) {
    return CreateKernel<Half>(d, code, b, threadpool, kernel, message);
  }
  return CreateKernel<float>(d, code, b, threadpool, kernel, message);
}

}  // namespace rvgg::winograd
