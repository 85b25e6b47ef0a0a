// Kernel transform U = G g G^T. The three matrices of each F(m, 3) are
// Lavin & Gray's (arXiv:1509.09308) with interpolation points 0, +-1, +-2,
// +-1/2 and infinity, scaled as in ncnn's F(6, 3); the input and output
// transforms in transform_impl.h are the matching B^T and A^T:
//
//   F(2,3)  B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//           A^T = [1 1 1 0; 0 1 -1 -1]
//   F(4,3)  B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
//                  0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//           A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
//   F(6,3)  B^T = [1 0 -21/4 0 21/4 0 -1 0; 0 1 1 -17/4 -17/4 1 1 0;
//                  0 -1 1 17/4 -17/4 -1 1 0; 0 1/2 1/4 -5/2 -5/4 2 1 0;
//                  0 -1/2 1/4 5/2 -5/4 -2 1 0; 0 2 4 -5/2 -5 1/2 1 0;
//                  0 -2 4 5/2 -5 -1/2 1 0; 0 -1 0 21/4 0 -21/4 0 1]
//           A^T = [1 1 1 1 1 1 1 0; 0 1 -1 2 -2 1/2 -1/2 0;
//                  0 1 1 4 4 1/4 1/4 0; 0 1 -1 8 -8 1/8 -1/8 0;
//                  0 1 1 16 16 1/16 1/16 0; 0 1 -1 32 -32 1/32 -1/32 1]
#include "runtime/src/ops/winograd/winograd.h"

namespace rvgg::winograd {
namespace {

const double kG2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

const double kG4[6][3] = {{1.0 / 4, 0, 0},
                          {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                          {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                          {1.0 / 24, 1.0 / 12, 1.0 / 6},
                          {1.0 / 24, -1.0 / 12, 1.0 / 6},
                          {0, 0, 1}};

const double kG6[8][3] = {{1, 0, 0},
                          {-2.0 / 9, -2.0 / 9, -2.0 / 9},
                          {-2.0 / 9, 2.0 / 9, -2.0 / 9},
                          {1.0 / 90, 1.0 / 45, 2.0 / 45},
                          {1.0 / 90, -1.0 / 45, 2.0 / 45},
                          {32.0 / 45, 16.0 / 45, 8.0 / 45},
                          {32.0 / 45, -16.0 / 45, 8.0 / 45},
                          {0, 0, 1}};

const double* Row(int m, int i) {
  switch (m) {
    case 2:
      return kG2[i];
    case 4:
      return kG4[i];
    default:
      return kG6[i];
  }
}

}  // namespace

void TransformWeights(const LayerDesc& d, int m, int a, int b, uint32_t group, float* u) {
  const uint32_t group_in = d.in_c / d.groups, group_out = d.out_c / d.groups;
  const double* ga = Row(m, a);
  const double* gb = Row(m, b);
  double coef[9];
  for (int ky = 0; ky < 3; ++ky) {
    for (int kx = 0; kx < 3; ++kx) coef[ky * 3 + kx] = ga[ky] * gb[kx];
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
