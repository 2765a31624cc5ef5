// The dataset readers (readers.hpp): the same data as CSV, .npz and IDX trains to the same
// numbers; labels as text and as numbers; IDX directories with a prefix and -test- names; K = 2,
// 3 and 47; the seeded stratified split and eval's view of it; and every bad file, each a
// one-line error naming the file (and line and column).
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "backprop/data/readers.hpp"
#include "backprop/io/npz.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/train/trainer.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace backprop;
using backprop::testing::error_of;

namespace {

struct ReadersTest : ::testing::Test {
  backprop::testing::TempDir tmp{"readers"};
  std::string path(const std::string& name) const { return (tmp.path / name).string(); }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }
};

std::string be32(std::uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

// n examples of 2x3 byte "images" and labels: pixel j of example i = (7i + 13j) % 256, label i % k.
struct Small {
  std::size_t n, k;
  int pixel(std::size_t i, std::size_t j) const { return int((7 * i + 13 * j) % 256); }
  int label(std::size_t i) const { return int(i % k); }
  std::string idx_images() const {
    std::string s = be32(0x803) + be32(std::uint32_t(n)) + be32(2) + be32(3);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < 6; ++j) s += char(pixel(i, j));
    return s;
  }
  std::string idx_labels() const {
    std::string s = be32(0x801) + be32(std::uint32_t(n));
    for (std::size_t i = 0; i < n; ++i) s += char(label(i));
    return s;
  }
  std::string csv() const {
    std::string s = "p0,p1,p2,p3,p4,p5,label\n";
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < 6; ++j) s += std::to_string(pixel(i, j)) + ",";
      s += std::to_string(label(i)) + "\n";
    }
    return s;
  }
  Npz npz() const {
    NpyArray x, y;
    x.shape = {n, 6};
    y.shape = {n};
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < 6; ++j) x.values.push_back(pixel(i, j));
      y.values.push_back(label(i));
    }
    return {{"x", x}, {"y", y}};
  }
};

// The parameters after two epochs of SGD on data, scaled p / 255 (identical inputs whatever
// the storage: float32 v / 255 is what bytes give).
std::vector<float> train_numbers(Dataset data) {
  data.scaling = fit_scaling(data, "unit");
  NetworkSpec spec;
  spec.sizes = {6, 5, int(data.classes.size())};
  spec.validate(6, int(data.classes.size()));
  std::mt19937_64 rng(7);
  Network<float> network(spec, &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  TrainConfig config;
  config.epochs = 2;
  config.batch_size = 4;
  config.schedule.lr = 0.1;
  Trainer<float> trainer(network, config, rng);
  trainer.fit(data, nullptr, nullptr);
  std::vector<float> out;
  for (const auto& p : network.params()) out.insert(out.end(), p.value->data(), p.value->data() + p.value->size());
  out.push_back(float(evaluate(network, data).loss));
  return out;
}

}  // namespace

TEST_F(ReadersTest, SameDataAsCsvNpzAndIdxTrainsToTheSameNumbers) {
  const Small small{24, 3};
  write("train-images-idx3-ubyte", small.idx_images());
  write("train-labels-idx1-ubyte", small.idx_labels());
  write_npz(path("d.npz"), small.npz());
  const Dataset idx = read_data(tmp.path.string()).train;
  const Dataset csv = read_data(write("d.csv", small.csv())).train;
  const Dataset npz = read_data(path("d.npz")).train;
  EXPECT_TRUE(idx.is_bytes());
  EXPECT_EQ(idx.rows, 2u);
  EXPECT_FALSE(csv.is_bytes());
  EXPECT_FALSE(npz.is_bytes());  // float64 x becomes float32
  for (const Dataset* d : {&idx, &csv, &npz}) {
    EXPECT_EQ(d->count, 24u);
    EXPECT_EQ(d->features, 6u);
    EXPECT_EQ(d->classes, (std::vector<std::string>{"0", "1", "2"}));
  }
  EXPECT_EQ(csv.labels, idx.labels);
  EXPECT_EQ(npz.labels, idx.labels);
  const auto expected = train_numbers(idx);
  EXPECT_EQ(train_numbers(csv), expected);
  EXPECT_EQ(train_numbers(npz), expected);
}

