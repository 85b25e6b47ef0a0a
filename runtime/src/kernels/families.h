// The kernel families this build has, for the op registry. Each exists only
// where its ISA can be compiled; RVGG_HAVE_<FAMILY> says which (every
// family still checks the CPU at run time in its `applies`).
#ifndef RVGG_RUNTIME_SRC_KERNELS_FAMILIES_H_
#define RVGG_RUNTIME_SRC_KERNELS_FAMILIES_H_

#if defined(__aarch64__)
#define RVGG_HAVE_QCONV_NEONDOT 1
#define RVGG_HAVE_QCONV_WINOGRAD 1
#include "runtime/src/kernels/qconv_neondot.h"
#include "runtime/src/kernels/qconv_winograd.h"
#else
#define RVGG_HAVE_QCONV_NEONDOT 0
#define RVGG_HAVE_QCONV_WINOGRAD 0
#endif

#if defined(__x86_64__) || defined(__i386__)
#define RVGG_HAVE_QCONV_VNNI 1
#include "runtime/src/kernels/qconv_vnni.h"
#else
#define RVGG_HAVE_QCONV_VNNI 0
#endif

#endif  // RVGG_RUNTIME_SRC_KERNELS_FAMILIES_H_
