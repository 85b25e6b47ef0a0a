#include "runtime/src/ops/xnnpack/xnnpack.h"

#include <pthread.h>

#include <cstdint>
#include <cstring>

#include "runtime/src/memory.h"
#include "runtime/src/status.h"

namespace rvgg::xnn {
namespace {

// XNNPACK reallocates blocks (indirection buffers) and frees them without
// telling the size, so every block carries a header in front of it. The
// header is as large as the alignment, keeping the user pointer aligned.
struct BlockHeader {
  size_t size;
  size_t offset;  // from the start of the allocation to the user pointer
};

// Net bytes XNNPACK holds that were allocated (minus freed) on this thread.
thread_local int64_t t_live_bytes = 0;

void* AllocateBlock(size_t size, size_t alignment) {
  if (alignment < kAlignment) alignment = kAlignment;
  size_t total = 0;
  if (!CheckedAdd(size, alignment, &total)) return nullptr;
  auto* base = static_cast<uint8_t*>(AllocateAligned(total, alignment));
  if (base == nullptr) return nullptr;
  uint8_t* user = base + alignment;
  auto* header = reinterpret_cast<BlockHeader*>(user) - 1;
  header->size = size;
  header->offset = alignment;
  t_live_bytes += static_cast<int64_t>(size);
  return user;
}

BlockHeader* HeaderOf(void* pointer) { return reinterpret_cast<BlockHeader*>(pointer) - 1; }

void FreeBlock(void* pointer) {
  if (pointer == nullptr) return;
  BlockHeader* header = HeaderOf(pointer);
  t_live_bytes -= static_cast<int64_t>(header->size);
  FreeAligned(static_cast<uint8_t*>(pointer) - header->offset);
}

void* XnnAllocate(void*, size_t size) { return AllocateBlock(size, kAlignment); }

void* XnnReallocate(void*, void* pointer, size_t size) {
  if (pointer == nullptr) return AllocateBlock(size, kAlignment);
  BlockHeader* header = HeaderOf(pointer);
  void* fresh = AllocateBlock(size, header->offset);
  if (fresh == nullptr) return nullptr;
  std::memcpy(fresh, pointer, header->size < size ? header->size : size);
  FreeBlock(pointer);
  return fresh;
}

void XnnDeallocate(void*, void* pointer) { FreeBlock(pointer); }

void* XnnAlignedAllocate(void*, size_t alignment, size_t size) {
  return AllocateBlock(size, alignment);
}

const xnn_allocator kAllocator = {
    /*context=*/nullptr, XnnAllocate, XnnReallocate, XnnDeallocate, XnnAlignedAllocate,
    XnnDeallocate,
};

pthread_once_t g_once = PTHREAD_ONCE_INIT;
xnn_status g_init_status = xnn_status_uninitialized;

void InitializeOnce() { g_init_status = xnn_initialize(&kAllocator); }

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
  return Fail(message,
              status == xnn_status_out_of_memory ? RVGG_STATUS_OUT_OF_MEMORY
                                                 : RVGG_STATUS_BACKEND_ERROR,
              "layer %u (%s '%.80s'): %s failed: %s", desc.index, desc.kind_name(), desc.name,
              call, XnnStatusName(status));
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
  RVGG_RETURN_IF_ERROR(MakeKernel<OperatorSequence>(desc_, &made, message, threadpool_, owned, name));
  static_cast<OperatorSequence*>(made)->Adopt(operators_, count_);
  count_ = 0;
  *kernel = made;
  return RVGG_STATUS_OK;
}

}  // namespace rvgg::xnn
