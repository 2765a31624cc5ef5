// The data a network trains on and is scored on, whatever file it came from (IDX, CSV, .npz:
// data/readers.hpp), and the one place its features are scaled.
//
// Examples are rows: example i's features are row i of a (count x features) row-major array,
// bytes when the file held bytes (an IDX image, a uint8 array: 60,000 x 784 = 47 MB for MNIST)
// and float32 otherwise. A batch becomes the network's input X (features, B), one column per
// example, by gather_batch, which applies the Scaling:
//
//   none      x = v
//   unit      x = v / 255               (float32, then T: the seed's ToTensor, bit for bit)
//   standard  x = (v - mean_i) / dev_i  (float32; the training set's mean and deviation per
//                                        feature; a constant feature has dev_i = 1: centred,
//                                        never divided by 0)
//
// Targets: a class index per example (int32, 0 <= label < classes.size()) for classification,
// or `outputs` float32 values per example for regression.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backprop/nn/tensor.hpp"

namespace backprop {

enum class ScaleKind { none, unit, standard };

ScaleKind scale_kind_from_name(const std::string& name);  // "none", "unit", "standard"
const char* scale_kind_name(ScaleKind kind);

struct Scaling {
  ScaleKind kind = ScaleKind::unit;
  std::vector<float> mean, deviation;  // per feature, for standard (empty otherwise)

  // x[i] = the scaled value of v[i], i < n (n = features; mean/deviation must have n entries
  // for standard). The one place a feature value becomes a network input.
  template <typename V, typename T>
  void apply(const V* v, std::size_t n, T* x) const;
};

struct Dataset {
  std::size_t count = 0;     // examples
  std::size_t features = 0;  // inputs per example
  std::size_t rows = 0, cols = 0;  // image shape when the features are an image, else 0
  std::vector<std::uint8_t> bytes;  // count * features, when the features are bytes
  std::vector<float> values;        // count * features, when they are float32
  std::vector<std::int32_t> labels;  // count class indices (classification)
  std::size_t outputs = 0;          // regression targets per example (0 for classification)
  std::vector<float> targets;       // count * outputs (regression), in their own units
  // Regression: the network learns (t - target_mean) / target_deviation per target
  // (regression.hpp: gather_targets, fit_target_scaling); empty for classification.
  std::vector<double> target_mean, target_deviation;
  std::vector<std::string> classes;  // class names; labels index them
  std::vector<std::string> feature_names, target_names;  // a CSV header's; empty when none
  std::string label_name;            // a CSV's label column (classification); "" when none
  Scaling scaling;                   // applied by gather_batch

  bool is_bytes() const { return values.empty(); }  // an empty dataset counts as bytes
  bool is_image() const { return rows > 0 && rows * cols == features; }
  const std::uint8_t* row_bytes(std::size_t i) const { return bytes.data() + i * features; }
  const float* row_values(std::size_t i) const { return values.data() + i * features; }

  // The examples at `indices`, in that order, as a new dataset with the same classes and scaling.
  Dataset subset(const std::vector<std::size_t>& indices) const;
  // The first n examples (or all, when n >= count) as a new dataset.
  Dataset head(std::size_t n) const;
  // Splits off the last n examples: returns them and keeps the first count - n.
  Dataset split_tail(std::size_t n);

  // Throws Error (naming `source`) unless the sizes agree and every label is below the class count.
  void check(const std::string& source) const;
};

// What a trained model knows of its data, kept in the model file (its DATA section) so that
// eval, predict, serve and export see inputs exactly as training did.
struct DataSchema {
  std::size_t features = 0;
  std::size_t rows = 0, cols = 0;     // image shape, 0 when the features are no image
  std::vector<std::string> classes;   // class names (classification); empty for regression
  std::vector<std::string> feature_names, target_names;  // empty, or one per feature / target
  // A CSV's label column (classification; regression's are target_names), so that eval, report
  // and predict read the file as training did without --label again; "" for IDX and .npz.
  std::string label_name;
  Scaling scaling;
  // Regression: the targets were standardised for training, t' = (t - mean) / deviation.
  std::vector<double> target_mean, target_deviation;
  // Where the test set came from: 0 = a separate set (or MNIST's own); else the share held out
  // of the training file by split_stratified with split_seed.
  double test_split = 0;
  std::uint64_t split_seed = 0;
};

// A training set's schema (its features, classes and scaling; no split recorded).
DataSchema schema_of(const Dataset& train);

// Class names "0", "1", ..., "k-1" (MNIST's, and a model file's without names).
std::vector<std::string> numbered_classes(std::size_t k);

// The scaling `name` ("auto", "none", "unit", "standard") resolved for a training set: auto is
// unit for bytes and standard otherwise; standard takes the training set's mean and deviation
// (population, in double) per feature.
Scaling fit_scaling(const Dataset& train, const std::string& name);

// X(:, j) = the scaled features of example indices[j], j < count; X is (features, count).
template <typename T>
void gather_batch(const Dataset& data, const std::size_t* indices, std::size_t count, Matrix<T>& X);

// The same examples with their scaling applied once (float32 features, scaling none), so that
// every later gather_batch copies rows: the inputs are the same bits (the scaling is element-wise
// in float32). For float tables trained over many epochs; bytes are better kept as bytes.
Dataset with_scaling_applied(const Dataset& data);

}  // namespace backprop
