# The installed package, what firmware builds consume:
#   include/rvgg/rvgg.h                      the C API (C99)
#   lib/librvgg.a                            the runtime (static)
#   lib/cmake/rvgg/rvggConfig.cmake (+ version, targets)
#                                            find_package(rvgg) -> rvgg::runtime
#   bin/rvgg-run ...                         the device tools (when built)
# `cmake --install build/aarch64 --prefix X` gives the aarch64 package.
include(CMakePackageConfigHelpers)

set(RVGG_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/rvgg")

install(TARGETS rvgg_runtime EXPORT rvggTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(FILES "${PROJECT_SOURCE_DIR}/runtime/include/rvgg/rvgg.h"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/rvgg")
install(EXPORT rvggTargets NAMESPACE rvgg:: DESTINATION "${RVGG_INSTALL_CMAKEDIR}")

# What the config file needs to know about this build.
set(RVGG_PACKAGE_PROCESSOR "${CMAKE_SYSTEM_PROCESSOR}")
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/rvggConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/package/rvggConfig.cmake"
  INSTALL_DESTINATION "${RVGG_INSTALL_CMAKEDIR}")
# 0.x: a minor release may break the API, so only the same minor matches.
# The version file also rejects a package of another pointer size.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/package/rvggConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/package/rvggConfig.cmake"
              "${PROJECT_BINARY_DIR}/package/rvggConfigVersion.cmake"
        DESTINATION "${RVGG_INSTALL_CMAKEDIR}")
