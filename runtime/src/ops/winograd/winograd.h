// Winograd F(m x m, 3 x 3) convolution for stride-1, padding-1 3x3 layers,
// with the heavy part on XNNPACK's GEMM kernels:
//
//   input --(input transform, ours)--> V[(m+2)^2][tiles][in_c]
//         --((m+2)^2 x groups XNNPACK fully-connected operators)--> M[(m+2)^2][tiles][out_c]
//         --(output transform + bias + ReLU, ours)--> output
//
// Transformed weights are computed at load from the fused 3x3 kernel in the
// model, not stored in the file: the file stays one format for every device
// (a (m+2)^2/9 = 1.8x, 4x or 7.1x larger weight set per m would otherwise be
// baked in), and each device picks m per layer against its own memory budget
// (rvgg_options.winograd_budget_bytes). Each position's matrix is transformed
// into a temporary, packed by XNNPACK at operator creation, and the temporary
// freed; only XNNPACK's packed copy stays.
//
// V and M live in the arena scratch (planned at load through
// KernelScratchBytes); running allocates nothing.
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_WINOGRAD_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_WINOGRAD_H_

#include <cstddef>
#include <cstdint>

#include "runtime/src/model.h"
#include "runtime/src/ops/kernel.h"
#include "rvgg/rvgg.h"

namespace rvgg::winograd {

// Layers Winograd can run: fp32 3x3 convolutions, stride 1, padding 1, at
// least kMinGroupChannels input and output channels per group (narrower
// groups, depthwise in the limit, would make GEMMs of a few columns).
constexpr uint32_t kMinGroupChannels = 4;
bool Applies(const LayerDesc& desc);

// Output tiles per row / column / layer for tile size m.
uint32_t TilesX(const LayerDesc& desc, int m);
uint32_t TileCount(const LayerDesc& desc, int m);

// Arena scratch for V and M. Layers whose scratch would exceed
// kMaxScratchBytes (a quarter of the address space on 32-bit targets) never
// run as Winograd: ChooseTiles() skips them and the kernel refuses them.
constexpr uint64_t kMaxScratchBytes =
    SIZE_MAX / 4 < (uint64_t{1} << 40) ? SIZE_MAX / 4 : (uint64_t{1} << 40);
bool FitsScratch(const LayerDesc& desc, int m);
size_t ScratchBytes(const LayerDesc& desc, int m);

// Upper estimate of the memory the layer's operators hold (XNNPACK's packed
// transformed weights, padded to its register tiles, and the operators
// themselves); used against rvgg_options.winograd_budget_bytes before
// anything is created.
uint64_t WeightBytes(const LayerDesc& desc, int m);

// Picks the tile size of every layer (0 = XNNPACK's direct convolution) for
// the backend and options; `tiles` has `count` entries. Only the XNNPACK
// backend uses Winograd (the reference backend stays the oracle).
//   AUTO:      per layer the cheapest by a cost model of the GEMMs (tile count
//              rounded up to the GEMM kernel's rows), the transforms and the
//              direct convolution; then, while the packed weights exceed the
//              budget, the step (F6 -> F4 -> F2 -> direct) that loses the
//              least estimated time per byte freed.
//   F2/F4/F6:  that size wherever it applies; over budget, layers fall back to
//              direct, least useful per byte first.
//   OFF:       direct everywhere.
void ChooseTiles(const LayerDesc* layers, uint32_t count, rvgg_backend backend,
                 rvgg_winograd setting, size_t budget_bytes, uint8_t* tiles);

// The relative cost the model estimates for layer `desc` with tile m (0 =
// direct), in multiply-accumulate equivalents. Exposed for tests and tools.
double EstimatedCost(const LayerDesc& desc, int m);

// Writes U = G g G^T at transform position (row a, column b) for group
// `group`: [out_c / groups][in_c / groups] floats, the layout XNNPACK's
// fully-connected operator takes. Computed in double, rounded once.
void TransformWeights(const LayerDesc& desc, int m, int a, int b, uint32_t group, float* u);

// Creates the kernel: all operators created (weights packed) and set up with
// V and M bound in `bindings.scratch` (at least ScratchBytes(desc, m)).
rvgg_status CreateConv2DKernel(const LayerDesc& desc, int m, const Bindings& bindings,
                               pthreadpool_t threadpool, Kernel** kernel, rvgg_message* message);

}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_WINOGRAD_H_
