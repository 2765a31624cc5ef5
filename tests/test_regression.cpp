// Regression scores and the targets' standardisation (regression.hpp), against values worked
// out by hand and scikit-learn's definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "backprop/train/regression.hpp"

using namespace backprop;

TEST(RegressionScores, MatchHandComputedValues) {
  // One target: truth 1, 2, 3, 4 (mean 2.5, total sum of squares 5); errors +1, 0, -1, 0.
  const std::vector<float> truth = {1, 2, 3, 4}, predicted = {2, 2, 2, 4};
  const RegressionScores s = regression_scores(predicted.data(), truth.data(), 4, 1);
  EXPECT_DOUBLE_EQ(s.mse, 0.5);
  EXPECT_DOUBLE_EQ(s.rmse, std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(s.mae, 0.5);
  EXPECT_DOUBLE_EQ(s.r2, 1 - 2.0 / 5.0);
}

TEST(RegressionScores, AverageR2OverTargetsAsScikitLearn) {
  // Two targets, row-major: the first predicted exactly (r2 1), the second by its mean (r2 0).
  const std::vector<float> truth = {1, 10, 2, 20, 3, 30}, predicted = {1, 20, 2, 20, 3, 20};
  const RegressionScores s = regression_scores(predicted.data(), truth.data(), 3, 2);
  EXPECT_DOUBLE_EQ(s.r2, 0.5);
  EXPECT_DOUBLE_EQ(s.mse, 200.0 / 6.0);
  EXPECT_DOUBLE_EQ(s.mae, 20.0 / 6.0);
}

TEST(RegressionScores, ConstantTargetIsOneWhenExactElseZero) {
  const std::vector<float> truth = {5, 5, 5};
  EXPECT_DOUBLE_EQ(regression_scores(truth.data(), truth.data(), 3, 1).r2, 1.0);
  const std::vector<float> off = {5, 6, 5};
  EXPECT_DOUBLE_EQ(regression_scores(off.data(), truth.data(), 3, 1).r2, 0.0);
}

TEST(TargetScaling, MeanAndPopulationDeviationPerColumn) {
  const std::vector<float> targets = {1, 100, 3, 100, 5, 100};  // column 2 constant
  std::vector<double> mean, deviation;
  fit_target_scaling(targets.data(), 3, 2, mean, deviation);
  ASSERT_EQ(mean.size(), 2u);
  EXPECT_DOUBLE_EQ(mean[0], 3.0);
  EXPECT_DOUBLE_EQ(deviation[0], std::sqrt(8.0 / 3.0));
  EXPECT_DOUBLE_EQ(mean[1], 100.0);
  EXPECT_DOUBLE_EQ(deviation[1], 1.0);  // centred, never divided by 0
}
