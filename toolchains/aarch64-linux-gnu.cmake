# Cross toolchain: 64-bit ARM (ARMv8-A, NEON) Linux with Debian's
# g++-aarch64-linux-gnu. Target libraries (XNNPACK, pthreadpool, cpuinfo,
# FlatBuffers, doctest, stb) come from Debian's arm64 packages, extracted into
# RVGG_SYSROOT at configure time; programs run under qemu-aarch64.
#   cmake -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake
# or simply: cmake --workflow --preset aarch64
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(RVGG_CROSS_TRIPLET aarch64-linux-gnu)
set(RVGG_CROSS_DEBIAN_ARCH arm64)
set(RVGG_CROSS_QEMU qemu-aarch64)
# Cortex-A53: the baseline ARMv8.0-A core (NEON and FMA; no dot product, no
# fp16 arithmetic), so the tests exercise the kernels every aarch64 part has.
set(RVGG_CROSS_QEMU_CPU_DEFAULT cortex-a53)
set(RVGG_CROSS_ARCH_FLAGS "-march=armv8-a")

include("${CMAKE_CURRENT_LIST_DIR}/rvgg-cross.cmake")
