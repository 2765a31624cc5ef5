// Which reader a path goes to, IDX directories with a dataset prefix, the seeded stratified
// split, and the training and test sets of a run (readers.hpp).
#include "backprop/data/readers.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>

#include "backprop/data/idx.hpp"
#include "backprop/error.hpp"

namespace backprop {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

// The four files of one IDX dataset: [prefix](train|t10k|test)-(images-idx3|labels-idx1)-ubyte[.gz].
struct IdxSet {
  std::string train_images, train_labels, test_images, test_labels;
};

// Splits an IDX file name into its prefix and which of the four files it is; false if it is none.
bool idx_name(std::string name, std::string& prefix, std::string& which) {
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  for (const char* kind : {"images-idx3-ubyte", "labels-idx1-ubyte"}) {
    if (!ends_with(name, kind)) continue;
    const std::string stem = name.substr(0, name.size() - std::string(kind).size());  // "...train-"
    for (const char* part : {"train-", "t10k-", "test-"})
      if (ends_with(stem, part)) {
        prefix = stem.substr(0, stem.size() - std::string(part).size());
        which = std::string(part == std::string("train-") ? "train" : "test") + "-" + kind;
        return true;
      }
  }
  return false;
}

// The IDX datasets of a directory by prefix ("" for MNIST's own names); plain files win over .gz.
std::map<std::string, IdxSet> scan_idx(const std::string& dir) {
  std::map<std::string, IdxSet> sets;
  std::error_code error;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, error)) names.push_back(entry.path().filename().string());
  if (error) throw file_error(dir, "cannot list (" + error.message() + ")");
  std::sort(names.begin(), names.end());  // "x" before "x.gz": the plain file is taken first
  for (const std::string& name : names) {
    std::string prefix, which;
    if (!idx_name(name, prefix, which)) continue;
    IdxSet& set = sets[prefix];
    std::string& slot = which == "train-images-idx3-ubyte"   ? set.train_images
                        : which == "train-labels-idx1-ubyte" ? set.train_labels
                        : which == "test-images-idx3-ubyte"  ? set.test_images
                                                             : set.test_labels;
    if (slot.empty()) slot = (fs::path(dir) / name).string();
  }
  return sets;
}

DataFiles read_idx(const std::string& dir, const std::string* wanted_prefix, const ReadOptions& options) {
  if (options.regression) throw file_error(dir, "IDX files hold class labels; --task regression needs a CSV or .npz");
  const auto sets = scan_idx(dir);
  std::vector<std::string> prefixes;
  for (const auto& [prefix, set] : sets)
    if (!set.train_images.empty() && (!wanted_prefix || prefix == *wanted_prefix)) prefixes.push_back(prefix);
  if (prefixes.empty())
    throw file_error(dir, "no IDX training files ([PREFIX]train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz])");
  if (prefixes.size() > 1) {
    std::string list;
    for (const auto& p : prefixes) list += (list.empty() ? "" : ", ") + (p.empty() ? std::string("(no prefix)") : p);
    throw file_error(dir, "holds several IDX datasets (" + list +
                              "); give --data DIR/PREFIXtrain-images-idx3-ubyte[.gz] to pick one");
  }
  const IdxSet& set = sets.at(prefixes.front());
  const std::string name = prefixes.front() + "train-labels-idx1-ubyte";
  if (set.train_labels.empty()) throw file_error(dir, "has " + set.train_images + " but no " + name + "[.gz]");
  if (set.test_images.empty() != set.test_labels.empty())
    throw file_error(dir, "has only one of the test images and test labels of " + prefixes.front() + "(t10k|test)-...");
  DataFiles files;
  // The pixel counts are checked from each header, before its images are read or inflated.
  files.train = load_idx_pair(set.train_images, set.train_labels, options.classes, options.features);
  if (!set.test_images.empty()) {
    files.test = load_idx_pair(set.test_images, set.test_labels, &files.train.classes, files.train.features);
    if (files.test->features != files.train.features)
      throw file_error(set.test_images, std::to_string(files.test->rows) + "x" + std::to_string(files.test->cols) +
                                            " images, the training images are " + std::to_string(files.train.rows) + "x" +
                                            std::to_string(files.train.cols));
  }
  return files;
}

