# Helpers shared by every folder's CMakeLists.txt.

# warden_add_library(NAME SOURCES ... PUBLIC ... PRIVATE ...): one library per source folder.
# PUBLIC and PRIVATE together are the folder's allowed dependency list (DESIGN.md: dependencies
# point down only); PUBLIC are those its headers include, PRIVATE those only its sources do.
# scripts/check_layers.py checks every #include "folder/..." against these lists.
function(warden_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE})
endfunction()

# warden_add_test(NAME SOURCES ... DEPS ... LABELS ...): a GoogleTest binary whose tests are
# registered with CTest one by one, carrying LABELS (unit, sandbox, integration, ...).
function(warden_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 30)
endfunction()
