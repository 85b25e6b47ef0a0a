// Which layers run as Winograd, and with which tile: shapes, a small cost
// model and the caller's memory budget.
#include <cpuinfo.h>

#include "runtime/src/memory.h"
#include "runtime/src/ops/winograd/winograd.h"

namespace rvgg::winograd {
namespace {

uint64_t RoundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

// Rows (mr) and columns (nr) of the f32 GEMM kernel XNNPACK picks on this
// CPU (its init.c): the tile count is rounded up to mr, so 16 tiles on a
// 6-row kernel cost 18. A heuristic only: it steers the choice, never
// correctness. kr rounding (x86 "s4" kernels) is covered by rounding K to 4.
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

// Transform work per tile, per channel and per transform position, in
// multiply-accumulate equivalents of the GEMM: guest instructions of
// transform_neon.cc under qemu-aarch64 times the ~3.1 MACs XNNPACK's 6x8
// GEMM retires per instruction (F4 at 14x14x192: 0.28M instructions;
// F6 at 56x56x48: 0.76M), split about 55/45 between input and output.
double InputTransformCost(int m) { return m == 2 ? 2.0 : 2.2; }
double OutputTransformCost(int m) { return m == 2 ? 1.5 : 1.7; }

// Dispatch cost of one XNNPACK operator run, in the same units.
constexpr double kOperatorCost = 3000.0;

// F(6) trades accuracy (about one decimal digit of fp32, see
// tests/runtime/winograd_test.cc) for speed: take it only when it is clearly
// cheaper.
constexpr double kF6Penalty = 1.03;

// XNNPACK's operator record and per-operator allocations besides the packed
// weights (measured: about 2.1 KiB with Debian's XNNPACK; counted generously).
constexpr uint64_t kOperatorBytes = 4096;

}  // namespace

bool Applies(const LayerDesc& d) {
  return d.kind == LayerKind::kConv2D && d.compute_type == RVGG_DTYPE_FLOAT32 && d.kernel_h == 3 &&
         d.kernel_w == 3 && d.stride == 1 && d.padding == 1 && d.out_h == d.in_h &&
         d.out_w == d.in_w && d.groups > 0 && d.in_c / d.groups >= kMinGroupChannels &&
         d.out_c / d.groups >= kMinGroupChannels;
}

uint32_t TilesX(const LayerDesc& d, int m) { return (d.out_w + m - 1) / m; }

uint32_t TileCount(const LayerDesc& d, int m) { return TilesX(d, m) * ((d.out_h + m - 1) / m); }

// Verified shapes keep these products far below 2^63 (kMaxSpatial,
// kMaxChannels), so they are computed in 64 bits; size_t is 32-bit on armv7.
uint64_t ScratchBytes64(const LayerDesc& d, int m) {
  const uint64_t positions = uint64_t(m + 2) * (m + 2);
  const uint64_t tiles = TileCount(d, m);
  const uint64_t v = RoundUp(positions * tiles * d.in_c * sizeof(float), kAlignment);
  return v + positions * tiles * d.out_c * sizeof(float);
}

bool FitsScratch(const LayerDesc& d, int m) { return ScratchBytes64(d, m) <= kMaxScratchBytes; }

size_t ScratchBytes(const LayerDesc& d, int m) {
  // Callers only plan layers that FitsScratch(); the clamp keeps others
  // from wrapping around.
  const uint64_t bytes = ScratchBytes64(d, m);
  return bytes > kMaxScratchBytes ? static_cast<size_t>(kMaxScratchBytes)
                                  : static_cast<size_t>(bytes);
}

uint64_t WeightBytes(const LayerDesc& d, int m) {
  const GemmShape gemm = XnnpackGemmShape();
  const uint64_t positions = uint64_t(m + 2) * (m + 2);
  const uint64_t group_in = d.in_c / d.groups, group_out = d.out_c / d.groups;
  // Packed: per nr-column panel, nr biases then K x nr weights.
  const uint64_t packed =
      RoundUp(group_out, 16 > gemm.nr ? 16 : gemm.nr) * (RoundUp(group_in, 4) + 1) * sizeof(float);
  return positions * d.groups * (packed + kOperatorBytes);
}

double EstimatedCost(const LayerDesc& d, int m) {
  const double group_in = d.in_c / d.groups, group_out = d.out_c / d.groups;
  if (m == 0) {
    return double(d.out_h) * d.out_w * 9.0 * group_in * group_out * d.groups;
  }
  const GemmShape gemm = XnnpackGemmShape();
  const double positions = double(m + 2) * (m + 2);
  const double tiles = TileCount(d, m);
  const double rows = double(RoundUp(TileCount(d, m), gemm.mr));
  const double gemms =
      rows * positions * group_in * RoundUp(uint64_t(group_out), gemm.nr) * d.groups;
  const double transforms =
      tiles * positions * (d.in_c * InputTransformCost(m) + d.out_c * OutputTransformCost(m));
  const double cost = gemms + transforms + kOperatorCost * positions * d.groups;
  return m == 6 ? cost * kF6Penalty : cost;
}

void ChooseTiles(const LayerDesc* layers, uint32_t count, rvgg_backend backend,
                 rvgg_winograd setting, size_t budget_bytes, uint8_t* tiles) {
  for (uint32_t i = 0; i < count; ++i) tiles[i] = 0;
  if (backend != RVGG_BACKEND_XNNPACK || setting == RVGG_WINOGRAD_OFF) return;
  uint64_t used = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (!Applies(layers[i])) continue;
    int best = 0;
    if (setting == RVGG_WINOGRAD_AUTO) {
      double best_cost = EstimatedCost(layers[i], 0);
      for (int m : {2, 4, 6}) {
        if (!FitsScratch(layers[i], m)) continue;
        const double cost = EstimatedCost(layers[i], m);
        if (cost < best_cost) {
          best = m;
          best_cost = cost;
        }
      }
    } else if (FitsScratch(layers[i], static_cast<int>(setting))) {
      best = static_cast<int>(setting);
    }
    tiles[i] = static_cast<uint8_t>(best);
    if (best != 0) used += WeightBytes(layers[i], best);
  }
  if (budget_bytes == 0) return;
  // Over budget: repeatedly take the cheapest step down. AUTO steps to the
  // next smaller tile that its cost model still prefers to direct; forced
  // sizes step straight to direct.
  while (used > budget_bytes) {
    uint32_t victim = count;
    int victim_to = 0;
    double victim_ratio = 0.0;
    for (uint32_t i = 0; i < count; ++i) {
      const int from = tiles[i];
      if (from == 0) continue;
      int to = 0;
      if (setting == RVGG_WINOGRAD_AUTO) {
        const double direct = EstimatedCost(layers[i], 0);
        for (int m = from - 2; m >= 2; m -= 2) {
          if (FitsScratch(layers[i], m) && EstimatedCost(layers[i], m) < direct) {
            to = m;
            break;
          }
        }
      }
      const uint64_t freed = WeightBytes(layers[i], from) - (to ? WeightBytes(layers[i], to) : 0);
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
    if (victim_to != 0) used += WeightBytes(layers[victim], victim_to);
    tiles[victim] = static_cast<uint8_t>(victim_to);
  }
}

}  // namespace rvgg::winograd
