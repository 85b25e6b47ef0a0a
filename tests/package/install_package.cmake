# cmake -DBUILD_DIR=... -DPREFIX=... -DLIBDIR=lib -DINCLUDEDIR=include -P install_package.cmake
# Installs the build into a fresh PREFIX and checks the package's files.
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install ${BUILD_DIR} --prefix ${PREFIX} failed (${rc})")
endif()
foreach(f "${INCLUDEDIR}/rvgg/rvgg.h" "${LIBDIR}/librvgg.a" "${LIBDIR}/cmake/rvgg/rvggConfig.cmake"
          "${LIBDIR}/cmake/rvgg/rvggConfigVersion.cmake" "${LIBDIR}/cmake/rvgg/rvggTargets.cmake")
  if(NOT EXISTS "${PREFIX}/${f}")
    message(FATAL_ERROR "the installed package lacks ${f}")
  endif()
endforeach()
# Nothing private leaks into the package: only the C API header.
file(GLOB_RECURSE headers RELATIVE "${PREFIX}" "${PREFIX}/${INCLUDEDIR}/*")
if(NOT headers STREQUAL "${INCLUDEDIR}/rvgg/rvgg.h")
  message(FATAL_ERROR "the package should ship rvgg/rvgg.h alone, ships: ${headers}")
endif()
message(STATUS "package in ${PREFIX}: OK")
