// The Dataset, its scaling, and gather_batch (formulas in dataset.hpp).
#include "backprop/data/dataset.hpp"

#include <algorithm>
#include <cmath>

#include "backprop/error.hpp"

namespace backprop {

ScaleKind scale_kind_from_name(const std::string& name) {
  if (name == "none") return ScaleKind::none;
  if (name == "unit") return ScaleKind::unit;
  if (name == "standard") return ScaleKind::standard;
  throw Error("unknown scaling '" + name + "' (known: auto, none, unit, standard)");
}

const char* scale_kind_name(ScaleKind kind) {
  switch (kind) {
    case ScaleKind::none: return "none";
    case ScaleKind::unit: return "unit";
    case ScaleKind::standard: return "standard";
  }
  return "?";
}

template <typename V, typename T>
void Scaling::apply(const V* v, std::size_t n, T* x) const {
  switch (kind) {
    case ScaleKind::none:
      for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<T>(static_cast<float>(v[i]));
      return;
    case ScaleKind::unit:
      // float32 p / 255 first, then T, as the seed's ToTensor.
#pragma omp simd  // bytes may alias anything: say the loop is safe to vectorise
      for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<T>(static_cast<float>(v[i]) / 255.0f);
      return;
    case ScaleKind::standard: {
      const float* m = mean.data();
      const float* d = deviation.data();
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<T>((static_cast<float>(v[i]) - m[i]) / d[i]);
      return;
    }
  }
}

std::vector<std::string> numbered_classes(std::size_t k) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < k; ++i) names.push_back(std::to_string(i));
  return names;
}

DataSchema schema_of(const Dataset& train) {
  DataSchema s;
  s.features = train.features;
  if (train.is_image()) s.rows = train.rows, s.cols = train.cols;
  s.classes = train.classes;
  s.feature_names = train.feature_names;
  s.target_names = train.target_names;
  s.label_name = train.label_name;
  s.scaling = train.scaling;
  s.target_mean = train.target_mean;
  s.target_deviation = train.target_deviation;
  return s;
}

Scaling fit_scaling(const Dataset& train, const std::string& name) {
  Scaling s;
  s.kind = name == "auto" ? (train.is_bytes() ? ScaleKind::unit : ScaleKind::standard) : scale_kind_from_name(name);
  if (s.kind != ScaleKind::standard) return s;
  if (train.count == 0) throw Error("--scale standard: no training examples to take the mean of");
  const std::size_t n = train.features;
  std::vector<double> sum(n, 0.0), squares(n, 0.0);
  // Two passes (mean, then squared deviations): the one-pass formula loses digits on
  // features whose mean is large next to their spread.
  const auto value = [&](std::size_t row, std::size_t i) {
    return train.is_bytes() ? double(train.row_bytes(row)[i]) : double(train.row_values(row)[i]);
  };
  for (std::size_t r = 0; r < train.count; ++r)
    for (std::size_t i = 0; i < n; ++i) sum[i] += value(r, i);
  s.mean.resize(n);
  for (std::size_t i = 0; i < n; ++i) s.mean[i] = static_cast<float>(sum[i] / double(train.count));
  for (std::size_t r = 0; r < train.count; ++r)
    for (std::size_t i = 0; i < n; ++i) {
      const double d = value(r, i) - double(s.mean[i]);
      squares[i] += d * d;
    }
  s.deviation.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float dev = static_cast<float>(std::sqrt(squares[i] / double(train.count)));
    // A constant feature (or one so nearly constant that 1/dev would blow it up) stays centred.
    s.deviation[i] = dev > 1e-12f * std::max(1.0f, std::fabs(s.mean[i])) ? dev : 1.0f;
  }
  return s;
}

namespace {

// A dataset of `count` examples, yet to be filled, with everything of `d` but its examples.
Dataset without_examples(const Dataset& d, std::size_t count) {
  Dataset out;
  out.count = count;
  out.features = d.features;
  out.rows = d.rows;
  out.cols = d.cols;
  out.outputs = d.outputs;
  out.classes = d.classes;
  out.feature_names = d.feature_names;
  out.target_names = d.target_names;
  out.label_name = d.label_name;
  out.scaling = d.scaling;
  out.target_mean = d.target_mean;
  out.target_deviation = d.target_deviation;
  return out;
}

}  // namespace

Dataset Dataset::subset(const std::vector<std::size_t>& indices) const {
  Dataset out = without_examples(*this, indices.size());
  if (is_bytes()) out.bytes.resize(out.count * features);
  else out.values.resize(out.count * features);
  if (!labels.empty()) out.labels.resize(out.count);
  if (!targets.empty()) out.targets.resize(out.count * outputs);
  for (std::size_t j = 0; j < out.count; ++j) {
    const std::size_t i = indices[j];
    if (i >= count) throw Error("subset: example " + std::to_string(i) + " of " + std::to_string(count));
    if (is_bytes()) std::copy_n(row_bytes(i), features, out.bytes.data() + j * features);
    else std::copy_n(row_values(i), features, out.values.data() + j * features);
    if (!labels.empty()) out.labels[j] = labels[i];
    if (!targets.empty()) std::copy_n(targets.data() + i * outputs, outputs, out.targets.data() + j * outputs);
  }
  return out;
}

