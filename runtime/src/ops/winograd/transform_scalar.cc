// Portable transforms: plain floats, for CPUs without a SIMD implementation
// (and as the baseline the SIMD versions are tested against).
#include "runtime/src/ops/winograd/transform_impl.h"

namespace rvgg::winograd {

TransformSet ScalarTransforms(int m) {
  return MakeTransformSet<ScalarVec, ScalarVec, ScalarVec>(m, "scalar");
}

}  // namespace rvgg::winograd
