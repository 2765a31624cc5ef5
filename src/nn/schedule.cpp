// Learning-rate schedules (formulas in schedule.hpp).
#include "backprop/nn/schedule.hpp"

#include <algorithm>
#include <cmath>

#include "backprop/error.hpp"

namespace backprop {

void Schedule::validate() const {
  if (kind != "constant" && kind != "step" && kind != "cosine")
    throw Error("unknown --schedule '" + kind + "' (known: constant, step, cosine)");
  if (!(lr > 0) || !std::isfinite(lr)) throw Error("--lr must be a positive number");
  if (warmup_steps < 0) throw Error("--warmup must not be negative");
  if (kind == "step" && step_epochs <= 0) throw Error("--step-epochs must be positive");
  if (kind == "step" && !(gamma > 0 && gamma <= 1)) throw Error("--gamma must be in (0, 1]");
}

double Schedule::at(long long t) const {
  if (t < warmup_steps) return lr * double(t + 1) / double(warmup_steps);
  if (kind == "step") {
    const long long epoch = t / std::max(1LL, steps_per_epoch);
    return lr * std::pow(gamma, double(epoch / step_epochs));
  }
  if (kind == "cosine") {
    const double span = double(std::max(1LL, total_steps - warmup_steps));
    const double progress = std::min(1.0, double(t - warmup_steps) / span);
    return lr * 0.5 * (1 + std::cos(M_PI * progress));
  }
  return lr;
}

}  // namespace backprop
