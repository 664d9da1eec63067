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

# warden_add_test(NAME SOURCES ... DEPS ... LABELS ... [ONE_PROCESS]): a GoogleTest binary whose
# tests are registered with CTest one by one, carrying one label (unit, sandbox, integration, ...):
# gtest_discover_tests writes a list of labels out as separate words, so only the first would hold.
# ONE_PROCESS registers the binary as one CTest test instead, for tests that share an expensive
# fixture started once per process (a PostgreSQL server).
function(warden_add_test name)
  cmake_parse_arguments(ARG "ONE_PROCESS" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(ARG_ONE_PROCESS)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  else()
    gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 30)
  endif()
endfunction()

# warden_add_fuzzer(NAME SOURCES ... DEPS ...): a libFuzzer target (fuzz preset only). CTest runs it
# once over its seeds in fuzz/corpus/NAME (test NAME_seeds); bench/fuzz.sh fuzzes it for a while.
function(warden_add_fuzzer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set_property(GLOBAL APPEND PROPERTY WARDEN_FUZZ_TARGETS ${name})
  add_test(NAME ${name}_seeds COMMAND ${name} -runs=0 ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
  set_tests_properties(${name}_seeds PROPERTIES LABELS fuzz)
endfunction()

# A program that runs inside a sandbox as the workload of a test (tests/hostile/): built without
# the sanitizers of an asan or tsan build. Their runtimes need what a sandbox denies (LeakSanitizer
# ptraces the process at exit) and would report on the attacks themselves, not on Warden.
function(warden_unsanitized name)
  if(CMAKE_C_FLAGS MATCHES "-fsanitize=" OR CMAKE_CXX_FLAGS MATCHES "-fsanitize="
     OR CMAKE_EXE_LINKER_FLAGS MATCHES "-fsanitize=")
    target_compile_options(${name} PRIVATE -fno-sanitize=all)
    target_link_options(${name} PRIVATE -fno-sanitize=all)
  endif()
endfunction()
