// The bench programs' one timer: the mean microseconds of reps calls of f.
#pragma once

#include <chrono>

template <typename F>
double microseconds(F f, int reps) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / reps;
}
