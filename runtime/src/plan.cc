#include "runtime/src/plan.h"

#include "runtime/src/memory.h"

namespace rvgg {

void ArenaPlanner::AddInput(uint64_t input_bytes) {
  if (input_bytes > need_[0]) need_[0] = input_bytes;
}

void ArenaPlanner::AddLayer(uint64_t output_bytes, bool in_place, uint64_t scratch_bytes) {
  if (!in_place) current_ = 1 - current_;
  if (output_bytes > need_[current_]) need_[current_] = output_bytes;
  if (scratch_bytes > scratch_) scratch_ = scratch_bytes;
}

// Sizes come from verified models whose activations are bounded by
// kMaxActivationElements, so these sums cannot overflow.
ArenaPlan ArenaPlanner::Finish() const {
  ArenaPlan plan;
  size_t offset = 0;
  for (int i = 0; i < 2; ++i) {
    plan.buffer_offset[i] = offset;
    plan.buffer_bytes[i] = AlignUp(static_cast<size_t>(need_[i]) + kTensorTailBytes, kAlignment);
    offset += plan.buffer_bytes[i];
  }
  plan.scratch_offset = offset;
  plan.scratch_bytes =
      scratch_ == 0 ? 0 : AlignUp(static_cast<size_t>(scratch_) + kTensorTailBytes, kAlignment);
  plan.total_bytes = offset + plan.scratch_bytes;
  return plan;
}

}  // namespace rvgg
