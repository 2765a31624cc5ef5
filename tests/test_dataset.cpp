// The data model: scaling in gather_batch (bytes exactly p / 255 as float32, standard with a
// constant feature left centred), subsets, the head's label check, K x K evaluation, and the
// model file's DATA section and K x K checkpoint metrics.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backprop/data/dataset.hpp"
#include "backprop/io/checkpoint.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/train/trainer.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace backprop;
using backprop::testing::error_of;

namespace {

// rows x 3 float features: column 0 = i, column 1 = 2i + 1, column 2 = 5 (constant).
Dataset float_data(std::size_t rows, std::size_t classes) {
  Dataset d;
  d.count = rows;
  d.features = 3;
  for (std::size_t i = 0; i < rows; ++i) {
    d.values.insert(d.values.end(), {float(i), float(2 * i + 1), 5.0f});
    d.labels.push_back(static_cast<std::int32_t>(i % classes));
  }
  d.classes = numbered_classes(classes);
  d.scaling.kind = ScaleKind::none;
  return d;
}

}  // namespace

TEST(Dataset, BytesGatherAsFloat32OverTwoHundredFiftyFiveThenT) {
  Dataset d;
  d.count = 2;
  d.features = 256 / 2;
  for (int v = 0; v < 256; ++v) d.bytes.push_back(static_cast<std::uint8_t>(v));
  const std::size_t order[2] = {1, 0};
  Matrix<double> X;
  gather_batch(d, order, 2, X);
  ASSERT_EQ(X.rows(), 128);
  ASSERT_EQ(X.cols(), 2);
  for (int i = 0; i < 128; ++i) {
    EXPECT_EQ(X(i, 0), double(float(128 + i) / 255.0f));  // bit for bit, not (128 + i) / 255.0
    EXPECT_EQ(X(i, 1), double(float(i) / 255.0f));
  }
}

TEST(Dataset, AutoScalingIsUnitForBytesAndStandardForFloats) {
  Dataset bytes;
  bytes.count = 1, bytes.features = 1, bytes.bytes = {7};
  EXPECT_EQ(fit_scaling(bytes, "auto").kind, ScaleKind::unit);
  const Dataset d = float_data(10, 2);
  const Scaling s = fit_scaling(d, "auto");
  ASSERT_EQ(s.kind, ScaleKind::standard);
  EXPECT_FLOAT_EQ(s.mean[0], 4.5f);
  EXPECT_FLOAT_EQ(s.deviation[0], std::sqrt(8.25f));  // population deviation of 0..9
  EXPECT_FLOAT_EQ(s.mean[1], 10.0f);
  EXPECT_FLOAT_EQ(s.mean[2], 5.0f);
  EXPECT_EQ(s.deviation[2], 1.0f);  // constant: centred, never divided by 0

  Dataset scaled = d;
  scaled.scaling = s;
  std::vector<std::size_t> all(d.count);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  Matrix<float> X;
  gather_batch(scaled, all.data(), all.size(), X);
  for (int f = 0; f < 3; ++f) {
    EXPECT_NEAR(X.row(f).mean(), 0.0, 1e-6);
    EXPECT_NEAR(X.row(f).squaredNorm() / 10, f == 2 ? 0.0 : 1.0, 1e-5);
    EXPECT_TRUE(X.row(f).allFinite());
  }
  EXPECT_EQ(fit_scaling(d, "none").kind, ScaleKind::none);
  EXPECT_CONTAINS(error_of([&] { fit_scaling(d, "minmax"); }), "unknown scaling 'minmax'");
}

TEST(Dataset, ScalingAppliedOnceGathersTheSameBits) {
  Dataset d = float_data(37, 3);
  d.scaling = fit_scaling(d, "standard");
  const Dataset once = with_scaling_applied(d);
  EXPECT_EQ(once.scaling.kind, ScaleKind::none);
  EXPECT_EQ(once.count, d.count);
  EXPECT_EQ(once.labels, d.labels);
  EXPECT_EQ(once.classes, d.classes);
  const std::size_t order[4] = {36, 0, 17, 5};
  Matrix<float> X, Y;
  Matrix<double> X64, Y64;
  gather_batch(d, order, 4, X);
  gather_batch(once, order, 4, Y);
  gather_batch(d, order, 4, X64);
  gather_batch(once, order, 4, Y64);
  EXPECT_TRUE(X == Y);  // exactly: the scaling is element-wise in float32
  EXPECT_TRUE(X64 == Y64);

  // Training from it (Trainer::fit does so for a small float table) gives the same parameters.
  NetworkSpec spec;
  spec.sizes = {3, 5, 3};
  spec.validate(3, 3);
  TrainConfig config;
  config.epochs = 3;
  config.batch_size = 8;
  std::mt19937_64 rng_a(5), rng_b(5);
  Network<float> net_a(spec, &rng_a), net_b(spec, &rng_b);
  initialize(net_a, InitScheme::xavier_normal, rng_a);
  initialize(net_b, InitScheme::xavier_normal, rng_b);
  Trainer<float> a(net_a, config, rng_a), b(net_b, config, rng_b);
  a.fit(d, nullptr, nullptr);
  for (int e = 0; e < 3; ++e) b.train_epoch(d);  // the per-batch scaling, epoch by epoch
  ASSERT_EQ(net_a.params().size(), net_b.params().size());
  for (std::size_t i = 0; i < net_a.params().size(); ++i)
    EXPECT_TRUE(*net_a.params()[i].value == *net_b.params()[i].value) << i;
}

