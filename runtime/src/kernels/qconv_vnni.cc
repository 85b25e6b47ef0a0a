// The VNNI families' baseline half: CPU checks, weight packing, the padded
// unsigned copy of the input and the threading. Built for baseline x86-64;
// the tiles live in the per-ISA files.
#include "runtime/src/kernels/qconv_vnni.h"

#include <cpuid.h>
#include <cpuinfo.h>
#include <pthreadpool.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "runtime/src/kernels/tsan.h"
#include "runtime/src/memory.h"

namespace rvgg::kernels {
namespace {

using vnni::TileArgs;
using vnni::TileFn;
using vnni::TileSet;

// Bounds that keep every size below in 64 bits with room to spare.
constexpr uint64_t kMaxDimension = 1u << 16;
constexpr uint64_t kMaxBytes = uint64_t{1} << 40;

// Where everything is, derived from the parameters alone (pack and run agree).
struct Layout {
  uint32_t lanes = 0;
  uint32_t chunk_channels = 0;  // max_vectors x lanes
  uint32_t chunks = 0;
  uint32_t channel_bytes = 0;  // in_c rounded up to 4
  uint32_t padded_h = 0, padded_w = 0;
  size_t row_bytes = 0;
  size_t steps = 0;        // kernel_h x kernel_w x channel_bytes / 4
  size_t bias_bytes = 0;   // out_c rounded up to whole vectors, as int32, 64-byte aligned
  size_t chunk_bytes = 0;  // packed weights of one full chunk
  size_t packed_bytes = 0;
  // Work is split into bands of output rows; each slot copies the padded
  // input rows of its current band into its part of the scratch.
  uint32_t band_rows = 0;
  uint32_t bands = 0;
  size_t slot_bytes = 0;
};

// About this many output pixels per band: the band's rows stay in cache
// between the copy and the tiles, and the rows copied twice (kernel_h -
// stride per band) stay few.
constexpr uint32_t kBandPixels = 512;

bool SaneParams(const QConvParams& p) {
  const uint32_t dims[] = {p.in_h,  p.in_w,     p.in_c,     p.out_h, p.out_w,
                           p.out_c, p.kernel_h, p.kernel_w, p.stride};
  for (uint32_t d : dims) {
    if (d == 0 || d > kMaxDimension) return false;
  }
  if (p.padding > kMaxDimension) return false;
  if (uint64_t{p.out_h} * p.out_w > (uint64_t{1} << 31)) return false;
  if (p.input_zero_point < -128 || p.input_zero_point > 127) return false;
  if (p.output_zero_point < -128 || p.output_zero_point > 127) return false;
  // requant_scale is not needed to decide (the runtime plans before it
  // computes the scales); run reads it.
  return !(p.output_min < -128 || p.output_max > 127 || p.output_min > p.output_max);
}

bool MakeLayout(const QConvParams& p, const TileSet& tiles, Layout* l) {
  if (!SaneParams(p)) return false;
  l->lanes = tiles.lanes;
  l->chunk_channels = tiles.max_vectors * tiles.lanes;
  l->chunks = (p.out_c + l->chunk_channels - 1) / l->chunk_channels;
  l->channel_bytes = (p.in_c + 3) & ~3u;
  const uint64_t padded_h = uint64_t{p.out_h - 1} * p.stride + p.kernel_h;
  const uint64_t padded_w = uint64_t{p.out_w - 1} * p.stride + p.kernel_w;
  const uint64_t row_bytes = padded_w * l->channel_bytes;
  // Bands of about kBandPixels pixels, then as equal as the rows allow.
  const uint32_t wanted_rows = std::min(p.out_h, (kBandPixels + p.out_w - 1) / p.out_w);
  const uint32_t bands = (p.out_h + wanted_rows - 1) / wanted_rows;
  const uint32_t band_rows = (p.out_h + bands - 1) / bands;
  const uint64_t band_input_rows = uint64_t{band_rows - 1} * p.stride + p.kernel_h;
  const uint64_t scratch = band_input_rows * row_bytes;
  const uint64_t steps = uint64_t{p.kernel_h} * p.kernel_w * (l->channel_bytes / 4);
  const uint64_t vectors = (p.out_c + l->lanes - 1) / l->lanes;
  const uint64_t bias_bytes = AlignUp(vectors * l->lanes * 4, kAlignment);
  const uint64_t chunk_bytes = steps * l->chunk_channels * 4;
  const uint64_t weight_bytes = steps * vectors * l->lanes * 4;
  if (padded_h > kMaxBytes || padded_w > kMaxBytes || scratch > kMaxBytes || steps > kMaxBytes ||
      weight_bytes > kMaxBytes) {
    return false;
  }
  l->padded_h = static_cast<uint32_t>(padded_h);
  l->padded_w = static_cast<uint32_t>(padded_w);
  if (l->padded_h != padded_h || l->padded_w != padded_w) return false;
  l->row_bytes = row_bytes;
  l->steps = steps;
  l->bias_bytes = bias_bytes;
  l->chunk_bytes = chunk_bytes;
  l->packed_bytes = bias_bytes + AlignUp(weight_bytes, kAlignment);
  l->band_rows = band_rows;
  l->bands = (p.out_h + band_rows - 1) / band_rows;  // `bands` or fewer
  l->slot_bytes = AlignUp(scratch, kAlignment);
  return true;
}

bool CpuHasAvx512Vnni() {
  // cpuinfo's AVX-512 answers include the OS's XSAVE support for the zmm state.
  static const bool has = cpuinfo_initialize() && cpuinfo_has_x86_avx512f() &&
                          cpuinfo_has_x86_avx512bw() && cpuinfo_has_x86_avx512vl() &&
                          cpuinfo_has_x86_avx512vnni();
  return has;
}

bool CpuHasAvxVnni() {
  // Debian's cpuinfo predates AVX-VNNI: CPUID.(EAX=7,ECX=1):EAX bit 4. Its
  // AVX2 answer includes the OS's support for the ymm state.
  static const bool has = [] {
    if (!cpuinfo_initialize() || !cpuinfo_has_x86_avx2() || !cpuinfo_has_x86_fma3()) return false;
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) == 0) return false;
    return (eax & (1u << 4)) != 0;
  }();
  return has;
}

