// backprop predict: classify images with a saved model.
//
// Inputs, recognised by content (then by extension):
//   PNG   any size, colour type or bit depth; made MNIST-like by preprocess.hpp (grayscale,
//         white on black, cropped, scaled into 20x20, centred by centre of mass in 28x28)
//   IDX   an idx3-ubyte images file (plain or .gz), every image in it; pixels / 255
//   CSV   one image per line, as many values as the model has inputs. A line with one value
//         more starts with its label (the Kaggle / mnist_train.csv layout), which is shown.
//         A first line that is not numeric is a header and skipped. Values are 0..255 pixels,
//         or 0..1 intensities; --csv-range auto (default) takes 0..1 when no value exceeds 1.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <sstream>

#include "backprop/error.hpp"
#include "backprop/idx.hpp"
#include "backprop/model_file.hpp"
#include "backprop/preprocess.hpp"
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

struct Input {
  std::string name;   // "digit.png", "t10k-images[17]", "digits.csv:3"
  int label = -1;     // from a labelled CSV row
  std::vector<float> pixels;  // model inputs in [0, 1]
};

std::string read_bytes(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw file_error(path, "is a directory, not an image file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error(path, "cannot open (" + std::string(std::strerror(errno)) + ")");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void read_csv(const std::string& path, const std::string& bytes, std::size_t width, const std::string& range,
              std::vector<Input>& out) {
  std::istringstream in(bytes);
  std::string line;
  std::vector<Input> rows;
  std::vector<std::vector<double>> values;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::vector<double> row;
    std::stringstream cells(line);
    std::string cell;
    bool numeric = true;
    while (std::getline(cells, cell, ',')) {
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(cell, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || cell.find_first_not_of(" \t", used) != std::string::npos || !std::isfinite(v)) {
        numeric = false;
        break;
      }
      row.push_back(v);
    }
    const std::string where = path + ":" + std::to_string(number);
    if (!numeric) {
      if (number == 1) continue;  // a header
      throw Error(where + ": not a number in '" + cell + "'");
    }
    Input input;
    input.name = where;
    if (row.size() == width + 1) {
      if (row[0] < 0 || row[0] > 9 || row[0] != std::floor(row[0]))
        throw Error(where + ": " + std::to_string(row.size()) + " values, and the first is not a label 0-9");
      input.label = static_cast<int>(row[0]);
      row.erase(row.begin());
    } else if (row.size() != width) {
      throw Error(where + ": " + std::to_string(row.size()) + " values, the model takes " + std::to_string(width));
    }
    for (double v : row)
      if (v < 0 || v > 255) throw Error(where + ": value " + std::to_string(v) + " is outside 0..255");
    rows.push_back(input);
    values.push_back(std::move(row));
  }
  if (rows.empty()) throw file_error(path, "no rows of pixel values");
  double max = 0;
  for (const auto& row : values)
    for (double v : row) max = std::max(max, v);
  const bool unit = range == "1" || (range == "auto" && max <= 1);
  if (unit && max > 1) throw file_error(path, "--csv-range 1, but a value is above 1");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (double v : values[i]) rows[i].pixels.push_back(unit ? float(v) : float(v) / 255.0f);
    out.push_back(std::move(rows[i]));
  }
}

// Every input image in path, as model inputs of the given width.
void read_inputs(const std::string& path, std::size_t width, const std::string& csv_range, std::vector<Input>& out) {
  const std::string bytes = read_bytes(path);
  const bool png_signature = bytes.size() >= 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
  const bool idx_signature = bytes.size() >= 4 && bytes.compare(0, 4, std::string("\0\0\x08\x03", 4)) == 0;
  if (png_signature || ends_with(path, ".png") || ends_with(path, ".PNG")) {
    const GrayImage image = decode_png(bytes, path);  // "not a PNG file" for a .png that is not
    if (width != 784) throw file_error(path, "the model takes " + std::to_string(width) + " inputs, not 28x28 images");
    const auto pixels = to_mnist_input(image);
    out.push_back({path, -1, std::vector<float>(pixels.begin(), pixels.end())});
  } else if (idx_signature || ends_with(path, ".gz")) {
    const IdxImages images = read_idx_images(path);
    if (images.rows * images.cols != width)
      throw file_error(path, "shape mismatch: " + std::to_string(images.rows) + "x" + std::to_string(images.cols) +
                                 " images, the model takes " + std::to_string(width) + " inputs");
    for (std::size_t i = 0; i < images.count; ++i) {
      Input input{path + "[" + std::to_string(i) + "]", -1, std::vector<float>(width)};
      for (std::size_t p = 0; p < width; ++p)
        input.pixels[p] = static_cast<float>(images.pixels[i * width + p]) / 255.0f;  // as gather_batch
      out.push_back(std::move(input));
    }
  } else if (ends_with(path, ".csv") || ends_with(path, ".txt") || bytes.find('\0') == std::string::npos) {
    read_csv(path, bytes, width, csv_range, out);
  } else {
    throw file_error(path, "not a PNG, IDX images or CSV file");
  }
}

template <typename T>
int run_predict(const PredictOptions& o, const ModelFile& model) {
  set_threads(o.threads);
  const int classes = model.spec.sizes.back();
  if (o.top < 1 || o.top > classes) throw Error("--top must be between 1 and " + std::to_string(classes));
  const std::size_t width = static_cast<std::size_t>(model.spec.sizes.front());
  std::vector<Input> inputs;
  for (const auto& path : o.inputs) read_inputs(path, width, o.csv_range, inputs);

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
      const Input& input = inputs[start + j];
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
