// backprop predict: classify images with a saved model.
//
// Inputs: PNG, IDX images or CSV files, read by predict_input.hpp (formats described there).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>

#include "backprop/error.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/data/predict_input.hpp"
#include "commands.hpp"
#include "common.hpp"

namespace backprop::cli {

namespace {

struct PredictOptions {
  std::string model, csv_range = "auto";
  std::vector<std::string> inputs;
  int top = 3, threads = 1;
  bool json = false;
};

template <typename T>
int run_predict(const PredictOptions& o, const ModelFile& model) {
  set_threads(o.threads);
  const int classes = model.spec.sizes.back();
  if (o.top < 1 || o.top > classes) throw Error("--top must be between 1 and " + std::to_string(classes));
  const std::size_t width = static_cast<std::size_t>(model.spec.sizes.front());
  std::vector<PredictInput> inputs;
  for (const auto& path : o.inputs) read_predict_inputs(path, width, o.csv_range, inputs);

  Network<T> network = make_inference_network<T>(model);
  const bool softmax = model.spec.head == HeadKind::softmax_cross_entropy;
  const char* score_name = softmax ? "probabilities" : "scores";
  nlohmann::ordered_json predictions = nlohmann::ordered_json::array();
  Matrix<T> X;
  for (std::size_t start = 0; start < inputs.size(); start += 1000) {
    const std::size_t n = std::min<std::size_t>(1000, inputs.size() - start);
    X.resize(static_cast<Eigen::Index>(width), static_cast<Eigen::Index>(n));
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t p = 0; p < width; ++p) X(p, j) = static_cast<T>(inputs[start + j].pixels[p]);
    const Matrix<T>& scores = network.predict(X);
    for (std::size_t j = 0; j < n; ++j) {
      const PredictInput& input = inputs[start + j];
      std::vector<int> order(classes);
      std::iota(order.begin(), order.end(), 0);
      const auto column = scores.col(static_cast<Eigen::Index>(j));
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return column(a) > column(b); });
      if (o.json) {
        nlohmann::ordered_json top = nlohmann::ordered_json::array(), all = nlohmann::ordered_json::array();
        for (int k = 0; k < o.top; ++k) top.push_back({{"class", order[k]}, {softmax ? "probability" : "score", column(order[k])}});
        for (int k = 0; k < classes; ++k) all.push_back(column(k));
        nlohmann::ordered_json record = {{"input", input.name}, {"class", order[0]}, {score_name, all}, {"top", top}};
        if (input.label >= 0) record["label"] = input.label;
        predictions.push_back(record);
      } else {
        std::printf("%s: %d ", input.name.c_str(), order[0]);
        if (input.label >= 0) std::printf("(label %d) ", input.label);
        std::printf(" [");
        for (int k = 0; k < o.top; ++k) std::printf("%s%d %.4f", k ? ", " : "", order[k], double(column(order[k])));
        std::printf("]\n");
      }
    }
  }
  if (o.json) std::printf("%s\n", nlohmann::ordered_json({{"model", o.model}, {"predictions", predictions}}).dump().c_str());
  return 0;
}

}  // namespace

Command add_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* sub = app.add_subcommand("predict", "Classify PNG images, IDX image files or CSV rows with a saved model");
  sub->add_option("--model", o->model, "Model or checkpoint file")->required();
  sub->add_option("inputs", o->inputs, "PNG, IDX (idx3-ubyte) or CSV files")->required();
  sub->add_flag("--json", o->json, "Print one JSON object: every class's probability per input");
  sub->add_option("--top", o->top, "Show the K most likely classes")->capture_default_str();
  sub->add_option("--csv-range", o->csv_range, "CSV values are 0..255, 0..1, or auto")
      ->check(CLI::IsMember({"auto", "255", "1"}))->capture_default_str();
  sub->add_option("--threads", o->threads, "Threads (0 = all cores)")->capture_default_str();
  return {sub, [o] {
            const ModelFile model = read_model(o->model);
            return model.is_double ? run_predict<double>(*o, model) : run_predict<float>(*o, model);
          }};
}

}  // namespace backprop::cli
