// The run page's data and the self-contained report. The evaluation runs the model over the
// whole test set once (a forward pass per batch of 1000, as the trainer evaluates), keeping
// the confusion matrix and the first kMaxMistakesShown mistakes in test-set order.
#include "backprop/web/run_page.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backprop/error.hpp"
#include "backprop/data/fetch.hpp"
#include "backprop/train/trainer.hpp"
#include "backprop/web/assets.hpp"
#include "backprop/web/images.hpp"
#include "backprop/web/predict_api.hpp"

namespace backprop::web {

namespace fs = std::filesystem;

namespace {

// Pictures (samples, mistakes) are drawn of 28x28 byte images only.
bool is_digit_image(const Dataset& data) { return data.is_bytes() && data.rows == 28 && data.cols == 28; }

// One predict_classes pass over the test set (with the model's scaling); the mistakes keep
// their probability, softmax of the logits, as the confidence.
nlohmann::json evaluate_on_test(Network<float>& network, const Dataset& test, const std::vector<std::string>& classes,
                                nlohmann::json& mistakes) {
  const std::size_t K = static_cast<std::size_t>(network.spec().sizes.back());
  std::vector<std::vector<long>> confusion(K, std::vector<long>(K, 0));
  std::vector<float> confidence(test.count);
  const auto predicted = predict_classes<float>(network, test, 1000, [&](std::size_t start, const Matrix<float>& logits) {
    Matrix<float> p;
    softmax(logits, p);
    for (Eigen::Index j = 0; j < p.cols(); ++j) confidence[start + std::size_t(j)] = p.col(j).maxCoeff();
  });
  long correct = 0, wrong = 0;
  for (std::size_t i = 0; i < test.count; ++i) {
    const int label = test.labels[i], guess = predicted[i];
    if (std::size_t(label) < K) ++confusion[std::size_t(label)][std::size_t(guess)];
    if (guess == label) {
      ++correct;
      continue;
    }
    ++wrong;
    if (static_cast<int>(mistakes.size()) < kMaxMistakesShown && is_digit_image(test))
      mistakes.push_back({{"index", i},
                          {"label", label},
                          {"predicted", guess},
                          {"confidence", std::round(confidence[i] * 1000) / 1000},
                          {"image", digit_data_uri(test.row_bytes(i))}});
  }
  return {{"count", test.count},
          {"accuracy", test.count ? double(correct) / double(test.count) : 0.0},
          {"errors", wrong},
          {"classes", classes},
          {"image", is_digit_image(test)},
          {"confusion", confusion}};
}

// Regression: the scores in the targets' units (evaluate) and, for the scatter plot, the
// first target's predicted against true values of up to kMaxScatterPoints examples.
nlohmann::json regression_on_test(Network<float>& network, const Dataset& test, const DataSchema& schema) {
  constexpr std::size_t kMaxScatterPoints = 2000;
  Dataset scored = test;  // with the model's target standardisation, as `eval` scores it
  scored.target_mean = schema.target_mean;
  scored.target_deviation = schema.target_deviation;
  const EvalResult result = evaluate(network, scored);
  const std::vector<float> predicted = predict_values(network, scored);
  nlohmann::json scatter = nlohmann::json::array();
  for (std::size_t i = 0; i < std::min(test.count, kMaxScatterPoints); ++i)
    scatter.push_back({{"x", test.targets[i * test.outputs]}, {"y", predicted[i * test.outputs]}});
  return {{"count", test.count},    {"mse", result.loss},   {"rmse", result.rmse}, {"mae", result.mae},
          {"r2", result.r2},        {"image", false},       {"scatter", std::move(scatter)},
          {"target", schema.target_names.empty() ? "" : schema.target_names[0]}};
}

// The first Dense layer's rows as 28x28 pictures, each unit scaled by its own largest |w|
// so that every unit's pattern is visible.
nlohmann::json first_layer_weights(const Network<float>& network) {
  const auto dense = network.dense_layers();
  if (dense.empty() || dense.front()->n_in() != 784) return nullptr;
  const Matrix<float>& W = dense.front()->W;  // (n_hidden, 784)
  const int units = static_cast<int>(W.rows());
  const int shown = std::min(units, kMaxWeightImages);
  nlohmann::json images = nlohmann::json::array();
  for (int j = 0; j < shown; ++j) {
    const float scale = W.row(j).cwiseAbs().maxCoeff();
    // Row j of a column-major (n_hidden, 784) matrix: stride n_hidden.
    images.push_back(weights_data_uri(&W(j, 0), units, scale));
  }
  return {{"units", units}, {"shown", shown}, {"images", images}};
}

}  // namespace

nlohmann::json read_metrics(const std::string& path) {
  // O_NOFOLLOW: a run file swapped for a symlink after the listing is not followed out of
  // the directory; O_NONBLOCK: a FIFO put there cannot hang the open.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat info {};
  if (fd < 0 || ::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    if (fd >= 0) ::close(fd);
    throw file_error(path, "cannot open metrics file (not a regular file)");
  }
  if (info.st_size > (off_t{256} << 20)) {
    ::close(fd);
    throw file_error(path, "metrics file larger than 256 MiB");
  }
  std::string text(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  nlohmann::json records = nlohmann::json::array();
  std::size_t begin = 0;
  for (int number = 1; begin < text.size(); ++number) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      // The position only: the message must not quote the file's bytes (they reach HTTP answers).
      throw file_error(path + ":" + std::to_string(number), "not a JSON line (syntax error at byte " +
                                                                 std::to_string(e.byte) + ")");
    } catch (const nlohmann::json::exception&) {
      throw file_error(path + ":" + std::to_string(number), "not a JSON line (a number out of range)");
    }
    if (!record.is_object()) throw file_error(path + ":" + std::to_string(number), "not a JSON object");
    records.push_back(std::move(record));
  }
  return records;
}