TEST_F(ReadersTest, CsvLabelsAsTextOrNumbersQuotingCrlfAndBom) {
  const Dataset text = read_csv(write("t.csv",
                                      "\xEF\xBB\xBF" "a,\"b, quoted\",kind\r\n"
                                      "1,2,zebra\r\n"
                                      "3,\"4\",ant\r\n"
                                      "5,6,\"zebra\"\r\n"
                                      "7,8,\"a \"\"moth\"\"\""));  // no final line break
  EXPECT_EQ(text.classes, (std::vector<std::string>{"a \"moth\"", "ant", "zebra"}));
  EXPECT_EQ(text.labels, (std::vector<std::int32_t>{2, 1, 2, 0}));
  EXPECT_EQ(text.feature_names, (std::vector<std::string>{"a", "b, quoted"}));
  EXPECT_EQ(text.values, (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}));
  // Numbers sort as numbers, and 3 / 3.0 are one class; --label picks a column anywhere.
  const Dataset numbers = read_csv(write("n.csv", "y,x\n10,1\n2,2\n3.0,3\n3,4\n"), [] {
    ReadOptions o;
    o.label = "y";
    return o;
  }());
  EXPECT_EQ(numbers.classes, (std::vector<std::string>{"2", "3", "10"}));
  EXPECT_EQ(numbers.labels, (std::vector<std::int32_t>{2, 0, 1, 1}));
  EXPECT_EQ(numbers.values, (std::vector<float>{1, 2, 3, 4}));
}

TEST_F(ReadersTest, IdxDirectoryWithAPrefixAndTestNamesAndFortySevenClasses) {
  for (std::size_t k : {2u, 3u, 47u}) {
    backprop::testing::TempDir dir{"idx"};
    const Small train{k * 4, k}, test{k * 2, k};
    const auto put = [&](const std::string& name, const std::string& bytes) {
      std::ofstream((dir.path / name).string(), std::ios::binary) << bytes;
    };
    put("emnist-balanced-train-images-idx3-ubyte", train.idx_images());
    put("emnist-balanced-train-labels-idx1-ubyte", train.idx_labels());
    put("emnist-balanced-test-images-idx3-ubyte", test.idx_images());
    put("emnist-balanced-test-labels-idx1-ubyte", test.idx_labels());
    DataOptions options;
    options.path = dir.path.string();
    const TrainTest data = load_train_test(options);
    EXPECT_EQ(data.train.classes.size(), k);
    EXPECT_EQ(data.train.count, k * 4);
    EXPECT_EQ(data.test.count, k * 2);  // the files' own test set, no split
    EXPECT_EQ(data.schema.test_split, 0.0);
    EXPECT_EQ(data.train.scaling.kind, ScaleKind::unit);
    EXPECT_EQ(train_numbers(data.train).size(), std::size_t(6 * 5 + 5 + 5 * k + k + 1));
    // A second dataset in the directory: name the one wanted by its train-images file.
    put("other-train-images-idx3-ubyte", train.idx_images());
    put("other-train-labels-idx1-ubyte", train.idx_labels());
    EXPECT_CONTAINS(error_of([&] { read_data(dir.path.string()); }), "holds several IDX datasets (emnist-balanced-, other-)");
    EXPECT_EQ(read_data((dir.path / "other-train-images-idx3-ubyte").string()).train.count, k * 4);
  }
}

TEST_F(ReadersTest, StratifiedSeededSplitAndEvalSeesTheSameRows) {
  std::string text = "x,label\n";
  for (int i = 0; i < 100; ++i) text += std::to_string(i) + "," + (i < 80 ? "big" : "small") + "\n";
  DataOptions options;
  options.path = write("s.csv", text);
  options.test_split = 0.25;
  options.seed = 5;
  const TrainTest data = load_train_test(options);
  EXPECT_EQ(data.test.count, 25u);
  long small_in_test = 0;
  for (std::int32_t label : data.test.labels) small_in_test += label == 1;
  EXPECT_EQ(small_in_test, 5);  // a quarter of each class
  EXPECT_EQ(data.schema.test_split, 0.25);
  EXPECT_EQ(data.schema.split_seed, 5u);
  const Dataset again = load_test_for(options, data.schema);
  EXPECT_EQ(again.values, data.test.values);
  EXPECT_EQ(load_test_for(options, data.schema, true).values, data.train.values);
  options.seed = 6;
  EXPECT_NE(load_train_test(options).test.values, data.test.values);
}

TEST_F(ReadersTest, NpzTrainAndTestArraysAnyDtype) {
  NpyRaw unused;
  (void)unused;
  const Small small{10, 2};
  Npz arrays = small.npz();
  arrays["x_train"] = arrays["x"];
  arrays["y_train"] = arrays["y"];
  arrays["x_test"] = arrays["x"];
  arrays["y_test"] = arrays["y"];
  arrays["y_test"].values[3] = 5;  // not a training class
  arrays.erase("x");
  arrays.erase("y");
  write_npz(path("k.npz"), arrays);
  EXPECT_EQ(error_of([&] { read_data(path("k.npz")); }), path("k.npz") + ": y_test[3] = 5 is not a class of the training set");
  arrays["y_test"].values[3] = 1;
  arrays["y_train"].values.pop_back();
  arrays["y_train"].shape = {9};
  write_npz(path("k.npz"), arrays);
  EXPECT_EQ(error_of([&] { read_data(path("k.npz")); }), path("k.npz") + ": x_train has 10 examples, y_train has 9");
}

