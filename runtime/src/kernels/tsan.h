// Happens-before edges that ThreadSanitizer cannot see by itself: pthreadpool
// (Debian's, uninstrumented) hands tasks to its threads through atomics and
// futexes TSan does not know, so it would report a task's reads of what the
// calling thread wrote before the pass. A pass announces those edges itself:
// HappensBefore(token) before the pass and at the end of each task,
// HappensAfter(token) at the start of each task and after the pass, with any
// address as the token (the pass's context). Without TSan both are empty.
#ifndef RVGG_RUNTIME_SRC_KERNELS_TSAN_H_
#define RVGG_RUNTIME_SRC_KERNELS_TSAN_H_

#if defined(__SANITIZE_THREAD__)
#define RVGG_KERNELS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RVGG_KERNELS_TSAN 1
#endif
#endif

#if RVGG_KERNELS_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace rvgg::kernels {

#if RVGG_KERNELS_TSAN
inline void HappensBefore(void* token) { __tsan_release(token); }
inline void HappensAfter(void* token) { __tsan_acquire(token); }
#else
inline void HappensBefore(void*) {}
inline void HappensAfter(void*) {}
#endif

}  // namespace rvgg::kernels

#endif  // RVGG_RUNTIME_SRC_KERNELS_TSAN_H_
