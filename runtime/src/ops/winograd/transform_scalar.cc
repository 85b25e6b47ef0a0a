// Portable transforms: plain floats, for CPUs without a SIMD implementation
// (and as the baseline the SIMD versions are tested against); and the same
// on fp16 storage, the baseline of the fp16 lines.
#include "runtime/src/ops/winograd/transform_impl.h"

namespace rvgg::winograd {

TransformSet ScalarTransforms() { return MakeTransformSet<ScalarVec>("scalar"); }

TransformSetF16 ScalarF16Transforms() { return MakeTransformSet<ScalarHalfVec>("scalar-f16"); }

}  // namespace rvgg::winograd
