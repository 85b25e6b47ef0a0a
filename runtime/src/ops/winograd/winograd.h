// Winograd convolution for 3x3 layers with padding 1, stride 1 or 2, with
// the heavy part on GEMM kernels:
//
//   input --(input transform, ours)--> V[positions][tiles][in_c]
//         --(positions x groups GEMMs)--> M[positions][tiles][out_c]
//         --(output transform + bias + ReLU, ours)--> output
//
// The GEMMs are XNNPACK fully-connected operators (its NEON kernels on ARM
// fp32), or rvgg's own kernels on AVX2 and AVX-512 CPUs and for fp16 on
// ARMv8.2 (gemm.h says why).
//
// Threads: with rvgg's own GEMM, a layer whose packed weights are small
// enough runs tile-blocked (BlockPlan below): one pool dispatch, each worker
// taking blocks of tiles and running their input transform, GEMMs and
// output transform back to back in its own slot of the scratch, so V and M
// never leave the core. Other layers run three passes over V and M of all
// tiles (input transform over tiles, GEMMs over positions, output transform
// over tiles), with the pool's barrier between them. Caller-memory loads
// stay single-threaded (rvgg.h), so the scratch there is one slot.
//
// Tiles are rectangular: my output rows by mx output columns, each dimension
// with its own one-dimensional transform (transforms.h), so a layer can pick
// the shape whose tile count fits XNNPACK's GEMM row blocking (14 x 14 in
// F(4x5): 12 tiles, two 6-row blocks, instead of F(4x4)'s 16 rounded to 18).
//
//   stride 1: F(m, 3) per dimension, n = m + 2 positions, window n pixels.
//   stride 2: the polyphase form. Output y reads input rows 2y-1, 2y, 2y+1;
//             the even input rows meet only the middle tap (a 1-tap
//             convolution, identity transform, m positions), the odd ones
//             the outer two taps (a stride-1 2-tap convolution: F(m, 2),
//             m + 1 positions). A dimension has n = 2m + 1 positions over a
//             window of 2m + 1 input pixels, and the 2-D product of the two
//             covers all four phases; the output transform sums them.
//
// The code is split along those jobs: geometry.cc (which layers and tiles,
// counts, memory), cost.cc (the cost model), choose.cc (the tile of every
// layer within the budget), weights.cc (the kernel transform), gemm.h / gemm.cc
// (which GEMM runs the positions, and rvgg's own with its packing),
// transforms.h (the data transforms) and conv2d.cc (the kernel).
//
// Transformed weights are computed at load from the fused 3x3 kernel in the
// model, not stored in the file: the file stays one format for every device,
// and each device picks tiles per layer against its own memory budget
// (rvgg_options.winograd_budget_bytes). Each position's matrix is transformed
// into a temporary, packed (by XNNPACK at operator creation, or into gemm.h's
// panels), and the temporary freed; only the packed copy stays.
//
// V and M live in the arena scratch (planned at load through
// the registry's ScratchBytes, which depends on the threads for blocked
// layers), their channel rows padded to kChannelBlock floats; running
// allocates nothing.
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_WINOGRAD_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_WINOGRAD_H_

#include <cstddef>
#include <cstdint>

#include "runtime/src/model.h"
#include "runtime/src/ops/kernel.h"
#include "runtime/src/ops/registry.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "rvgg/rvgg.h"

