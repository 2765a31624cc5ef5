// One exception type for every failure a user can cause: a bad file, a bad flag,
// a bad configuration. The message is one line that names the file (or flag) and
// what is wrong; the command-line tool prints it and exits non-zero.
#pragma once

#include <cstdio>
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

// A number as people write it in a message: 1.5, 0.001, 1e+09 (printf's %g), not 1.500000.
inline std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// "1 thread", "2 threads": a count with its noun, singular for one.
inline std::string count_text(long long n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace backprop
