// Datasets from the files people have (docs/data.md has every rule):
//
//   a directory of IDX files  [PREFIX]train-images-idx3-ubyte[.gz] and -labels-idx1-, with the
//                             test set as [PREFIX]t10k-... or [PREFIX]test-... (MNIST, Fashion-
//                             MNIST, EMNIST's emnist-letters-..., KMNIST); a path to one
//                             train-images file picks its prefix when a directory holds several
//   a .csv file               a header row, numeric feature columns and the label column(s)
//   a .npz file               x_train, y_train [, x_test, y_test], or x, y (any bool, int or
//                             float dtype; x of shape (N, ...) flattened per example)
//
// Labels: the classes are the distinct training labels, sorted (as numbers when every label is
// a number, else as text); a test set's labels are looked up in the training classes, and one
// that is not there is an error. Every error is a one-line backprop::Error naming the file
// (and the line and column of a CSV).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backprop/data/dataset.hpp"

namespace backprop {

struct ReadOptions {
  // CSV: the label column, or for regression the target columns ("y1,y2"); empty = the column
  // named "label", else the last column.
  std::string label;
  bool regression = false;  // targets are float columns (Dataset::outputs, targets)
  // Look the labels up in these classes (a training set's, or a model's) instead of taking
  // the file's own; nullptr = the file's distinct labels.
  const std::vector<std::string>* classes = nullptr;
  bool label_optional = false;  // predict: a CSV may hold only the feature columns
  std::size_t features = 0;     // the feature count expected (0 = any), checked with a clear error
};

// A file's examples: its training part, and its own test part when it has one (IDX t10k/test
// files, an .npz's x_test/y_test).
struct DataFiles {
  Dataset train;
  std::optional<Dataset> test;
};

// Reads a directory, .csv or .npz (by what the path is, then by extension, then by content).
// Features stay as stored: bytes for IDX and uint8 arrays, float32 otherwise; the scaling is
// left at Scaling{} (unit) for bytes and `none` for floats: fit_scaling decides.
DataFiles read_data(const std::string& path, const ReadOptions& options = {});

// The CSV and .npz readers on their own (read_data calls them).
Dataset read_csv(const std::string& path, const ReadOptions& options = {});
DataFiles read_npz_dataset(const std::string& path, const ReadOptions& options = {});

// The rows held out as a test set: a share `fraction` of every class (rounded, at least one
// when a class has two or more examples), drawn with std::mt19937_64(seed); for regression
// (no labels) a share of all rows. Both lists are in dataset order.
struct Split {
  std::vector<std::size_t> train, test;
};
Split split_stratified(const Dataset& data, double fraction, std::uint64_t seed);

// What `backprop train --data ... [--test ...] [--test-split F] [--label ...] [--scale ...]` reads.
struct DataOptions {
  std::string path, test_path;
  ReadOptions read;           // label, regression (classes are set by the loader)
  double test_split = 0.2;    // used only when there is no test set of its own
  std::uint64_t seed = 0;     // of the split
  std::string scale = "auto";
};

// The training and test sets with the training set's scaling on both, and the schema a model
// of them keeps (test_split and split_seed say which rows were held out, 0 when none).
struct TrainTest {
  Dataset train, test;
  DataSchema schema;
  std::string test_source;  // "file's own test set", "--test FILE", "20% held out (seed 1)", ...
};
TrainTest load_train_test(const DataOptions& options);

// The test set of a model trained on `options.path`: `options.test_path` when given, else the
// file's own test part, else the rows the training run held out (schema.test_split and
// split_seed). Labels are looked up in schema.classes and the model's scaling is applied.
// A CSV's label column (or comma-separated target columns) read when training: what
// `--label` defaults to for its model. Labels are read from that column unless
// options.read.label names another.
std::string label_columns(const DataSchema& schema);
Dataset load_test_for(const DataOptions& options, const DataSchema& schema, bool training_part = false);

}  // namespace backprop