namespace rvgg::winograd {

// Layers Winograd can run: fp32 (and, where the CPU has FP16 arithmetic,
// fp16) 3x3 convolutions, padding 1, stride 1 or 2,
// at least kMinGroupChannels input and output channels per group (narrower
// groups, depthwise in the limit, would make GEMMs of a few columns).
constexpr uint32_t kMinGroupChannels = 4;
bool Applies(const LayerDesc& desc);

// A layer's tile, one byte in the plan: rows * 16 + columns; 0 = direct.
constexpr uint32_t kDirect = 0;
// The variant of an int8 layer run by the 16-bit Winograd kernel family.
constexpr uint32_t kInt8Winograd = 1;
constexpr uint32_t TileCode(int rows, int cols) {
  return static_cast<uint32_t>(rows) * 16 + static_cast<uint32_t>(cols);
}
constexpr int TileRows(uint32_t code) { return static_cast<int>(code / 16); }
constexpr int TileCols(uint32_t code) { return static_cast<int>(code % 16); }

// Largest tile side per dimension for a stride.
constexpr int MaxTile(uint32_t stride) { return stride == 1 ? kMaxTileStride1 : kMaxTileStride2; }

// Whether an fp16 layer may use tile my x mx: with XNNPACK's fp16 GEMMs
// (fp16 accumulation) larger transforms amplify rounding far beyond the
// direct convolution's error (docs/winograd_fp16.md has the study). Stride
// 1: 2 x k and k x 2 for k <= 5; stride 2: both sides <= 3, or one side
// <= 3 and the other <= 6.
bool Fp16TileKeepsAccuracy(uint32_t stride, int my, int mx);

// Whether `code` is a tile this kernel has transforms for, for this layer
// (in fp16 only the tiles Fp16TileKeepsAccuracy allows).
bool ValidTile(const LayerDesc& desc, uint32_t code);

// Positions (GEMMs per group) and tiles (GEMM rows) of a valid tile.
uint32_t PositionCount(const LayerDesc& desc, uint32_t code);
uint32_t TileCount(const LayerDesc& desc, uint32_t code);

// Arena scratch for V and M. Layers whose scratch would exceed
// kMaxScratchBytes (a quarter of the address space on 32-bit targets) never
// run as Winograd: ChooseTiles() skips them and the kernel refuses them.
constexpr uint64_t kMaxScratchBytes =
    SIZE_MAX / 4 < (uint64_t{1} << 40) ? SIZE_MAX / 4 : (uint64_t{1} << 40);
bool FitsScratch(const LayerDesc& desc, uint32_t code);

// The direct convolution on rvgg's own GEMM (gemm_conv.cc): chunks of
// output pixels whose window rows the GEMM reads in place through a table
// of row pointers (per-worker scratch slots), against weights packed at
// load, bias and ReLU; the plan's variant kGemmDirect. Runs float32
// convolutions without groups (any kernel, stride and padding the op
// allows) where rvgg's GEMM exists (AVX2, AVX-512); AUTO picks it per layer
// by the cost model where it beats both XNNPACK's direct convolution and
// every Winograd tile.
constexpr uint32_t kGemmDirect = 2;
bool GemmDirectApplies(const LayerDesc& desc);

// Tasks of one layer: `chunks` chunks of `chunk_rows` output pixels (the
// last may be shorter) by `column_groups` groups of `group_panels` weight
// panels; `slots` workers with slot_bytes each: a chunk's row pointers
// (table_bytes), then room for border_rows window rows copied with their
// zero padding (the windows that cross the image's left or right edge).
struct GemmDirectPlan {
  uint32_t chunk_rows = 0;
  uint32_t chunks = 0;
  uint32_t group_panels = 0;
  uint32_t column_groups = 0;
  uint32_t slots = 0;
  uint32_t border_rows = 0;
  size_t table_bytes = 0;
  size_t slot_bytes = 0;
};
GemmDirectPlan PlanGemmDirect(const LayerDesc& desc, uint32_t threads);
size_t GemmDirectScratchBytes(const LayerDesc& desc, uint32_t threads);
rvgg_status CreateGemmConv2DKernel(const LayerDesc& desc, const Bindings& bindings,
                                   pthreadpool_t threadpool, Kernel** kernel,
                                   rvgg_message* message);

// The tile-blocked pass (where rvgg's own GEMM runs the positions): the
// layer's tiles in blocks, each block's input transform, GEMMs and output
// transform one after another on one thread, so V and M of a block stay in
// that core's cache and a layer is one hand-off to the pool instead of three.
// Each of `slots` workers has its own V and M in the scratch (slot_bytes
// each, V first, v_bytes). tiles_per_block == 0: the layer runs three passes
// over V and M of all tiles instead (XNNPACK's GEMMs, or weights too large
// to read once per block).
// Blocks before `short_from` hold tiles_per_block tiles, the others one
// fewer (the last block may hold fewer still): with several threads a layer
// whose tiles do not fill whole GEMM row blocks per thread gets blocks of
// even size (42 tiles on 2 threads: 11, 11, 10, 10, not 12, 12, 12, 6).
struct BlockPlan {
  uint32_t tiles_per_block = 0;
  uint32_t blocks = 0;
  uint32_t short_from = 0;
  uint32_t slots = 0;
  size_t v_bytes = 0;
  size_t slot_bytes = 0;
};
BlockPlan PlanBlocks(const LayerDesc& desc, uint32_t code, uint32_t threads);

// The first tile of block `block` of a plan, and its tile count (of `tiles`).
inline uint32_t BlockFirst(const BlockPlan& plan, uint32_t block) {
  return block <= plan.short_from ? block * plan.tiles_per_block
                                  : plan.short_from * plan.tiles_per_block +
                                        (block - plan.short_from) * (plan.tiles_per_block - 1);
}
inline uint32_t BlockTiles(const BlockPlan& plan, uint32_t block, uint32_t tiles) {
  const uint32_t first = BlockFirst(plan, block);
  const uint32_t size = block < plan.short_from ? plan.tiles_per_block : plan.tiles_per_block - 1;
  return tiles - first < size ? tiles - first : size;
}

// For measurements only (rvgg-winograd-tiles --blocked): 1 plans every layer
// that can run blocked that way, 0 none, -1 restores the rule. Not
// thread-safe; set it before any model is loaded.
void ForceBlockedPass(int mode);

// Arena scratch of a layer run on `threads` threads (the blocked pass's
// slots, or V and M of all tiles).
size_t ScratchBytes(const LayerDesc& desc, uint32_t code, uint32_t threads = 1);

// Upper estimate of the memory the layer's GEMMs hold (the packed
// transformed weights, padded to the kernel's register tiles, XNNPACK's
// operators when it runs them, and the kernel's padded bias and zero line); used against
// rvgg_options.winograd_budget_bytes before anything is created.
uint64_t WeightBytes(const LayerDesc& desc, uint32_t code);

// Whether rvgg's own GEMM (gemm.h) runs the layer's positions: on CPUs where
// it exists for the layer's type, and in fp16 when a group's input channels
// are a multiple of 8 (the fp16 GEMM's K step); XNNPACK's otherwise.
bool OwnGemmFor(const LayerDesc& desc);

// gemm.h's packed panels of a layer (all positions and groups): what rvgg's
// own GEMM streams from memory per run.
uint64_t PanelBytes(const LayerDesc& desc, uint32_t code);

// Picks the tile of every layer (choices[i].variant; kDirect = XNNPACK's
// direct convolution) for the options; `choices` has `count` entries. Only
// the XNNPACK backend uses Winograd (the reference backend stays the oracle).
//   AUTO:      per layer the cheapest by a cost model of the GEMMs (tile count
//              rounded up to the GEMM kernel's rows), the transforms, the
//              direct convolution and (rvgg's own GEMM) the weight
//              traffic, over every tile shape (stride 1 and 2);
//              then, while the packed weights exceed the budget, the step to
//              a smaller shape (or direct) that loses the least estimated
//              time per byte freed.
//   F2/F4/F6:  that square tile on every stride-1 layer it applies to
//              (stride-2 layers stay direct); over budget, layers fall back
//              to direct, least useful per byte first.
//   OFF:       direct everywhere.
// The budget is options.winograd_budget_bytes, capped so that Winograd
// takes at most half of what options.memory_limit leaves after the direct
// path's estimated needs (rvgg.h).
void ChooseTiles(const LayerDesc* layers, uint32_t count, const rvgg_options& options,
                 KernelChoice* choices);

// The relative cost the model estimates for layer `desc` with tile `code`
// (kDirect: the direct convolution), in multiply-accumulate equivalents.
// Exposed for tests and tools.
double EstimatedCost(const LayerDesc& desc, uint32_t code);

// "winograd-f4" (square, stride 1), "winograd-f4x5" (rows x columns),
// "winograd-s2-f7x5" (stride 2) into `name` (at least 24 bytes).
void TileName(const LayerDesc& desc, uint32_t code, char* name, size_t capacity);

// G's row for position j of one dimension of tile size m (3 taps; for
// stride 2 the even phase's positions first, see above).
void KernelRow(uint32_t stride, int m, int j, double row[3]);

// Writes U = (G_y g G_x^T) at transform position (row a, column b) for group
// `group`: [out_c / groups][in_c / groups] floats, the layout XNNPACK's
// fully-connected operator takes. Computed in double, rounded once.
void TransformWeights(const LayerDesc& desc, uint32_t code, int a, int b, uint32_t group, float* u);

// Creates the kernel: all operators created (weights packed) and set up with
// V and M bound in `bindings.scratch` (at least ScratchBytes(desc, code)).
rvgg_status CreateConv2DKernel(const LayerDesc& desc, uint32_t code, const Bindings& bindings,
                               pthreadpool_t threadpool, Kernel** kernel, rvgg_message* message);

}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_WINOGRAD_H_
