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
  # Our warning flags, for our own code only (BUILD_INTERFACE: a static library's private links
  # are exported, and this one must not reach a consumer).
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:backprop_warnings>)
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

# Every .cpp under src/ must be in one library's list: a file added without it would otherwise
# surface only as an undefined reference at link time.
function(backprop_check_sources)
  file(GLOB_RECURSE all RELATIVE ${PROJECT_SOURCE_DIR}/src CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/*.cpp)
  get_property(libraries GLOBAL PROPERTY BACKPROP_LIBRARIES)
  set(listed "")
  foreach(lib IN LISTS libraries)
    get_target_property(dir ${lib} SOURCE_DIR)
    get_target_property(sources ${lib} SOURCES)
    foreach(source IN LISTS sources)
      get_filename_component(path ${source} ABSOLUTE BASE_DIR ${dir})
      file(RELATIVE_PATH path ${PROJECT_SOURCE_DIR}/src ${path})
      list(APPEND listed ${path})
    endforeach()
  endforeach()
  foreach(source IN LISTS all)
    if(NOT source IN_LIST listed)
      message(FATAL_ERROR "src/${source} is in no library's source list (src/CMakeLists.txt or src/web/CMakeLists.txt)")
    endif()
  endforeach()
endfunction()
