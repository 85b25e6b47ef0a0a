// Portable transforms: plain floats, for CPUs without a SIMD implementation
// (and as the baseline the SIMD versions are tested against).
#include "runtime/src/ops/winograd/transform_impl.h"

namespace rvgg::winograd {

TransformSet ScalarTransforms() { return MakeTransformSet<ScalarVec>("scalar"); }

}  // namespace rvgg::winograd
