# backprop_add_library(target export_name output_name sources...): one of the project's
# libraries, shared (with a SONAME) or static as BUILD_SHARED_LIBS says, its public headers
# include/backprop/ (and the generated version.hpp) in the tree and <prefix>/include installed.
function(backprop_add_library target export_name output_name)
  add_library(${target} ${ARGN})
  add_library(backprop::${export_name} ALIAS ${target})
  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${PROJECT_SOURCE_DIR}/src)  # src-internal headers such as io/binary_io.hpp
  # Heap blocks cross the library boundary (a Matrix made here, freed by the caller): both
  # sides must align them alike whatever -march each was compiled with.
  target_compile_definitions(${target} PUBLIC EIGEN_MAX_ALIGN_BYTES=64)
  target_link_libraries(${target} PRIVATE backprop_warnings)
  # 0.x: any minor version may change the ABI, so it is part of the SONAME (libbackprop.so.0.2).
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${output_name} EXPORT_NAME ${export_name}
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
    POSITION_INDEPENDENT_CODE ON)
  if(BUILD_SHARED_LIBS)
    target_link_options(${target} PRIVATE LINKER:-Bsymbolic-functions LINKER:--as-needed)
  endif()
  set_property(GLOBAL APPEND PROPERTY BACKPROP_LIBRARIES ${target})
endfunction()
