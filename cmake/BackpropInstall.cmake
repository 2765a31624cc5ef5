# Install rules and the CMake package (the pattern of fmt's CMakeLists.txt: an export set,
# a config file that finds the dependencies, a version file; tested by examples/consumer/).
#   cmake --install build --prefix P
#   find_package(backprop 0.2 CONFIG REQUIRED)   target_link_libraries(app PRIVATE backprop::backprop)
#   pkg-config --cflags --libs backprop
include(CMakePackageConfigHelpers)
set(BACKPROP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/backprop)

# The generated header beside the others, in the tree and installed.
configure_file(${PROJECT_SOURCE_DIR}/include/backprop/version.hpp.in
  ${PROJECT_BINARY_DIR}/include/backprop/version.hpp @ONLY)

# An installed program finds the libraries beside it (P/bin/../lib) wherever P is; the
# Debian package, installed in /usr, passes -DCMAKE_INSTALL_RPATH= (no RPATH in a package).
if(NOT DEFINED CMAKE_INSTALL_RPATH)
  file(RELATIVE_PATH bin_to_lib /${CMAKE_INSTALL_BINDIR} /${CMAKE_INSTALL_LIBDIR})
  set_target_properties(backprop PROPERTIES INSTALL_RPATH "$ORIGIN/${bin_to_lib}")
endif()

install(TARGETS backprop_core backprop_io backprop_lib EXPORT backprop-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS backprop_web EXPORT backprop-web-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS backprop RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/backprop DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/include/backprop/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/backprop)

# core + io and web are two export sets, so that a consumer of the library alone needs no
# nlohmann-json: backprop-config.cmake loads the web targets when asked (COMPONENTS web) or
# when nlohmann-json is there anyway.
install(EXPORT backprop-targets NAMESPACE backprop:: DESTINATION ${BACKPROP_CMAKE_DIR})
install(EXPORT backprop-web-targets NAMESPACE backprop:: DESTINATION ${BACKPROP_CMAKE_DIR})
# A static build's private dependencies, for the config file and the .pc files' private fields
# (`pkg-config --static`); a shared build leaves them empty, so its consumers need none of them.
get_target_property(io_definitions backprop_io COMPILE_DEFINITIONS)
set(BACKPROP_STATIC_ONNX OFF)
if(BACKPROP_HAVE_ONNX IN_LIST io_definitions)
  set(BACKPROP_STATIC_ONNX ON)
endif()
set(BACKPROP_STATIC OFF)
set(pc_requires_private "")
set(pc_libs_private "")
set(pc_web_libs_private "")
if(NOT BUILD_SHARED_LIBS)
  set(BACKPROP_STATIC ON)
  set(pc_requires_private "Requires.private: zlib libcrypto libzip libpng")
  set(pc_libs_private "Libs.private: ${BACKPROP_CSV_LIBRARY}")
  if(BACKPROP_STATIC_ONNX)
    string(APPEND pc_libs_private " -lonnx -lonnx_proto -lprotobuf")
  endif()
  if(BACKPROP_OPENBLAS_LIBRARY)
    string(APPEND pc_libs_private " ${BACKPROP_OPENBLAS_LIBRARY}")
  endif()
  set(pc_web_libs_private "Libs.private: -lsimdjson -pthread")
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/backprop-config.cmake.in
  ${PROJECT_BINARY_DIR}/backprop-config.cmake INSTALL_DESTINATION ${BACKPROP_CMAKE_DIR})
# 0.x: a minor version may break the API, so 0.2 accepts 0.2.* only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/backprop-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/backprop-config.cmake ${PROJECT_BINARY_DIR}/backprop-config-version.cmake
  DESTINATION ${BACKPROP_CMAKE_DIR})

# pkg-config files, relocatable: prefix is found from the .pc file's own place.
file(RELATIVE_PATH pc_to_prefix /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" pc_to_prefix "${pc_to_prefix}")
foreach(pc backprop backprop-web)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

if(TARGET backprop_man)
  install(DIRECTORY ${PROJECT_BINARY_DIR}/man/man1 DESTINATION ${CMAKE_INSTALL_MANDIR})
  install(FILES ${PROJECT_BINARY_DIR}/man/completion/backprop
    DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
endif()

install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
if(EXISTS ${PROJECT_SOURCE_DIR}/LICENSE)
  install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
endif()
