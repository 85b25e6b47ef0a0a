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
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LIBS} rvgg_doctest rvgg_doctest_main)
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

# rvgg_add_tool(NAME SOURCES ... [LIBS ...])
# A device tool in examples/ (rvgg-run, rvgg-bench, rvgg-classify, ...): one
# executable on the runtime's C API and the shared CLI helpers, installed to
# bin/. Host and cross builds alike: a tool added this way is built for
# aarch64 and armv7 by their presets and runs there as
#   build/aarch64/emulator build/aarch64/bin/NAME ...
# and in tests as add_test(NAME ... COMMAND NAME ...), which CTest runs
# through CMAKE_CROSSCOMPILING_EMULATOR. RVGG_EMULATOR (a list, empty on the
# host) prefixes it where a script needs the whole command:
#   ${RVGG_EMULATOR} $<TARGET_FILE:NAME>
function(rvgg_add_tool name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE rvgg_cli rvgg_runtime ${ARG_LIBS})
  rvgg_set_warnings(${name})
  install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endfunction()

# rvgg_add_skipped_test(NAME name REASON text [REQUIRED])
# Registers a test this configuration cannot run as a visible skip with the
# reason (tests/skip_test.sh, SKIP_RETURN_CODE 77) instead of leaving it out.
# REQUIRED: a missing prerequisite rather than a configuration where the test
# makes no sense; under CI (the CI environment variable set) it fails.
function(rvgg_add_skipped_test)
  cmake_parse_arguments(ARG "REQUIRED" "NAME;REASON" "" ${ARGN})
  set(_required 0)
  if(ARG_REQUIRED)
    set(_required 1)
  endif()
  add_test(NAME ${ARG_NAME} COMMAND sh "${PROJECT_SOURCE_DIR}/tests/skip_test.sh" ${_required}
                                       "${ARG_REASON}")
  set_tests_properties(${ARG_NAME} PROPERTIES SKIP_RETURN_CODE 77 LABELS skipped)
endfunction()

# rvgg_add_script_test(NAME name COMMAND ... [LABELS ...] [TIMEOUT s])
# A test driven by a script of tests/ that checks its own prerequisites
# (tests/prerequisites.py): exit 77 is a skip.
function(rvgg_add_script_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "COMMAND;LABELS" ${ARGN})
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_COMMAND})
  set_tests_properties(${ARG_NAME} PROPERTIES SKIP_RETURN_CODE 77)
  if(ARG_LABELS)
    set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
  if(ARG_TIMEOUT)
    set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  endif()
endfunction()
