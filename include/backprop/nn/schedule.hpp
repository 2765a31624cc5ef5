// Learning-rate schedules, as a function of the global step t = 0, 1, 2, ...
//
//   constant   lr(t) = lr
//   step       lr(t) = lr * gamma^floor(epoch(t) / step_epochs)
//   cosine     lr(t) = lr * (1 + cos(pi * p)) / 2,  p = (t - warmup) / (total - warmup)
// With warm-up of W steps, lr(t) = lr * (t + 1) / W for t < W, then the schedule (whose
// own clock starts after the warm-up for cosine).
#pragma once

#include <string>

namespace backprop {

struct Schedule {
  std::string kind = "constant";  // constant, step, cosine
  double lr = 0.01;
  long long warmup_steps = 0;
  long long steps_per_epoch = 1;
  long long total_steps = 1;   // cosine reaches 0 here
  int step_epochs = 10;        // step: decay every this many epochs
  double gamma = 0.1;          // step: by this factor

  void validate() const;  // throws Error: unknown kind, lr <= 0, bad gamma...
  double at(long long t) const;
};

}  // namespace backprop
