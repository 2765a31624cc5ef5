// Every analytic gradient against central finite differences, in float64: each activation,
// each head, depth 1 to 3, and dropout with a fixed mask.
#include <gtest/gtest.h>

#include "backprop/train/gradcheck.hpp"
#include "backprop/nn/init.hpp"

namespace backprop {
namespace {

struct Case {
  std::vector<int> sizes;
  Activation activation;
  HeadKind head;
  double dropout;
};

// The test's name says what it varies: relu_mse_depth2, sigmoid_softmax_depth2_dropout, and
// softmax_depth0 (no hidden layer, so no activation).
std::string case_name(const Case& c) {
  const std::size_t depth = c.sizes.size() - 2;  // hidden layers
  std::string name = depth > 0 ? std::string(activation_name(c.activation)) + "_" : "";
  name += std::string(head_name(c.head)) + "_depth" + std::to_string(depth);
  if (c.dropout > 0) name += "_dropout";
  return name;
}
void PrintTo(const Case& c, std::ostream* os) { *os << case_name(c); }  // not a byte dump

class GradientCheck : public ::testing::TestWithParam<Case> {};

TEST_P(GradientCheck, AnalyticMatchesFiniteDifferences) {
  const Case& c = GetParam();
  NetworkSpec spec;
  spec.sizes = c.sizes;
  spec.activations = {c.activation};
  spec.head = c.head;
  if (c.dropout > 0) spec.dropout = {c.dropout};
  spec.validate(c.sizes.front(), c.sizes.back());
  std::mt19937_64 rng(7);
  Network<double> network(spec, &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  // Non-zero biases, so every term of every equation is exercised.
  for (auto* dense : network.dense_layers())
    for (Eigen::Index i = 0; i < dense->b.size(); ++i) dense->b(i) = 0.2 * standard_normal(rng);

  const int batch = 3;
  Matrix<double> X(c.sizes.front(), batch);
  for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = 2 * uniform01(rng) - 1;
  std::vector<std::int32_t> labels = {0, 2, 1};

  const auto rows = gradient_check(network, X, labels);
  ASSERT_EQ(rows.size(), 2 * (c.sizes.size() - 1));
  for (const auto& row : rows) {
    EXPECT_GT(row.entries, 0);
    EXPECT_LT(row.max_rel_error, kGradCheckTolerance)
        << row.name << " worst entry " << row.worst_index << ": analytic " << row.analytic
        << " numeric " << row.numeric;
  }
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  const std::vector<std::vector<int>> shapes = {{4, 3}, {4, 5, 3}, {4, 5, 6, 3}};
  for (const auto& sizes : shapes)
    for (Activation a : {Activation::sigmoid, Activation::tanh, Activation::relu, Activation::leaky_relu,
                         Activation::elu, Activation::gelu, Activation::softplus})
      for (HeadKind head : {HeadKind::softmax_cross_entropy, HeadKind::mse}) {
        if (sizes.size() == 2 && a != Activation::sigmoid) continue;  // no hidden layer: one case per head
        cases.push_back({sizes, a, head, 0.0});
      }
  for (Activation a : {Activation::sigmoid, Activation::relu})
    cases.push_back({{4, 6, 5, 3}, a, HeadKind::softmax_cross_entropy, 0.3});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllCombinations, GradientCheck, ::testing::ValuesIn(all_cases()),
                         [](const auto& info) { return case_name(info.param); });

// The seed network's shapes on a random batch: 784 -> 16 -> 10 sigmoid, softmax.
TEST(GradientCheckSeed, SeedShapesAgreeToOneInAMillion) {
  NetworkSpec spec;
  spec.sizes = {784, 16, 10};
  spec.validate(784, 10);
  std::mt19937_64 rng(3);
  Network<double> network(spec, &rng);
  initialize(network, InitScheme::seed, rng);
  Matrix<double> X(784, 4);
  for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = uniform01(rng) < 0.8 ? 0.0 : uniform01(rng);
  const auto rows = gradient_check(network, X, {3, 1, 4, 1});
  for (const auto& row : rows) EXPECT_LT(row.max_rel_error, 1e-6) << row.name;
}

}  // namespace
}  // namespace backprop
