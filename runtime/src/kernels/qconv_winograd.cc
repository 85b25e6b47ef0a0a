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

namespace rvgg::kernels {
namespace qwinograd {
namespace {

// Packed weights and scratch stay far below the address space (a quarter of
// it on 32-bit targets), so no size computation can wrap.
constexpr uint64_t kMaxBytes =
    SIZE_MAX / 4 < (uint64_t{1} << 40) ? SIZE_MAX / 4 : (uint64_t{1} << 40);

constexpr size_t RoundUp64(size_t n) { return (n + 63) / 64 * 64; }

uint64_t PackedBytes64(const QConvParams& p) {
  const uint64_t groups = (uint64_t{p.in_c} + 7) / 8, out_blocks = (uint64_t{p.out_c} + 7) / 8;
  return out_blocks * 128 + uint64_t{kPositions} * out_blocks * groups * 128;
}

uint64_t SlotBytes64(const QConvParams& p) {
  const uint64_t groups = (uint64_t{p.in_c} + 7) / 8;
  return groups * kPositions * kBlockTiles * 16 + kBlockTiles * kPositions * 32 +
         kTile * kTile * 16 + RoundUp64(6 * uint64_t{p.in_c} + 8);
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

// One dimension of a tile: F(4, 3) or F(2, 3), its matrices as plain
// arrays.
struct Dim {
  int outputs, window;
  const int16_t* input;   // [window][window]
  const int32_t* output;  // [outputs][window]
  const int* positions;   // window entries: F(4, 3) position indices
  const int* shifts;      // outputs entries
  bool small;
};

constexpr int kIdentityPositions[kWindow] = {0, 1, 2, 3, 4, 5};
constexpr int kSmallShifts[kSmallTile] = {kSmallOutputShift, kSmallOutputShift};

Dim DimOf(bool small) {
  if (small) {
    return {kSmallTile,
            kSmallWindow,
            &kSmallInputTransform[0][0],
            &kSmallOutputTransform[0][0],
            kSmallPositions,
            kSmallShifts,
            true};
  }
  return {
      kTile,        kWindow, &kInputTransform[0][0], &kOutputTransform[0][0], kIdentityPositions,
      kOutputShift, false};
}

void PortableUnit(const UnitArgs& args, uint32_t first_tile, uint32_t count, uint32_t ob_begin,
                  uint32_t ob_end) {
  const QConvParams& p = *args.params;
  const Plan& plan = *args.plan;
  int16_t* v = reinterpret_cast<int16_t*>(args.slot + plan.slot_v_offset);
  uint32_t* m = reinterpret_cast<uint32_t*>(args.slot + plan.slot_m_offset);
  const int32_t zp = p.input_zero_point;

  // V[group][position][tile of the block][channel of the group].
  for (uint32_t j = 0; j < count; ++j) {
    const TileCoords tc = TileAt(plan, first_tile + j);
    const Dim rows = DimOf(tc.small_row), cols = DimOf(tc.small_col);
    const int64_t y0 = int64_t{tc.ty} * kTile - 1, x0 = int64_t{tc.tx} * kTile - 1;
    for (uint32_t k = 0; k < plan.groups * kChannelGroup; ++k) {
      int32_t d[kWindow][kWindow];
      for (int r = 0; r < rows.window; ++r) {
        for (int c = 0; c < cols.window; ++c) {
          const int64_t y = y0 + r, x = x0 + c;
          const bool inside = y >= 0 && y < p.in_h && x >= 0 && x < p.in_w && k < p.in_c;
          d[r][c] = inside ? InputAt(args.input, p, y, x, k) - zp : 0;
        }
      }
      int32_t t[kWindow][kWindow];  // B^T d
      for (int a = 0; a < rows.window; ++a) {
        for (int c = 0; c < cols.window; ++c) {
          int32_t sum = 0;
          for (int r = 0; r < rows.window; ++r) {
            sum += rows.input[a * rows.window + r] * d[r][c];
          }
          t[a][c] = sum;
        }
      }
      for (int a = 0; a < rows.window; ++a) {
        for (int b = 0; b < cols.window; ++b) {
          int32_t sum = 0;  // (B^T d B)[a][b], |sum| <= 25500
          for (int c = 0; c < cols.window; ++c) sum += t[a][c] * cols.input[b * cols.window + c];
          const int pos = rows.positions[a] * kWindow + cols.positions[b];
          const size_t at =
              ((size_t{k / kChannelGroup} * kPositions + pos) * kBlockTiles + j) * kChannelGroup +
              k % kChannelGroup;
          v[at] = static_cast<int16_t>(sum);
        }
      }
    }
  }

  for (uint32_t ob = ob_begin; ob < ob_end; ++ob) {
    // M[tile][position][channel of the output block], mod 2^32, for the
    // tiles that use the position.
    for (int pos = 0; pos < kPositions; ++pos) {
      uint32_t first, last;
      PositionTiles(plan, pos, &first, &last);
      const int16_t* u = PackedU(plan, args.weights, pos, ob);
      for (uint32_t j = 0; j < count; ++j) {
        if (first_tile + j < first || first_tile + j >= last) continue;
        for (uint32_t l = 0; l < kChannelGroup; ++l) {
          uint32_t sum = 0;
          for (uint32_t k = 0; k < plan.groups * kChannelGroup; ++k) {
            const int16_t x = v[((size_t{k / kChannelGroup} * kPositions + pos) * kBlockTiles + j) *
                                    kChannelGroup +
                                k % kChannelGroup];
            sum += Wrap(int32_t{u[size_t{k} * kChannelGroup + l]} * x);
          }
          m[(size_t{j} * kPositions + pos) * kChannelGroup + l] = sum;
        }
      }
    }
    for (uint32_t j = 0; j < count; ++j) {
      const TileCoords tc = TileAt(plan, first_tile + j);
      const Dim rows = DimOf(tc.small_row), cols = DimOf(tc.small_col);
      const int kind = int{tc.small_row} + int{tc.small_col};
      const uint32_t oy0 = tc.ty * kTile, ox0 = tc.tx * kTile;
      for (uint32_t l = 0; l < kChannelGroup; ++l) {
        const uint32_t o = ob * kChannelGroup + l;
        if (o >= p.out_c) break;
        uint32_t mm[kWindow][kWindow];
        for (int a = 0; a < rows.window; ++a) {
          for (int b = 0; b < cols.window; ++b) {
            const int pos = rows.positions[a] * kWindow + cols.positions[b];
            mm[a][b] = m[(size_t{j} * kPositions + pos) * kChannelGroup + l];
            if (pos == kBiasPosition) mm[a][b] += static_cast<uint32_t>(args.weights.bias[kind][o]);
          }
        }
        uint32_t t[kWindow][kTile];  // M O^T
        for (int a = 0; a < rows.window; ++a) {
          for (int jj = 0; jj < cols.outputs; ++jj) {
            uint32_t sum = 0;
            for (int b = 0; b < cols.window; ++b) {
              sum += mm[a][b] * Wrap(cols.output[jj * cols.window + b]);
            }
            t[a][jj] = sum;
          }
        }
        for (int i = 0; i < rows.outputs; ++i) {
          if (oy0 + i >= p.out_h) break;
          for (int jj = 0; jj < cols.outputs; ++jj) {
            if (ox0 + jj >= p.out_w) break;
            uint32_t z = 0;
            for (int a = 0; a < rows.window; ++a)
              z += Wrap(rows.output[i * rows.window + a]) * t[a][jj];
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

Plan MakePlan(const QConvParams& p) {
  Plan plan{};
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
  plan.slot_m_offset = size_t{plan.groups} * kPositions * kBlockTiles * 16;
  plan.slot_staged_offset = plan.slot_m_offset + kBlockTiles * kPositions * 32;
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
  // Positions +-2 (3 and 4) exist only in F(4, 3) dimensions.
  const bool big_row = pos / kWindow == 3 || pos / kWindow == 4;
  const bool big_col = pos % kWindow == 3 || pos % kWindow == 4;
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
  return p.kernel_h == 3 && p.kernel_w == 3 && p.stride == 1 && p.padding == 1 && p.in_h >= 1 &&
         p.in_w >= 1 && p.in_c >= 1 && p.out_c >= 1 && p.out_h == p.in_h && p.out_w == p.in_w &&
         PackedBytes64(p) <= kMaxBytes && SlotBytes64(p) <= kMaxBytes / 64;
}

size_t PackedBytes(const QConvParams& p) {
  return Applies(p) ? static_cast<size_t>(PackedBytes64(p)) : 0;
}

bool Pack(const QConvParams& p, const int8_t* weights, const int32_t* bias, void* packed) {
  if (!Applies(p)) return false;
  for (uint32_t o = 0; o < p.out_c; ++o) {
    if (AccumulatorBound(p, weights, bias, o) >= kAccumulatorLimit) return false;
  }
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
  for (uint32_t o = 0; o < p.out_c; ++o) {
    const uint32_t ob = o / kChannelGroup, l = o % kChannelGroup;
    for (uint32_t k = 0; k < p.in_c; ++k) {
      int32_t g[3][3];
      for (int ky = 0; ky < 3; ++ky) {
        for (int kx = 0; kx < 3; ++kx)
          g[ky][kx] = weights[((size_t{o} * 3 + ky) * 3 + kx) * p.in_c + k];
      }
      int32_t t[kWindow][3];  // G~ g
      for (int a = 0; a < kWindow; ++a) {
        for (int kx = 0; kx < 3; ++kx) {
          int32_t s = 0;
          for (int ky = 0; ky < 3; ++ky) s += kKernelTransform[a][ky] * g[ky][kx];
          t[a][kx] = s;
        }
      }
      for (int a = 0; a < kWindow; ++a) {
        for (int b = 0; b < kWindow; ++b) {
          int32_t s = 0;  // |s| <= 49 * 128
          for (int kx = 0; kx < 3; ++kx) s += t[a][kx] * kKernelTransform[b][kx];
          const size_t at =
              ((size_t{static_cast<uint32_t>(a * kWindow + b)} * plan.out_blocks + ob) * k_padded +
               k) *
                  kChannelGroup +
              l;
          u[at] = static_cast<int16_t>(s);
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
  const Plan& plan = *ctx.args.plan;
  UnitArgs args = ctx.args;
  args.slot = ctx.scratch + slot * ctx.slot_bytes;
  std::memset(args.slot + plan.slot_zero_offset, static_cast<int8_t>(args.params->input_zero_point),
              6 * size_t{args.params->in_c} + 8);
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
    pthreadpool_parallelize_1d(pool, SlotTask, &ctx, threads, 0);
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
    qwinograd::ScratchBytes,     RunPortable,
};

}  // namespace rvgg::kernels
