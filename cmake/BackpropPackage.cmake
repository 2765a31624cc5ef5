set(CPACK_PACKAGE_NAME backprop)
