// The AVX-VNNI tiles of runtime/src/kernels/qconv_vnni.h, built with
// -mavx2 -mfma -mavxvnni (the VEX encoding: CPUs with AVX-VNNI but without
// AVX-512; and -fno-tree-pre under GCC, as qconv_avx512vnni.cc says). Up to 6 pixels x 2 ymm: 12
// accumulators, 2 weight vectors and a broadcast fit the 16 registers.
#include <immintrin.h>

#include <cstring>

#include "runtime/src/kernels/qconv_vnni.h"
#include "runtime/src/kernels/qconv_vnni_tile.h"

namespace rvgg::kernels::vnni {
namespace {

constexpr uint32_t kLanes = 8;
constexpr uint32_t kMaxVectors = 2;
constexpr uint32_t kMaxPixels = 6;

struct Avx {
  using Int = __m256i;
  static constexpr uint32_t kLanes = 8;
  static Int Load(const void* p) { return _mm256_load_si256(static_cast<const __m256i*>(p)); }
  static Int Broadcast(int32_t x) { return _mm256_set1_epi32(x); }
  static Int DotAdd(Int acc, Int x, Int w) { return _mm256_dpbusd_avx_epi32(acc, x, w); }
};

template <uint32_t kPixels, uint32_t kVectors>
void Tile(const TileArgs& a) {
  __m256i acc[kPixels][kVectors];
  Accumulate<Avx>(a, acc);
  const __m256 lo = _mm256_set1_ps(a.lo);
  const __m256 hi = _mm256_set1_ps(a.hi);
  const __m256i zero_point = _mm256_set1_epi32(a.zero_point);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256 scale[kVectors];
#pragma GCC unroll 2
  for (uint32_t v = 0; v < kVectors; ++v) {
    const int32_t valid = int32_t(a.channels) - int32_t(v * kLanes);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), lane);
    scale[v] = _mm256_maskload_ps(a.scale + v * kLanes, mask);
  }
  const uint32_t width = kVectors * kLanes;
#pragma GCC unroll 6
  for (uint32_t m = 0; m < kPixels; ++m) {
    __m256i q[2];
#pragma GCC unroll 2
    for (uint32_t v = 0; v < kVectors; ++v) {
      __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[m][v]), scale[v]);
      f = _mm256_min_ps(_mm256_max_ps(f, lo), hi);
      // Rounding explicitly to nearest even, whatever MXCSR says.
      f = _mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      q[v] = _mm256_add_epi32(_mm256_cvttps_epi32(f), zero_point);
    }
    if (kVectors == 1) q[1] = q[0];
    // Clamped to [output_min, output_max]: the saturating packs are exact.
    const __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8);
    const __m128i bytes =
        _mm_packs_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
    int8_t* out = a.outputs[m];
    if (a.channels >= width) {
      if (kVectors == 2) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out), bytes);
      } else {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out), bytes);
      }
    } else {
      alignas(16) int8_t staged[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(staged), bytes);
      std::memcpy(out, staged, a.channels);
    }
  }
}

template <uint32_t kVectors, uint32_t... kPixels>
constexpr TileFn kRow[] = {&Tile<kPixels, kVectors>...};

constexpr const TileFn* kTable[kMaxVectors] = {kRow<1, 1, 2, 3, 4, 5, 6>,
                                               kRow<2, 1, 2, 3, 4, 5, 6>};

TileFn GetTile(uint32_t vectors, uint32_t pixels) { return kTable[vectors - 1][pixels - 1]; }

void Copy(const int8_t* src, uint8_t* dst, uint32_t pixels, uint32_t in_c, uint32_t channel_bytes) {
  const __m256i flip = _mm256_set1_epi8(char(0x80));
  uint32_t x = 0;
  if (in_c == channel_bytes) {
    const size_t n = size_t{pixels} * in_c;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_xor_si256(v, flip));
    }
    x = static_cast<uint32_t>(i / in_c);
  } else if (in_c == 3 && channel_bytes == 4) {
    // 8 RGB pixels per step, 4 per 128-bit lane: a lane loads 16 bytes for
    // its 12 (at most 4 past the last pixel) and spreads 3 bytes to 4.
    const __m256i bytes = _mm256_setr_epi8(0, 1, 2, 2, 3, 4, 5, 5, 6, 7, 8, 8, 9, 10, 11, 11, 0, 1,
                                           2, 2, 3, 4, 5, 5, 6, 7, 8, 8, 9, 10, 11, 11);
    for (; x + 8 <= pixels; x += 8) {
      const int8_t* s = src + size_t{x} * 3;
      const __m256i v = _mm256_inserti128_si256(
          _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s))),
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 12)), 1);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + size_t{x} * 4),
                          _mm256_xor_si256(_mm256_shuffle_epi8(v, bytes), flip));
    }
  }
  // The rest (and other channel counts) byte by byte; with in_c ==
  // channel_bytes, from the first whole pixel not yet written.
  CopyPixels(src + size_t{x} * in_c, dst + size_t{x} * channel_bytes, pixels - x, in_c,
             channel_bytes);
}

}  // namespace

const TileSet kAvxVnniTiles = {kLanes, kMaxVectors, kMaxPixels, &GetTile, &Copy};

}  // namespace rvgg::kernels::vnni