TEST_F(ReadersTest, BadFilesGetOneLineErrorsNamingFileLineAndColumn) {
  const auto csv_error = [&](const std::string& text, ReadOptions o = {}) {
    return error_of([&] { read_csv(write("bad.csv", text), o); });
  };
  const std::string f = path("bad.csv");
  EXPECT_EQ(csv_error("a,b,label\n1,,x\n"), f + ": line 2, column 2 ('b'): missing value");
  EXPECT_EQ(csv_error("a,b,label\n1,2,x\n1,two,y\n"), f + ": line 3, column 2 ('b'): not a number 'two'");
  EXPECT_EQ(csv_error("a,b,label\n1,2,x\n1,2\n"), f + ": line 3: 2 fields, the header has 3 (a ragged row)");
  EXPECT_EQ(csv_error("a,b,label\n1,2,x,9\n"), f + ": line 2: 4 fields, the header has 3 (a ragged row)");
  EXPECT_EQ(csv_error("a,b,label\n"), f + ": a header but no data rows");
  EXPECT_EQ(csv_error(""), f + ": empty file (a CSV needs a header row and data rows)");
  EXPECT_EQ(csv_error(std::string("a,b\n1,\0\x01", 8)), f + ": binary data (a NUL byte at offset 6), not a CSV file");
  EXPECT_EQ(csv_error("a,b,label\n1,nan,x\n"),
            f + ": line 2, column 2 ('b'): 'nan' is not a finite float32 number (NaN and infinities cannot be trained on)");
  EXPECT_CONTAINS(csv_error("a,b,label\n1,1e999,x\n"), "line 2, column 2 ('b'): '1e999' is not a finite float32 number");
  EXPECT_CONTAINS(csv_error("a,b,label\n-inf,1,x\n"), "line 2, column 1 ('a'): '-inf' is not a finite");
  ReadOptions o;
  o.label = "kind";
  EXPECT_EQ(csv_error("a,b,label\n1,2,x\n", o), f + ": no column 'kind' for --label (the header has: a, b, label)");
  EXPECT_EQ(csv_error("a,b,label\n1,2,\n"), f + ": line 2, column 3 ('label'): missing label");
  EXPECT_CONTAINS(csv_error("a,b,label\n1,\"2,x\n"), "malformed CSV (a quoted field never closes)");
  EXPECT_CONTAINS(csv_error("a,b,label\n1,2\"3,x\n"), "line 2: malformed CSV");

  DataOptions single;
  single.path = write("one.csv", "a,label\n1,x\n2,x\n3,x\n");
  EXPECT_EQ(error_of([&] { load_train_test(single); }),
            single.path + ": only one class ('x') among the training labels; classification needs two or more");
  DataOptions unseen;
  unseen.path = write("tr.csv", "a,label\n1,x\n2,y\n");
  unseen.test_path = write("te.csv", "a,label\n1,x\n2,z\n");
  EXPECT_EQ(error_of([&] { load_train_test(unseen); }),
            unseen.test_path + ": line 3, column 2 ('label'): label 'z' is not a class of the training set");
  unseen.test_path = write("te.csv", "a,b,label\n1,1,x\n");
  EXPECT_EQ(error_of([&] { load_train_test(unseen); }), unseen.test_path + ": 2 feature columns, the model takes 1");

  NpyArray x, y;
  x.shape = {2, 1};
  x.values = {1, std::numeric_limits<double>::quiet_NaN()};
  y.shape = {2};
  y.values = {0, 1};
  write_npz(path("nan.npz"), {{"x", x}, {"y", y}});
  EXPECT_CONTAINS(error_of([&] { read_data(path("nan.npz")); }), path("nan.npz") + ": x (2, 1): example 1, feature 0 is nan");
  write_npz(path("none.npz"), {{"w", x}});
  EXPECT_EQ(error_of([&] { read_data(path("none.npz")); }),
            path("none.npz") + ": no x_train and y_train (or x and y) arrays (it holds: w)");
  EXPECT_EQ(error_of([&] { read_data(path("missing.csv")); }), path("missing.csv") + ": cannot open (No such file or directory)");
  EXPECT_CONTAINS(error_of([&] { read_data(tmp.path.string()); }), "no IDX training files");
}
