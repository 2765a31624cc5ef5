# Compiler flags. Warnings are a property of our own targets (linked PRIVATE, so neither a
# consumer of the installed package nor the third-party code we build sees them); the
# instruction set and the sanitizers are the whole build's, since library and callers must agree.

if(BACKPROP_NATIVE)
  set(BACKPROP_ARCH native CACHE STRING "-march= value (x86-64-v2, x86-64-v3, native, or empty)" FORCE)
endif()
if(BACKPROP_ARCH)
  add_compile_options(-march=${BACKPROP_ARCH})
  message(STATUS "backprop: compiling for -march=${BACKPROP_ARCH}")
endif()
# Whether the compiler's baseline already enables AVX-512 (native on an AVX-512 machine).
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "")
if(BACKPROP_ARCH)
  set(CMAKE_REQUIRED_FLAGS "-march=${BACKPROP_ARCH}")
endif()
string(MAKE_C_IDENTIFIER "BACKPROP_AVX512_${BACKPROP_ARCH}" avx512_result)  # one cached answer per choice
check_cxx_source_compiles("#ifndef __AVX512F__\n#error no\n#endif\nint main() {}" ${avx512_result})
set(BACKPROP_AVX512_BUILD ${${avx512_result}})
unset(CMAKE_REQUIRED_FLAGS)

# Within a shared library, let GCC inline and bind calls to the library's own functions
# (-fPIC alone assumes any of them may be interposed, which costs the kernels their inlining).
if(BUILD_SHARED_LIBS AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  add_compile_options(-fno-semantic-interposition)
endif()

# Sanitizers for the whole build (.ci/run's second stage, fuzz/run.sh): any report, UB
# included, stops the program, so a test that triggers one fails.
if(BACKPROP_SANITIZE OR BACKPROP_BUILD_FUZZ)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
if(BACKPROP_BUILD_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)  # coverage for libFuzzer, in the library too
endif()

add_library(backprop_warnings INTERFACE)
target_compile_options(backprop_warnings INTERFACE -Wall -Wextra $<$<BOOL:${BACKPROP_WERROR}>:-Werror>)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 warns about its own avx512fintrin.h (_mm512_undefined_* read before being set) as
  # Eigen's AVX-512 packets get inlined into our code; -isystem does not reach warnings raised
  # at the inlining site. A known false positive;
  # only where AVX-512 is on.
  target_compile_options(backprop_warnings INTERFACE
    $<$<BOOL:${BACKPROP_AVX512_BUILD}>:-Wno-maybe-uninitialized>)
endif()
