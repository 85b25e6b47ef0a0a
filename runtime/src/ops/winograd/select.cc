// Which layers run as Winograd, and with which tile: shapes, a small cost
// model and the caller's memory budget.
#include <cpuinfo.h>

#include <cstdio>

#include "runtime/src/memory.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "runtime/src/ops/winograd/winograd.h"

namespace rvgg::winograd {
namespace {

uint64_t RoundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

uint64_t PadChannels(uint64_t c) { return RoundUp(c, kChannelBlock); }

// Rows (mr) and columns (nr) of the f32 GEMM kernel XNNPACK picks on this
// CPU (its init.c): GEMM rows (tiles here, pixels in the direct convolution)
// are rounded up to mr, so 16 tiles on a 6-row kernel cost 18. A heuristic
// only: it steers the choice, never correctness.
struct GemmShape {
  uint32_t mr, nr;
};

GemmShape XnnpackGemmShape() {
#if defined(__aarch64__)
  return {6, 8};
#elif defined(__arm__)
  return {4, 8};
#elif defined(__x86_64__) || defined(__i386__)
  if (cpuinfo_initialize()) {
    if (cpuinfo_has_x86_avx512f()) return {7, 16};
    if (cpuinfo_has_x86_fma3()) return {5, 16};
  }
  return {4, 8};
#else
  return {4, 4};
#endif
}

// Whether rvgg's own GEMM runs the positions on this CPU (fixed per process).
bool OwnGemm() {
  static const bool own = GetWinogradTransforms().gemm != nullptr;
  return own;
}

// With rvgg's own GEMM, per layer: the kernel object and the block headers
// of its allocations (measured: under 1 KiB; counted generously).
constexpr uint64_t kOwnGemmKernelBytes = 2048;

// The cost model's constants, in multiply-accumulates of the GEMM that runs
// the Winograd positions.
struct CostModel {
  GemmShape gemm;       // its register block; rows are rounded up to gemm.mr
  uint32_t min_rows;    // a last, partial row block costs at least this many rows
  double direct;        // XNNPACK's direct convolution, per multiply-accumulate
  double input;         // input transform, per float of V
  double output;        // output transform, per float of M
  double operator_run;  // dispatch of one GEMM
  double weight_byte;   // streaming one byte of transformed weights from memory
};

CostModel GetCostModel() {
  if (OwnGemm()) {
    // gemm.h's 6x16 kernel, fitted by tools/bench/winograd_fit.py to the
    // time of every tile of every RepVGG-A0 layer (AVX2, weights cold in
    // cache as they are inside a network), mean error 6%. Three runs gave
    // transforms 35-45 / 28-36 per float, weights 1.8-2.65 per byte, direct
    // 2.4-3.1, moving with the machine's load; these are the first run's,
    // which beat the third's end to end (tools/bench/notes.md). Partial row
    // blocks are bound by FMA latency. XNNPACK's direct convolution runs
    // its spilled 5x16 kernel at a third of this GEMM's speed. Weight
    // traffic matters here: a layer with few tiles and many positions
    // (RepVGG-A0's stage4.0 in F(2x7): 74 MB, 4 tiles) is bound by memory
    // bandwidth, not multiplications.
    return {{kGemmRows, kGemmPanel}, 3, 3.07, 45.0, 36.0, 0.0, 2.65};
  }
  // XNNPACK's GEMMs. Transform work per tile, position and channel: guest
  // instructions of transform_neon.cc under qemu-aarch64 per float of V and
  // M (measured on RepVGG-A0's layers, see docs/benchmarks.md) times the
  // ~3.1 MACs XNNPACK's 6x8 GEMM retires per instruction. Dispatch of one
  // operator run: 3000. Instruction counts do not see memory traffic, and
  // the ARM choices were tuned on them: no weight term until a device
  // measures it.
  const GemmShape gemm = XnnpackGemmShape();
  return {gemm, gemm.mr, 1.0, 5.0, 4.0, 3000.0, 0.0};
}

// The largest transforms (8 points: F(6, 3), F(7, 2)) trade some accuracy
// (F(6x6): about 6e-6 of the largest output against 4e-6 for F(4x4), see
// tests/runtime/winograd_test.cc) for speed: take them only when clearly
// cheaper.
constexpr double kLargeTransformPenalty = 1.03;

// XNNPACK's operator record and per-operator allocations besides the packed
// weights (measured: about 2.1 KiB with Debian's XNNPACK; counted generously).
constexpr uint64_t kOperatorBytes = 4096;

int MaxTile(uint32_t stride) { return stride == 1 ? kMaxTileStride1 : kMaxTileStride2; }

// The 3-point transforms of one dimension (its degree, points.h).
int Degree(uint32_t stride, int m) { return stride == 1 ? m + 1 : m; }

}  // namespace

bool Applies(const LayerDesc& d) {
  if (d.kind != LayerKind::kConv2D || d.compute_type != RVGG_DTYPE_FLOAT32 || d.kernel_h != 3 ||
      d.kernel_w != 3 || d.padding != 1 || d.groups == 0 || d.in_c / d.groups < kMinGroupChannels ||
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
         mx <= MaxTile(d.stride);
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
uint64_t ScratchBytes64(const LayerDesc& d, uint32_t code) {
  const uint64_t positions = PositionCount(d, code);
  const uint64_t tiles = TileCount(d, code);
  const uint64_t v = RoundUp(positions * tiles * PadChannels(d.in_c) * sizeof(float), kAlignment);
  return v + positions * tiles * PadChannels(d.out_c) * sizeof(float);
}

bool FitsScratch(const LayerDesc& d, uint32_t code) {
  return ValidTile(d, code) && ScratchBytes64(d, code) <= kMaxScratchBytes;
}

size_t ScratchBytes(const LayerDesc& d, uint32_t code) {
  // Callers only plan layers that FitsScratch(); the clamp keeps others
  // from wrapping around.
  const uint64_t bytes = ScratchBytes64(d, code);
  return bytes > kMaxScratchBytes ? static_cast<size_t>(kMaxScratchBytes)
                                  : static_cast<size_t>(bytes);
}

namespace {

// gemm.h's packed panels of a layer: one block for all positions and groups.
uint64_t PanelBytes(const LayerDesc& d, uint32_t code) {
  const uint64_t group_in = d.in_c / d.groups, group_out = d.out_c / d.groups;
  return uint64_t{PositionCount(d, code)} * d.groups * RoundUp(group_out, kGemmPanel) * group_in *
         sizeof(float);
}

}  // namespace

uint64_t WeightBytes(const LayerDesc& d, uint32_t code) {
  const uint64_t constants = (PadChannels(d.in_c) + PadChannels(d.out_c)) * sizeof(float);
  if (OwnGemm()) return PanelBytes(d, code) + kOwnGemmKernelBytes + constants;
  const GemmShape gemm = XnnpackGemmShape();
  const uint64_t positions = PositionCount(d, code);
  const uint64_t group_in = d.in_c / d.groups, group_out = d.out_c / d.groups;
  // XNNPACK's packing: per nr-column panel, nr biases then K x nr weights.
  const uint64_t packed =
      RoundUp(group_out, 16 > gemm.nr ? 16 : gemm.nr) * (RoundUp(group_in, 4) + 1) * sizeof(float);
  return positions * d.groups * (packed + kOperatorBytes) + constants;
}

double EstimatedCost(const LayerDesc& d, uint32_t code) {
  const CostModel model = GetCostModel();
  const double group_in = d.in_c / d.groups;
  if (code == kDirect) {
    const GemmShape xnn = XnnpackGemmShape();
    const double rows = double(RoundUp(uint64_t{d.out_h} * d.out_w, xnn.mr));
    const double group_out_padded = double(RoundUp(d.out_c / d.groups, xnn.nr));
    return model.direct * rows * 9.0 * group_in * group_out_padded * d.groups;
  }
  const double group_out_padded = double(RoundUp(d.out_c / d.groups, model.gemm.nr));
  const uint32_t tiles = TileCount(d, code);
  const uint32_t rest = tiles % model.gemm.mr;
  const double rows = double(tiles - rest) +
                      (rest == 0 ? 0.0 : double(rest > model.min_rows ? rest : model.min_rows));
  const double positions = PositionCount(d, code);
  const double gemms = rows * positions * group_in * group_out_padded * d.groups;
  const double transforms =
      double(tiles) * positions *
      (double(PadChannels(d.in_c)) * model.input + double(PadChannels(d.out_c)) * model.output);
  const double cost = gemms + transforms + model.operator_run * positions * d.groups +
                      model.weight_byte * double(PanelBytes(d, code));
  const int largest = Degree(d.stride, TileRows(code)) > Degree(d.stride, TileCols(code))
                          ? Degree(d.stride, TileRows(code))
                          : Degree(d.stride, TileCols(code));
  return largest >= 7 ? cost * kLargeTransformPenalty : cost;
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

namespace {

// The cheapest tile for `d` whose weights take fewer than `below` bytes
// (UINT64_MAX: any), or kDirect when none beats the direct convolution.
uint32_t CheapestTile(const LayerDesc& d, uint64_t below) {
  uint32_t best = kDirect;
  double best_cost = EstimatedCost(d, kDirect);
  const int max_tile = MaxTile(d.stride);
  for (int my = kMinTile; my <= max_tile; ++my) {
    for (int mx = kMinTile; mx <= max_tile; ++mx) {
      const uint32_t code = TileCode(my, mx);
      if (!FitsScratch(d, code) || WeightBytes(d, code) >= below) continue;
      const double cost = EstimatedCost(d, code);
      if (cost < best_cost) {
        best = code;
        best_cost = cost;
      }
    }
  }
  return best;
}

}  // namespace

void ChooseTiles(const LayerDesc* layers, uint32_t count, rvgg_backend backend,
                 rvgg_winograd setting, size_t budget_bytes, uint8_t* tiles) {
  for (uint32_t i = 0; i < count; ++i) tiles[i] = kDirect;
  if (backend != RVGG_BACKEND_XNNPACK || setting == RVGG_WINOGRAD_OFF ||
      GetWinogradTransforms().isa == nullptr) {
    return;
  }
  uint64_t used = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (!Applies(layers[i])) continue;
    uint32_t best = kDirect;
    if (setting == RVGG_WINOGRAD_AUTO) {
      best = CheapestTile(layers[i], UINT64_MAX);
    } else if (layers[i].stride == 1) {
      const int m = static_cast<int>(setting);
      if (FitsScratch(layers[i], TileCode(m, m))) best = TileCode(m, m);
    }
    tiles[i] = static_cast<uint8_t>(best);
    if (best != kDirect) used += WeightBytes(layers[i], best);
  }
  if (budget_bytes == 0) return;
  // Over budget: repeatedly take the cheapest step down. AUTO steps to the
  // cheapest tile with smaller weights that its cost model still prefers to
  // direct; forced sizes step straight to direct.
  while (used > budget_bytes) {
    uint32_t victim = count;
    uint32_t victim_to = kDirect;
    double victim_ratio = 0.0;
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t from = tiles[i];
      if (from == kDirect) continue;
      const uint64_t from_bytes = WeightBytes(layers[i], from);
      const uint32_t to =
          setting == RVGG_WINOGRAD_AUTO ? CheapestTile(layers[i], from_bytes) : kDirect;
      const uint64_t freed = from_bytes - (to != kDirect ? WeightBytes(layers[i], to) : 0);
      const double loss = EstimatedCost(layers[i], to) - EstimatedCost(layers[i], from);
      const double ratio = loss / double(freed);
      if (victim == count || ratio < victim_ratio) {
        victim = i;
        victim_to = to;
        victim_ratio = ratio;
      }
    }
    if (victim == count) break;
    used -= WeightBytes(layers[victim], tiles[victim]);
    if (victim_to != kDirect) used += WeightBytes(layers[victim], victim_to);
    tiles[victim] = static_cast<uint8_t>(victim_to);
  }
}

}  // namespace rvgg::winograd
