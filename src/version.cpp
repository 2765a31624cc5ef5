#include "backprop/version.hpp"

namespace backprop {

const char* library_version() { return BACKPROP_VERSION_STRING; }

}  // namespace backprop
