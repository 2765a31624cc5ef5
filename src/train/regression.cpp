// Regression scores and the targets' standardisation (formulas in regression.hpp).
#include "backprop/train/regression.hpp"

#include <algorithm>
#include <cmath>

#include "backprop/error.hpp"

namespace backprop {

RegressionScores regression_scores(const float* predicted, const float* truth, std::size_t count,
                                   std::size_t outputs) {
  RegressionScores s;
  if (count == 0 || outputs == 0) return s;
  double squared = 0, absolute = 0, r2_sum = 0;
  for (std::size_t j = 0; j < outputs; ++j) {
    double mean = 0;  // in double: a float sum of many targets would lose digits
    for (std::size_t i = 0; i < count; ++i) mean += truth[i * outputs + j];
    mean /= double(count);
    double residual = 0, total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const double t = truth[i * outputs + j], e = double(predicted[i * outputs + j]) - t;
      residual += e * e;
      total += (t - mean) * (t - mean);
      absolute += std::fabs(e);
    }
    squared += residual;
    r2_sum += total > 0 ? 1 - residual / total : (residual == 0 ? 1.0 : 0.0);
  }
  const double n = double(count) * double(outputs);
  s.mse = squared / n;
  s.rmse = std::sqrt(s.mse);
  s.mae = absolute / n;
  s.r2 = r2_sum / double(outputs);
  return s;
}

void fit_target_scaling(const float* targets, std::size_t count, std::size_t outputs,
                        std::vector<double>& mean, std::vector<double>& deviation) {
  if (count == 0) throw Error("regression needs at least one training example");
  mean.assign(outputs, 0.0);
  deviation.assign(outputs, 0.0);
  for (std::size_t j = 0; j < outputs; ++j) {
    double m = 0;  // two passes: the one-pass formula loses digits on large means
    for (std::size_t i = 0; i < count; ++i) m += targets[i * outputs + j];
    m /= double(count);
    double v = 0;
    for (std::size_t i = 0; i < count; ++i) v += (targets[i * outputs + j] - m) * (targets[i * outputs + j] - m);
    const double dev = std::sqrt(v / double(count));
    mean[j] = m;
    deviation[j] = dev > 1e-12 * std::max(1.0, std::fabs(m)) ? dev : 1.0;
  }
}

template <typename T>
void gather_targets(const Dataset& data, const std::size_t* indices, std::size_t count, Matrix<T>& Y) {
  const std::size_t m = data.outputs;
  if (data.target_mean.size() != m || data.target_deviation.size() != m)
    throw Error("regression targets without their standardisation (fit_target_scaling)");
  Y.resize(static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(count));
  for (std::size_t j = 0; j < count; ++j) {
    const float* t = data.targets.data() + indices[j] * m;
    for (std::size_t k = 0; k < m; ++k)
      Y(Eigen::Index(k), Eigen::Index(j)) = static_cast<T>((double(t[k]) - data.target_mean[k]) / data.target_deviation[k]);
  }
}

template <typename T>
void unstandardise(const Dataset& data, const Matrix<T>& Z, std::vector<float>& out) {
  const std::size_t m = data.outputs;
  for (Eigen::Index j = 0; j < Z.cols(); ++j)
    for (std::size_t k = 0; k < m; ++k)
      out.push_back(static_cast<float>(double(Z(Eigen::Index(k), j)) * data.target_deviation[k] + data.target_mean[k]));
}

template void gather_targets<float>(const Dataset&, const std::size_t*, std::size_t, Matrix<float>&);
template void gather_targets<double>(const Dataset&, const std::size_t*, std::size_t, Matrix<double>&);
template void unstandardise<float>(const Dataset&, const Matrix<float>&, std::vector<float>&);
template void unstandardise<double>(const Dataset&, const Matrix<double>&, std::vector<float>&);

}  // namespace backprop
