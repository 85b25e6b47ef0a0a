// Int8 Winograd F(4x4, 3x3) with 16-bit transformed values: a QConvFamily
// (qconv.h) for 3x3 convolutions with padding 1, stride 1 or 2 and groups 1,
// made for ARMv8.0 NEON cores without the dot product (Cortex-A53 class),
// where smlal (int16 x int16 -> int32, four lanes) is the fastest exact
// product. Per 4x4 output tile it does 36 multiply-accumulates per input
// channel where the direct convolution does 144 (81 where it does 144 at
// stride 2).
//
// Per tile (a 6x6 input window) and input channel c, with d = q -
// input_zero_point (padding pixels 0) and g the 3x3 kernel of (o, c):
//
//   V = B^T d B          int16, exact: |V| <= 10 * 10 * 255 = 25500
//   U = G~ g G~^T        int16, exact, at pack time: |U| <= 7 * 7 * 128 = 6272
//   M = sum over c of U (.) V        one int16 GEMM per position, int32
//   Z = O M O^T                      int32
//
// B^T, G~ and O are the integer matrices below (points 0, +-1, +-2 and
// infinity, as in ops/winograd/points.h). G~ is the transform G with each
// position's row multiplied by its Lagrange denominator k (kKernelScale),
// so U is an integer; O is A^T diag(1 / k) times 24, each row divided by the
// power of two it has in common. Over the integers
//
//   Z[i][j] = 9 * 2^(e_i + e_j) * S[i][j],   e = kOutputShift = {3, 2, 1, 1},
//
// where S is the direct convolution's sum (without bias) at output pixel
// (i, j) of the tile: Winograd's identity, with every denominator accounted
// for.
//
// Mixed tiles. A dimension whose size is 1 or 2 more than a multiple of 4
// ends in an F(2, 3) tile (2 outputs, 4-pixel window) instead of an F(4, 3)
// one: 14 = 4 + 4 + 4 + 2. F(2, 3) on the points 0, +-1 and infinity uses
// four of F(4, 3)'s six positions (kSmallPositions) and G~ has the same rows
// there, so one packed U serves every tile: the GEMM at a position runs over
// all the tiles that use it. On a 14x14 map that is 16, 12 or 9 of 16 tiles,
// 484 tile-positions where 4x4 tiles over 16x16 would do 576. An F(2, 3)
// dimension's outputs carry the scale 2 (kSmallOutputShift) instead of
// 3 * 2^e_i, so Z = 3^c * 2^(e_i + e_j) * S with c the number of F(4, 3)
// dimensions of the tile.
//
// Stride 2 runs the polyphase form of the same tile (as ops/winograd/
// winograd.h does for fp32): output i of a tile reads window pixels 2i, 2i+1
// and 2i+2 of a 9-pixel window. The odd pixels meet only the middle tap (a
// 1-tap convolution: 4 positions that copy pixels 1, 3, 5, 7), the even
// ones the outer two taps (a stride-1 2-tap convolution, F(4, 2) on points
// +-1, +-2 and infinity: 5 positions): 9 positions per dimension, 81 per
// tile, and O sums the phases. Its scales are 12 = 3 * 4 for output 0 and
// 6 = 3 * 2 for the others (kS2OutputShift), so the same recovery holds with
// |acc| < 2^27. The last tile of a dimension is the polyphase F(2, 3) (a
// 5-pixel window: positions 0, 1, +1, -1, infinity of the 9) under the same
// rule as above; the bias factors and inverses are those of stride 1.
//
// Exactness. The GEMMs and the output transform run in int32 arithmetic
// that wraps (mod 2^32; in C++ on uint32_t), so they never overflow in the
// C++ sense and the identity holds mod 2^32. The bias enters at position
// (+1, +1) multiplied by kBiasFactor of the tile's kind (O's column there
// is -2^(e_i - 1) in a 4-output dimension, 1 in a 2-output one), which adds
// 3^c * 2^(e_i + e_j) * bias to every Z[i][j]. Then
//
//   X = Z * inv(3^c) mod 2^32 = 2^(e_i + e_j) * acc mod 2^32,  acc = bias + S,
//
// and when |acc| < 2^25 (so 2^6 |acc| fits in int32; 2^27 at stride 2) X
// read as int32 is exactly 2^(e_i + e_j) * acc: the kernel recovers the
// reference's int32
// accumulator bit for bit, converts it to float as the reference does,
// and requantizes it as qconv.h says. The result equals ref::Conv2DInt8 bit
// for bit, not just within 1 LSB. Wrapping partial sums (the int32 GEMM
// sums can exceed 2^31 for wide layers with large transformed weights) are
// harmless; only the final accumulator's range matters.
//
// `pack` computes, from the actual weights, bias and input zero point, the
// largest |acc| any input can produce (d in [-128 - zp, 127 - zp] per pixel,
// independently) and returns false when it reaches the limit (the runtime
// then runs the direct kernel). Real layers are far below: RepVGG-A0's int8
// layers reach about a quarter of it.
//
// Memory: the packed U holds positions x in_c x out_c int16 (channels
// rounded up to 8), 8x the int8 weights at stride 1 and 18x at stride 2;
// one slot's scratch holds V for kBlockTiles tiles (positions x 8 x in_c
// int16) and M for one output block (8 x positions x 8 int32).
//
// Work: tiles in the order of Plan (F(4, 3) rows first), in blocks of
// kBlockTiles; a unit of work is one block and a range of output-channel
// blocks of 8. The input transform of a block writes V into the slot's
// scratch, then for each output block the GEMMs write M (one output block)
// and the output transform writes the int8 outputs. With a pool, `threads`
// slots claim units from an atomic counter; output blocks are split into
// ranges only when there are too few tile blocks to keep the slots busy.
#ifndef RVGG_RUNTIME_SRC_KERNELS_QCONV_WINOGRAD_H_
#define RVGG_RUNTIME_SRC_KERNELS_QCONV_WINOGRAD_H_

