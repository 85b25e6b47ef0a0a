// Activation memory plan. A plain chain needs only two activation buffers
// used in turn (ping-pong) plus a small scratch area for layers such as
// squeeze-excite; every size is known from the verified model alone.
#ifndef RVGG_RUNTIME_SRC_PLAN_H_
#define RVGG_RUNTIME_SRC_PLAN_H_

#include <cstddef>
#include <cstdint>

namespace rvgg {

// Bytes readable past the end of every activation buffer: XNNPACK kernels
// may read (never use) up to XNN_EXTRA_BYTES beyond a tensor.
constexpr size_t kTensorTailBytes = 16;

struct ArenaPlan {
  size_t buffer_offset[2] = {0, 0};
  size_t buffer_bytes[2] = {0, 0};
  size_t scratch_offset = 0;
  size_t scratch_bytes = 0;
  size_t total_bytes = 0;
};

// Fed with the input and then each layer in order; the activation of layer i
// lives in buffer current() after AddLayer(i).
class ArenaPlanner {
 public:
  // The network input occupies buffer 0.
  void AddInput(uint64_t input_bytes);

  // `in_place` layers (squeeze-excite) overwrite their input buffer.
  void AddLayer(uint64_t output_bytes, bool in_place, uint64_t scratch_bytes);
  int current() const { return current_; }
  ArenaPlan Finish() const;

 private:
  uint64_t need_[2] = {0, 0};
  uint64_t scratch_ = 0;
  int current_ = 0;
};

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_PLAN_H_
