// The inputs of `backprop predict` as network inputs (predict_rows.hpp).
#include "predict_rows.hpp"

#include <algorithm>

#include "backprop/data/dataset.hpp"
#include "backprop/data/predict_input.hpp"
#include "backprop/data/readers.hpp"
#include "backprop/error.hpp"

namespace backprop::cli {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool takes_image(const DataSchema& d) { return d.features == 784 && d.rows == 28 && d.cols == 28; }

// Images for a 28x28 model: pixels in 0..1 are p / 255, a unit-scaled model's inputs as they
// are; any other scaling is applied to the bytes' values, as in training.
void read_images(const std::string& path, const ModelFile& model, const std::string& csv_range, PredictRows& rows) {
  const DataSchema& d = model.data;
  std::vector<PredictInput> images;
  read_predict_inputs(path, d.features, csv_range, images);
  for (const PredictInput& image : images) {
    rows.names.push_back(image.name);
    const std::size_t at = rows.inputs.size();
    rows.inputs.resize(at + d.features);
    if (d.scaling.kind == ScaleKind::unit) {
      std::copy(image.pixels.begin(), image.pixels.end(), rows.inputs.begin() + at);
    } else {
      std::vector<float> raw(image.pixels.size());
      for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = 255.0f * image.pixels[i];
      d.scaling.apply(raw.data(), raw.size(), rows.inputs.data() + at);
    }
    std::int32_t label = -1;
    if (image.label >= 0) {  // a labelled pixel-CSV row: its value names a class
      const auto found = std::find(d.classes.begin(), d.classes.end(), std::to_string(image.label));
      if (found == d.classes.end())
        throw file_error(image.name, "label " + std::to_string(image.label) + " is not a class of the model");
      label = static_cast<std::int32_t>(found - d.classes.begin());
    }
    rows.labels.push_back(label);
  }
}

// A table for an existing model (readers.hpp): its labels looked up in the model's classes,
// the label column optional, the feature count checked; an .npz's train and test parts both.
Dataset read_rows_for_model(const std::string& path, const DataSchema& d, const std::string& label) {
  ReadOptions options;
  options.label = label.empty() ? label_columns(d) : label;  // the model's, when the file has it
  options.regression = d.classes.empty();
  options.classes = options.regression ? nullptr : &d.classes;
  options.label_optional = true;
  options.features = d.features;
  DataFiles files = read_data(path, options);
  if (!files.test) return std::move(files.train);
  Dataset& a = files.train;
  const Dataset& b = *files.test;
  if (a.is_bytes() != b.is_bytes() || a.labels.empty() != b.labels.empty() || a.targets.empty() != b.targets.empty())
    return std::move(a);
  a.bytes.insert(a.bytes.end(), b.bytes.begin(), b.bytes.end());
  a.values.insert(a.values.end(), b.values.begin(), b.values.end());
  a.labels.insert(a.labels.end(), b.labels.begin(), b.labels.end());
  a.targets.insert(a.targets.end(), b.targets.begin(), b.targets.end());
  a.count += b.count;
  return std::move(a);
}

// Rows of a CSV or .npz table, read as the training file was and scaled by the model.
void read_table(const std::string& path, const ModelFile& model, const std::string& label, PredictRows& rows) {
  const DataSchema& d = model.data;
  Dataset data = read_rows_for_model(path, d, label);
  data.scaling = d.scaling;
  std::vector<std::size_t> indices(data.count);
  for (std::size_t i = 0; i < data.count; ++i) indices[i] = i;
  Matrix<float> X;
  const std::string base = path.substr(path.find_last_of('/') + 1);
  for (std::size_t start = 0; start < data.count; start += 1000) {
    const std::size_t n = std::min<std::size_t>(1000, data.count - start);
    gather_batch(data, indices.data() + start, n, X);  // the one place features are scaled
    rows.inputs.insert(rows.inputs.end(), X.data(), X.data() + X.size());
  }
  for (std::size_t i = 0; i < data.count; ++i) rows.names.push_back(base + "[" + std::to_string(i) + "]");
  if (d.classes.empty()) {
    if (data.outputs) rows.targets.insert(rows.targets.end(), data.targets.begin(), data.targets.end());
  } else if (!data.labels.empty()) {
    rows.labels.insert(rows.labels.end(), data.labels.begin(), data.labels.end());
  } else {
    rows.labels.insert(rows.labels.end(), data.count, -1);
  }
}

}  // namespace

void read_predict_rows(const std::string& path, const ModelFile& model, const std::string& csv_range,
                       const std::string& label, PredictRows& rows) {
  const std::size_t before = rows.names.size();
  const bool had_targets = !rows.targets.empty() || before == 0;
  const bool table = ends_with(path, ".npz") || !takes_image(model.data);
  if (table) read_table(path, model, label, rows);
  else read_images(path, model, csv_range, rows);
  // Regression targets are reported only when every row has them.
  const std::size_t outputs = static_cast<std::size_t>(model.spec.sizes.back());
  if (!model.data.classes.empty()) return;
  if (!had_targets || rows.targets.size() != rows.names.size() * outputs) rows.targets.clear();
}

}  // namespace backprop::cli
