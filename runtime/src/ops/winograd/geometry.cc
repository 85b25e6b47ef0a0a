// Winograd tile geometry: which layers and tiles the kernel runs, how many
// positions and tiles a layer has, and the memory a tile costs (arena
// scratch for V and M, transformed weights).
#include <cstdio>

#include "runtime/src/memory.h"
#include "runtime/src/ops/winograd/gemm.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "runtime/src/ops/winograd/winograd.h"

namespace rvgg::winograd {
namespace {

uint64_t RoundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

uint64_t PadChannels(uint64_t c) { return RoundUp(c, kChannelBlock); }

// With rvgg's own GEMM, per layer: the kernel object and the block headers
// of its allocations, with room to spare (the Winograd tests hold the
// estimate above what a kernel owns).
constexpr uint64_t kOwnGemmKernelBytes = 2048;

// XNNPACK's operator record and per-operator allocations besides the packed
// weights, with room to spare (the Winograd tests hold the estimate above
// what a kernel owns).
constexpr uint64_t kOperatorBytes = 4096;

// Bytes per element of V, M and the GEMM's weights in a layer's precision.
uint64_t ElementBytes(const LayerDesc& d) { return d.compute_type == RVGG_DTYPE_FLOAT16 ? 2 : 4; }

// V and M of one block of the tile-blocked pass: what stays in a core's L2
// cache beside the weights streaming through.
constexpr uint64_t kBlockBytes = 256u << 10;

// Packed weights up to this size are read once per block from a core's L2
// cache (or close to it); larger ones would come from memory once per block,
// and the three passes, which read each weight once, win
// (tools/bench/notes.md has the per-layer measurements).
constexpr uint64_t kBlockedWeightBytes = 3u << 19;

// Set by ForceBlockedPass() for measurements; -1: the rule below decides.
int g_blocked_override = -1;

// Whether the tile-blocked pass runs a layer whose packed weights take
// `weight_bytes`.
bool BlockedWins(uint64_t weight_bytes) {
  if (g_blocked_override >= 0) return g_blocked_override == 1;
  return weight_bytes <= kBlockedWeightBytes;
}

}  // namespace

bool Fp16TileKeepsAccuracy(uint32_t stride, int my, int mx) {
  const int small = my < mx ? my : mx, large = my < mx ? mx : my;
  if (stride == 1) return small == 2 && large <= 5;
  return large <= 3 || (small <= 3 && large <= 6);
}

bool Applies(const LayerDesc& d) {
  const bool float_type =
      d.compute_type == RVGG_DTYPE_FLOAT32 ||
      (d.compute_type == RVGG_DTYPE_FLOAT16 && GetWinogradTransformsF16().isa != nullptr);
  if (d.op != schema::Op::Conv2D || !float_type || d.kernel_h != 3 || d.kernel_w != 3 ||
      d.padding != 1 || d.groups == 0 || d.in_c / d.groups < kMinGroupChannels ||
      d.out_c / d.groups < kMinGroupChannels) {
    return false;
  }
  if (d.stride == 1) return d.out_h == d.in_h && d.out_w == d.in_w;
  if (d.stride == 2) return d.out_h == (d.in_h + 1) / 2 && d.out_w == (d.in_w + 1) / 2;
  return false;
}

bool ValidTile(const LayerDesc& d, uint32_t code) {
  const int my = TileRows(code), mx = TileCols(code);
  return code < 256 && Applies(d) && my >= kMinTile && mx >= kMinTile && my <= MaxTile(d.stride) &&
         mx <= MaxTile(d.stride) &&
         (d.compute_type != RVGG_DTYPE_FLOAT16 || Fp16TileKeepsAccuracy(d.stride, my, mx));
}

uint32_t PositionCount(const LayerDesc& d, uint32_t code) {
  const int s = static_cast<int>(d.stride);
  return static_cast<uint32_t>(Positions(s, TileRows(code)) * Positions(s, TileCols(code)));
}

uint32_t TileCount(const LayerDesc& d, uint32_t code) {
  const uint32_t my = static_cast<uint32_t>(TileRows(code)),
                 mx = static_cast<uint32_t>(TileCols(code));
  return ((d.out_h + my - 1) / my) * ((d.out_w + mx - 1) / mx);
}

// Verified shapes keep these products far below 2^63 (kMaxSpatial,
// kMaxChannels), so they are computed in 64 bits; size_t is 32-bit on armv7.
namespace {

uint64_t ScratchBytes64(const LayerDesc& d, uint32_t code) {
  const uint64_t positions = PositionCount(d, code);
  const uint64_t tiles = TileCount(d, code);
  const uint64_t e = ElementBytes(d);
  const uint64_t v = RoundUp(positions * tiles * PadChannels(d.in_c) * e, kAlignment);
  return v + positions * tiles * PadChannels(d.out_c) * e;
}

}  // namespace

bool FitsScratch(const LayerDesc& d, uint32_t code) {
  return ValidTile(d, code) && ScratchBytes64(d, code) <= kMaxScratchBytes;
}

void ForceBlockedPass(int mode) { g_blocked_override = mode < 0 ? -1 : (mode ? 1 : 0); }

BlockPlan PlanBlocks(const LayerDesc& d, uint32_t code, uint32_t threads) {
  BlockPlan plan;
  if (!FitsScratch(d, code) || !OwnGemmFor(d)) return plan;
  if (threads < 1) threads = 1;
  const uint64_t e = ElementBytes(d);
  const uint64_t positions = PositionCount(d, code);
  const uint64_t tiles = TileCount(d, code);
  const uint64_t in_row = positions * PadChannels(d.in_c) * e;
  const uint64_t out_row = positions * PadChannels(d.out_c) * e;
  const uint64_t rows = OwnGemmRows(d.compute_type);
  // The largest block whose V and M stay within kBlockBytes, in whole GEMM
  // row blocks (at least one).
  uint64_t cap = kBlockBytes / (in_row + out_row) / rows * rows;
  if (cap < rows) cap = rows;
  // As many blocks as that takes, rounded up to a multiple of the threads
  // so that each takes the same share, then evened out.
  uint64_t blocks = (tiles + cap - 1) / cap;
  blocks = (blocks + threads - 1) / threads * threads;
  if (blocks > tiles) blocks = tiles;
  uint64_t per_block = (tiles + blocks - 1) / blocks;
  uint64_t short_from = 0;
  // Whole GEMM row blocks where that gives every thread the same tiles (on
  // one thread, always): a partial row block runs a slower tail. Otherwise
  // blocks of even size, which the threads share evenly.
  const uint64_t whole = (per_block + rows - 1) / rows * rows;
  if (threads == 1 || tiles % (whole * threads) == 0) {
    per_block = whole;
    blocks = (tiles + per_block - 1) / per_block;
    short_from = blocks;
  } else {
    short_from = tiles % blocks;
    per_block = tiles / blocks + (short_from != 0 ? 1 : 0);
    if (short_from == 0) short_from = blocks;
  }
  // Each block reads all of the layer's packed weights: where they are
  // large against the block's work they would come from memory once per
  // block, and the three passes (each weight read once) win.
  const uint64_t weight_bytes = PanelBytes(d, code);
  if (!BlockedWins(weight_bytes)) return plan;
  plan.tiles_per_block = static_cast<uint32_t>(per_block);
  plan.blocks = static_cast<uint32_t>(blocks);
  plan.short_from = static_cast<uint32_t>(short_from);
  plan.slots = static_cast<uint32_t>(blocks < threads ? blocks : threads);
  plan.v_bytes = static_cast<size_t>(RoundUp(per_block * in_row, kAlignment));
  plan.slot_bytes = plan.v_bytes + static_cast<size_t>(RoundUp(per_block * out_row, kAlignment));
  return plan;
}

size_t ScratchBytes(const LayerDesc& d, uint32_t code, uint32_t threads) {
  const BlockPlan plan = PlanBlocks(d, code, threads);
  if (plan.tiles_per_block != 0) return size_t{plan.slots} * plan.slot_bytes;
  // Callers only plan layers that FitsScratch(); the clamp keeps others
  // from wrapping around.
  const uint64_t bytes = ScratchBytes64(d, code);
  return bytes > kMaxScratchBytes ? static_cast<size_t>(kMaxScratchBytes)
                                  : static_cast<size_t>(bytes);
}

// gemm.h's packed panels of a layer: one block for all positions and groups.
uint64_t PanelBytes(const LayerDesc& d, uint32_t code) {
  const uint64_t group_in = d.in_c / d.groups, group_out = d.out_c / d.groups;
  return uint64_t{PositionCount(d, code)} * d.groups * RoundUp(group_out, kGemmPanel) * group_in *
         ElementBytes(d);
}

bool OwnGemmFor(const LayerDesc& d) {
  if (!OwnGemm(d.compute_type)) return false;
  return d.compute_type != RVGG_DTYPE_FLOAT16 || (d.in_c / d.groups) % 8 == 0;
}

uint64_t WeightBytes(const LayerDesc& d, uint32_t code) {
  const uint64_t constants = (PadChannels(d.in_c) + PadChannels(d.out_c)) * ElementBytes(d);
  if (OwnGemmFor(d)) {
    // Plus the blocked pass's claim flags: one byte per block, at most one
    // block per tile.
    return PanelBytes(d, code) + kOwnGemmKernelBytes + constants +
           RoundUp(TileCount(d, code), kAlignment);
  }
  const GemmShape gemm = XnnpackGemmShape(d.compute_type);
  const uint64_t positions = PositionCount(d, code);
  const uint64_t group_in = d.in_c / d.groups, group_out = d.out_c / d.groups;
  // XNNPACK's packing: per nr-column panel, nr biases then K x nr weights.
  const uint64_t packed = RoundUp(group_out, 16 > gemm.nr ? 16 : gemm.nr) *
                          (RoundUp(group_in, 4) + 1) * ElementBytes(d);
  return positions * d.groups * (packed + kOperatorBytes) + constants;
}

void TileName(const LayerDesc& d, uint32_t code, char* name, size_t capacity) {
  const int my = TileRows(code), mx = TileCols(code);
  const char* prefix = d.stride == 2 ? "winograd-s2-f" : "winograd-f";
  if (my == mx && d.stride == 1) {
    std::snprintf(name, capacity, "%s%d", prefix, my);
  } else {
    std::snprintf(name, capacity, "%s%dx%d", prefix, my, mx);
  }
}

}  // namespace rvgg::winograd
