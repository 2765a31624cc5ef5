// Checking an output path before doing the work that produces it: a long training run
// should not end in "cannot create" because a directory was misspelt.
#pragma once

#include <sys/stat.h>

#include <string>

#include "backprop/error.hpp"

namespace backprop::cli {

// Throws "<path>: cannot create (directory 'D' does not exist)" when the path's directory is
// missing or not a directory. An empty path (flag not given) passes.
inline void check_output_path(const std::string& path) {
  if (path.empty()) return;
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    throw file_error(path, "cannot create (directory '" + dir + "' does not exist)");
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
    throw file_error(path, "is a directory");
}

}  // namespace backprop::cli