#include <cstddef>
#include <cstdint>

#include "runtime/src/kernels/qconv.h"

namespace rvgg::kernels {

// Beyond qconv.h: `pack` copies requant_scale (a new scale needs a new
// pack); `run` uses pthreadpool_get_threads_count(pool) slots, so the
// scratch must have been sized for at least the pool's threads; it reads at
// most 7 bytes past the input's end.

// The portable C++ form: every target, and the baseline in tests.
extern const QConvFamily kQConvWinogradPortable;

// The NEON form (aarch64 only; every aarch64 CPU has NEON). Same packed
// weights and scratch as the portable form, same results bit for bit.
#if defined(__aarch64__)
extern const QConvFamily kQConvWinogradNeon;
#endif

// Internals shared by the two forms and the tests; not an API.
namespace qwinograd {

constexpr int kTile = 4;       // outputs per tile side
constexpr int kSmallTile = 2;  // outputs of a dimension's last, F(2, 3) tile
constexpr uint32_t kBlockTiles = 8;
constexpr uint32_t kChannelGroup = 8;  // V and U hold channels in groups of 8
constexpr int kMaxDimPositions = 9;

// Stride 1, F(4, 3). Position order in each dimension: 0, +1, -1, +2, -2,
// infinity. Input transform B^T: row a is position a's Lagrange numerator.
constexpr int kWindow = 6;
constexpr int kPositions = kWindow * kWindow;
constexpr int16_t kInputTransform[kWindow][kWindow] = {
    {4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
};
// G~ = diag(kKernelScale) G: integer kernel transform.
constexpr int16_t kKernelTransform[kWindow][3] = {
    {1, 0, 0}, {1, 1, 1}, {1, -1, 1}, {1, 2, 4}, {1, -2, 4}, {0, 0, 1},
};
constexpr int32_t kKernelScale[kWindow] = {4, -6, -6, 24, 24, 1};
// O = 24 A^T diag(1 / kKernelScale), row i divided by 2^(3 - kOutputShift[i]).
constexpr int32_t kOutputTransform[kTile][kWindow] = {
    {6, -4, -4, 1, 1, 0},
    {0, -2, 2, 1, -1, 0},
    {0, -1, -1, 1, 1, 0},
    {0, -1, 1, 2, -2, 6},
};
constexpr int kOutputShift[kTile] = {3, 2, 1, 1};

// Stride 1, F(2, 3): points 0, +1, -1 and infinity, F(4, 3)'s positions
// kSmallPositions; G~'s rows there are kKernelTransform's, with the
// denominators kSmallKernelScale. O = 2 A^T diag(1 / kSmallKernelScale).
constexpr int kSmallWindow = 4;
constexpr int kSmallPositions[kSmallWindow] = {0, 1, 2, 5};
constexpr int16_t kSmallInputTransform[kSmallWindow][kSmallWindow] = {
    {-1, 0, 1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, -1, 0, 1}};
constexpr int32_t kSmallKernelScale[kSmallWindow] = {-1, 2, 2, 1};
constexpr int32_t kSmallOutputTransform[kSmallTile][kSmallWindow] = {{-2, 1, 1, 0}, {0, 1, -1, 2}};
constexpr int kSmallOutputShift[kSmallTile] = {1, 1};

// Stride 2, polyphase F(4, 3): positions 0-3 copy window pixels 1, 3, 5, 7
// (the middle tap), positions 4-8 are F(4, 2)'s +1, -1, +2, -2, infinity on
// pixels 0, 2, 4, 6, 8 (the outer taps). O = 12 A^T diag(1 / kS2KernelScale)
// with A^T the identity on the first phase, rows 1-3 halved.
constexpr int kS2Window = 9;
constexpr int kS2Positions = kS2Window * kS2Window;
constexpr int16_t kS2InputTransform[kS2Window][kS2Window] = {
    {0, 1, 0, 0, 0, 0, 0, 0, 0},   {0, 0, 0, 1, 0, 0, 0, 0, 0},   {0, 0, 0, 0, 0, 1, 0, 0, 0},
    {0, 0, 0, 0, 0, 0, 0, 1, 0},   {-4, 0, -4, 0, 1, 0, 1, 0, 0}, {4, 0, -4, 0, -1, 0, 1, 0, 0},
    {-2, 0, -1, 0, 2, 0, 1, 0, 0}, {2, 0, -1, 0, -2, 0, 1, 0, 0}, {4, 0, 0, 0, -5, 0, 0, 0, 1},
};
constexpr int16_t kS2KernelTransform[kS2Window][3] = {
    {0, 1, 0},  {0, 1, 0}, {0, 1, 0},  {0, 1, 0}, {1, 0, 1},
    {1, 0, -1}, {1, 0, 2}, {1, 0, -2}, {0, 0, 1},
};
constexpr int32_t kS2KernelScale[kS2Window] = {1, 1, 1, 1, -6, 6, 12, -12, 1};
constexpr int32_t kS2OutputTransform[kTile][kS2Window] = {
    {12, 0, 0, 0, -2, 2, 1, -1, 0},
    {0, 6, 0, 0, -1, -1, 1, 1, 0},
    {0, 0, 6, 0, -1, 1, 2, -2, 0},
    {0, 0, 0, 6, -1, -1, 4, 4, 6},
};
constexpr int kS2OutputShift[kTile] = {2, 1, 1, 1};

// Stride 2, polyphase F(2, 3): a 5-pixel window; positions copy pixels 1
// and 3, then F(2, 2)'s +1, -1, infinity on pixels 0, 2, 4: the 9's
// positions kS2SmallPositions.
constexpr int kS2SmallWindow = 5;
constexpr int kS2SmallPositions[kS2SmallWindow] = {0, 1, 4, 5, 8};
constexpr int16_t kS2SmallInputTransform[kS2SmallWindow][kS2SmallWindow] = {
    {0, 1, 0, 0, 0}, {0, 0, 0, 1, 0}, {1, 0, 1, 0, 0}, {-1, 0, 1, 0, 0}, {-1, 0, 0, 0, 1}};
constexpr int32_t kS2SmallKernelScale[kS2SmallWindow] = {1, 1, 2, -2, 1};
constexpr int32_t kS2SmallOutputTransform[kSmallTile][kS2SmallWindow] = {{2, 0, 1, -1, 0},
                                                                         {0, 2, 1, 1, 2}};

// Per tile kind, the number of F(2, 3) dimensions (0, 1 or 2); the same at
// both strides. The bias enters at position (+1, +1).
constexpr int32_t kBiasFactor[3] = {36, -12, 4};
constexpr uint32_t kInverse[3] = {0x38E38E39u, 0xAAAAAAABu, 1u};  // of 9, 3, 1 mod 2^32

// One dimension of a tile: its matrices by stride and size.
struct DimTransform {
  int outputs;            // kTile or kSmallTile
  int positions;          // also the window's pixels
  const int16_t* input;   // [positions][positions], B^T
  const int16_t* kernel;  // [the big dimension's positions][3], G~ (shared)
  const int32_t* scale;   // [positions], the denominators G~ leaves out
  const int32_t* output;  // [outputs][positions], O
  const int* map;         // [positions]: the big dimension's position index
  const int* shifts;      // [outputs]: e_i
  int threes;             // output scale 3 * 2^e_i (1) or 2^e_i (0)
};
DimTransform DimOf(uint32_t stride, bool small);

// The largest |bias + sum of (q - zero point) * w| output channel `o` can
// reach over all inputs (int64, exact).
int64_t AccumulatorBound(const QConvParams& p, const int8_t* weights, const int32_t* bias,
                         uint32_t o);

// Sizes, all from QConvParams.
struct Plan {
  uint32_t stride;
  uint32_t dim_positions;  // per dimension: 6 (stride 1) or 9 (stride 2)
  uint32_t positions;      // per tile: 36 or 81
  uint32_t step;           // input pixels between tiles: 4 or 8
  int bias_position;       // (+1, +1)
  int64_t accumulator_limit;
  uint32_t tiles_y, tiles_x, tiles, blocks;  // blocks of kBlockTiles tiles
  // Whether the last tile row / column is F(2, 3).
  bool small_row, small_col;
  // Tiles are ordered [F(4, 3) rows x small column][F(4, 3) x F(4, 3)]
  // [small row x F(4, 3) columns][small x small], so that the tiles using
  // any one position form one range; group_end[g] ends group g.
  uint32_t group_end[4];
  uint32_t groups;      // input channels / 8, rounded up
  uint32_t out_blocks;  // output channels / 8, rounded up
  // Packed: int32 bias term[3 kinds][out_blocks * 8], float
  // scale[out_blocks * 8], int16 U[positions][out_blocks][groups * 8][8].
  size_t packed_scale_offset, packed_u_offset, packed_bytes;
  // One slot's scratch: int16 V[groups][positions][tiles of the block][8],
  // int32 M[tiles of the block][positions][8] (one output block), one
  // tile's int16 outputs before narrowing (4 x 4 x 8, the NEON form's), and
  // a row of the input zero point (kS2Window * in_c + 8 bytes: what padding
  // rows read).
  size_t slot_v_offset, slot_m_offset, slot_staged_offset, slot_zero_offset, slot_bytes;
};
Plan MakePlan(const QConvParams& p);

// Tile t of the plan's order: its tile row and column (outputs start at 4
// times them, input windows at step times them minus 1) and which
// dimensions are F(2, 3).
struct TileCoords {
  uint32_t ty, tx;
  bool small_row, small_col;
};
TileCoords TileAt(const Plan& plan, uint32_t t);

// The tiles [*first, *last) that use position `pos` (0 .. positions - 1).
void PositionTiles(const Plan& plan, int pos, uint32_t* first, uint32_t* last);

// The packed weights, viewed.
struct PackedView {
  const int32_t* bias[3];  // kBiasFactor[kind] * bias mod 2^32, zero past out_c
  const float* scale;      // requant_scale, zero past out_c
  const int16_t* u;
};
PackedView ViewPacked(const Plan& plan, const void* packed);

// U of output block ob at position pos: [groups * 8][8].
inline const int16_t* PackedU(const Plan& plan, const PackedView& w, int pos, uint32_t ob) {
  return w.u + (static_cast<size_t>(pos) * plan.out_blocks + ob) * plan.groups * 64;
}

// Whether the shape is one this kernel runs (both forms).
bool Applies(const QConvParams& p);
size_t PackedBytes(const QConvParams& p);
// Whether every output channel's accumulator bound stays within the limit.
bool Accepts(const QConvParams& p, const int8_t* weights, const int32_t* bias);
bool Pack(const QConvParams& p, const int8_t* weights, const int32_t* bias, void* packed);
size_t ScratchBytes(const QConvParams& p, uint32_t threads);

// One unit of work in one form: tiles [first_tile, first_tile + count)
// (count <= kBlockTiles) and output blocks [ob_begin, ob_end), with the
// slot's scratch (its zero row already filled).
struct UnitArgs {
  const QConvParams* params;
  const Plan* plan;
  PackedView weights;
  const int8_t* input;
  int8_t* output;
  uint8_t* slot;
};
using UnitFn = void (*)(const UnitArgs& args, uint32_t first_tile, uint32_t count,
                        uint32_t ob_begin, uint32_t ob_end);

// Runs the convolution through `unit`: splits the work, fills each slot's
// zero row, parallelizes over pthreadpool_get_threads_count(pool) slots
// (scratch must have been sized for at least that many).
void Run(const QConvParams& p, const void* packed, const int8_t* input, int8_t* output,
         void* scratch, pthreadpool_t pool, UnitFn unit);

}  // namespace qwinograd
}  // namespace rvgg::kernels

#endif  // RVGG_RUNTIME_SRC_KERNELS_QCONV_WINOGRAD_H_
