// The AVX-512 VNNI tiles of runtime/src/kernels/qconv_vnni.h, built with
// -mavx512f -mavx512bw -mavx512vl -mavx512vnni (and -fno-tree-pre under GCC:
// with its partial redundancy elimination GCC 12 keeps the accumulators of
// the larger tiles on the stack). Up to 8 pixels x 3 zmm: 24
// accumulators, 3 weight vectors and a broadcast fit the 32 registers, and
// 48 channels are RepVGG-A0's narrowest layers.
#include <immintrin.h>

// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() (a self-initialized
// variable) as the unmasked forms' passthrough and then warn about it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstring>

#include "runtime/src/kernels/qconv_vnni.h"
#include "runtime/src/kernels/qconv_vnni_tile.h"

namespace rvgg::kernels::vnni {
namespace {

constexpr uint32_t kLanes = 16;
constexpr uint32_t kMaxVectors = 3;
constexpr uint32_t kMaxPixels = 8;

inline __mmask16 LaneMask(uint32_t valid) {
  return valid >= kLanes ? __mmask16(0xFFFF) : __mmask16((1u << valid) - 1);
}

struct Avx512 {
  using Int = __m512i;
  static constexpr uint32_t kLanes = 16;
  static Int Load(const void* p) { return _mm512_load_si512(p); }
  static Int Broadcast(int32_t x) { return _mm512_set1_epi32(x); }
  static Int DotAdd(Int acc, Int x, Int w) { return _mm512_dpbusd_epi32(acc, x, w); }
};

template <uint32_t kPixels, uint32_t kVectors>
void Tile(const TileArgs& a) {
  __m512i acc[kPixels][kVectors];
  Accumulate<Avx512>(a, acc);
  const __m512 lo = _mm512_set1_ps(a.lo);
  const __m512 hi = _mm512_set1_ps(a.hi);
  const __m512i zero_point = _mm512_set1_epi32(a.zero_point);
  __mmask16 mask[kVectors];
  __m512 scale[kVectors];
#pragma GCC unroll 4
  for (uint32_t v = 0; v < kVectors; ++v) {
    mask[v] = LaneMask(a.channels > v * kLanes ? a.channels - v * kLanes : 0);
    scale[v] = _mm512_maskz_loadu_ps(mask[v], a.scale + v * kLanes);
  }
#pragma GCC unroll 8
  for (uint32_t m = 0; m < kPixels; ++m) {
#pragma GCC unroll 4
    for (uint32_t v = 0; v < kVectors; ++v) {
      __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[m][v]), scale[v]);
      f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
      const __m512i q = _mm512_add_epi32(
          _mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zero_point);
      // Clamped to [output_min, output_max]: truncating to bytes is exact.
      _mm512_mask_cvtepi32_storeu_epi8(a.outputs[m] + v * kLanes, mask[v], q);
    }
  }
}

template <uint32_t kVectors, uint32_t... kPixels>
constexpr TileFn kRow[] = {&Tile<kPixels, kVectors>...};

constexpr const TileFn* kTable[kMaxVectors] = {kRow<1, 1, 2, 3, 4, 5, 6, 7, 8>,
                                               kRow<2, 1, 2, 3, 4, 5, 6, 7, 8>,
                                               kRow<3, 1, 2, 3, 4, 5, 6, 7, 8>};

TileFn GetTile(uint32_t vectors, uint32_t pixels) { return kTable[vectors - 1][pixels - 1]; }

void Copy(const int8_t* src, uint8_t* dst, uint32_t pixels, uint32_t in_c, uint32_t channel_bytes) {
  const __m512i flip = _mm512_set1_epi8(char(0x80));
  if (in_c == channel_bytes) {
    const size_t n = size_t{pixels} * in_c;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
      _mm512_storeu_si512(dst + i, _mm512_xor_si512(_mm512_loadu_si512(src + i), flip));
    }
    if (i < n) {
      const __mmask64 mask = _cvtu64_mask64((uint64_t{1} << (n - i)) - 1);
      _mm512_mask_storeu_epi8(dst + i, mask,
                              _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, src + i), flip));
    }
    return;
  }
  uint32_t x = 0;
  if (in_c == 3 && channel_bytes == 4) {
    // 16 RGB pixels (48 bytes) per step: 128-bit lane k gets bytes 12k to
    // 12k + 15 (dwords 3k to 3k + 3), then each pixel's 3 bytes go to 4. The
    // 64-byte load reads at most 16 bytes past the last pixel.
    const __m512i dwords = _mm512_setr_epi32(0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9, 10, 11, 12);
    const __m512i bytes =
        _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 2, 3, 4, 5, 5, 6, 7, 8, 8, 9, 10, 11, 11));
    for (; x + 16 <= pixels; x += 16) {
      __m512i v = _mm512_loadu_si512(src + size_t{x} * 3);
      v = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(dwords, v), bytes);
      _mm512_storeu_si512(dst + size_t{x} * 4, _mm512_xor_si512(v, flip));
    }
  }
  CopyPixels(src + size_t{x} * in_c, dst + size_t{x} * channel_bytes, pixels - x, in_c,
             channel_bytes);
}

}  // namespace

const TileSet kAvx512VnniTiles = {kLanes, kMaxVectors, kMaxPixels, &GetTile, &Copy};

}  // namespace rvgg::kernels::vnni
