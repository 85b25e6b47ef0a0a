# Cross toolchain: 32-bit ARM (ARMv7-A, hard float, NEON with VFPv4) Linux
# with Debian's g++-arm-linux-gnueabihf. Target libraries come from Debian's
# armhf packages, extracted into RVGG_SYSROOT at configure time; programs run
# under qemu-arm.
#   cmake -B build/armv7 -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake
# or simply: cmake --workflow --preset armv7
#
# Debian's armhf baseline is ARMv7-A with VFPv3-D16 and no NEON; its XNNPACK
# is built for that ABI (hard float, VFP argument passing) and picks its NEON
# kernels at run time through cpuinfo, so it links with code built for
# -mfpu=neon-vfpv4 and needs no flag of its own. rvgg itself targets
# NEON-capable parts (Cortex-A7/A9/A15/A17 and ARMv8 cores in AArch32).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)

set(RVGG_CROSS_TRIPLET arm-linux-gnueabihf)
set(RVGG_CROSS_DEBIAN_ARCH armhf)
set(RVGG_CROSS_QEMU qemu-arm)
# Cortex-A7: ARMv7-A with NEON and VFPv4 (FMA), the smallest core this
# configuration is for.
set(RVGG_CROSS_QEMU_CPU_DEFAULT cortex-a7)
set(RVGG_CROSS_ARCH_FLAGS "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")

include("${CMAKE_CURRENT_LIST_DIR}/rvgg-cross.cmake")
