// What `train` (per epoch and at the end) and `eval` say about an evaluation, for either task:
// accuracy and loss for classification; MSE (the loss), RMSE, MAE and R^2 in the targets'
// units for regression (regression.hpp). One place, so the epoch line, --metrics and eval agree.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "backprop/data/dataset.hpp"
#include "backprop/train/trainer.hpp"

namespace backprop::cli {

// prefix "test" or "val": test_accuracy, test_loss (classification) or test_loss, test_rmse,
// test_mae, test_r2 (regression) into j.
template <typename Json>
void add_eval_json(Json& j, const std::string& prefix, const EvalResult& r) {
  j[prefix + "_loss"] = r.loss;
  if (r.regression) {
    j[prefix + "_rmse"] = r.rmse;
    j[prefix + "_mae"] = r.mae;
    j[prefix + "_r2"] = r.r2;
  } else {
    j[prefix + "_accuracy"] = r.accuracy;
  }
}

// ", Test Accuracy: 0.9796, Test Loss: 0.0666" (the seed's words) or ", Test MSE: ..., Test
// RMSE: ..., Test MAE: ..., Test R2: ...", with name "Test" or "Val".
std::string eval_text(const std::string& name, const EvalResult& r);

// Regression: the training set's targets standardised (fit_target_scaling), the same scaling
// given to the other sets. Nothing for classification.
void standardise_targets(Dataset& train, Dataset& validation, Dataset& test);

}  // namespace backprop::cli
