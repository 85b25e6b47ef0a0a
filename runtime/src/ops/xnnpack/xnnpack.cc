#include "runtime/src/ops/xnnpack/xnnpack.h"

#include <pthread.h>

#include <cstdint>
#include <cstring>

#include "runtime/src/memory.h"
#include "runtime/src/status.h"

namespace rvgg::xnn {
namespace {

// Net bytes XNNPACK holds that were allocated (minus freed) on this thread.
// Blocks know their size (memory.h's header), so frees and reallocations
// need no bookkeeping here; where memory comes from (heap or the pool of the
// model being loaded on this thread) is memory.cc's decision.
thread_local int64_t t_live_bytes = 0;

void* XnnAllocate(void*, size_t size) {
  void* p = AllocateAligned(size, kAlignment);
  if (p != nullptr) t_live_bytes += static_cast<int64_t>(size);
  return p;
}

void* XnnReallocate(void*, void* pointer, size_t size) {
  const size_t old_size = AllocatedSize(pointer);
  void* p = ReallocateAligned(pointer, size);
  if (p != nullptr) t_live_bytes += static_cast<int64_t>(size) - static_cast<int64_t>(old_size);
  return p;
}

void XnnDeallocate(void*, void* pointer) {
  t_live_bytes -= static_cast<int64_t>(AllocatedSize(pointer));
  FreeAligned(pointer);
}

void* XnnAlignedAllocate(void*, size_t alignment, size_t size) {
  void* p = AllocateAligned(size, alignment < kAlignment ? kAlignment : alignment);
  if (p != nullptr) t_live_bytes += static_cast<int64_t>(size);
  return p;
}

const xnn_allocator kAllocator = {
    /*context=*/nullptr, XnnAllocate,        XnnReallocate,
    XnnDeallocate,       XnnAlignedAllocate, XnnDeallocate,
};

pthread_once_t g_once = PTHREAD_ONCE_INIT;
xnn_status g_init_status = xnn_status_uninitialized;

// Whatever XNNPACK allocates for itself at initialization lives as long as
// the process, so it must never land in the pool of the model whose load
// happens to come first: initialize with the heap as the current scope.
void InitializeOnce() {
  AllocationScope process_lifetime(nullptr, 0);
  g_init_status = xnn_initialize(&kAllocator);
}

const char* XnnStatusName(xnn_status s) {
  switch (s) {
    case xnn_status_success:
      return "success";
    case xnn_status_uninitialized:
      return "uninitialized";
    case xnn_status_invalid_parameter:
      return "invalid parameter";
    case xnn_status_invalid_state:
      return "invalid state";
    case xnn_status_unsupported_parameter:
      return "unsupported parameter";
    case xnn_status_unsupported_hardware:
      return "unsupported hardware";
    case xnn_status_out_of_memory:
      return "out of memory";
  }
  return "unknown error";
}

}  // namespace

rvgg_status EnsureInitialized(rvgg_message* message) {
  pthread_once(&g_once, InitializeOnce);
  if (g_init_status == xnn_status_success) return RVGG_STATUS_OK;
  return Fail(message,
              g_init_status == xnn_status_unsupported_hardware ? RVGG_STATUS_UNSUPPORTED
                                                               : RVGG_STATUS_BACKEND_ERROR,
              "XNNPACK failed to initialize: %s", XnnStatusName(g_init_status));
}

int64_t LiveBytesOnThisThread() { return t_live_bytes; }

rvgg_status Check(xnn_status status, const LayerDesc& desc, const char* call,
                  rvgg_message* message) {
  if (status == xnn_status_success) return RVGG_STATUS_OK;
  return Fail(
      message,
      status == xnn_status_out_of_memory ? RVGG_STATUS_OUT_OF_MEMORY : RVGG_STATUS_BACKEND_ERROR,
      "layer %u (%s '%.80s'): %s failed: %s", desc.index, desc.label(), desc.name, call,
      XnnStatusName(status));
}

OperatorSequence::~OperatorSequence() {
  for (int i = 0; i < count_; ++i) xnn_delete_operator(operators_[i]);
}

void OperatorSequence::Adopt(xnn_operator_t* operators, int count) {
  for (int i = 0; i < count; ++i) {
    operators_[i] = operators[i];
    operators[i] = nullptr;
  }
  count_ = count;
}

rvgg_status OperatorSequence::Run() {
  for (int i = 0; i < count_; ++i) {
    if (xnn_run_operator(operators_[i], threadpool_) != xnn_status_success) {
      return RVGG_STATUS_BACKEND_ERROR;
    }
  }
  return RVGG_STATUS_OK;
}

SequenceBuilder::~SequenceBuilder() {
  for (int i = 0; i < count_; ++i) {
    if (operators_[i] != nullptr) xnn_delete_operator(operators_[i]);
  }
}

rvgg_status SequenceBuilder::Finish(Kernel** kernel, rvgg_message* message, const char* name) {
  const int64_t grown = LiveBytesOnThisThread() - start_bytes_;
  const size_t owned = grown > 0 ? static_cast<size_t>(grown) : 0;
  Kernel* made = nullptr;
  RVGG_RETURN_IF_ERROR(
      MakeKernel<OperatorSequence>(desc_, &made, message, threadpool_, owned, name));
  static_cast<OperatorSequence*>(made)->Adopt(operators_, count_);
  count_ = 0;
  *kernel = made;
  return RVGG_STATUS_OK;
}

}  // namespace rvgg::xnn
