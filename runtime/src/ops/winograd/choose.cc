// The Winograd tile of every layer: the cheapest by the cost model (cost.cc)
// within the memory budget the load allows.
#include "runtime/src/kernels/families.h"
#include "runtime/src/ops/qconv.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "runtime/src/ops/winograd/winograd.h"

namespace rvgg::winograd {
namespace {

// The budget a load uses: the caller's, capped so that Winograd never makes
// a load fail that the direct path would pass. Transformed weights get at
// most half of what rvgg_options.memory_limit (also in caller-memory mode,
// so that sizing and loading choose alike) leaves after an estimate of the
// direct path: weights with a quarter for packing, and two activations per
// layer.
uint64_t Budget(const LayerDesc* layers, uint32_t count, const rvgg_options& options) {
  const uint64_t limit =
      options.memory_limit != 0 ? options.memory_limit : uint64_t{RVGG_DEFAULT_MEMORY_LIMIT};
  uint64_t direct = 0;
  for (uint32_t i = 0; i < count; ++i) {
    direct += layers[i].parameters * sizeof(float) * 5 / 4 + 2 * layers[i].output_bytes();
  }
  uint64_t budget = limit > direct ? (limit - direct) / 2 : 1;
  if (budget == 0) budget = 1;  // 0 would mean "no limit"
  if (options.winograd_budget_bytes != 0 && options.winograd_budget_bytes < budget) {
    budget = options.winograd_budget_bytes;
  }
  return budget;
}

// The faster direct convolution for `d` by the cost model: rvgg's GEMM on
// the image's windows (kGemmDirect) where it runs, or XNNPACK's (kDirect).
uint32_t BestDirect(const LayerDesc& d) {
  if (GemmDirectApplies(d) && EstimatedCost(d, kGemmDirect) < EstimatedCost(d, kDirect)) {
    return kGemmDirect;
  }
  return kDirect;
}

// Whether a choice is one of the direct convolutions, whose weights the
// budget's direct estimate already holds.
bool IsDirect(uint32_t code) { return code == kDirect || code == kGemmDirect; }

// Bytes a choice takes from the Winograd budget.
uint64_t BudgetBytes(const LayerDesc& d, uint32_t code) {
  return IsDirect(code) ? 0 : WeightBytes(d, code);
}

// The cheapest tile for `d` whose weights take fewer than `below` bytes
// (UINT64_MAX: any), or BestDirect() when none beats the direct convolution.
uint32_t CheapestTile(const LayerDesc& d, uint64_t below) {
  uint32_t best = BestDirect(d);
  double best_cost = EstimatedCost(d, best);
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

// int8 layers: the 16-bit Winograd family (kernels/qconv_winograd.h) where no
// faster int8 family runs the layer (the dot product's), within what the
// float layers left of the budget: stride-1 layers first (they gain most per
// byte), then stride 2, each in model order.
void ChooseInt8Winograd(const LayerDesc* layers, uint32_t count, uint64_t budget, uint64_t used,
                        KernelChoice* choices) {
#if RVGG_HAVE_QCONV_WINOGRAD
  for (uint32_t stride = 1; stride <= 2; ++stride) {
    for (uint32_t i = 0; i < count; ++i) {
      const LayerDesc& d = layers[i];
      if (d.compute_type != RVGG_DTYPE_INT8 || d.op != schema::Op::Conv2D || d.stride != stride) {
        continue;
      }
#if RVGG_HAVE_QCONV_NEONDOT
      if (QConvApplies(kernels::kQConvNeonDot, d)) continue;
#endif
      if (!QConvApplies(kernels::kQConvWinogradNeon, d)) continue;
      const uint64_t bytes = QConvWeightBytes(kernels::kQConvWinogradNeon, d);
      if (used + bytes > budget) continue;
      used += bytes;
      choices[i].variant = kInt8Winograd;
    }
  }
#else
  (void)layers, (void)count, (void)budget, (void)used, (void)choices;
#endif
}

}  // namespace

void ChooseTiles(const LayerDesc* layers, uint32_t count, const rvgg_options& options,
                 KernelChoice* choices) {
  const rvgg_winograd setting = options.winograd;
  for (uint32_t i = 0; i < count; ++i) choices[i].variant = kDirect;
  if (options.backend != RVGG_BACKEND_XNNPACK || setting == RVGG_WINOGRAD_OFF) return;
  const uint64_t budget_bytes = Budget(layers, count, options);
  if (GetWinogradTransforms().isa == nullptr) {
    ChooseInt8Winograd(layers, count, budget_bytes, 0, choices);
    return;
  }
  uint64_t used = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (!Applies(layers[i])) {
      // Layers Winograd cannot run (the 3-channel stem) may still run on
      // rvgg's GEMM.
      if (setting == RVGG_WINOGRAD_AUTO) choices[i].variant = BestDirect(layers[i]);
      continue;
    }
    uint32_t best = kDirect;
    if (setting == RVGG_WINOGRAD_AUTO) {
      best = CheapestTile(layers[i], UINT64_MAX);
    } else if (layers[i].stride == 1) {
      const int m = static_cast<int>(setting);
      if (FitsScratch(layers[i], TileCode(m, m))) best = TileCode(m, m);
    }
    choices[i].variant = best;
    used += BudgetBytes(layers[i], best);
  }
  // Over budget: repeatedly take the cheapest step down. AUTO steps to the
  // cheapest tile with smaller weights that its cost model still prefers to
  // direct; forced sizes step straight to direct.
  while (used > budget_bytes) {
    uint32_t victim = count;
    uint32_t victim_to = kDirect;
    double victim_ratio = 0.0;
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t from = choices[i].variant;
      if (IsDirect(from)) continue;
      const uint64_t from_bytes = WeightBytes(layers[i], from);
      const uint32_t to =
          setting == RVGG_WINOGRAD_AUTO ? CheapestTile(layers[i], from_bytes) : kDirect;
      const uint64_t freed = from_bytes - BudgetBytes(layers[i], to);
      const double loss = EstimatedCost(layers[i], to) - EstimatedCost(layers[i], from);
      const double ratio = loss / double(freed);
      if (victim == count || ratio < victim_ratio) {
        victim = i;
        victim_to = to;
        victim_ratio = ratio;
      }
    }
    if (victim == count) break;
    used -= WeightBytes(layers[victim], choices[victim].variant);
    used += BudgetBytes(layers[victim], victim_to);
    choices[victim].variant = victim_to;
  }
  ChooseInt8Winograd(layers, count, budget_bytes, used, choices);
}

}  // namespace rvgg::winograd
