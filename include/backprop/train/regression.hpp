// Regression: targets standardised for training, and the scores of a prediction in the
// targets' own units.
//
// The network learns t' = (t - mean) / deviation per target (the mse head on real values, so
// every target weighs alike whatever its unit); predictions go back as y = y' deviation + mean.
// Over n examples and m targets, in the targets' units:
//
//   mse  = 1/(n m) sum_i sum_j (y_ij - t_ij)^2      rmse = sqrt(mse)
//   mae  = 1/(n m) sum_i sum_j |y_ij - t_ij|
//   r2   = 1/m sum_j (1 - sum_i (y_ij - t_ij)^2 / sum_i (t_ij - mean_i t_ij)^2)
//
// r2 is scikit-learn's r2_score with its default uniform average over targets; a target
// constant over the set has r2 1 when predicted exactly and 0 otherwise (as r2_score).
#pragma once

#include <cstddef>
#include <vector>

#include "backprop/data/dataset.hpp"
#include "backprop/nn/tensor.hpp"

namespace backprop {

struct RegressionScores {
  double mse = 0, rmse = 0, mae = 0, r2 = 0;
};

// truth and predicted: count x outputs, row-major (example i's targets at i * outputs).
RegressionScores regression_scores(const float* predicted, const float* truth, std::size_t count,
                                   std::size_t outputs);

// The mean and the deviation (population) of each target column over the training set; a
// constant target gets deviation 1 (centred, never divided by 0), as the features' scaling.
void fit_target_scaling(const float* targets, std::size_t count, std::size_t outputs,
                        std::vector<double>& mean, std::vector<double>& deviation);

// Y(:, j) = the standardised targets of example indices[j]; Y is (outputs, count). The one
// place a target becomes what the network learns.
template <typename T>
void gather_targets(const Dataset& data, const std::size_t* indices, std::size_t count, Matrix<T>& Y);

// The network's outputs Z (outputs, n) back in the targets' units, appended row by row
// (example-major) to out.
template <typename T>
void unstandardise(const Dataset& data, const Matrix<T>& Z, std::vector<float>& out);

}  // namespace backprop
