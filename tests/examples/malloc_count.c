/* LD_PRELOAD library for tests: counts calls into glibc's allocator (malloc,
 * calloc, realloc, the aligned forms; operator new reaches malloc) made by a
 * whole program, and writes the count to the file named by
 * RVGG_MALLOC_COUNT_FILE when the program exits. Host glibc builds only. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);

static atomic_ulong g_calls;

void* malloc(size_t n) {
  atomic_fetch_add(&g_calls, 1);
  return __libc_malloc(n);
}

void* calloc(size_t count, size_t n) {
  atomic_fetch_add(&g_calls, 1);
  return __libc_calloc(count, n);
}

void* realloc(void* p, size_t n) {
  atomic_fetch_add(&g_calls, 1);
  return __libc_realloc(p, n);
}

void* memalign(size_t alignment, size_t n) {
  atomic_fetch_add(&g_calls, 1);
  return __libc_memalign(alignment, n);
}

void* aligned_alloc(size_t alignment, size_t n) {
  atomic_fetch_add(&g_calls, 1);
  return __libc_memalign(alignment, n);
}

int posix_memalign(void** out, size_t alignment, size_t n) {
  atomic_fetch_add(&g_calls, 1);
  void* p = __libc_memalign(alignment, n);
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}

__attribute__((destructor)) static void WriteCount(void) {
  const char* path = getenv("RVGG_MALLOC_COUNT_FILE");
  if (path == NULL) return;
  FILE* f = fopen(path, "w");
  if (f == NULL) return;
  fprintf(f, "%lu\n", (unsigned long)atomic_load(&g_calls));
  fclose(f);
}
