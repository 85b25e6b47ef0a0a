// Packing, bounds, work splitting and the portable form of the int8
// Winograd kernel (qconv_winograd.h). The portable form evaluates the
// matrices as written, in plain loops: it is the baseline the NEON form is
// tested against, so it stays simple rather than fast.
#include "runtime/src/kernels/qconv_winograd.h"

#include <pthreadpool.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "runtime/src/kernels/tsan.h"

namespace rvgg::kernels {
namespace qwinograd {
namespace {

// Packed weights and scratch stay far below the address space (a quarter of
// it on 32-bit targets), so no size computation can wrap.
constexpr uint64_t kMaxBytes =
    SIZE_MAX / 4 < (uint64_t{1} << 40) ? SIZE_MAX / 4 : (uint64_t{1} << 40);

constexpr size_t RoundUp64(size_t n) { return (n + 63) / 64 * 64; }

uint64_t PositionsOf(const QConvParams& p) { return p.stride == 2 ? kS2Positions : kPositions; }

uint64_t PackedBytes64(const QConvParams& p) {
  const uint64_t groups = (uint64_t{p.in_c} + 7) / 8, out_blocks = (uint64_t{p.out_c} + 7) / 8;
  return out_blocks * 128 + PositionsOf(p) * out_blocks * groups * 128;
}

uint64_t SlotBytes64(const QConvParams& p) {
  const uint64_t groups = (uint64_t{p.in_c} + 7) / 8;
  return groups * PositionsOf(p) * kBlockTiles * 16 + kBlockTiles * PositionsOf(p) * 32 +
         kTile * kTile * 16 + RoundUp64(kS2Window * uint64_t{p.in_c} + 8);
}

// What the reference does with an accumulator (qconv.h).
int8_t Requantize(int32_t acc, float scale, const QConvParams& p) {
  const float lo = static_cast<float>(p.output_min - p.output_zero_point);
  const float hi = static_cast<float>(p.output_max - p.output_zero_point);
  float v = static_cast<float>(acc) * scale;
  v = v < lo ? lo : (v > hi ? hi : v);
  return static_cast<int8_t>(static_cast<int32_t>(std::nearbyint(v)) + p.output_zero_point);
}

// Wrapping int32 arithmetic, written on uint32_t.
inline uint32_t Wrap(int64_t v) { return static_cast<uint32_t>(v); }
inline int32_t AsInt32(uint32_t v) {
  int32_t r;
  std::memcpy(&r, &v, sizeof(r));
  return r;
}

inline int32_t InputAt(const int8_t* input, const QConvParams& p, int64_t y, int64_t x,
                       uint32_t k) {
  return input[(static_cast<size_t>(y) * p.in_w + static_cast<size_t>(x)) * p.in_c + k];
}

void PortableUnit(const UnitArgs& args, uint32_t first_tile, uint32_t count, uint32_t ob_begin,
                  uint32_t ob_end) {
  const QConvParams& p = *args.params;
  const Plan& plan = *args.plan;
  const size_t positions = plan.positions;
  int16_t* v = reinterpret_cast<int16_t*>(args.slot + plan.slot_v_offset);
  uint32_t* m = reinterpret_cast<uint32_t*>(args.slot + plan.slot_m_offset);
  const int32_t zp = p.input_zero_point;

  // V[group][position][tile of the block][channel of the group].
  for (uint32_t j = 0; j < count; ++j) {
    const TileCoords tc = TileAt(plan, first_tile + j);
    const DimTransform rows = DimOf(plan.stride, tc.small_row);
    const DimTransform cols = DimOf(plan.stride, tc.small_col);
    const int64_t y0 = int64_t{tc.ty} * plan.step - 1, x0 = int64_t{tc.tx} * plan.step - 1;
    for (uint32_t k = 0; k < plan.groups * kChannelGroup; ++k) {
      int32_t d[kMaxDimPositions][kMaxDimPositions];
      for (int r = 0; r < rows.positions; ++r) {
        for (int c = 0; c < cols.positions; ++c) {
          const int64_t y = y0 + r, x = x0 + c;
          const bool inside = y >= 0 && y < p.in_h && x >= 0 && x < p.in_w && k < p.in_c;
          d[r][c] = inside ? InputAt(args.input, p, y, x, k) - zp : 0;
        }
      }
      int32_t t[kMaxDimPositions][kMaxDimPositions];  // B^T d
      for (int a = 0; a < rows.positions; ++a) {
        for (int c = 0; c < cols.positions; ++c) {
          int32_t sum = 0;
          for (int r = 0; r < rows.positions; ++r) {
            sum += rows.input[a * rows.positions + r] * d[r][c];
          }
          t[a][c] = sum;
        }
      }
      for (int a = 0; a < rows.positions; ++a) {
        for (int b = 0; b < cols.positions; ++b) {
          int32_t sum = 0;  // (B^T d B)[a][b], |sum| <= 25500
          for (int c = 0; c < cols.positions; ++c) {
            sum += t[a][c] * cols.input[b * cols.positions + c];
          }
          const size_t pos = size_t{static_cast<uint32_t>(rows.map[a])} * plan.dim_positions +
                             static_cast<uint32_t>(cols.map[b]);
          const size_t at =
              ((k / kChannelGroup * positions + pos) * kBlockTiles + j) * kChannelGroup +
              k % kChannelGroup;
          v[at] = static_cast<int16_t>(sum);
        }
      }
    }
  }

  for (uint32_t ob = ob_begin; ob < ob_end; ++ob) {
    // M[tile][position][channel of the output block], mod 2^32, for the
    // tiles that use the position.
    for (uint32_t pos = 0; pos < positions; ++pos) {
      uint32_t first, last;
      PositionTiles(plan, static_cast<int>(pos), &first, &last);
      const int16_t* u = PackedU(plan, args.weights, static_cast<int>(pos), ob);
      for (uint32_t j = 0; j < count; ++j) {
        if (first_tile + j < first || first_tile + j >= last) continue;
        for (uint32_t l = 0; l < kChannelGroup; ++l) {
          uint32_t sum = 0;
          for (uint32_t k = 0; k < plan.groups * kChannelGroup; ++k) {
            const int16_t x =
                v[((k / kChannelGroup * positions + pos) * kBlockTiles + j) * kChannelGroup +
                  k % kChannelGroup];
            sum += Wrap(int32_t{u[size_t{k} * kChannelGroup + l]} * x);
          }
          m[(j * positions + pos) * kChannelGroup + l] = sum;
        }
      }
    }
    for (uint32_t j = 0; j < count; ++j) {
      const TileCoords tc = TileAt(plan, first_tile + j);
      const DimTransform rows = DimOf(plan.stride, tc.small_row);
      const DimTransform cols = DimOf(plan.stride, tc.small_col);
      const int kind = int{tc.small_row} + int{tc.small_col};
      const uint32_t oy0 = tc.ty * kTile, ox0 = tc.tx * kTile;
      for (uint32_t l = 0; l < kChannelGroup; ++l) {
        const uint32_t o = ob * kChannelGroup + l;
        if (o >= p.out_c) break;
        uint32_t mm[kMaxDimPositions][kMaxDimPositions];
        for (int a = 0; a < rows.positions; ++a) {
          for (int b = 0; b < cols.positions; ++b) {
            const int pos = rows.map[a] * static_cast<int>(plan.dim_positions) + cols.map[b];
            mm[a][b] = m[(j * positions + static_cast<size_t>(pos)) * kChannelGroup + l];
            if (pos == plan.bias_position) {
              mm[a][b] += static_cast<uint32_t>(args.weights.bias[kind][o]);
            }
          }
        }
        uint32_t t[kMaxDimPositions][kTile];  // M O^T
        for (int a = 0; a < rows.positions; ++a) {
          for (int jj = 0; jj < cols.outputs; ++jj) {
            uint32_t sum = 0;
            for (int b = 0; b < cols.positions; ++b) {
              sum += mm[a][b] * Wrap(cols.output[jj * cols.positions + b]);
            }
            t[a][jj] = sum;
          }
        }
        for (int i = 0; i < rows.outputs; ++i) {
          if (oy0 + i >= p.out_h) break;
          for (int jj = 0; jj < cols.outputs; ++jj) {
            if (ox0 + jj >= p.out_w) break;
            uint32_t z = 0;
            for (int a = 0; a < rows.positions; ++a) {
              z += Wrap(rows.output[i * rows.positions + a]) * t[a][jj];
            }
            // X = 2^(e_i + e_j) acc exactly (qconv_winograd.h), so the
            // division is exact.
            const int32_t x = AsInt32(z * kInverse[kind]);
            const int32_t acc = x / (int32_t{1} << (rows.shifts[i] + cols.shifts[jj]));
            args.output[(size_t{oy0 + i} * p.out_w + ox0 + jj) * p.out_c + o] =
                Requantize(acc, args.weights.scale[o], p);
          }
        }
      }
    }
  }
}

}  // namespace

int64_t AccumulatorBound(const QConvParams& p, const int8_t* weights, const int32_t* bias,
                         uint32_t o) {
  // Each d = q - zp lies in [lo, hi] with lo <= 0 <= hi (padding's 0 too), so
  // the sum is largest with d = hi where w > 0 and d = lo where w < 0.
  const int64_t lo = -128 - int64_t{p.input_zero_point}, hi = 127 - int64_t{p.input_zero_point};
  const size_t taps = size_t{9} * p.in_c;
  int64_t positive = 0, negative = 0;
  for (size_t i = 0; i < taps; ++i) {
    const int64_t w = weights[o * taps + i];
    (w > 0 ? positive : negative) += w;
  }
  const int64_t most = bias[o] + hi * positive + lo * negative;
  const int64_t least = bias[o] + lo * positive + hi * negative;
  return std::max(most < 0 ? -most : most, least < 0 ? -least : least);
}

DimTransform DimOf(uint32_t stride, bool small) {
  static constexpr int kIdentity[kS2Window] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  if (stride == 2) {
    if (small) {
      return {kSmallTile,
              kS2SmallWindow,
              &kS2SmallInputTransform[0][0],
              &kS2KernelTransform[0][0],
              kS2SmallKernelScale,
              &kS2SmallOutputTransform[0][0],
              kS2SmallPositions,
              kSmallOutputShift,
              0};
    }
    return {kTile,
            kS2Window,
            &kS2InputTransform[0][0],
            &kS2KernelTransform[0][0],
            kS2KernelScale,
            &kS2OutputTransform[0][0],
            kIdentity,
            kS2OutputShift,
            1};
  }
  if (small) {
    return {kSmallTile,
            kSmallWindow,
            &kSmallInputTransform[0][0],
            &kKernelTransform[0][0],
            kSmallKernelScale,
            &kSmallOutputTransform[0][0],
            kSmallPositions,
            kSmallOutputShift,
            0};
  }
  return {kTile,
          kWindow,
          &kInputTransform[0][0],
          &kKernelTransform[0][0],
          kKernelScale,
          &kOutputTransform[0][0],
          kIdentity,
          kOutputShift,
          1};
}

Plan MakePlan(const QConvParams& p) {
  Plan plan{};
  plan.stride = p.stride;
  plan.dim_positions = p.stride == 2 ? kS2Window : kWindow;
  plan.positions = plan.dim_positions * plan.dim_positions;
  plan.step = kTile * p.stride;
  plan.bias_position = static_cast<int>(p.stride == 2 ? 4 * kS2Window + 4 : 1 * kWindow + 1);
  // 2^(31 - the largest e_i + e_j).
  plan.accumulator_limit = int64_t{1} << (p.stride == 2 ? 27 : 25);
  plan.tiles_y = (p.out_h + kTile - 1) / kTile;
  plan.tiles_x = (p.out_w + kTile - 1) / kTile;
  plan.tiles = plan.tiles_y * plan.tiles_x;
  plan.blocks = (plan.tiles + kBlockTiles - 1) / kBlockTiles;
  // F(2, 3) where the last tile has at most 2 outputs.
  plan.small_row = p.out_h % kTile == 1 || p.out_h % kTile == 2;
  plan.small_col = p.out_w % kTile == 1 || p.out_w % kTile == 2;
  const uint32_t big_rows = plan.tiles_y - plan.small_row, big_cols = plan.tiles_x - plan.small_col;
  plan.group_end[0] = big_rows * plan.small_col;
  plan.group_end[1] = plan.group_end[0] + big_rows * big_cols;
  plan.group_end[2] = plan.group_end[1] + plan.small_row * big_cols;
  plan.group_end[3] = plan.tiles;
  plan.groups = (p.in_c + kChannelGroup - 1) / kChannelGroup;
  plan.out_blocks = (p.out_c + kChannelGroup - 1) / kChannelGroup;
  plan.packed_scale_offset = size_t{plan.out_blocks} * 32 * 3;
  plan.packed_u_offset = size_t{plan.out_blocks} * 32 * 4;
  plan.packed_bytes = static_cast<size_t>(PackedBytes64(p));
  plan.slot_v_offset = 0;
  plan.slot_m_offset = size_t{plan.groups} * plan.positions * kBlockTiles * 16;
  plan.slot_staged_offset = plan.slot_m_offset + size_t{kBlockTiles} * plan.positions * 32;
  plan.slot_zero_offset = plan.slot_staged_offset + kTile * kTile * 16;
  plan.slot_bytes = static_cast<size_t>(SlotBytes64(p));
  return plan;
}

TileCoords TileAt(const Plan& plan, uint32_t t) {
  const uint32_t big_cols = plan.tiles_x - plan.small_col;
  if (t < plan.group_end[0]) return {t, plan.tiles_x - 1, false, true};
  if (t < plan.group_end[1]) {
    const uint32_t u = t - plan.group_end[0];
    return {u / big_cols, u % big_cols, false, false};
  }
  if (t < plan.group_end[2]) return {plan.tiles_y - 1, t - plan.group_end[1], true, false};
  return {plan.tiles_y - 1, plan.tiles_x - 1, true, true};
}

void PositionTiles(const Plan& plan, int pos, uint32_t* first, uint32_t* last) {
  // Positions an F(2, 3) dimension does not have: +-2 at stride 1; pixels
  // 5, 7 and +-2 at stride 2.
  static constexpr bool kBigOnly1[kWindow] = {false, false, false, true, true, false};
  static constexpr bool kBigOnly2[kS2Window] = {false, false, true, true, false,
                                                false, true,  true, false};
  const bool* big_only = plan.stride == 2 ? kBigOnly2 : kBigOnly1;
  const int n = static_cast<int>(plan.dim_positions);
  const bool big_row = big_only[pos / n], big_col = big_only[pos % n];
  *first = big_col ? plan.group_end[0] : 0;
  *last = big_row ? plan.group_end[1] : (big_col ? plan.group_end[2] : plan.tiles);
}

PackedView ViewPacked(const Plan& plan, const void* packed) {
  const uint8_t* base = static_cast<const uint8_t*>(packed);
  const size_t bias_bytes = size_t{plan.out_blocks} * 32;
  return {
      {reinterpret_cast<const int32_t*>(base), reinterpret_cast<const int32_t*>(base + bias_bytes),
       reinterpret_cast<const int32_t*>(base + 2 * bias_bytes)},
      reinterpret_cast<const float*>(base + plan.packed_scale_offset),
      reinterpret_cast<const int16_t*>(base + plan.packed_u_offset)};
}

bool Applies(const QConvParams& p) {
  return p.kernel_h == 3 && p.kernel_w == 3 && (p.stride == 1 || p.stride == 2) && p.padding == 1 &&
         p.in_h >= 1 && p.in_w >= 1 && p.in_c >= 1 && p.out_c >= 1 &&
         p.out_h == (p.in_h - 1) / p.stride + 1 && p.out_w == (p.in_w - 1) / p.stride + 1 &&
         PackedBytes64(p) <= kMaxBytes && SlotBytes64(p) <= kMaxBytes / 64;
}

size_t PackedBytes(const QConvParams& p) {
  return Applies(p) ? static_cast<size_t>(PackedBytes64(p)) : 0;
}

bool Accepts(const QConvParams& p, const int8_t* weights, const int32_t* bias) {
  if (!Applies(p)) return false;
  const Plan plan = MakePlan(p);
  for (uint32_t o = 0; o < p.out_c; ++o) {
    if (AccumulatorBound(p, weights, bias, o) >= plan.accumulator_limit) return false;
  }
  return true;
}

bool Pack(const QConvParams& p, const int8_t* weights, const int32_t* bias, void* packed) {
  if (!Accepts(p, weights, bias)) return false;
  const Plan plan = MakePlan(p);
  uint8_t* base = static_cast<uint8_t*>(packed);
  std::memset(base, 0, plan.packed_bytes);
  int32_t* bias_term = reinterpret_cast<int32_t*>(base);
  float* scale = reinterpret_cast<float*>(base + plan.packed_scale_offset);
  int16_t* u = reinterpret_cast<int16_t*>(base + plan.packed_u_offset);
  for (uint32_t o = 0; o < p.out_c; ++o) {
    for (int kind = 0; kind < 3; ++kind) {
      bias_term[static_cast<size_t>(kind) * plan.out_blocks * kChannelGroup + o] =
          AsInt32(Wrap(int64_t{kBiasFactor[kind]} * bias[o]));
    }
    scale[o] = p.requant_scale[o];
  }
  const size_t k_padded = size_t{plan.groups} * kChannelGroup;
  const DimTransform big = DimOf(p.stride, false);
  const int n = big.positions;
  for (uint32_t o = 0; o < p.out_c; ++o) {
    const uint32_t ob = o / kChannelGroup, l = o % kChannelGroup;
    for (uint32_t k = 0; k < p.in_c; ++k) {
      int32_t g[3][3];
      for (int ky = 0; ky < 3; ++ky) {
        for (int kx = 0; kx < 3; ++kx) {
          g[ky][kx] = weights[((size_t{o} * 3 + ky) * 3 + kx) * p.in_c + k];
        }
      }
      int32_t t[kMaxDimPositions][3];  // G~ g
      for (int a = 0; a < n; ++a) {
        for (int kx = 0; kx < 3; ++kx) {
          int32_t sum = 0;
          for (int ky = 0; ky < 3; ++ky) sum += big.kernel[a * 3 + ky] * g[ky][kx];
          t[a][kx] = sum;
        }
      }
      for (int a = 0; a < n; ++a) {
        for (int b = 0; b < n; ++b) {
          int32_t sum = 0;  // |sum| <= 49 * 128
          for (int kx = 0; kx < 3; ++kx) sum += t[a][kx] * big.kernel[b * 3 + kx];
          const size_t pos = static_cast<size_t>(a * n + b);
          u[((pos * plan.out_blocks + ob) * k_padded + k) * kChannelGroup + l] =
              static_cast<int16_t>(sum);
        }
      }
    }
  }
  return true;
}

size_t ScratchBytes(const QConvParams& p, uint32_t threads) {
  if (!Applies(p)) return 0;
  return size_t{threads < 1 ? 1 : threads} * static_cast<size_t>(SlotBytes64(p));
}

namespace {

struct RunContext {
  UnitArgs args;
  uint8_t* scratch;
  size_t slot_bytes;
  uint32_t units, out_chunks;
  UnitFn unit;
  std::atomic<uint32_t> next{0};
};

void SlotTask(void* context, size_t slot) {
  RunContext& ctx = *static_cast<RunContext*>(context);
  HappensAfter(&ctx);
  const Plan& plan = *ctx.args.plan;
  UnitArgs args = ctx.args;
  args.slot = ctx.scratch + slot * ctx.slot_bytes;
  std::memset(args.slot + plan.slot_zero_offset, static_cast<int8_t>(args.params->input_zero_point),
              kS2Window * size_t{args.params->in_c} + 8);
  for (;;) {
    const uint32_t unit = ctx.next.fetch_add(1, std::memory_order_relaxed);
    if (unit >= ctx.units) break;
    const uint32_t block = unit / ctx.out_chunks, chunk = unit % ctx.out_chunks;
    const uint32_t first = block * kBlockTiles;
    const uint32_t count = std::min(kBlockTiles, plan.tiles - first);
    const uint32_t ob_begin =
        static_cast<uint32_t>(uint64_t{plan.out_blocks} * chunk / ctx.out_chunks);
    const uint32_t ob_end =
        static_cast<uint32_t>(uint64_t{plan.out_blocks} * (chunk + 1) / ctx.out_chunks);
    ctx.unit(args, first, count, ob_begin, ob_end);
  }
  HappensBefore(&ctx);
}

}  // namespace

void Run(const QConvParams& p, const void* packed, const int8_t* input, int8_t* output,
         void* scratch, pthreadpool_t pool, UnitFn unit) {
  const Plan plan = MakePlan(p);
  const uint32_t threads =
      pool != nullptr ? static_cast<uint32_t>(pthreadpool_get_threads_count(pool)) : 1;
  RunContext ctx;
  ctx.args = {&p, &plan, ViewPacked(plan, packed), input, output, nullptr};
  ctx.scratch = static_cast<uint8_t*>(scratch);
  ctx.slot_bytes = plan.slot_bytes;
  ctx.unit = unit;
  // Splitting the output blocks repeats the block's input transform, so only
  // when the tile blocks alone leave slots idle.
  ctx.out_chunks = 1;
  if (threads > 1 && plan.blocks < 2 * threads) {
    ctx.out_chunks = std::min(plan.out_blocks, (2 * threads + plan.blocks - 1) / plan.blocks);
  }
  ctx.units = plan.blocks * ctx.out_chunks;
  if (threads <= 1) {
    SlotTask(&ctx, 0);
  } else {
    HappensBefore(&ctx);
    pthreadpool_parallelize_1d(pool, SlotTask, &ctx, threads, 0);
    HappensAfter(&ctx);
  }
}

}  // namespace qwinograd

namespace {

using namespace qwinograd;

void RunPortable(const QConvParams& p, const void* packed, const int8_t* input, int8_t* output,
                 void* scratch, pthreadpool_t pool) {
  Run(p, packed, input, output, scratch, pool, PortableUnit);
}

}  // namespace

const QConvFamily kQConvWinogradPortable = {
    "int8 winograd f4 portable", qwinograd::Applies, qwinograd::PackedBytes, qwinograd::Pack,
    qwinograd::ScratchBytes,     RunPortable,                qwinograd::Accepts,
};

}  // namespace rvgg::kernels
