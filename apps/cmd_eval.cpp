// backprop eval: a saved model (or checkpoint) on the MNIST test set: accuracy, mean loss,
// per-class precision/recall/F1, the confusion matrix, and optionally a picture of the digits
// it gets wrong.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <numeric>

#include "backprop/io/atomic_file.hpp"
#include "backprop/train/class_report.hpp"
#include "backprop/error.hpp"
#include "backprop/data/fetch.hpp"
#include "backprop/data/readers.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/data/preprocess.hpp"
#include "backprop/train/trainer.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "output_path.hpp"
#include "usage.hpp"

namespace backprop::cli {

namespace {

struct EvalOptions {
  std::string model, data_dir, test_path, label, split = "test", misclassified;
  int max_misclassified = 100, threads = 0;
  bool json = false, no_fetch = false;
};

// ---- The misclassified grid ----------------------------------------------------------------
// Each cell: the 28x28 digit as the network saw it, and under it "t>p" (true > predicted)
// in a 3x5 pixel font, so the picture explains itself without a legend.

constexpr int kCols = 10, kCellW = 30, kCellH = 38;
constexpr const char* kGlyphs[11] = {  // 0-9 then '>', 3x5, row by row
    "111101101101111", "010110010010111", "111001111100111", "111001111001111", "101101111001001",
    "111100111001111", "111100111101111", "111001010010010", "111101111101111", "111101111001111",
    "100010001010100"};

void draw_glyph(std::vector<std::uint8_t>& image, int width, int x, int y, int glyph) {
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 3; ++c)
      if (kGlyphs[glyph][r * 3 + c] == '1') image[(y + r) * width + x + c] = 255;
}

std::string misclassified_grid(const Dataset& data, const std::vector<std::size_t>& indices,
                               const std::vector<int>& predicted) {
  const int n = static_cast<int>(indices.size());
  const int rows = std::max(1, (n + kCols - 1) / kCols);
  const int width = kCols * kCellW, height = rows * kCellH;
  std::vector<std::uint8_t> image(std::size_t(width) * height, 48);  // grey between cells
  for (int k = 0; k < n; ++k) {
    const int x0 = (k % kCols) * kCellW + 1, y0 = (k / kCols) * kCellH + 1;
    const std::uint8_t* pixels = data.row_bytes(indices[k]);
    for (int r = 0; r < 28; ++r)
      for (int c = 0; c < 28; ++c) image[(y0 + r) * width + x0 + c] = pixels[r * 28 + c];
    for (int r = 28; r < 36; ++r)
      for (int c = 0; c < 28; ++c) image[(y0 + r) * width + x0 + c] = 0;
    const int text_x = x0 + 8, text_y = y0 + 30;
    draw_glyph(image, width, text_x, text_y, data.labels[indices[k]]);
    draw_glyph(image, width, text_x + 4, text_y, 10);
    draw_glyph(image, width, text_x + 8, text_y, predicted[k]);
  }
  // Doubled, so the labels can be read without zooming.
  std::vector<std::uint8_t> doubled(std::size_t(4) * width * height);
  for (int y = 0; y < 2 * height; ++y)
    for (int x = 0; x < 2 * width; ++x) doubled[std::size_t(y) * 2 * width + x] = image[(y / 2) * width + x / 2];
  return encode_png(2 * width, 2 * height, doubled);
}

// The flags, before the model or the data is read.
void validate(const EvalOptions& o) {
  if (o.max_misclassified <= 0) throw UsageError("--max-misclassified must be positive");
  const std::string& path = o.misclassified;
  if (!path.empty() && (path.size() < 4 || path.compare(path.size() - 4, 4, ".png") != 0))
    throw UsageError("--misclassified writes a PNG image; give a name ending in .png, not " + path);
  check_thread_count("--threads", o.threads, 0);
  check_output_path(o.misclassified);
}

template <typename T>
int run_eval(const EvalOptions& o, const ModelFile& model) {
  set_threads(o.threads);
  Network<T> network = make_inference_network<T>(model);
  DataOptions options;
  options.path = resolve_dataset(o.data_dir, o.no_fetch, std::cerr);
  options.test_path = o.test_path;
  options.read.label = o.label;
  // The same rows the training run scored (its own test files, --test, or its held-out split),
  // scaled as the model was trained.
  Dataset data = load_test_for(options, model.data, o.split == "train");
  data.target_mean = model.data.target_mean;  // regression: the model's target standardisation
  data.target_deviation = model.data.target_deviation;
  const std::string& dir = options.path;
  if (!o.misclassified.empty() && !(data.is_bytes() && data.rows == 28 && data.cols == 28 &&
                                    data.classes == numbered_classes(data.classes.size()) && data.classes.size() <= 10))
    throw Error("--misclassified draws 28x28 digit images with labels 0-9; " + dir + " holds other data");

  const EvalResult result = evaluate(network, data);
  if (result.regression) {  // MSE, RMSE, MAE, R^2 in the targets' units, as train's epoch line
    if (o.json) {
      nlohmann::ordered_json out = {{"model", o.model}, {"architecture", model.spec.describe()},
                                    {"dtype", model.is_double ? "f64" : "f32"}, {"data", options.path},
                                    {"split", o.split}, {"count", result.count}, {"task", "regression"},
                                    {"loss", result.loss}, {"mse", result.loss}, {"rmse", result.rmse},
                                    {"mae", result.mae}, {"r2", result.r2}};
      std::printf("%s\n", out.dump().c_str());
    } else {
      std::printf("model %s: %s, %s\n", o.model.c_str(), model.spec.describe().c_str(), model.is_double ? "f64" : "f32");
      std::printf("data %s (%s): %zu examples, %zu targets\n", options.path.c_str(), o.split.c_str(), result.count,
                  data.outputs);
      std::printf("mse %.6g  rmse %.6g  mae %.6g  r2 %.4f (in the targets' units)\n", result.loss, result.rmse,
                  result.mae, result.r2);
    }
    return 0;
  }
  const ClassReport report = class_report(result.confusion, model.data.classes);

  // The misclassified examples, in dataset order.
  std::vector<std::size_t> wrong;
  std::vector<int> wrong_predicted;
  std::size_t wrong_total = 0;
  if (!o.misclassified.empty()) {
    const std::vector<std::int32_t> predicted = predict_classes(network, data);
    for (std::size_t i = 0; i < data.count; ++i) {
      if (predicted[i] == data.labels[i]) continue;
      ++wrong_total;
      if (wrong.size() < static_cast<std::size_t>(o.max_misclassified)) {
        wrong.push_back(i);
        wrong_predicted.push_back(predicted[i]);
      }
    }
    write_file_atomic(o.misclassified, misclassified_grid(data, wrong, wrong_predicted));
  }

  if (o.json) {
    nlohmann::ordered_json classes = nlohmann::ordered_json::array();
    for (const auto& s : report.classes)
      classes.push_back({{"class", s.label}, {"name", s.name}, {"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1},
                         {"support", s.support}, {"predicted", s.predicted}});
    nlohmann::ordered_json out = {{"model", o.model},
                          {"architecture", model.spec.describe()},
                          {"dtype", model.is_double ? "f64" : "f32"},
                          {"data", dir},
                          {"split", o.split},
                          {"count", result.count},
                          {"accuracy", result.accuracy},
                          {"loss", result.loss},
                          {"classes", classes},
                          {"macro", {{"precision", report.macro_precision}, {"recall", report.macro_recall},
                                     {"f1", report.macro_f1}}},
                          {"confusion", result.confusion}};
    if (!o.misclassified.empty())
      out["misclassified"] = {{"count", wrong_total}, {"shown", wrong.size()}, {"image", o.misclassified}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  std::printf("model %s: %s, %s\n", o.model.c_str(), model.spec.describe().c_str(), model.is_double ? "f64" : "f32");
  std::printf("data %s (%s): %zu %s\n", dir.c_str(), o.split.c_str(), result.count, data.is_image() ? "images" : "examples");
  std::printf("accuracy %.4f  mean loss %.4f\n\n", result.accuracy, result.loss);
  std::printf("%s\n%s", format_class_report(report).c_str(), format_confusion(result.confusion, model.data.classes).c_str());
  if (!o.misclassified.empty())
    std::printf("\nwrote %s: %zu of %zu misclassified digits, each labelled true>predicted\n",
                o.misclassified.c_str(), wrong.size(), wrong_total);
  return 0;
}

}  // namespace

Command add_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* sub = app.add_subcommand("eval", "Evaluate a saved model on its test set: accuracy, loss, per-class scores, confusion");
  sub->add_option("--model", o->model, "Model or checkpoint file")->required();
  sub->add_option("--data", o->data_dir,
                  "The training data (IDX directory, .csv or .npz; default MNIST): its test set, or the rows the run held out");
  sub->add_option("--test", o->test_path, "Score this test set instead (IDX directory, .csv or .npz)");
  sub->add_option("--label", o->label, "CSV label column (default: the column named label, else the last)");
  sub->add_option("--split", o->split, "test or train")->check(CLI::IsMember({"test", "train"}))->capture_default_str();
  sub->add_flag("--json", o->json, "Print one JSON object instead of tables");
  sub->add_option("--misclassified", o->misclassified, "Write a PNG grid of misclassified digits");
  sub->add_option("--max-misclassified", o->max_misclassified, "At most this many in the grid")->capture_default_str();
  sub->add_option("--threads", o->threads, threads_help())->capture_default_str();
  sub->add_flag("--no-fetch", o->no_fetch, "Fail instead of downloading missing data");
  return {sub, [o] {
            validate(*o);
            const ModelFile model = read_model(o->model);
            return model.is_double ? run_eval<double>(*o, model) : run_eval<float>(*o, model);
          }};
}

}  // namespace backprop::cli
