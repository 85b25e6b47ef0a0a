# cmake -DSOURCE_DIR=examples/firmware -DBINARY_DIR=... -DPREFIX=... -DGENERATOR=...
#       -DBUILD_TYPE=... [-DEXTRA_ARGS=a|b|c] -P build_consumer.cmake
# Configures and builds a consumer project from scratch against the package
# in PREFIX, the way a firmware build would (EXTRA_ARGS: the toolchain file
# and sysroot of a cross build, '|'-separated).
string(REPLACE "|" ";" extra "${EXTRA_ARGS}")
file(REMOVE_RECURSE "${BINARY_DIR}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${BINARY_DIR}" -G "${GENERATOR}"
          "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}" "-DCMAKE_PREFIX_PATH=${PREFIX}" ${extra}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring ${SOURCE_DIR} against ${PREFIX} failed (${rc})")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BINARY_DIR}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building ${SOURCE_DIR} against ${PREFIX} failed (${rc})")
endif()
