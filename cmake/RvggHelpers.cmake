# Small helpers shared by the subdirectories.

# Warnings for project code.
function(rvgg_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()

# rvgg_add_doctest(NAME name SOURCES ... LIBS ... [LABELS ...] [ENVIRONMENT ...] [FIXTURES ...])
# One doctest executable registered with CTest (run through
# CMAKE_CROSSCOMPILING_EMULATOR on cross builds).
function(rvgg_add_doctest)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;LIBS;LABELS;ENVIRONMENT;FIXTURES" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES} "${PROJECT_SOURCE_DIR}/tests/doctest_main.cc")
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LIBS} rvgg_doctest)
  target_include_directories(${ARG_NAME} PRIVATE "${PROJECT_SOURCE_DIR}")
  rvgg_set_warnings(${ARG_NAME})
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  if(ARG_LABELS)
    set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
  if(ARG_ENVIRONMENT)
    set_tests_properties(${ARG_NAME} PROPERTIES ENVIRONMENT "${ARG_ENVIRONMENT}")
  endif()
  if(ARG_FIXTURES)
    set_tests_properties(${ARG_NAME} PROPERTIES FIXTURES_REQUIRED "${ARG_FIXTURES}")
  endif()
endfunction()
