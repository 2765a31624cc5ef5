// The gradient checker: every analytic gradient against central finite differences.
//
//   numeric_i  = (L(w + eps e_i) - L(w - eps e_i)) / (2 eps)
//   rel_error  = |analytic_i - numeric_i| / max(|analytic_i| + |numeric_i|, kGradCheckFloor)
//
// Run in float64. The floor keeps entries whose true gradient is ~0 (a weight fed by a
// black pixel) from dividing round-off by zero; for them the check is an absolute one.
// Dropout layers are checked with their mask frozen after the first forward pass.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backprop/network.hpp"

namespace backprop {

constexpr double kGradCheckEps = 1e-5;
constexpr double kGradCheckFloor = 1e-6;
constexpr double kGradCheckTolerance = 1e-6;  // the pass mark for float64

struct GradCheckRow {
  std::string name;        // "w1", "b1", ...
  long long entries = 0;   // how many entries were checked
  double max_rel_error = 0;
  long long worst_index = 0;  // flat (column-major) index of the worst entry
  double analytic = 0, numeric = 0;  // at the worst entry
};

// Checks every entry of every parameter of network on the batch (X, labels).
// max_entries > 0 checks only that many entries per tensor, spread evenly.
std::vector<GradCheckRow> gradient_check(Network<double>& network, const Matrix<double>& X,
                                         const std::vector<std::uint8_t>& labels,
                                         long long max_entries = 0);

}  // namespace backprop
