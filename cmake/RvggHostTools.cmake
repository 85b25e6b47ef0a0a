# RVGG_HOST_CONVERT: the rvgg-convert that prepares models for the tests.
#
# Host builds: the converter target of this build (when RVGG_BUILD_CONVERTER).
# Cross builds cannot run their own converter (and never build it), yet the
# PyTorch goldens must run on the target: converted on the host, run by the
# cross rvgg-run under the emulator. The host rvgg-convert comes from, in order:
#   1. the cache variable RVGG_HOST_BIN_DIR (a host build's bin/), or
#   2. the environment variable RVGG_HOST_BIN_DIR at configure time
#      (tools/run-tests.sh points it at build/host/bin after the host workflow), or
#   3. this build itself: an ExternalProject configures the same sources for
#      the host into <build>/host-tools (converter only: no tests, no examples,
#      no XNNPACK - the converter uses the reference kernels) and builds it
#      with the cross build. So `cmake --workflow --preset aarch64` works from
#      a clean clone with nothing else built.
set(RVGG_HOST_CONVERT "")

if(NOT CMAKE_CROSSCOMPILING)
  if(RVGG_BUILD_CONVERTER)
    set(RVGG_HOST_CONVERT "$<TARGET_FILE:rvgg-convert>")
  endif()
  return()
endif()

set(_rvgg_host_bin "${RVGG_HOST_BIN_DIR}")
set(_rvgg_host_bin_from "the cache variable RVGG_HOST_BIN_DIR")
if(NOT _rvgg_host_bin AND DEFINED ENV{RVGG_HOST_BIN_DIR} AND NOT "$ENV{RVGG_HOST_BIN_DIR}" STREQUAL "")
  set(_rvgg_host_bin "$ENV{RVGG_HOST_BIN_DIR}")
  set(_rvgg_host_bin_from "the environment variable RVGG_HOST_BIN_DIR")
endif()

if(_rvgg_host_bin)
  if(NOT EXISTS "${_rvgg_host_bin}/rvgg-convert")
    message(FATAL_ERROR
      "${_rvgg_host_bin_from} is '${_rvgg_host_bin}', which has no rvgg-convert. Build the host tools "
      "first (cmake --workflow --preset host), or clear it (-DRVGG_HOST_BIN_DIR=, unset the environment "
      "variable) and this build makes its own.")
  endif()
  set(RVGG_HOST_CONVERT "${_rvgg_host_bin}/rvgg-convert")
  message(STATUS "Host tools: ${_rvgg_host_bin} (from ${_rvgg_host_bin_from})")
else()
  include(ExternalProject)
  set(_rvgg_host_tools_dir "${PROJECT_BINARY_DIR}/host-tools")
  ExternalProject_Add(rvgg_host_tools
    SOURCE_DIR "${PROJECT_SOURCE_DIR}"
    BINARY_DIR "${_rvgg_host_tools_dir}"
    CMAKE_ARGS
      -DCMAKE_BUILD_TYPE=Release
      -DCMAKE_TOOLCHAIN_FILE=
      -DRVGG_BUILD_CONVERTER=ON
      -DRVGG_BUILD_EXAMPLES=OFF
      -DRVGG_BUILD_TESTS=OFF
      -DRVGG_WITH_XNNPACK=OFF
    BUILD_COMMAND "${CMAKE_COMMAND}" --build . --target rvgg-convert
    INSTALL_COMMAND ""
    # Track source edits: the inner build decides what is out of date.
    BUILD_ALWAYS TRUE
    BUILD_BYPRODUCTS "${_rvgg_host_tools_dir}/bin/rvgg-convert"
    USES_TERMINAL_CONFIGURE TRUE
    USES_TERMINAL_BUILD TRUE)
  set(RVGG_HOST_CONVERT "${_rvgg_host_tools_dir}/bin/rvgg-convert")
  message(STATUS "Host tools: built by this build in ${_rvgg_host_tools_dir}")
endif()
