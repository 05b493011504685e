# mdevrun_gtest(TARGET [LABELS l...] [FIXTURES_REQUIRED f...] [TIMEOUT s] [RUN_SERIAL])
#
# gtest_discover_tests() with properties that hold lists. gtest_discover_tests(... PROPERTIES
# LABELS "a;b" ...) flattens the list into words, so the properties pair up wrongly (a test got
# the label "qemu" and no fixture at all, and ran before the guest image existed). Here the
# discovered names come back through TEST_LIST and a second include file sets the properties with
# each list kept whole in a bracket argument. tests/meta/test_properties_test.py guards the result.
include(GoogleTest)

function(mdevrun_gtest target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "RUN_SERIAL" "TIMEOUT" "LABELS;FIXTURES_REQUIRED")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "mdevrun_gtest(${target}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  gtest_discover_tests(${target} DISCOVERY_TIMEOUT 30 TEST_LIST ${target}_TESTS)

  set(props "")
  if(arg_LABELS)
    string(APPEND props " LABELS [==[${arg_LABELS}]==]")
  endif()
  if(arg_FIXTURES_REQUIRED)
    string(APPEND props " FIXTURES_REQUIRED [==[${arg_FIXTURES_REQUIRED}]==]")
  endif()
  if(arg_TIMEOUT)
    string(APPEND props " TIMEOUT ${arg_TIMEOUT}")
  endif()
  if(arg_RUN_SERIAL)
    string(APPEND props " RUN_SERIAL TRUE")
  endif()
  if(props STREQUAL "")
    return()
  endif()
  set(file "${CMAKE_CURRENT_BINARY_DIR}/${target}_properties.cmake")
  file(WRITE "${file}"
       "if(${target}_TESTS)\n  set_tests_properties(\${${target}_TESTS} PROPERTIES${props})\nendif()\n")
  # After gtest_discover_tests' own include file, which defines ${target}_TESTS.
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${file}")
endfunction()
