// Kernel transform U = G_y g G_x^T, from the same points as the data
// transforms (points.h). A stride-2 dimension's G has the even phase's rows
// first (the middle tap alone) and then F(m, 2)'s rows over the outer taps.
#include "runtime/src/ops/winograd/points.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "runtime/src/ops/winograd/winograd.h"

namespace rvgg::winograd {

void KernelRow(uint32_t stride, int m, int j, double row[3]) {
  if (stride == 1) {
    for (int k = 0; k < 3; ++k) row[k] = KernelCoefficient(m + 1, j, 3, k);
    return;
  }
  if (j < m) {
    row[0] = 0.0;
    row[1] = 1.0;
    row[2] = 0.0;
    return;
  }
  row[0] = KernelCoefficient(m, j - m, 2, 0);
  row[1] = 0.0;
  row[2] = KernelCoefficient(m, j - m, 2, 1);
}

void TransformWeights(const LayerDesc& d, uint32_t code, int a, int b, uint32_t group, float* u) {
  const uint32_t group_in = d.in_c / d.groups, group_out = d.out_c / d.groups;
  double gy[3], gx[3];
  KernelRow(d.stride, TileRows(code), a, gy);
  KernelRow(d.stride, TileCols(code), b, gx);
  double coef[9];
  for (int ky = 0; ky < 3; ++ky) {
    for (int kx = 0; kx < 3; ++kx) coef[ky * 3 + kx] = gy[ky] * gx[kx];
  }
  // OHWI: output channel o of this group holds 9 rows of group_in floats.
  const float* w = d.weights + size_t{group} * group_out * 9 * group_in;
  for (uint32_t o = 0; o < group_out; ++o) {
    const float* wo = w + size_t{o} * 9 * group_in;
    float* uo = u + size_t{o} * group_in;
    for (uint32_t i = 0; i < group_in; ++i) {
      double acc = 0.0;
      for (size_t k = 0; k < 9; ++k) acc += coef[k] * wo[k * group_in + i];
      uo[i] = static_cast<float>(acc);
    }
  }
}

}  // namespace rvgg::winograd
