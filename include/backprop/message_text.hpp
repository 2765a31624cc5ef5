// Numbers and counts as messages write them (issue 18: "not 1.500000", "1 threads").
#pragma once

#include <cstdio>
#include <string>

namespace backprop {

// A number as people write it: 1.5, 0.001, 1e+09 (printf's %g), not 1.500000.
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
