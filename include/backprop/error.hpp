// One exception type for every failure a user can cause: a bad file, a bad flag,
// a bad configuration. The message is one line that names the file (or flag) and
// what is wrong; the command-line tool prints it and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace backprop {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "path: message", the form every file error takes.
inline Error file_error(const std::string& path, const std::string& message) {
  return Error(path + ": " + message);
}

}  // namespace backprop
