// The AVX-VNNI tiles of runtime/src/kernels/qconv_vnni.h, built with
// -mavx2 -mfma -mavxvnni (the VEX encoding: CPUs with AVX-VNNI but without
// AVX-512; and -fno-tree-pre under GCC, as qconv_avx512vnni.cc says). Up to 6 pixels x 2 ymm: 12
// accumulators, 2 weight vectors and a broadcast fit the 16 registers.
#include <immintrin.h>

#include <cstring>

#include "runtime/src/kernels/qconv_vnni.h"

namespace rvgg::kernels::vnni {
namespace {

constexpr uint32_t kLanes = 8;
constexpr uint32_t kMaxVectors = 2;
constexpr uint32_t kMaxPixels = 6;

template <uint32_t kPixels, uint32_t kVectors>
void Tile(const TileArgs& a) {
  __m256i acc[kPixels][kVectors];
#pragma GCC unroll 2
  for (uint32_t v = 0; v < kVectors; ++v) {
    const __m256i b = _mm256_load_si256(reinterpret_cast<const __m256i*>(a.bias + v * kLanes));
#pragma GCC unroll 6
    for (uint32_t m = 0; m < kPixels; ++m) acc[m][v] = b;
  }
  const uint8_t* in[kPixels];
#pragma GCC unroll 6
  for (uint32_t m = 0; m < kPixels; ++m) in[m] = a.inputs[m];
  const int8_t* w = a.weights;
  const size_t tap_bytes = a.channel_bytes;
  for (uint32_t ky = 0; ky < a.kernel_h; ++ky) {
    for (uint32_t kx = 0; kx < a.kernel_w; ++kx) {
      const size_t tap = ky * a.row_bytes + kx * tap_bytes;
      for (size_t c = tap; c < tap + tap_bytes; c += 4) {
        __m256i wv[kVectors];
#pragma GCC unroll 2
        for (uint32_t v = 0; v < kVectors; ++v) {
          wv[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + v * 32));
        }
        w += kVectors * 32;
#pragma GCC unroll 6
        for (uint32_t m = 0; m < kPixels; ++m) {
          int32_t word;
          std::memcpy(&word, in[m] + c, 4);
          const __m256i x = _mm256_set1_epi32(word);
#pragma GCC unroll 2
          for (uint32_t v = 0; v < kVectors; ++v) {
            acc[m][v] = _mm256_dpbusd_avx_epi32(acc[m][v], x, wv[v]);
          }
        }
      }
    }
  }
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

}  // namespace

const TileSet kAvxVnniTiles = {kLanes, kMaxVectors, kMaxPixels, &GetTile};

}  // namespace rvgg::kernels::vnni
