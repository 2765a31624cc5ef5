// Checking an output path before doing the work that produces it: a long training run
// should not end in "cannot create" because a directory was misspelt or read-only.
#pragma once

#include <sys/stat.h>

#include <string>

#include "backprop/error.hpp"
#include "backprop/io/atomic_file.hpp"
#include "usage.hpp"

namespace backprop::cli {

// Throws "<path>: cannot create (directory 'D' does not exist)" when the path's directory is
// missing or not a directory, then what writing it would (check_output_writable: devices, FIFOs,
// sockets and directories refused, a probe file created beside it and removed at once). No
// command writes to standard output through a file flag, so "-" is refused rather than made a
// file of that name. An empty path (flag not given) passes.
inline void check_output_path(const std::string& path) {
  if (path.empty()) return;
  if (path == "-") throw UsageError("'-' (standard output) is not an output of this command; give a file name");
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    throw file_error(path, "cannot create (directory '" + dir + "' does not exist)");
  check_output_writable(path);
}

}  // namespace backprop::cli
