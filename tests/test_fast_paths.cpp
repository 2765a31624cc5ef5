// Every fast path against its plain reference path: the same training steps taken with SGD
// fused into the backward pass and with gradients-then-optimizer must give the same
// parameters to float tolerance, for layer widths including odd ones (1, 3, 17, 1000).
#include <gtest/gtest.h>

#include <numeric>

#include "backprop/nn/init.hpp"
#include "backprop/train/trainer.hpp"

namespace backprop {
namespace {

// A random dataset of `count` examples with `features` byte pixels and labels < classes.
Dataset random_dataset(std::size_t count, std::size_t features, int classes, std::mt19937_64& rng) {
  Dataset data;
  data.count = count;
  data.features = features;
  data.bytes.resize(count * features);
  data.labels.resize(count);
  for (auto& p : data.bytes) p = static_cast<std::uint8_t>(rng() % 256);
  for (auto& l : data.labels) l = static_cast<std::uint8_t>(rng() % classes);
  return data;
}

template <typename T>
std::vector<Matrix<T>> train_steps(const std::vector<int>& sizes, Activation activation, GradReduction reduction,
                                   bool fused, int batch) {
  NetworkSpec spec;
  spec.sizes = sizes;
  spec.activations = {activation};
  spec.validate(sizes.front(), sizes.back());
  std::mt19937_64 data_rng(9);
  const Dataset data = random_dataset(5 * batch + 3, sizes.front(), sizes.back(), data_rng);  // short last batch
  std::mt19937_64 rng(4);
  Network<T> network(spec, &rng);
  initialize(network, InitScheme::seed, rng);
  TrainConfig config;
  config.batch_size = batch;
  config.schedule.lr = 0.05;
  config.grad_reduction = reduction;
  config.fused_sgd = fused;
  Trainer<T> trainer(network, config, rng);
  trainer.train_epoch(data);
  std::vector<Matrix<T>> params;
  for (const auto& p : network.params()) params.push_back(*p.value);
  return params;
}

struct Shape {
  std::vector<int> sizes;
  int batch;
};

class FusedSgdMatchesReference : public ::testing::TestWithParam<Shape> {};

TEST_P(FusedSgdMatchesReference, Float64) {
  const Shape& s = GetParam();
  for (GradReduction reduction : {GradReduction::mean, GradReduction::sum}) {
    const auto fast = train_steps<double>(s.sizes, Activation::sigmoid, reduction, true, s.batch);
    const auto plain = train_steps<double>(s.sizes, Activation::sigmoid, reduction, false, s.batch);
    ASSERT_EQ(fast.size(), plain.size());
    for (std::size_t i = 0; i < fast.size(); ++i) {
      const double scale = std::max(1.0, plain[i].cwiseAbs().maxCoeff());
      EXPECT_LT((fast[i] - plain[i]).cwiseAbs().maxCoeff(), 1e-12 * scale) << "parameter " << i;
    }
  }
}

TEST_P(FusedSgdMatchesReference, Float32) {
  const Shape& s = GetParam();
  const auto fast = train_steps<float>(s.sizes, Activation::relu, GradReduction::mean, true, s.batch);
  const auto plain = train_steps<float>(s.sizes, Activation::relu, GradReduction::mean, false, s.batch);
  for (std::size_t i = 0; i < fast.size(); ++i) {
    const float scale = std::max(1.0f, plain[i].cwiseAbs().maxCoeff());
    EXPECT_LT((fast[i] - plain[i]).cwiseAbs().maxCoeff(), 1e-5f * scale) << "parameter " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, FusedSgdMatchesReference,
                         ::testing::Values(Shape{{784, 256, 10}, 64}, Shape{{1, 1, 2}, 1}, Shape{{3, 17, 3}, 7},
                                           Shape{{17, 1000, 1, 3}, 5}, Shape{{1000, 17, 3, 10}, 64}));

}  // namespace
}  // namespace backprop
