// The Winograd cost model: the estimated time of a layer with a tile (or
// the direct convolution), in multiply-accumulates of the GEMM that runs the
// positions. The chooser (choose.cc) compares tiles with it.
#include "runtime/src/ops/winograd/gemm.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "runtime/src/ops/winograd/winograd.h"

namespace rvgg::winograd {
namespace {

uint64_t RoundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

uint64_t PadChannels(uint64_t c) { return RoundUp(c, kChannelBlock); }

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

constexpr double kAvx512Direct = 1.31, kAvx512Input = 40.0, kAvx512Output = 32.0,
                 kAvx512Weight = 4.07;

CostModel GetCostModel(const LayerDesc& d) {
  const rvgg_dtype type = d.compute_type;
  if (type == RVGG_DTYPE_FLOAT16) {
    // fp16 on ARMv8.2: gemm_neon_fp16.cc's 8x16 block (exact row counts at
    // the end of M, so no rounding of the tiles), the fp16 transforms (half
    // the instructions of the float ones per value), and XNNPACK's f16
    // direct convolution, which retires fewer multiply-accumulates per
    // instruction than the GEMM. In the GEMM's multiply-accumulates, tuned on
    // guest instruction counts like the float model below.
    if (OwnGemmFor(d)) return {{1, kGemmPanel}, 1, 1.75, 11.0, 8.5, 0.0, 0.0};
    const GemmShape gemm = XnnpackGemmShape(type);
    return {gemm, gemm.mr, 1.0, 5.0, 4.0, 3000.0, 0.0};
  }
  if (OwnGemm() && OwnGemmRows() == 12) {
    // gemm_avx512.cc's 12x32 kernel, fitted by tools/bench/winograd_fit.py
    // like the AVX2 one below (AVX-512 EPYC; tools/bench/notes.md); partial
    // row blocks below 4 rows are bound by FMA latency.
    return {{12, kGemmPanel}, 4, kAvx512Direct, kAvx512Input, kAvx512Output, 0.0, kAvx512Weight};
  }
  if (OwnGemm()) {
    // gemm.h's 6x16 kernel, fitted by tools/bench/winograd_fit.py to the
    // time of every tile of every RepVGG-A0 layer (AVX2, weights cold in
    // cache as they are inside a network); the fits and their spread are in
    // tools/bench/notes.md. Partial row blocks are bound by FMA latency.
    // XNNPACK's direct convolution runs its spilled 5x16 kernel, hence the
    // direct term above 1. Weight traffic matters here: a layer with few
    // tiles and many positions (RepVGG-A0's stage4.0 at 224) is bound by
    // memory bandwidth, not multiplications.
    return {{kGemmRows, kGemmPanel}, 3, 3.07, 45.0, 36.0, 0.0, 2.65};
  }
  // XNNPACK's GEMMs. Transform work per tile, position and channel: guest
  // instructions of transform_neon.cc under qemu-aarch64 per float of V and
  // M, in units of the multiply-accumulates XNNPACK's 6x8 GEMM retires per
  // instruction (both measured on RepVGG-A0's layers, docs/benchmarks.md),
  // and the dispatch of one operator run. Instruction counts do not see
  // memory traffic, and the ARM choices were tuned on them: no weight term
  // until a device measures it.
  const GemmShape gemm = XnnpackGemmShape(type);
  return {gemm, gemm.mr, 1.0, 5.0, 4.0, 3000.0, 0.0};
}

// The direct convolution on rvgg's GEMM (gemm_conv.cc), in the same units:
// per multiply-accumulate (rows in balanced register blocks, so nearly
// exact; columns padded to the kernel's column block, below) and per output
// pixel and column block (the row pointers, loop and stores of a register
// block, which weigh most when the window is short: the 3-channel stem's 27
// values). The windows are read in place, so nothing is charged per window
// value. The GEMM alone runs XNNPACK's direct-convolution shapes 1.2-1.3x
// faster than XNNPACK's indirect kernel (`rvgg-winograd-tiles --gemm`); the
// 3-channel stems (48 and 64 channels) run about as fast as XNNPACK's on one
// thread and faster on two (tools/bench/notes.md), which the constant lets
// them take.
constexpr double kGemmDirectMac = 1.05, kGemmDirectPixel = 150.0;

// The largest transforms (8 points: F(6, 3), F(7, 2)) trade some accuracy
// (tests/runtime/winograd_test.cc measures it per tile) for speed: take them
// only when clearly cheaper.
constexpr double kLargeTransformPenalty = 1.03;

// The 3-point transforms of one dimension (its degree, points.h).
int Degree(uint32_t stride, int m) { return stride == 1 ? m + 1 : m; }

}  // namespace

double EstimatedCost(const LayerDesc& d, uint32_t code) {
  const CostModel model = GetCostModel(d);
  const double group_in = d.in_c / d.groups;
  if (code == kDirect) {
    const GemmShape xnn = XnnpackGemmShape(d.compute_type);
    const double rows = double(RoundUp(uint64_t{d.out_h} * d.out_w, xnn.mr));
    const double group_out_padded = double(RoundUp(d.out_c / d.groups, xnn.nr));
    return model.direct * rows * double(d.kernel_h) * d.kernel_w * group_in * group_out_padded *
           d.groups;
  }
  if (code == kGemmDirect) {
    const double pixels = double(d.out_h) * d.out_w;
    const double depth = double(d.kernel_h) * d.kernel_w * d.in_c;
    // No weight-traffic term: both direct convolutions stream their weights
    // once per run, and kDirect's fit holds that already.
    // The AVX-512 kernel's block is a panel pair, or three panels for the
    // last 48 columns of an odd panel count; a lone 16-column panel (16
    // channels) does half the multiply-adds per broadcast and runs at about
    // half the rate, so it counts as two there.
    const bool avx512 = OwnGemmRows() == 12;
    const uint64_t panels = (uint64_t{d.out_c} + kGemmPanel - 1) / kGemmPanel;
    const uint64_t columns = (avx512 && panels == 1 ? 2 : panels) * kGemmPanel;
    // Column blocks: the AVX-512 kernel's pairs (a triple at the end of an
    // odd count), the AVX2 kernel's single panels.
    const uint64_t blocks = avx512 ? (panels > 1 ? panels / 2 : 1) : panels;
    return kGemmDirectMac * pixels * depth * double(columns) +
           kGemmDirectPixel * pixels * double(blocks);
  }
  const double group_out_padded = double(RoundUp(d.out_c / d.groups, model.gemm.nr));
  const uint32_t tiles = TileCount(d, code);
  // GEMM rows as the kernel runs them: per block of the tile-blocked pass
  // (as on one thread), or all tiles at once.
  const auto rounded = [&model](uint32_t m) {
    const uint32_t rest = m % model.gemm.mr;
    return double(m - rest) +
           (rest == 0 ? 0.0 : double(rest > model.min_rows ? rest : model.min_rows));
  };
  const BlockPlan plan = PlanBlocks(d, code, 1);
  double rows = rounded(tiles);
  if (plan.tiles_per_block != 0) {
    const uint32_t full = tiles / plan.tiles_per_block, last = tiles % plan.tiles_per_block;
    rows = full * rounded(plan.tiles_per_block) + (last != 0 ? rounded(last) : 0.0);
  }
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

}  // namespace rvgg::winograd