// The first bytes of a file, to tell the formats apart when the name does not.
std::string head_bytes(const std::string& path) {
  std::string bytes(4, '\0');
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "";
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f));
  std::fclose(f);
  return bytes;
}

}  // namespace

DataFiles read_data(const std::string& path, const ReadOptions& options) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw file_error(path, "cannot open (No such file or directory)");
  if (S_ISDIR(info.st_mode)) return read_idx(path, nullptr, options);
  const std::string name = fs::path(path).filename().string();
  std::string prefix, which;
  if (idx_name(name, prefix, which)) {
    if (which != "train-images-idx3-ubyte")
      throw file_error(path, "an IDX file other than the training images: give the directory, or its train-images file");
    return read_idx(fs::path(path).parent_path().string().empty() ? "." : fs::path(path).parent_path().string(), &prefix,
                    options);
  }
  const std::string head = head_bytes(path);
  if (ends_with(name, ".npz") || ends_with(name, ".NPZ") || head.compare(0, 4, "PK\x03\x04") == 0)
    return read_npz_dataset(path, options);
  DataFiles files;
  files.train = read_csv(path, options);
  return files;
}

Split split_stratified(const Dataset& data, double fraction, std::uint64_t seed) {
  if (!(fraction > 0 && fraction < 1)) throw Error("--test-split must be between 0 and 1 (exclusive)");
  std::mt19937_64 rng(seed);
  // Rows of each class (one group for regression), in dataset order, then shuffled.
  std::size_t groups = data.labels.empty() ? 1 : data.classes.size();
  std::vector<std::vector<std::size_t>> rows(std::max<std::size_t>(groups, 1));
  for (std::size_t i = 0; i < data.count; ++i) rows[data.labels.empty() ? 0 : std::size_t(data.labels[i])].push_back(i);
  std::vector<bool> held(data.count, false);
  for (auto& group : rows) {
    for (std::size_t i = group.size(); i > 1; --i) std::swap(group[i - 1], group[rng() % i]);  // as the trainer shuffles
    const std::size_t n = group.size();
    std::size_t take = static_cast<std::size_t>(std::lround(fraction * double(n)));
    if (n >= 2) take = std::clamp<std::size_t>(take, 1, n - 1);
    else take = 0;  // a lone example trains
    for (std::size_t k = 0; k < take; ++k) held[group[k]] = true;
  }
  Split split;
  for (std::size_t i = 0; i < data.count; ++i) (held[i] ? split.test : split.train).push_back(i);
  return split;
}

namespace {

// Keeps only the rows `keep` (ascending) of d, moving them forward in place: a held-out split
// costs the test rows' copy, not a second copy of the training set.
void keep_rows(Dataset& d, const std::vector<std::size_t>& keep) {
  const std::size_t f = d.features, m = d.outputs;
  for (std::size_t j = 0; j < keep.size(); ++j) {
    const std::size_t i = keep[j];  // i >= j
    if (d.is_bytes()) std::copy_n(d.bytes.begin() + i * f, f, d.bytes.begin() + j * f);
    else std::copy_n(d.values.begin() + i * f, f, d.values.begin() + j * f);
    if (!d.labels.empty()) d.labels[j] = d.labels[i];
    if (!d.targets.empty()) std::copy_n(d.targets.begin() + i * m, m, d.targets.begin() + j * m);
  }
  d.count = keep.size();
  if (d.is_bytes()) d.bytes.resize(d.count * f);
  else d.values.resize(d.count * f);
  if (!d.labels.empty()) d.labels.resize(d.count);
  if (!d.targets.empty()) d.targets.resize(d.count * m);
}

void check_classes(const Dataset& train, const std::string& source, bool regression) {
  if (regression) return;
  if (train.classes.size() < 2)
    throw file_error(source, "only one class ('" + (train.classes.empty() ? std::string() : train.classes[0]) +
                                 "') among the training labels; classification needs two or more");
}

}  // namespace

