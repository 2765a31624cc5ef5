// .npz datasets: x_train, y_train [, x_test, y_test] (Keras's mnist.npz) or x, y, read with
// io/npz.cpp's reader, any bool, int or float dtype. uint8 (and bool) x stays bytes, with the
// image shape kept when x is (N, rows, cols); every other dtype becomes float32, checked finite.
#include <cmath>
#include <cstring>
#include <limits>

#include "backprop/data/readers.hpp"
#include "backprop/error.hpp"
#include "backprop/io/npz.hpp"
#include "data/labels.hpp"

namespace backprop {

namespace {

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string text = "(";
  for (std::size_t d = 0; d < shape.size(); ++d) text += (d ? ", " : "") + std::to_string(shape[d]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

// Value k of a raw array as a double (little-endian host: npz.cpp checks).
double value_at(const NpyRaw& a, std::size_t k) {
  const char* p = a.data.data() + k * a.item;
  const auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof v);
    return static_cast<double>(v);
  };
  switch (a.kind) {
    case 'f': return a.item == 4 ? load(float{}) : load(double{});
    case 'i':
      return a.item == 1 ? load(std::int8_t{}) : a.item == 2 ? load(std::int16_t{}) : a.item == 4 ? load(std::int32_t{}) : load(std::int64_t{});
    default:  // 'u', 'b'
      return a.item == 1 ? load(std::uint8_t{}) : a.item == 2 ? load(std::uint16_t{}) : a.item == 4 ? load(std::uint32_t{}) : load(std::uint64_t{});
  }
}

// x (N, ...) and y (N,) or (N, m) as a dataset; labels coded by coder.
Dataset to_dataset(const std::string& path, const std::string& x_name, const NpyRaw& x, const std::string& y_name,
                   const NpyRaw& y, const ReadOptions& options, detail::LabelCoder& coder) {
  const std::string where = path + ": " + x_name + " " + shape_text(x.shape);
  if (x.shape.empty() || x.shape[0] == 0) throw Error(where + ": x needs a first dimension of examples, N >= 1");
  if (y.shape.empty() || y.shape.size() > 2) throw Error(path + ": " + y_name + " " + shape_text(y.shape) + " is not (N,) or (N, m)");
  if (y.shape[0] != x.shape[0])
    throw Error(path + ": " + x_name + " has " + std::to_string(x.shape[0]) + " examples, " + y_name + " has " +
                std::to_string(y.shape[0]));
  Dataset d;
  d.count = x.shape[0];
  d.features = d.count ? x.size() / d.count : 0;
  if (d.features == 0) throw Error(where + ": no features");
  if (options.features && d.features != options.features)
    throw Error(where + ": " + std::to_string(d.features) + " features per example, the model takes " +
                std::to_string(options.features));
  if (x.shape.size() == 3) d.rows = x.shape[1], d.cols = x.shape[2];
  const std::size_t n = d.count * d.features;
  if (x.item == 1 && (x.kind == 'u' || x.kind == 'b')) {
    d.bytes.assign(x.data.begin(), x.data.end());
    d.scaling.kind = ScaleKind::unit;
  } else {
    d.values.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      const double v = value_at(x, k);
      const float f = static_cast<float>(v);
      if (!std::isfinite(f))
        throw Error(where + ": example " + std::to_string(k / d.features) + ", feature " + std::to_string(k % d.features) +
                    " is " + std::to_string(v) + " (NaN and infinities cannot be trained on; float32 holds up to 3.4e38)");
      d.values[k] = f;
    }
    d.scaling.kind = ScaleKind::none;
  }
  const std::size_t m = y.shape.size() == 2 ? y.shape[1] : 1;
  if (options.regression) {
    d.outputs = m;
    d.targets.resize(d.count * m);
    for (std::size_t k = 0; k < d.targets.size(); ++k) {
      d.targets[k] = static_cast<float>(value_at(y, k));
      if (!std::isfinite(d.targets[k])) throw Error(path + ": " + y_name + "[" + std::to_string(k / m) + "] is not a finite number");
    }
    return d;
  }
  if (m != 1) throw Error(path + ": " + y_name + " " + shape_text(y.shape) + ": classification takes one label per example");
  d.labels.resize(d.count);
  char text[32];
  for (std::size_t i = 0; i < d.count; ++i) {
    const double v = value_at(y, i);
    if (!std::isfinite(v)) throw Error(path + ": " + y_name + "[" + std::to_string(i) + "] is not a finite number");
    std::snprintf(text, sizeof text, "%.17g", v);
    d.labels[i] = coder.code(text);
    bool numeric = false;
    if (d.labels[i] < 0)
      throw Error(path + ": " + y_name + "[" + std::to_string(i) + "] = " + detail::canonical_label(text, numeric) +
                  " is not a class of the training set");
  }
  return d;
}

}  // namespace

DataFiles read_npz_dataset(const std::string& path, const ReadOptions& options) {
  // Datasets are as large as their files, with no cap on a stored member; what the header
  // claims is checked before inflating: a compressed member within kMaxInflatedBytes, and x's
  // values per example against a model's (or a training set's) feature count.
  NpzExpect expect;
  expect.max_values = std::numeric_limits<std::size_t>::max();
  if (options.features)
    for (const char* name : {"x", "x_train", "x_test"}) expect.example_values[name] = options.features;
  const auto arrays = read_npz_raw(path, expect);
  const auto has = [&](const char* name) { return arrays.count(name) > 0; };
  std::string x = "x_train", y = "y_train";
  if (!has("x_train") && has("x")) x = "x", y = "y";
  if (!has(x.c_str()) || !has(y.c_str())) {
    std::string names;
    for (const auto& [name, array] : arrays) names += (names.empty() ? "" : ", ") + name;
    throw file_error(path, "no x_train and y_train (or x and y) arrays (it holds: " + (names.empty() ? "nothing" : names) + ")");
  }
  if (has("x_test") != has("y_test")) throw file_error(path, "x_test and y_test come together; it has only one of them");
  detail::LabelCoder coder(options.classes);
  DataFiles files;
  files.train = to_dataset(path, x, arrays.at(x), y, arrays.at(y), options, coder);
  if (has("x_test") && x == "x_train") {
    if (!options.regression) {
      files.train.classes = coder.finish(files.train.labels);  // the test labels are looked up in these
      detail::LabelCoder test_coder(&files.train.classes);
      files.test = to_dataset(path, "x_test", arrays.at("x_test"), "y_test", arrays.at("y_test"), options, test_coder);
      files.test->classes = files.train.classes;
    } else {
      files.test = to_dataset(path, "x_test", arrays.at("x_test"), "y_test", arrays.at("y_test"), options, coder);
    }
    if (files.test->features != files.train.features)
      throw file_error(path, "x_test has " + std::to_string(files.test->features) + " features per example, x_train " +
                                 std::to_string(files.train.features));
  } else if (!options.regression) {
    files.train.classes = coder.finish(files.train.labels);
  }
  return files;
}

}  // namespace backprop
