# libzip and nlohmann_json for the checkpoint readers and their tests, found
# once and made global so that any directory can link libzip::zip and
# nlohmann_json::nlohmann_json. Safe to include more than once.

if(NOT TARGET libzip::zip)
  # Debian 12's libzip-dev ships a CMake package that refuses to load unless
  # the zipcmp, zipmerge and ziptool programs (separate packages) are
  # installed; fall back to pkg-config for the library alone in that case.
  find_program(RVGG_ZIPCMP_PROGRAM zipcmp)
  find_program(RVGG_ZIPMERGE_PROGRAM zipmerge)
  find_program(RVGG_ZIPTOOL_PROGRAM ziptool)
  mark_as_advanced(RVGG_ZIPCMP_PROGRAM RVGG_ZIPMERGE_PROGRAM RVGG_ZIPTOOL_PROGRAM)
  if(RVGG_ZIPCMP_PROGRAM AND RVGG_ZIPMERGE_PROGRAM AND RVGG_ZIPTOOL_PROGRAM)
    find_package(libzip REQUIRED)
    set_target_properties(libzip::zip PROPERTIES IMPORTED_GLOBAL TRUE)
  else()
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(RVGG_LIBZIP REQUIRED IMPORTED_TARGET GLOBAL libzip)
    add_library(libzip::zip ALIAS PkgConfig::RVGG_LIBZIP)
  endif()
endif()

if(NOT TARGET nlohmann_json::nlohmann_json)
  find_package(nlohmann_json REQUIRED)
  set_target_properties(nlohmann_json::nlohmann_json PROPERTIES IMPORTED_GLOBAL TRUE)
endif()