size_t PackedBytes(const QConvParams& p, const TileSet& tiles) {
  Layout l;
  return MakeLayout(p, tiles, &l) ? l.packed_bytes : 0;
}

size_t ScratchBytes(const QConvParams& p, const TileSet& tiles, uint32_t threads) {
  Layout l;
  size_t bytes = 0;
  if (!MakeLayout(p, tiles, &l)) return 0;
  return CheckedMul(l.slot_bytes, std::max<uint32_t>(1, threads), &bytes) ? bytes : SIZE_MAX;
}

bool Pack(const QConvParams& p, const TileSet& tiles, const int8_t* weights, const int32_t* bias,
          void* packed) {
  Layout l;
  if (!MakeLayout(p, tiles, &l)) return false;
  auto* bias_out = static_cast<int32_t*>(packed);
  std::memset(packed, 0, l.bias_bytes);
  // Each tap adds (q + 128) * w; the border holds input_zero_point + 128.
  const int64_t shift = int64_t{p.input_zero_point} + 128;
  const size_t taps = size_t{p.kernel_h} * p.kernel_w * p.in_c;
  for (uint32_t o = 0; o < p.out_c; ++o) {
    int64_t sum = 0;
    for (size_t i = 0; i < taps; ++i) sum += weights[o * taps + i];
    const int64_t folded = int64_t{bias != nullptr ? bias[o] : 0} - shift * sum;
    // Sums wrap modulo 2^32 in the tiles; only the final one must fit.
    bias_out[o] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(folded)));
  }
  int8_t* out = static_cast<int8_t*>(packed) + l.bias_bytes;
  const uint32_t groups = l.channel_bytes / 4;
  for (uint32_t chunk = 0; chunk < l.chunks; ++chunk) {
    const uint32_t first = chunk * l.chunk_channels;
    const uint32_t rest = p.out_c - first;
    const uint32_t width = std::min(l.chunk_channels, (rest + l.lanes - 1) / l.lanes * l.lanes);
    int8_t* dst = out + size_t{chunk} * l.chunk_bytes;
    for (uint32_t ky = 0; ky < p.kernel_h; ++ky) {
      for (uint32_t kx = 0; kx < p.kernel_w; ++kx) {
        for (uint32_t g = 0; g < groups; ++g) {
          for (uint32_t lane = 0; lane < width; ++lane) {
            const uint32_t o = first + lane;
            for (uint32_t b = 0; b < 4; ++b) {
              const uint32_t c = g * 4 + b;
              *dst++ = o < p.out_c && c < p.in_c
                           ? weights[((size_t{o} * p.kernel_h + ky) * p.kernel_w + kx) * p.in_c + c]
                           : 0;
            }
          }
        }
      }
    }
  }
  return true;
}

