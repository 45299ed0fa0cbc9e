# Helpers shared by every folder's CMakeLists.txt.
#
#   vigil_add_test(name SOURCES a_test.cc ... [LIBS ...] [LABELS unit])
#   vigil_add_benchmark(name SOURCES a_benchmark.cc ... [LIBS ...])
#   vigil_set_warnings(target)
#
# Tests and benchmarks exist only under VIGIL_DEVELOPER_MODE.

function(vigil_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
  if(VIGIL_DEVELOPER_MODE)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(vigil_add_test name)
  if(NOT VIGIL_DEVELOPER_MODE)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} vigil_testing GTest::gtest GTest::gtest_main)
  vigil_set_warnings(${name})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
endfunction()

function(vigil_add_benchmark name)
  if(NOT VIGIL_DEVELOPER_MODE)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} vigil_testing benchmark::benchmark benchmark::benchmark_main)
  vigil_set_warnings(${name})
endfunction()