TEST(Dataset, SubsetHeadAndSplitTailKeepClassesAndRows) {
  Dataset d = float_data(5, 3);
  const Dataset s = d.subset({4, 0});
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(s.values, (std::vector<float>{4, 9, 5, 0, 1, 5}));
  EXPECT_EQ(s.labels, (std::vector<std::int32_t>{1, 0}));
  EXPECT_EQ(s.classes, d.classes);
  const Dataset tail = d.split_tail(2);
  EXPECT_EQ(tail.labels, (std::vector<std::int32_t>{0, 1}));
  EXPECT_EQ(d.count, 3u);
  EXPECT_EQ(d.values.size(), 9u);
  d.check("d");
  d.labels[1] = 3;
  EXPECT_EQ(error_of([&] { d.check("d.csv"); }), "d.csv: label 3 of example 1 is not a class index below 3");
}

TEST(Dataset, HeadRefusesALabelPastTheClassCount) {
  NetworkSpec spec;
  spec.sizes = {3, 4, 2};
  spec.validate(3, 2);
  std::mt19937_64 rng(1);
  Network<float> network(spec, &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  Matrix<float> X = Matrix<float>::Random(3, 2);
  network.forward(X, false);
  const std::int32_t good[2] = {0, 1}, bad[2] = {1, 2}, negative[2] = {-1, 0};
  EXPECT_TRUE(std::isfinite(network.loss(good)));
  EXPECT_EQ(error_of([&] { network.loss(bad); }), "label 2 is not a class index of a 2-class network (0..1)");
  EXPECT_CONTAINS(error_of([&] { network.loss(negative); }), "label -1");
}

TEST(Dataset, EvaluateGivesAKByKConfusionAndPredictClassesAgrees) {
  for (std::size_t K : {2u, 3u, 47u}) {
    Dataset d = float_data(200, K);
    d.scaling = fit_scaling(d, "standard");
    NetworkSpec spec;
    spec.sizes = {3, 8, int(K)};
    spec.validate(3, int(K));
    std::mt19937_64 rng(2);
    Network<double> network(spec, &rng);
    initialize(network, InitScheme::xavier_normal, rng);
    const EvalResult r = evaluate(network, d, 64);
    ASSERT_EQ(r.confusion.size(), K);
    long total = 0, diagonal = 0;
    for (std::size_t t = 0; t < K; ++t) {
      ASSERT_EQ(r.confusion[t].size(), K);
      for (std::size_t p = 0; p < K; ++p) total += r.confusion[t][p], diagonal += t == p ? r.confusion[t][p] : 0;
    }
    EXPECT_EQ(total, 200);
    EXPECT_DOUBLE_EQ(r.accuracy, diagonal / 200.0);
    const auto predicted = predict_classes(network, d, 7);  // batch size changes nothing
    long correct = 0;
    for (std::size_t i = 0; i < d.count; ++i) correct += predicted[i] == d.labels[i];
    EXPECT_EQ(correct, diagonal);
  }
}

TEST(Dataset, ModelFileKeepsScalingClassesAndSplit) {
  backprop::testing::TempDir tmp{"dataset"};
  Dataset d = float_data(20, 3);
  d.classes = {"cat", "dog", "zebra, striped"};
  d.feature_names = {"a", "b", "c"};
  d.scaling = fit_scaling(d, "standard");
  NetworkSpec spec;
  spec.sizes = {3, 5, 3};
  spec.validate(3, 3);
  std::mt19937_64 rng(3);
  Network<float> network(spec, &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  DataSchema schema = schema_of(d);
  schema.test_split = 0.25;
  schema.split_seed = 42;
  const std::string path = (tmp.path / "m.bpm").string();
  save_model(path, network, &schema);
  const ModelFile model = read_model(path);
  EXPECT_EQ(model.version, kModelVersion);
  EXPECT_EQ(model.data.classes, d.classes);
  EXPECT_EQ(model.data.scaling.kind, ScaleKind::standard);
  EXPECT_EQ(model.data.scaling.mean, d.scaling.mean);
  EXPECT_EQ(model.data.scaling.deviation, d.scaling.deviation);
  EXPECT_EQ(model.data.test_split, 0.25);
  EXPECT_EQ(model.data.split_seed, 42u);
  EXPECT_EQ(model.data.features, 3u);
  EXPECT_EQ(model.data.feature_names, d.feature_names);

  DataSchema wrong = schema;
  wrong.classes.pop_back();
  EXPECT_CONTAINS(error_of([&] { save_model(path, network, &wrong); }), "the data has 2 classes, the network has 3 outputs");

  // A checkpoint's metrics keep their K x K confusion.
  TrainConfig config;
  config.epochs = 1;
  config.batch_size = 8;
  Trainer<float> trainer(network, config, rng);
  trainer.fit(d, nullptr, &d);
  save_checkpoint((tmp.path / "c.bpm").string(), network, trainer.state(), "{}", &schema);
  const Checkpoint c = read_checkpoint((tmp.path / "c.bpm").string());
  ASSERT_EQ(c.trainer.history.size(), 1u);
  EXPECT_EQ(c.trainer.history[0].test->confusion, trainer.state().history[0].test->confusion);
  EXPECT_EQ(c.trainer.history[0].test->confusion.size(), 3u);
  EXPECT_EQ(c.model.data.classes, d.classes);
}