TrainTest load_train_test(const DataOptions& o) {
  ReadOptions read = o.read;
  read.classes = nullptr;
  DataFiles files = read_data(o.path, read);
  TrainTest out;
  out.train = std::move(files.train);
  check_classes(out.train, o.path, read.regression);
  if (!o.test_path.empty()) {
    read.classes = read.regression ? nullptr : &out.train.classes;
    read.features = out.train.features;
    DataFiles test = read_data(o.test_path, read);
    out.test = test.test ? std::move(*test.test) : std::move(test.train);
    if (read.regression && out.test.outputs != out.train.outputs)
      throw file_error(o.test_path, std::to_string(out.test.outputs) + " targets, the training data has " +
                                        std::to_string(out.train.outputs));
    out.test_source = "--test " + o.test_path;
  } else if (files.test) {
    out.test = std::move(*files.test);
    out.test_source = "the test files of " + o.path;
  } else if (o.test_split > 0) {
    const Split split = split_stratified(out.train, o.test_split, o.seed);
    if (split.train.empty() || split.test.empty())
      throw file_error(o.path, "too few examples (" + std::to_string(out.train.count) + ") to hold out a test set");
    out.test = out.train.subset(split.test);
    keep_rows(out.train, split.train);
    out.schema.test_split = o.test_split;
    out.schema.split_seed = o.seed;
    char text[96];
    std::snprintf(text, sizeof text, "%g%% of %s held out (stratified, seed %llu)", 100 * o.test_split, o.path.c_str(),
                  static_cast<unsigned long long>(o.seed));
    out.test_source = text;
  } else if (o.test_split < 0) {
    throw Error("--test-split must be between 0 and 1 (exclusive), or 0 for no test set");
  }
  out.train.scaling = fit_scaling(out.train, o.scale);
  out.test.scaling = out.train.scaling;
  out.test.classes = out.train.classes;
  const double split = out.schema.test_split;
  const std::uint64_t seed = out.schema.split_seed;
  out.schema = schema_of(out.train);
  out.schema.test_split = split;
  out.schema.split_seed = seed;
  return out;
}

std::string label_columns(const DataSchema& schema) {
  if (!schema.classes.empty()) return schema.label_name;
  std::string names;
  for (const std::string& name : schema.target_names) names += (names.empty() ? "" : ",") + name;
  return names;
}

Dataset load_test_for(const DataOptions& o, const DataSchema& schema, bool training_part) {
  ReadOptions read = o.read;
  if (read.label.empty()) read.label = label_columns(schema);  // as training read the file
  read.regression = schema.classes.empty();
  read.classes = read.regression ? nullptr : &schema.classes;
  read.features = schema.features;
  Dataset data;
  if (!o.test_path.empty() && !training_part) {
    DataFiles files = read_data(o.test_path, read);
    data = files.test ? std::move(*files.test) : std::move(files.train);
  } else {
    DataFiles files = read_data(o.path, read);
    if (training_part && schema.test_split > 0 && !files.test) {
      data = files.train.subset(split_stratified(files.train, schema.test_split, schema.split_seed).train);
    } else if (training_part || files.test) {
      data = training_part ? std::move(files.train) : std::move(*files.test);
    } else if (schema.test_split > 0) {
      data = files.train.subset(split_stratified(files.train, schema.test_split, schema.split_seed).test);
    } else {
      throw file_error(o.path, "no test set of its own, and the model records no held-out split: give --test FILE");
    }
  }
  data.classes = schema.classes;
  data.scaling = schema.scaling;
  return data;
}

}  // namespace backprop
