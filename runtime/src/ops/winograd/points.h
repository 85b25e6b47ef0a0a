// The one-dimensional Winograd (Toom-Cook) transforms every tile shape is
// built from, defined once by their interpolation points and shared by the
// kernel transform (weights.cc, in double) and the data transforms
// (transform_impl.h, unrolled at compile time from the same constants).
//
// A transform of "degree" S has S finite points plus infinity and n = S + 1
// positions. Its finite points are symmetric: pairs +-p for p = 1, 2, 1/2
// (the first S / 2 of them) and 0 when S is odd. With R_p(y) the product of
// (y - q^2) over the other pairs and R(y) the product over all pairs:
//
//   position   B^T row (coefficients of)          G row (k-th tap)
//   0          Q_0(x)  = R(x^2)                   p^k / Q_0(0)   (p = 0)
//   +p, -p     Q_+-p(x) = x^z (x +- p) R_p(x^2)   (+-p)^k / Q_+-p(+-p)
//   infinity   Q_inf(x) = x^z R(x^2)              1 for the last tap, else 0
//
// (z = S mod 2; positions in that order: 0 if present, the pairs, infinity),
// and A^T[i][j] = p_j^i with A^T[i][inf] = 1 only for the last output. Row j
// of B^T is the Lagrange numerator of point j, so G carries its denominator
// Q_j(p_j) (Lavin & Gray, arXiv:1509.09308; the symmetric points and the
// even/odd factorization are ncnn's). These give:
//   F(m, 3), stride 1:  degree m + 1 (m = 2: points 0, +-1; m = 4: 0, +-1, +-2;
//                       m = 6: 0, +-1, +-2, +-1/2; odd m drop the 0)
//   F(m, 2):            degree m (the odd input phase of a stride-2 layer)
#ifndef RVGG_RUNTIME_SRC_OPS_WINOGRAD_POINTS_H_
#define RVGG_RUNTIME_SRC_OPS_WINOGRAD_POINTS_H_

namespace rvgg::winograd {

// Degrees in use: F(2..6, 3) are 3..7, F(2..7, 2) are 2..7.
constexpr int kMinDegree = 2;
constexpr int kMaxDegree = 7;
constexpr double kPairPoint[3] = {1.0, 2.0, 0.5};

// Polynomial in y = x^2, lowest coefficient first; monic.
struct EvenPoly {
  int degree;
  double c[4];
};

// Product of (y - q^2) over the first `pairs` pair points except `skip`
// (-1: none).
constexpr EvenPoly PairProduct(int pairs, int skip) {
  EvenPoly r{0, {1.0, 0.0, 0.0, 0.0}};
  for (int q = 0; q < pairs; ++q) {
    if (q == skip) continue;
    const double q2 = kPairPoint[q] * kPairPoint[q];
    for (int k = r.degree + 1; k > 0; --k) r.c[k] = r.c[k - 1] - q2 * r.c[k];
    r.c[0] = -q2 * r.c[0];
    ++r.degree;
  }
  return r;
}

constexpr double Evaluate(const EvenPoly& r, double y) {
  double v = 0.0;
  for (int k = r.degree; k >= 0; --k) v = v * y + r.c[k];
  return v;
}

constexpr double Power(double x, int k) {
  double v = 1.0;
  for (int i = 0; i < k; ++i) v *= x;
  return v;
}

// The finite point at position `j` of a degree-S transform (j < S).
constexpr double PointAt(int degree, int j) {
  const int z = degree % 2;
  if (z == 1 && j == 0) return 0.0;
  const int pair = (j - z) / 2;
  return (j - z) % 2 == 0 ? kPairPoint[pair] : -kPairPoint[pair];
}

// G row of position j (j <= S; S is infinity) for a kernel of `taps` taps.
constexpr double KernelCoefficient(int degree, int j, int taps, int k) {
  if (j == degree) return k == taps - 1 ? 1.0 : 0.0;
  const int z = degree % 2, pairs = degree / 2;
  const double p = PointAt(degree, j);
  double denominator = 1.0;
  if (z == 1 && j == 0) {
    denominator = Evaluate(PairProduct(pairs, -1), 0.0);
  } else {
    const int pair = (j - z) / 2;
    // Q_p(p) = p^z (p + p) R_p(p^2), the same for -p with p negated.
    denominator = Power(p, z) * (2.0 * p) * Evaluate(PairProduct(pairs, pair), p * p);
  }
  return Power(p, k) / denominator;
}

}  // namespace rvgg::winograd

#endif  // RVGG_RUNTIME_SRC_OPS_WINOGRAD_POINTS_H_
