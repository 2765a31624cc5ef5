// The words train and eval print for an evaluation (task_metrics.hpp).
#include "task_metrics.hpp"

#include <cstdio>

#include "backprop/train/regression.hpp"

namespace backprop::cli {

std::string eval_text(const std::string& name, const EvalResult& r) {
  char text[200];
  if (r.regression)
    std::snprintf(text, sizeof text, ", %s MSE: %.6g, %s RMSE: %.6g, %s MAE: %.6g, %s R2: %.4f", name.c_str(), r.loss,
                  name.c_str(), r.rmse, name.c_str(), r.mae, name.c_str(), r.r2);
  else
    std::snprintf(text, sizeof text, ", %s Accuracy: %.4f, %s Loss: %.4f", name.c_str(), r.accuracy, name.c_str(), r.loss);
  return text;
}

void standardise_targets(Dataset& train, Dataset& validation, Dataset& test) {
  if (train.outputs == 0) return;
  fit_target_scaling(train.targets.data(), train.count, train.outputs, train.target_mean, train.target_deviation);
  for (Dataset* other : {&validation, &test}) {
    other->target_mean = train.target_mean;
    other->target_deviation = train.target_deviation;
  }
}

}  // namespace backprop::cli