struct RunContext {
  const QConvParams* params;
  const TileSet* tiles;
  Layout layout;
  const int32_t* bias;
  const int8_t* weights;
  const int8_t* input;
  int8_t* output;
  uint8_t* scratch;
  uint8_t border;  // input_zero_point + 128
  uint32_t blocks;
  std::atomic<uint32_t> next_block{0};
};

// Padded row r (of padded_h) into `dst`: the image row r - padding as
// unsigned bytes inside the border, each pixel's channels rounded up to 4
// (the extra bytes come from the next pixel or the 16 readable bytes past
// the input: their weights are zero).
void CopyRow(const RunContext& ctx, uint32_t r, uint8_t* dst) {
  const QConvParams& p = *ctx.params;
  const Layout& l = ctx.layout;
  const int64_t iy = int64_t{r} - p.padding;
  if (iy < 0 || iy >= p.in_h) {
    std::memset(dst, ctx.border, l.row_bytes);
    return;
  }
  const uint32_t left = std::min<uint32_t>(p.padding, l.padded_w);
  const uint32_t cols =
      p.padding >= l.padded_w ? 0 : std::min<uint32_t>(p.in_w, l.padded_w - p.padding);
  const uint32_t cb = l.channel_bytes;
  std::memset(dst, ctx.border, size_t{left} * cb);
  ctx.tiles->copy(ctx.input + size_t(iy) * p.in_w * p.in_c, dst + size_t{left} * cb, cols, p.in_c,
                  cb);
  std::memset(dst + size_t{left + cols} * cb, ctx.border, (size_t{l.padded_w} - left - cols) * cb);
}

// One block: the output rows of one band times one chunk of output channels,
// from the band's padded rows in the slot's scratch (copied there unless the
// slot's previous block had the same band).
void RunBlock(const RunContext& ctx, uint32_t block, uint8_t* rows, uint32_t* copied_band) {
  const QConvParams& p = *ctx.params;
  const Layout& l = ctx.layout;
  const uint32_t band = block / l.chunks;
  const uint32_t chunk = block % l.chunks;
  const uint32_t first_row = band * l.band_rows;
  const uint32_t band_rows = std::min(l.band_rows, p.out_h - first_row);
  if (*copied_band != band) {
    const uint32_t first_input_row = first_row * p.stride;
    const uint32_t input_rows = (band_rows - 1) * p.stride + p.kernel_h;
    for (uint32_t r = 0; r < input_rows; ++r) {
      CopyRow(ctx, first_input_row + r, rows + size_t{r} * l.row_bytes);
    }
    *copied_band = band;
  }

  const uint32_t first_channel = chunk * l.chunk_channels;
  const uint32_t channels = std::min(l.chunk_channels, p.out_c - first_channel);
  const uint8_t* inputs[16];
  int8_t* outputs[16];
  TileArgs args;
  args.inputs = inputs;
  args.outputs = outputs;
  args.weights = ctx.weights + size_t{chunk} * l.chunk_bytes;
  args.bias = ctx.bias + first_channel;
  args.scale = p.requant_scale + first_channel;
  args.channels = channels;
  args.kernel_h = p.kernel_h;
  args.kernel_w = p.kernel_w;
  args.channel_bytes = l.channel_bytes;
  args.row_bytes = l.row_bytes;
  args.lo = static_cast<float>(p.output_min - p.output_zero_point);
  args.hi = static_cast<float>(p.output_max - p.output_zero_point);
  args.zero_point = p.output_zero_point;
  const uint32_t vectors = (channels + l.lanes - 1) / l.lanes;
  const size_t step_bytes = size_t{p.stride} * l.channel_bytes;
  const size_t stride_row_bytes = size_t{p.stride} * l.row_bytes;

  // The band's pixels in tiles of as equal sizes as max_pixels allows.
  const uint32_t max_pixels = ctx.tiles->max_pixels;
  const uint32_t pixels = band_rows * p.out_w;
  const uint32_t tiles = (pixels + max_pixels - 1) / max_pixels;
  const uint32_t small = pixels / tiles, big_tiles = pixels % tiles;
  uint32_t oy = 0, ox = 0;
  int8_t* out = ctx.output + (size_t{first_row} * p.out_w) * p.out_c + first_channel;
  for (uint32_t t = 0; t < tiles; ++t) {
    const uint32_t count = t < big_tiles ? small + 1 : small;
    for (uint32_t m = 0; m < count; ++m) {
      inputs[m] = rows + oy * stride_row_bytes + ox * step_bytes;
      outputs[m] = out;
      out += p.out_c;
      if (++ox == p.out_w) {
        ox = 0;
        ++oy;
      }
    }
    ctx.tiles->tile(vectors, count)(args);
  }
}

