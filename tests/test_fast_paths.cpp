// Every fast path against its plain reference path: the same training steps taken with the
// fused update (Network::backward_fused, Optimizer::step_fused) and with gradients stored,
// then scaled, clipped and applied by Optimizer::step must give the same parameters to float
// tolerance, for every update rule, with the first layer sparse or dense, for layer widths
// including odd ones (1, 3, 17, 1000) and a short last batch, in float and double; and the
// fused path's numbers must not depend on the thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <numeric>
#include <vector>

#include "backprop/nn/init.hpp"
#include "backprop/nn/subnormals.hpp"
#include "backprop/train/trainer.hpp"

namespace backprop {
namespace {

// A random dataset of `count` examples with `features` byte pixels, about zero_fraction of
// them 0 (so that the first layer takes its sparse path when that is above one half), and
// labels < classes.
Dataset random_dataset(std::size_t count, std::size_t features, int classes, double zero_fraction,
                       std::mt19937_64& rng) {
  Dataset data;
  data.count = count;
  data.features = features;
  data.bytes.resize(count * features);
  data.labels.resize(count);
  std::uniform_real_distribution<double> u(0, 1);
  for (auto& p : data.bytes) p = u(rng) < zero_fraction ? 0 : static_cast<std::uint8_t>(1 + rng() % 255);
  for (auto& l : data.labels) l = static_cast<std::uint8_t>(rng() % classes);
  return data;
}

// An optimizer setting the fused step must reproduce.
struct Rule {
  const char* name;
  double weight_decay = 0, clip_norm = 0;
  GradReduction reduction = GradReduction::mean;
};

const Rule kRules[] = {
    {"sgd"},
    {"sgd", 0, 0, GradReduction::sum},  // the seed's
    {"sgd", 1e-2},                      // L2
    {"sgd", 0, 0.05},                   // clipping (the norm exceeds 0.05 on these problems)
    {"momentum"},
    {"nesterov", 1e-2},
    {"nesterov", 0, 0.05, GradReduction::sum},
    {"adam"},
    {"adam", 1e-2, 0.05},
    {"adamw", 1e-2},
    {"adamw", 0, 0.05, GradReduction::sum},
};

template <typename T>
std::vector<Matrix<T>> train_steps(const std::vector<int>& sizes, Activation activation, const Rule& rule, bool fused,
                                   bool sparse, int batch, int threads = 1) {
  NetworkSpec spec;
  spec.sizes = sizes;
  spec.activations = {activation};
  spec.validate(sizes.front(), sizes.back());
  std::mt19937_64 data_rng(9);
  const double zeros = sparse ? 0.8 : 0.0;
  const Dataset data = random_dataset(5 * batch + 3, sizes.front(), sizes.back(), zeros, data_rng);  // short last batch
  std::mt19937_64 rng(4);
  Network<T> network(spec, &rng);
  initialize(network, InitScheme::seed, rng);
  TrainConfig config;
  config.batch_size = batch;
  config.optimizer.name = rule.name;
  config.optimizer.weight_decay = rule.weight_decay;
  config.clip_norm = rule.clip_norm;
  config.grad_reduction = rule.reduction;
  config.schedule.lr = std::string(rule.name).rfind("adam", 0) == 0 ? 1e-3 : 0.05;
  if (rule.reduction == GradReduction::sum) config.schedule.lr /= batch;
  config.fused_update = fused;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  Trainer<T> trainer(network, config, rng);
  trainer.train_epoch(data);
  omp_set_num_threads(saved);
  const bool took_sparse = network.dense_layers().front()->last_forward_sparse();
  if (!sparse) {
    EXPECT_FALSE(took_sparse);  // no zeros: the dense products
  }
  if (sparse && sizes.front() >= 17) {
    EXPECT_TRUE(took_sparse);  // (one or three inputs may be all zero or not)
  }
  std::vector<Matrix<T>> params;
  for (const auto& p : network.params()) params.push_back(*p.value);
  return params;
}

struct Shape {
  std::vector<int> sizes;
  int batch;
};

std::string describe(const Rule& r) {
  return std::string(r.name) + " wd " + std::to_string(r.weight_decay) + " clip " + std::to_string(r.clip_norm) +
         (r.reduction == GradReduction::sum ? " sum" : " mean");
}

template <typename T>
void expect_same(const Shape& s, Activation activation, T tolerance) {
  for (const Rule& rule : kRules)
    for (bool sparse : {true, false}) {
      const auto fast = train_steps<T>(s.sizes, activation, rule, true, sparse, s.batch);
      const auto plain = train_steps<T>(s.sizes, activation, rule, false, sparse, s.batch);
      ASSERT_EQ(fast.size(), plain.size());
      for (std::size_t i = 0; i < fast.size(); ++i) {
        const T scale = std::max(T(1), plain[i].cwiseAbs().maxCoeff());
        EXPECT_LT((fast[i] - plain[i]).cwiseAbs().maxCoeff(), tolerance * scale)
            << describe(rule) << (sparse ? " sparse" : " dense") << ", parameter " << i;
      }
    }
}

// Named by its layer sizes and batch: 784_256_10_batch64.
std::string shape_name(const Shape& s) {
  std::string name;
  for (int n : s.sizes) name += std::to_string(n) + "_";
  return name + "batch" + std::to_string(s.batch);
}
void PrintTo(const Shape& s, std::ostream* os) { *os << shape_name(s); }

class FusedMatchesReference : public ::testing::TestWithParam<Shape> {};

TEST_P(FusedMatchesReference, Float64) { expect_same<double>(GetParam(), Activation::sigmoid, 1e-12); }

TEST_P(FusedMatchesReference, Float32) { expect_same<float>(GetParam(), Activation::relu, 2e-5f); }

INSTANTIATE_TEST_SUITE_P(Shapes, FusedMatchesReference,
                         ::testing::Values(Shape{{784, 256, 10}, 64}, Shape{{1, 1, 2}, 1}, Shape{{3, 17, 3}, 7},
                                           Shape{{17, 1000, 1, 3}, 5}, Shape{{1000, 17, 3, 10}, 64},
                                           Shape{{17, 3, 1000, 10}, 17}),
                         [](const auto& info) { return shape_name(info.param); });

// The fused step splits the sparse layer's work between threads by columns, each summed in a
// fixed order, and sums the clipping norm in a fixed order: with the first layer sparse (the
// default for images) the same bits at any thread count. (With dense products the BLAS's
// own split decides, as on the reference path.)
TEST(FusedUpdate, SameBitsWithAnyThreadCount) {
  for (const Rule& rule : {Rule{"adam", 1e-2, 0.05}, Rule{"nesterov", 0, 0.05, GradReduction::sum}, Rule{"sgd"}})
    for (bool sparse : {true}) {
      const auto one = train_steps<float>({784, 256, 10}, Activation::sigmoid, rule, true, sparse, 64, 1);
      const auto two = train_steps<float>({784, 256, 10}, Activation::sigmoid, rule, true, sparse, 64, 2);
      for (std::size_t i = 0; i < one.size(); ++i)
        EXPECT_TRUE(one[i] == two[i]) << describe(rule) << (sparse ? " sparse" : " dense") << ", parameter " << i;
    }
}

}  // namespace
}  // namespace backprop

// Training flushes subnormals (subnormals.hpp) on every thread of the team, and gives each its
// mode back after: Python's or an embedding program's arithmetic is unchanged outside.
TEST(FlushSubnormals, OnEveryThreadWhileAliveOnlyAndStateStillTrains) {
  volatile float tiny = 1e-40f;  // subnormal in float32
  const auto product_on_each_thread = [&] {
    std::vector<float> out(static_cast<std::size_t>(omp_get_max_threads()), -1.0f);
#pragma omp parallel
    out[static_cast<std::size_t>(omp_get_thread_num())] = tiny * 0.5f;
    return out;
  };
  for (float x : product_on_each_thread()) EXPECT_GT(x, 0.0f);  // IEEE: a subnormal result
  {
    const backprop::FlushSubnormals flush;
    EXPECT_EQ(tiny * 0.5f, 0.0f);
    for (float x : product_on_each_thread()) EXPECT_EQ(x, 0.0f);
  }
  EXPECT_GT(tiny * 0.5f, 0.0f);
  for (float x : product_on_each_thread()) EXPECT_GT(x, 0.0f);
}
