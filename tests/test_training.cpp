// Training on the real MNIST files ($BACKPROP_DATA): the loss falls, one epoch of the seed
// preset reaches 90%, runs are deterministic, and early stopping keeps the best parameters.
#include <gtest/gtest.h>

#include <cstdlib>
#include <numeric>

#include "backprop/data/fetch.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/train/trainer.hpp"

namespace backprop {
namespace {

const Mnist* mnist() {
  static const Mnist* data = [] {
    const std::string dir = resolve_data_dir("");
    return mnist_present(dir) ? new Mnist(load_mnist(dir)) : nullptr;
  }();
  return data;
}

#define REQUIRE_MNIST() \
  if (!mnist()) GTEST_SKIP() << "MNIST not found in " << resolve_data_dir("") << " (run backprop fetch-mnist)"

TrainConfig seed_config() {
  TrainConfig c;
  c.epochs = 1;
  c.batch_size = 64;
  c.schedule.lr = 0.01;
  c.grad_reduction = GradReduction::sum;
  return c;
}

NetworkSpec seed_spec(int hidden = 256) {
  NetworkSpec spec;
  spec.sizes = {784, hidden, 10};
  spec.validate(784, 10);
  return spec;
}

TEST(Training, LossFallsOverAFewHundredStepsOnRealData) {
  REQUIRE_MNIST();
  const Dataset subset = mnist()->train.head(6400);
  std::mt19937_64 rng(1);
  Network<float> network(seed_spec(64), &rng);
  initialize(network, InitScheme::seed, rng);
  Trainer<float> trainer(network, seed_config(), rng);
  std::vector<double> losses;
  for (int epoch = 0; epoch < 3; ++epoch) losses.push_back(trainer.train_epoch(subset));  // 300 steps
  EXPECT_LT(losses[1], losses[0]);
  EXPECT_LT(losses[2], losses[1]);
  EXPECT_LT(losses[2], 0.5 * losses[0]);
}

TEST(Training, OneSeedEpochReachesNinetyPercent) {
  REQUIRE_MNIST();
  std::mt19937_64 rng(0);
  Network<float> network(seed_spec(), &rng);
  initialize(network, InitScheme::seed, rng);
  Trainer<float> trainer(network, seed_config(), rng);
  const auto history = trainer.fit(mnist()->train, nullptr, &mnist()->test);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_GE(history[0].test->accuracy, 0.90);
  EXPECT_EQ(history[0].test->count, 10000u);
}

TEST(Training, SameSeedSameRun) {
  REQUIRE_MNIST();
  const Dataset subset = mnist()->train.head(2000);
  const auto run = [&] {
    std::mt19937_64 rng(42);
    NetworkSpec spec = seed_spec(32);
    spec.dropout = {0.2};
    spec.validate(784, 10);
    Network<float> network(spec, &rng);
    initialize(network, InitScheme::seed, rng);
    Trainer<float> trainer(network, seed_config(), rng);
    const double loss = trainer.train_epoch(subset);
    return std::make_pair(loss, Matrix<float>(network.dense_layers()[0]->W));
  };
  const auto a = run(), b = run();
  EXPECT_EQ(a.first, b.first);
  EXPECT_TRUE(a.second == b.second);  // bit for bit
}

// The seed's "sum" reduction is the mean reduction with weight gradients times B.
TEST(Training, SumReductionScalesWeightGradientsByBatch) {
  REQUIRE_MNIST();
  const Dataset subset = mnist()->train.head(64);
  std::vector<std::size_t> all(64);
  std::iota(all.begin(), all.end(), 0);
  std::mt19937_64 rng_a(3), rng_b(3);
  Network<double> a(seed_spec(16), &rng_a), b(seed_spec(16), &rng_b);
  initialize(a, InitScheme::seed, rng_a);
  initialize(b, InitScheme::seed, rng_b);
  TrainConfig mean = seed_config(), sum = seed_config();
  mean.grad_reduction = GradReduction::mean;
  Trainer<double> ta(a, mean, rng_a), tb(b, sum, rng_b);
  const Matrix<double> w_before = a.dense_layers()[0]->W, b_before = a.dense_layers()[0]->b;
  ta.step(subset, all.data(), 64);
  tb.step(subset, all.data(), 64);
  const Matrix<double> step_mean = a.dense_layers()[0]->W - w_before;
  const Matrix<double> step_sum = b.dense_layers()[0]->W - w_before;
  EXPECT_LT((step_sum - 64 * step_mean).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((b.dense_layers()[0]->b - a.dense_layers()[0]->b).cwiseAbs().maxCoeff(), 1e-15);  // biases: mean in both
  EXPECT_GT(step_mean.cwiseAbs().maxCoeff(), 0.0);
  (void)b_before;
}

TEST(Training, EarlyStoppingRestoresTheBestParameters) {
  REQUIRE_MNIST();
  Dataset train = mnist()->train.head(3000);
  Dataset validation = train.split_tail(1000);
  std::mt19937_64 rng(5);
  Network<float> network(seed_spec(64), &rng);
  initialize(network, InitScheme::seed, rng);
  TrainConfig c = seed_config();
  c.epochs = 30;
  c.early_stop = 2;
  c.schedule.lr = 0.2;  // far too high for summed gradients: validation loss soon rises
  Trainer<float> trainer(network, c, rng);
  const auto history = trainer.fit(train, &validation, nullptr);
  ASSERT_LT(history.size(), 30u) << "early stopping never triggered";
  double best = 1e300;
  for (const auto& m : history) best = std::min(best, m.validation->loss);
  EXPECT_GT(history.back().validation->loss, best);  // stopped after getting worse...
  EXPECT_NEAR(evaluate(network, validation).loss, best, 1e-6);  // ...but kept the best
}

// --eval-every: the test set is scored after every N-th epoch and the last, the validation
// set after every epoch, and what is scored changes nothing of the training.
TEST(Training, EvalEveryScoresTheTestSetEveryNthAndTheLastEpoch) {
  REQUIRE_MNIST();
  Dataset train = mnist()->train.head(2000);
  Dataset validation = train.split_tail(500);
  const Dataset test = mnist()->test.head(500);
  std::vector<std::vector<EpochMetrics>> runs;
  std::vector<Matrix<float>> weights;
  for (int every : {1, 3}) {
    std::mt19937_64 rng(7);
    Network<float> network(seed_spec(32), &rng);
    initialize(network, InitScheme::seed, rng);
    TrainConfig c = seed_config();
    c.epochs = 7;
    c.eval_every = every;
    Trainer<float> trainer(network, c, rng);
    runs.push_back(trainer.fit(train, &validation, &test));
    weights.push_back(network.dense_layers()[0]->W);
  }
  ASSERT_EQ(runs[0].size(), 7u);
  ASSERT_EQ(runs[1].size(), 7u);
  for (std::size_t e = 0; e < 7; ++e) {
    const bool scored = (e + 1) % 3 == 0 || e == 6;  // after epochs 3, 6 and 7
    EXPECT_TRUE(runs[0][e].test.has_value()) << e;
    EXPECT_EQ(runs[1][e].test.has_value(), scored) << e;
    ASSERT_TRUE(runs[1][e].validation.has_value()) << e;
    EXPECT_EQ(runs[1][e].train_loss, runs[0][e].train_loss) << e;
    EXPECT_EQ(runs[1][e].validation->loss, runs[0][e].validation->loss) << e;
    if (scored) {
      EXPECT_EQ(runs[1][e].test->accuracy, runs[0][e].test->accuracy) << e;
    }
  }
  EXPECT_EQ(weights[0], weights[1]);
}

}  // namespace
}  // namespace backprop