Dataset Dataset::head(std::size_t n) const {
  std::vector<std::size_t> first(std::min(n, count));
  for (std::size_t i = 0; i < first.size(); ++i) first[i] = i;
  return subset(first);
}

Dataset Dataset::split_tail(std::size_t n) {
  if (n > count)
    throw Error("split_tail: asked for the last " + std::to_string(n) + " examples of " + std::to_string(count));
  const std::size_t keep = count - n;
  std::vector<std::size_t> last(n);
  for (std::size_t i = 0; i < n; ++i) last[i] = keep + i;
  Dataset tail = subset(last);
  if (n == 0) return tail;  // nothing to give back: no reallocation (it would copy the whole set)
  if (is_bytes()) bytes.resize(keep * features), bytes.shrink_to_fit();
  else values.resize(keep * features), values.shrink_to_fit();
  if (!labels.empty()) labels.resize(keep);
  if (!targets.empty()) targets.resize(keep * outputs);
  count = keep;
  return tail;
}

void Dataset::check(const std::string& source) const {
  const std::size_t stored = is_bytes() ? bytes.size() : values.size();
  if (stored != count * features)
    throw file_error(source, std::to_string(stored) + " feature values for " + std::to_string(count) + " examples of " +
                                 std::to_string(features));
  if (outputs == 0 && labels.size() != count)
    throw file_error(source, std::to_string(labels.size()) + " labels for " + std::to_string(count) + " examples");
  if (outputs > 0 && targets.size() != count * outputs)
    throw file_error(source, std::to_string(targets.size()) + " targets for " + std::to_string(count) + " examples");
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || std::size_t(labels[i]) >= classes.size())
      throw file_error(source, "label " + std::to_string(labels[i]) + " of example " + std::to_string(i) +
                                   " is not a class index below " + std::to_string(classes.size()));
  if (scaling.kind == ScaleKind::standard && (scaling.mean.size() != features || scaling.deviation.size() != features))
    throw file_error(source, "the standard scaling has " + std::to_string(scaling.mean.size()) + " means for " +
                                 std::to_string(features) + " features");
}

template <typename T>
void gather_batch(const Dataset& data, const std::size_t* indices, std::size_t count, Matrix<T>& X) {
  X.resize(static_cast<Eigen::Index>(data.features), static_cast<Eigen::Index>(count));
  const std::size_t features = data.features;
  const auto n = static_cast<Eigen::Index>(count);
  const bool bytes = data.is_bytes();
  const std::size_t row_size = features * (bytes ? 1 : sizeof(float));
  constexpr Eigen::Index kAhead = 4;  // shuffled rows are scattered over the dataset: fetch ahead
#pragma omp parallel for schedule(static) if (count * features >= (1u << 14))
  for (Eigen::Index j = 0; j < n; ++j) {
    if (j + kAhead < n) {
      const char* ahead = bytes ? reinterpret_cast<const char*>(data.row_bytes(indices[j + kAhead]))
                                : reinterpret_cast<const char*>(data.row_values(indices[j + kAhead]));
      for (std::size_t at = 0; at < row_size; at += 64) __builtin_prefetch(ahead + at);
    }
    T* column = X.col(j).data();
    if (bytes) data.scaling.apply(data.row_bytes(indices[j]), features, column);
    else data.scaling.apply(data.row_values(indices[j]), features, column);
  }
}

Dataset with_scaling_applied(const Dataset& data) {
  Dataset scaled = without_examples(data, data.count);
  scaled.values.resize(data.count * data.features);
  for (std::size_t i = 0; i < data.count; ++i) {
    float* row = scaled.values.data() + i * data.features;
    if (data.is_bytes()) data.scaling.apply(data.row_bytes(i), data.features, row);
    else data.scaling.apply(data.row_values(i), data.features, row);
  }
  scaled.scaling = Scaling{ScaleKind::none, {}, {}};
  scaled.labels = data.labels;
  scaled.targets = data.targets;
  return scaled;
}

template void Scaling::apply<std::uint8_t, float>(const std::uint8_t*, std::size_t, float*) const;
template void Scaling::apply<std::uint8_t, double>(const std::uint8_t*, std::size_t, double*) const;
template void Scaling::apply<float, float>(const float*, std::size_t, float*) const;
template void Scaling::apply<float, double>(const float*, std::size_t, double*) const;
template void Scaling::apply<double, float>(const double*, std::size_t, float*) const;
template void Scaling::apply<double, double>(const double*, std::size_t, double*) const;
template void gather_batch<float>(const Dataset&, const std::size_t*, std::size_t, Matrix<float>&);
template void gather_batch<double>(const Dataset&, const std::size_t*, std::size_t, Matrix<double>&);

}  // namespace backprop