void RunSlot(void* context, size_t slot) {
  auto& ctx = *static_cast<RunContext*>(context);
  HappensAfter(&ctx);
  uint8_t* rows = ctx.scratch + slot * ctx.layout.slot_bytes;
  uint32_t copied_band = UINT32_MAX;
  for (;;) {
    const uint32_t block = ctx.next_block.fetch_add(1, std::memory_order_relaxed);
    if (block >= ctx.blocks) break;
    RunBlock(ctx, block, rows, &copied_band);
  }
  HappensBefore(&ctx);
}

uint32_t Slots(pthreadpool_t pool) {
  return pool != nullptr ? std::max<uint32_t>(1, pthreadpool_get_threads_count(pool)) : 1;
}

void Run(const QConvParams& p, const TileSet& tiles, const void* packed, const int8_t* input,
         int8_t* output, void* scratch, pthreadpool_t pool) {
  RunContext ctx;
  if (!MakeLayout(p, tiles, &ctx.layout)) return;
  ctx.params = &p;
  ctx.tiles = &tiles;
  ctx.bias = static_cast<const int32_t*>(packed);
  ctx.weights = static_cast<const int8_t*>(packed) + ctx.layout.bias_bytes;
  ctx.input = input;
  ctx.output = output;
  ctx.scratch = static_cast<uint8_t*>(scratch);
  ctx.border = static_cast<uint8_t>(p.input_zero_point + 128);
  ctx.blocks = ctx.layout.bands * ctx.layout.chunks;
  HappensBefore(&ctx);
  pthreadpool_parallelize_1d(pool, RunSlot, &ctx, Slots(pool), 0);
  HappensAfter(&ctx);
}

// The QConvFamily entry points of one ISA's tiles, on CPUs kCpuHas accepts.
template <const TileSet& kTiles, bool (*kCpuHas)()>
struct FamilyOf {
  static bool Applies(const QConvParams& p) {
    Layout l;
    return kCpuHas() && MakeLayout(p, kTiles, &l);
  }
  static size_t Packed(const QConvParams& p) { return PackedBytes(p, kTiles); }
  static bool PackWeights(const QConvParams& p, const int8_t* w, const int32_t* b, void* packed) {
    return Pack(p, kTiles, w, b, packed);
  }
  static size_t Scratch(const QConvParams& p, uint32_t threads) {
    return ScratchBytes(p, kTiles, threads);
  }
  static void RunTiles(const QConvParams& p, const void* packed, const int8_t* input,
                       int8_t* output, void* scratch, pthreadpool_t pool) {
    Run(p, kTiles, packed, input, output, scratch, pool);
  }
  static constexpr QConvFamily Family(const char* name) {
    return {name, Applies, Packed, PackWeights, Scratch, RunTiles, nullptr};
  }
};

}  // namespace

namespace vnni {

void CopyPixels(const int8_t* src, uint8_t* dst, uint32_t pixels, uint32_t in_c,
                uint32_t channel_bytes) {
  if (channel_bytes == in_c) {
    const size_t n = size_t{pixels} * in_c;
    for (size_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i] ^ 0x80);
    return;
  }
  for (uint32_t x = 0; x < pixels; ++x) {
    for (uint32_t c = 0; c < channel_bytes; c += 4) {
      uint32_t word;
      std::memcpy(&word, src + size_t{x} * in_c + c, 4);
      word ^= 0x80808080u;
      std::memcpy(dst + size_t{x} * channel_bytes + c, &word, 4);
    }
  }
}

}  // namespace vnni

const QConvFamily kQConvAvx512Vnni =
    FamilyOf<vnni::kAvx512VnniTiles, CpuHasAvx512Vnni>::Family("int8 avx512vnni");
const QConvFamily kQConvAvxVnni =
    FamilyOf<vnni::kAvxVnniTiles, CpuHasAvxVnni>::Family("int8 avxvnni");

}  // namespace rvgg::kernels
