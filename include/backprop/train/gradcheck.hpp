// The gradient checker: every analytic gradient against central finite differences.
//
//   numeric_i  = [8 (L(w + h e_i) - L(w - h e_i)) - (L(w + 2h e_i) - L(w - 2h e_i))] / (12 h)
//   rel_error  = |analytic_i - numeric_i| / max(|analytic_i| + |numeric_i|, kGradCheckFloor)
//
// The five-point central difference has error O(h^4) instead of the two-point O(h^2), so
// h can be large enough (1e-4) that round-off in L (about 1e-16 |L| / h) stays near 1e-12.
// Run in float64. The floor keeps entries whose true gradient is tiny (a weight fed by a
// faint pixel) from dividing that round-off by almost nothing: below it the check is an
// absolute one, |a - n| < floor * tolerance = 1e-10.
// Dropout layers are checked with their mask frozen after the first forward pass.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backprop/nn/network.hpp"

namespace backprop {

constexpr double kGradCheckEps = 1e-4;
constexpr double kGradCheckFloor = 1e-4;
constexpr double kGradCheckTolerance = 1e-6;  // the pass mark for float64

struct GradCheckRow {
  std::string name;        // "w1", "b1", ...
  long long entries = 0;   // how many entries were checked
  double max_rel_error = 0;
  long long worst_index = 0;  // flat (column-major) index of the worst entry
  double analytic = 0, numeric = 0;  // at the worst entry
};

// Runs on the parameters (their gradients filled by backward) before the comparison: a
// negative control corrupts an analytic gradient here, which the check must then report.
using GradCheckHook = std::function<void(std::vector<Param<double>>&)>;

// Checks every entry of every parameter of network on the batch (X, labels).
// max_entries > 0 checks at most that many entries per tensor, spread evenly.
std::vector<GradCheckRow> gradient_check(Network<double>& network, const Matrix<double>& X,
                                         const std::vector<std::int32_t>& labels,
                                         long long max_entries = 0, const GradCheckHook& after_backward = {});

}  // namespace backprop
