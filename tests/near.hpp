// Matrices equal to float tolerance (2e-5 in f32, 1e-12 in f64, relative to the largest entry
// of want, at least 1): the sparse kernels' sums against the dense products they stand in for.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <type_traits>

#include "backprop/nn/tensor.hpp"

namespace backprop {

template <typename T>
T tolerance() {
  return std::is_same_v<T, float> ? T(2e-5) : T(1e-12);
}

template <typename T>
void expect_near(const Matrix<T>& got, const Matrix<T>& want, const std::string& what) {
  ASSERT_EQ(got.rows(), want.rows()) << what;
  ASSERT_EQ(got.cols(), want.cols()) << what;
  const T scale = std::max(T(1), want.cwiseAbs().maxCoeff());
  EXPECT_LE((got - want).cwiseAbs().maxCoeff(), tolerance<T>() * scale) << what;
}

}  // namespace backprop
