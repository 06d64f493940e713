# Small helpers so every component's CMakeLists reads the same way
# (in the spirit of leveldb's leveldb_test() and redpanda's v_cc_library()).

# relais_library(NAME name SRCS ... DEPS ...)
# Builds a static library `relais_<name>` with the alias `relais::<name>`.
function(relais_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(relais_${ARG_NAME} STATIC ${ARG_SRCS})
  add_library(relais::${ARG_NAME} ALIAS relais_${ARG_NAME})
  target_include_directories(relais_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(relais_${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()

# relais_executable(NAME name SRCS ... DEPS ...)
# An executable that lands in build/bin/, with tcmalloc when
# RELAIS_TCMALLOC is on (CMakeLists.txt). --no-as-needed: nothing calls
# tcmalloc by name, and a linker told to drop unused libraries (some
# distributions' default) would drop it.
function(relais_executable)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  if(TARGET PkgConfig::TCMALLOC)
    target_link_libraries(${ARG_NAME} PRIVATE
                          "-Wl,--no-as-needed" PkgConfig::TCMALLOC)
  endif()
endfunction()

# relais_test_code(target)
# A test's own code is compiled for a fast build, not a fast run (-Og, line
# tables only): half the compile time of -O2 -g, which is most of the
# build's time, while the code under test keeps the build type's flags.
function(relais_test_code target)
  target_compile_options(
    ${target} PRIVATE $<$<CONFIG:RelWithDebInfo,Release>:-Og -g1>)
endfunction()

# relais_test_pch(target)
# Every test shares one precompiled header (tests/support/test_pch.h:
# GoogleTest, nlohmann-json, FlatBuffers, spdlog and the standard library),
# built once by relais_test_pch_holder: their parsing was about 10 of the
# 10 to 20 seconds each test's unity source takes to compile. A test
# therefore gets spdlog's compile definitions even if it does not log,
# so that the header and every test are compiled alike.
function(relais_test_pch target)
  if(NOT TARGET relais_test_pch_holder)
    add_library(relais_test_pch_holder OBJECT
                ${PROJECT_SOURCE_DIR}/tests/support/test_pch.cc)
    relais_test_code(relais_test_pch_holder)
    target_link_libraries(relais_test_pch_holder PRIVATE GTest::gtest
                          GTest::gmock nlohmann_json::nlohmann_json
                          flatbuffers::flatbuffers spdlog::spdlog)
    target_precompile_headers(relais_test_pch_holder PRIVATE
                              ${PROJECT_SOURCE_DIR}/tests/support/test_pch.h)
  endif()
  target_precompile_headers(${target} REUSE_FROM relais_test_pch_holder)
endfunction()

# relais_test(NAME name LABEL label SRCS ... DEPS ... [TIMEOUT s] [THREADS])
# A GoogleTest binary registered with ctest under one label
# (unit, integration, fault, fuzz, browser). THREADS: the test runs more
# than one thread of relais's own (in its process or the relaisd and
# adapters it starts); it also gets the label `threads`, and the target
# relais_threaded_tests builds it: the ThreadSanitizer run of tests/run.sh.
function(relais_test)
  cmake_parse_arguments(ARG "THREADS" "NAME;LABEL;TIMEOUT" "SRCS;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  set(labels ${ARG_LABEL})
  if(ARG_THREADS)
    list(APPEND labels threads)
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  relais_test_code(${ARG_NAME})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest_main
                                            GTest::gmock spdlog::spdlog)
  relais_test_pch(${ARG_NAME})
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                                               ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  set_tests_properties(
    ${ARG_NAME}
    PROPERTIES LABELS "${labels}" TIMEOUT ${ARG_TIMEOUT}
               ENVIRONMENT "RELAIS_BIN_DIR=${CMAKE_BINARY_DIR}/bin;RELAIS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(ARG_THREADS)
    add_dependencies(relais_threaded_tests ${ARG_NAME})
  endif()
endfunction()

# relais_mapping_header(folder OUT_VAR)
# Generates "adapters/<folder>/mapping_text.h" (relais::adapters::<folder>::
# kMappingText) from adapters/<folder>/mapping.toml; OUT_VAR gets its path.
function(relais_mapping_header folder out_var)
  set(mapping ${PROJECT_SOURCE_DIR}/adapters/${folder}/mapping.toml)
  set(header ${CMAKE_BINARY_DIR}/generated/adapters/${folder}/mapping_text.h)
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${CMAKE_COMMAND} -DIN=${mapping} -DOUT=${header}
            -DNAME=kMappingText -DNS=relais::adapters::${folder}
            -P ${PROJECT_SOURCE_DIR}/schemas/embed_text.cmake
    DEPENDS ${mapping} ${PROJECT_SOURCE_DIR}/schemas/embed_text.cmake
    VERBATIM)
  set(${out_var} ${header} PARENT_SCOPE)
endfunction()
