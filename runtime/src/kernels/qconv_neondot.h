// int8 direct convolution for aarch64 CPUs with the dot product (ARMv8.2
// SDOT, FEAT_DotProd): an exact QConvFamily (qconv.h), bit for bit equal to
// ref::Conv2DInt8.
//
// Built only for aarch64, from a file compiled with
// -march=armv8.2-a+dotprod; `applies` asks cpuinfo for the dot product, so
// the library stays baseline ARMv8.0 and calls nothing here on a CPU
// without it. Any kernel size, stride and padding; groups 1. A fully
// connected layer runs as a 1x1 convolution over a 1x1 image.
//
// Scheme: implicit GEMM. Output pixels are taken in blocks of 12 (the last
// block 1, 4, 8 or 12 wide); a block's im2col rows (K = kernel_h * kernel_w
// * in_c bytes per pixel, padded to a multiple of 4) are gathered once into
// the slot's scratch, interleaved by 4 bytes, and multiplied with every
// block of 8 output channels, 24 accumulators per tile, requantization fused.
// SDOT multiplies signed by signed, so the activations enter as q itself and
// `pack` folds -input_zero_point * sum(w) into the bias; padding pixels read
// as the input zero point and so add nothing. int32 arithmetic wraps, so
// the folded sum equals the contract's accumulator whenever that fits in
// int32 (which verification guarantees): `pack` never refuses.
//
// Packed weights (packed_bytes): per block of 8 output channels 16 int32
// (the 8 folded biases, twice), then per block of 8 output channels and per
// 4 consecutive K bytes, 32 bytes: channel 0's 4 bytes, channel 1's, ...,
// channel 7's; channels past out_c and K bytes past K are zero.
//
// Scratch (scratch_bytes): one part per slot, about 12 * K bytes (twice
// that when in_c is not a multiple of 16). `run` uses as many slots as the
// pool has threads (pthreadpool_get_threads_count), so scratch_bytes must
// have been asked for at least that many; without a pool, one.
#ifndef RVGG_RUNTIME_SRC_KERNELS_QCONV_NEONDOT_H_
#define RVGG_RUNTIME_SRC_KERNELS_QCONV_NEONDOT_H_

#include "runtime/src/kernels/qconv.h"

namespace rvgg::kernels {

// name "int8 sdot". Defined only in aarch64 builds.
extern const QConvFamily kQConvNeonDot;

}  // namespace rvgg::kernels

#endif  // RVGG_RUNTIME_SRC_KERNELS_QCONV_NEONDOT_H_
