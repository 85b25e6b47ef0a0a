// The half of a VNNI register tile (qconv_vnni.h) that both ISA files share:
// seeding the accumulators with the bias and the vpdpbusd loop over the
// whole reduction. The requantization, which differs per ISA, stays in
// qconv_avx512vnni.cc and qconv_avxvnni.cc.
//
// Include only from those files: each instantiates Accumulate with an `Isa`
// type of its own anonymous namespace, so the code is compiled with that
// file's ISA flags and never shared with (or picked by the linker for) the
// other file or the baseline code.
#ifndef RVGG_RUNTIME_SRC_KERNELS_QCONV_VNNI_TILE_H_
#define RVGG_RUNTIME_SRC_KERNELS_QCONV_VNNI_TILE_H_

#include <cstdint>
#include <cstring>

#include "runtime/src/kernels/qconv_vnni.h"

namespace rvgg::kernels::vnni {

// `Isa` provides
//   Int                            the vector of kLanes int32;
//   kLanes                         int32 lanes (output channels) per vector;
//   Load(const void* p)            an aligned vector load;
//   Broadcast(int32_t x)           x in every lane;
//   DotAdd(Int acc, Int x, Int w)  vpdpbusd: acc + 4 products (u8 x by s8 w) per lane.
// Fills acc[m][v] with pixel m's sums for output channels v * kLanes ...
// (the folded bias plus every tap's products). Always inlined, so that the
// accumulators stay in registers in the ISA file's Tile.
template <typename Isa, uint32_t kPixels, uint32_t kVectors>
[[gnu::always_inline]] inline void Accumulate(const TileArgs& a,
                                              typename Isa::Int (&acc)[kPixels][kVectors]) {
  using Int = typename Isa::Int;
  constexpr uint32_t kVectorBytes = Isa::kLanes * 4;
#pragma GCC unroll 4
  for (uint32_t v = 0; v < kVectors; ++v) {
    const Int b = Isa::Load(a.bias + v * Isa::kLanes);
#pragma GCC unroll 8
    for (uint32_t m = 0; m < kPixels; ++m) acc[m][v] = b;
  }
  const uint8_t* in[kPixels];
#pragma GCC unroll 8
  for (uint32_t m = 0; m < kPixels; ++m) in[m] = a.inputs[m];
  const int8_t* w = a.weights;
  const size_t tap_bytes = a.channel_bytes;
  for (uint32_t ky = 0; ky < a.kernel_h; ++ky) {
    for (uint32_t kx = 0; kx < a.kernel_w; ++kx) {
      const size_t tap = ky * a.row_bytes + kx * tap_bytes;
      for (size_t c = tap; c < tap + tap_bytes; c += 4) {
        Int wv[kVectors];
#pragma GCC unroll 4
        for (uint32_t v = 0; v < kVectors; ++v) wv[v] = Isa::Load(w + v * kVectorBytes);
        w += kVectors * kVectorBytes;
#pragma GCC unroll 8
        for (uint32_t m = 0; m < kPixels; ++m) {
          int32_t word;
          std::memcpy(&word, in[m] + c, 4);
          const Int x = Isa::Broadcast(word);
#pragma GCC unroll 4
          for (uint32_t v = 0; v < kVectors; ++v) acc[m][v] = Isa::DotAdd(acc[m][v], x, wv[v]);
        }
      }
    }
  }
}

}  // namespace rvgg::kernels::vnni

#endif  // RVGG_RUNTIME_SRC_KERNELS_QCONV_VNNI_TILE_H_