nlohmann::json build_run_data(const RunInputs& inputs) {
  nlohmann::json data = {{"name", inputs.name},
                         {"metrics", nlohmann::json::array()},
                         {"model", nullptr},
                         {"evaluation", nullptr},
                         {"misclassified", nlohmann::json::array()},
                         {"weights", nullptr},
                         {"samples", nlohmann::json::array()},
                         {"notes", nlohmann::json::array()}};
  if (!inputs.metrics_path.empty()) data["metrics"] = read_metrics(inputs.metrics_path);
  else data["notes"].push_back("no metrics file: train with --metrics RUN.jsonl for learning curves");

  if (inputs.model) {
    data["model"] = describe_model(*inputs.model, inputs.name);
    Network<float> network = make_inference_network<float>(*inputs.model);
    data["weights"] = first_layer_weights(network);
    if (inputs.test && inputs.model->spec.sizes.front() == static_cast<int>(inputs.test->features)) {
      nlohmann::json mistakes = nlohmann::json::array();
      data["evaluation"] = inputs.model->data.classes.empty()
                               ? regression_on_test(network, *inputs.test, inputs.model->data)
                               : evaluate_on_test(network, *inputs.test, inputs.model->data.classes, mistakes);
      data["misclassified"] = std::move(mistakes);
    }
  } else {
    data["notes"].push_back("no model file: the weights, confusion matrix and mistakes need one");
  }

  if (inputs.samples && is_digit_image(*inputs.samples)) {
    const Dataset& train = *inputs.samples;
    for (std::size_t i = 0; i < std::min<std::size_t>(kSampleImages, train.count); ++i)
      data["samples"].push_back({{"label", train.labels[i]}, {"image", digit_data_uri(train.row_bytes(i))}});
  }
  if (!inputs.data_note.empty()) data["notes"].push_back(inputs.data_note);
  return data;
}

std::vector<RunEntry> list_runs(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) throw file_error(dir, "not a directory (--runs wants the folder of RUN.jsonl files)");
  std::vector<RunEntry> runs;
  // Regular files only, judged without following links: a symlink (out of the directory, or
  // a loop) is no run, and its target is never read.
  const auto regular = [](const fs::path& path) {
    std::error_code status_error;
    return fs::symlink_status(path, status_error).type() == fs::file_type::regular;
  };
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string file = entry.path().filename().string();
    if (file.size() <= 6 || file.compare(file.size() - 6, 6, ".jsonl") != 0 || !regular(entry.path())) continue;
    std::string name = file.substr(0, file.size() - 6);
    std::string stem = name;
    if (stem.size() > 8 && stem.compare(stem.size() - 8, 8, ".metrics") == 0) stem.resize(stem.size() - 8);
    const fs::path model = fs::path(dir) / (stem + ".model");
    runs.push_back({name, entry.path().string(), regular(model) ? model.string() : ""});
  }
  if (error) throw file_error(dir, "cannot list (" + error.message() + ")");
  std::sort(runs.begin(), runs.end(), [](const RunEntry& a, const RunEntry& b) { return a.name < b.name; });
  return runs;
}

namespace {

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) throw Error("render_report_html: run.html lacks " + from);
  text.replace(at, from.size(), to);
}

// Text placed inside <script> or <style> must not contain "</" (it could close the
// element); in JavaScript and JSON "<\/" means the same thing.
std::string inline_safe(std::string text) {
  for (std::size_t at = 0; (at = text.find("</", at)) != std::string::npos; at += 3) text.replace(at, 2, "<\\/");
  return text;
}

// JSON inside <script>: '<' only occurs inside JSON strings, where \u003c means the same,
// so no "</script>" or "<!--" from a run's name or metrics can end the element early.
std::string json_for_script(const nlohmann::json& data) {
  std::string text = data.dump();
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
  return out;
}

}  // namespace

std::string render_report_html(const nlohmann::json& run_data) {
  std::string html(asset_bytes("/run.html"));
  replace_once(html, "<link rel=\"stylesheet\" href=\"style.css\">",
               "<style>\n" + inline_safe(std::string(asset_bytes("/style.css"))) + "</style>");
  replace_once(html, "<script src=\"vendor/chart.min.js\"></script>",
               "<script>\n" + inline_safe(std::string(asset_bytes("/vendor/chart.min.js"))) + "</script>");
  replace_once(html, "<script src=\"run.js\"></script>",
               "<script type=\"application/json\" id=\"run-data\">" + json_for_script(run_data) +
                   "</script>\n<script>\n" + inline_safe(std::string(asset_bytes("/run.js"))) + "</script>");
  return html;
}

bool load_run_sets(const DataOptions& data, const DataSchema& schema, Dataset& test, Dataset& samples,
                   std::string& note) {
  try {
    test = load_test_for(data, schema);
    if (schema.rows == 28 && schema.cols == 28) samples = load_test_for(data, schema, true);
    return true;
  } catch (const Error& e) {
    note = std::string(e.what()) + ": no confusion matrix, mistakes or sample images";
    std::error_code ignored;
    if (schema.rows == 28 && schema.cols == 28 && !fs::is_regular_file(data.path, ignored))
      note += " (for MNIST: backprop fetch-mnist --dir " + data.path + ")";
    return false;
  }
}

}  // namespace backprop::web
