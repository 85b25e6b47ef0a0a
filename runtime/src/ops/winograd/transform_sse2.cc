// SSE2 transforms: the x86-64 baseline, so always available there.
#include "runtime/src/ops/winograd/transforms.h"

#if defined(__SSE2__)
#include <emmintrin.h>

#include "runtime/src/ops/winograd/transform_impl.h"
#include "runtime/src/ops/winograd/transform_x86.h"

namespace rvgg::winograd {

TransformSet Sse2Transforms() { return MakeTransformSet<Sse2Vec>("sse2"); }

}  // namespace rvgg::winograd

#else

namespace rvgg::winograd {
TransformSet Sse2Transforms() { return {}; }
}  // namespace rvgg::winograd

#endif
