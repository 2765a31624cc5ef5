// backprop predict: a saved model on new inputs.
//
// Inputs: for a 28x28 image model, PNG, IDX images or pixel CSV files (predict_input.hpp);
// for any model, rows of a table, CSV or .npz, in the layout it was trained on (readers of
// dataset.hpp), scaled as in training. A label column (or y array), when the file has one,
// gives the accuracy (regression: RMSE and R^2) after the rows.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>

#include "backprop/data/predict_input.hpp"
#include "backprop/error.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/train/regression.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "predict_rows.hpp"
#include "usage.hpp"

namespace backprop::cli {

namespace {

struct PredictOptions {
  std::string model, csv_range = "auto", label;
  std::vector<std::string> inputs;
  int top = 0, threads = 1;  // top 0: 3, or every class of a smaller model
  bool json = false;
};

using Json = nlohmann::ordered_json;

template <typename T>
int run_predict(const PredictOptions& o, const ModelFile& model) {
  set_threads(o.threads);
  const DataSchema& schema = model.data;
  const bool regression = schema.classes.empty();
  const int outputs = model.spec.sizes.back();
  if (o.top != 0 && !regression && (o.top < 1 || o.top > outputs))
    throw Error("--top must be between 1 and " + std::to_string(outputs));
  const int shown = o.top ? o.top : std::min(3, outputs);
  PredictRows rows;
  for (const auto& path : o.inputs) read_predict_rows(path, model, o.csv_range, o.label, rows);

  Network<T> network = make_inference_network<T>(model);
  const bool softmax = model.spec.head == HeadKind::softmax_cross_entropy;
  const char* score_name = softmax ? "probabilities" : "scores";
  Json predictions = Json::array();
  const std::size_t width = schema.features, n_rows = rows.names.size();
  std::vector<float> predicted_values, true_values;  // regression rows with targets
  long labelled = 0, correct = 0;
  Matrix<T> X;
  for (std::size_t start = 0; start < n_rows; start += 1000) {
    const std::size_t n = std::min<std::size_t>(1000, n_rows - start);
    X.resize(static_cast<Eigen::Index>(width), static_cast<Eigen::Index>(n));
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t p = 0; p < width; ++p) X(p, j) = static_cast<T>(rows.inputs[(start + j) * width + p]);
    const Matrix<T>& scores = network.predict(X);
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t row = start + j;
      const auto column = scores.col(static_cast<Eigen::Index>(j));
      if (regression) {
        std::vector<double> value(outputs);
        for (int k = 0; k < outputs; ++k)
          value[k] = double(column(k)) * schema.target_deviation[k] + schema.target_mean[k];
        const bool has_target = !rows.targets.empty();
        if (has_target)
          for (int k = 0; k < outputs; ++k) {
            predicted_values.push_back(static_cast<float>(value[k]));
            true_values.push_back(rows.targets[row * outputs + k]);
          }
        if (o.json) {
          Json record = {{"input", rows.names[row]}, {"prediction", value}};
          if (has_target)
            record["target"] = std::vector<float>(rows.targets.begin() + row * outputs,
                                                  rows.targets.begin() + (row + 1) * outputs);
          predictions.push_back(record);
        } else {
          std::printf("%s:", rows.names[row].c_str());
          for (int k = 0; k < outputs; ++k) std::printf(" %.6g", value[k]);
          if (has_target) {
            std::printf("  (target");
            for (int k = 0; k < outputs; ++k) std::printf(" %.6g", double(rows.targets[row * outputs + k]));
            std::printf(")");
          }
          std::printf("\n");
        }
        continue;
      }
      std::vector<int> order(outputs);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return column(a) > column(b); });
      const int label = rows.labels.empty() ? -1 : rows.labels[row];
      if (label >= 0) {
        ++labelled;
        correct += order[0] == label;
      }
      const auto& names = schema.classes;
      if (o.json) {
        Json top = Json::array(), all = Json::object();
        for (int k = 0; k < shown; ++k)
          top.push_back({{"class", names[order[k]]}, {softmax ? "probability" : "score", column(order[k])}});
        for (int k = 0; k < outputs; ++k) all[names[k]] = column(k);
        Json record = {{"input", rows.names[row]}, {"class", names[order[0]]}, {score_name, all}, {"top", top}};
        if (label >= 0) record["label"] = names[label];
        predictions.push_back(record);
      } else {
        std::printf("%s: %s ", rows.names[row].c_str(), names[order[0]].c_str());
        if (label >= 0) std::printf("(label %s) ", names[label].c_str());
        std::printf(" [");
        for (int k = 0; k < shown; ++k)
          std::printf("%s%s %.4f", k ? ", " : "", names[order[k]].c_str(), double(column(order[k])));
        std::printf("]\n");
      }
    }
  }
  Json out = {{"model", o.model}, {"predictions", predictions}};
  if (labelled > 0) {
    const double accuracy = double(correct) / double(labelled);
    out["accuracy"] = accuracy;
    out["labelled"] = labelled;
    if (!o.json) std::printf("accuracy %.4f on %ld labelled inputs\n", accuracy, labelled);
  }
  if (!true_values.empty()) {
    const std::size_t count = true_values.size() / static_cast<std::size_t>(outputs);
    const RegressionScores s =
        regression_scores(predicted_values.data(), true_values.data(), count, static_cast<std::size_t>(outputs));
    out["rmse"] = s.rmse;
    out["mae"] = s.mae;
    out["r2"] = s.r2;
    out["labelled"] = count;
    if (!o.json) std::printf("rmse %.6g  mae %.6g  r2 %.4f on %zu rows with targets\n", s.rmse, s.mae, s.r2, count);
  }
  if (o.json) std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

Command add_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* sub = app.add_subcommand("predict", "Predict with a saved model: rows of a CSV or .npz table, or PNG and IDX images");
  sub->add_option("--model", o->model, "Model or checkpoint file")->required();
  sub->add_option("inputs", o->inputs, "CSV or .npz tables (rows of features, optionally the label), PNG or IDX images")
      ->required();
  sub->add_option("--label", o->label,
                  "The label column(s) of a CSV, when it has them (default: a column named label, else the "
                  "column(s) beyond the model's features)");
  sub->add_flag("--json", o->json, "Print one JSON object: per input its class and every class's probability, "
                                   "or its predicted values");
  sub->add_option("--top", o->top, "Show the K most likely classes (default 3, or all of a smaller model's)");
  sub->add_option("--csv-range", o->csv_range, "Pixel CSV values (image models) are 0..255, 0..1, or auto")
      ->check(CLI::IsMember({"auto", "255", "1"}))->capture_default_str();
  sub->add_option("--threads", o->threads, threads_help())->capture_default_str();
  return {sub, [o] {
            check_thread_count("--threads", o->threads, 0);  // before reading anything
            if (o->top < 0) throw UsageError("--top must not be negative");
            const ModelFile model = read_model(o->model);
            return model.is_double ? run_predict<double>(*o, model) : run_predict<float>(*o, model);
          }};
}

}  // namespace backprop::cli
