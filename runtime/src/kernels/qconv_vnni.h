// int8 direct convolution on x86 with VNNI's vpdpbusd (unsigned bytes times
// signed bytes, four products summed into each int32 lane): two QConvFamily
// (runtime/src/kernels/qconv.h) implementations, both exact (bit for bit the
// reference, ref::Conv2DInt8).
//
//   kQConvAvx512Vnni  "int8 avx512vnni": zmm, 16 output channels per vector,
//                     tiles of up to 8 pixels x 48 channels. Needs AVX-512
//                     F, BW, VL and VNNI (Ice Lake, Zen 4 and later).
//   kQConvAvxVnni     "int8 avxvnni": the VEX form on ymm, 8 channels per
//                     vector, tiles of up to 6 pixels x 16 channels. Needs
//                     AVX2, FMA and AVX-VNNI (Alder Lake, Zen 5 and later).
//
// Both take any groups-1 convolution (any kernel size, stride and padding,
// hence 1x1 layers and fully connected layers run as a 1x1 convolution over
// a 1x1 image) and check the CPU in `applies` (cpuinfo; cpuid for AVX-VNNI,
// which Debian's cpuinfo does not know).
//
// How: `run` splits the output into bands of rows; the thread that takes a
// band copies the input rows it reads into its part of the scratch as
// unsigned bytes (u = q + 128, the sign bit flipped) inside a border of the
// zero point (u = input_zero_point + 128), each pixel's channels padded to a
// multiple of 4. `pack` folds -(input_zero_point + 128) * sum(w) into the bias, so
// every tap, border or not, adds (q - input_zero_point) * w as the contract
// says, and the sums are exact modulo 2^32, hence exact wherever the true
// sum fits int32. Tiles then broadcast 4 bytes of one pixel against a vector
// of 4 bytes for each of `lanes` output channels, straight from the padded
// copy (no im2col), and requantize in registers.
//
// Scratch: one part per thread (slot), each the padded input rows of one
// band; `run` uses as many slots as the pool has threads (1 without a
// pool), so size it with at least that count.
// Packed: int32 bias padded to whole vectors, then the weights per chunk of
// output channels as [kernel_h][kernel_w][channels/4][chunk channels][4].
#ifndef RVGG_RUNTIME_SRC_KERNELS_QCONV_VNNI_H_
#define RVGG_RUNTIME_SRC_KERNELS_QCONV_VNNI_H_

#include <cstddef>
#include <cstdint>

#include "runtime/src/kernels/qconv.h"

namespace rvgg::kernels {

extern const QConvFamily kQConvAvx512Vnni;
extern const QConvFamily kQConvAvxVnni;

namespace vnni {

// One register tile: `pixels` output pixels by `vectors` x `lanes` output
// channels (the ISA file's template arguments), over the whole reduction.
struct TileArgs {
  const uint8_t* const* inputs;  // per pixel: its window's first byte in the padded copy
  int8_t* const* outputs;        // per pixel: its first output channel of this chunk
  const int8_t* weights;         // the chunk's packed weights
  const int32_t* bias;           // the chunk's folded bias, `vectors` x `lanes`
  const float* scale;            // requant_scale of the chunk's first channel
  uint32_t channels;             // valid output channels (at most vectors x lanes)
  uint32_t kernel_h, kernel_w;
  uint32_t channel_bytes;  // channels per padded pixel, a multiple of 4
  size_t row_bytes;        // bytes per padded row
  float lo, hi;            // the clamp, relative to the output zero point
  int32_t zero_point;      // the output zero point
};

using TileFn = void (*)(const TileArgs& args);

// One ISA's tiles: tile(vectors, pixels) for 1 <= vectors <= max_vectors and
// 1 <= pixels <= max_pixels; copy() writes `pixels` pixels of `in_c` int8
// channels as `channel_bytes` unsigned bytes each (q + 128; the bytes past
// in_c are whatever follows in `src`, which may be read up to 16 bytes past
// the last pixel).
struct TileSet {
  uint32_t lanes;
  uint32_t max_vectors;
  uint32_t max_pixels;
  TileFn (*tile)(uint32_t vectors, uint32_t pixels);
  void (*copy)(const int8_t* src, uint8_t* dst, uint32_t pixels, uint32_t in_c,
               uint32_t channel_bytes);
};

// The portable copy() (any in_c), which the ISA versions fall back to.
void CopyPixels(const int8_t* src, uint8_t* dst, uint32_t pixels, uint32_t in_c,
                uint32_t channel_bytes);

// Defined in qconv_avx512vnni.cc and qconv_avxvnni.cc, built with their ISA
// flags: call only where the family's `applies` said yes.
extern const TileSet kAvx512VnniTiles;
extern const TileSet kAvxVnniTiles;

}  // namespace vnni
}  // namespace rvgg::kernels

#endif  // RVGG_RUNTIME_SRC_KERNELS_QCONV_VNNI_H_
