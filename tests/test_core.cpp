// Hand-computed forward values, numerical safety at extreme inputs, and configuration errors.
#include <gtest/gtest.h>

#include <cmath>

#include "backprop/error.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/nn/loss.hpp"
#include "backprop/nn/network.hpp"

namespace backprop {
namespace {

Matrix<double> column(std::initializer_list<double> values) {
  Matrix<double> m(values.size(), 1);
  int i = 0;
  for (double v : values) m(i++, 0) = v;
  return m;
}

TEST(Activation, HandComputedValues) {
  const Matrix<double> z = column({-1.0, 0.0, 2.0});
  Matrix<double> h;
  activation_forward(Activation::sigmoid, z, h);
  EXPECT_DOUBLE_EQ(h(0), 1 / (1 + std::exp(1.0)));
  EXPECT_DOUBLE_EQ(h(1), 0.5);
  activation_forward(Activation::relu, z, h);
  EXPECT_EQ(h(0), 0.0);
  EXPECT_EQ(h(2), 2.0);
  activation_forward(Activation::leaky_relu, z, h);
  EXPECT_DOUBLE_EQ(h(0), -0.01);
  activation_forward(Activation::elu, z, h);
  EXPECT_DOUBLE_EQ(h(0), std::exp(-1.0) - 1);
  activation_forward(Activation::softplus, z, h);
  EXPECT_DOUBLE_EQ(h(1), std::log(2.0));
  activation_forward(Activation::gelu, z, h);
  EXPECT_NEAR(h(2), 1.9545976, 1e-6);  // tanh-form GELU(2)
}

TEST(Activation, ExtremeInputsStayFinite) {
  for (Activation a : {Activation::sigmoid, Activation::tanh, Activation::relu, Activation::leaky_relu,
                       Activation::elu, Activation::gelu, Activation::softplus}) {
    for (bool f32 : {false, true}) {
      Matrix<double> z = column({-1000.0, 1000.0, 0.0});
      Matrix<double> h, dz;
      const Matrix<double> dh = Matrix<double>::Ones(3, 1);
      if (f32) {
        Matrix<float> zf = z.cast<float>(), hf, dzf;
        activation_forward(a, zf, hf);
        activation_backward(a, zf, hf, Matrix<float>(dh.cast<float>()), dzf);
        h = hf.cast<double>();
        dz = dzf.cast<double>();
      } else {
        activation_forward(a, z, h);
        activation_backward(a, z, h, dh, dz);
      }
      EXPECT_TRUE(h.allFinite()) << activation_name(a) << (f32 ? " f32" : " f64");
      EXPECT_TRUE(dz.allFinite()) << activation_name(a) << (f32 ? " f32" : " f64");
    }
  }
  Matrix<double> h;
  activation_forward(Activation::sigmoid, column({-1000.0, 1000.0}), h);
  EXPECT_EQ(h(0), 0.0);
  EXPECT_EQ(h(1), 1.0);
}

TEST(Activation, UnknownNameIsAClearError) {
  try {
    activation_from_name("swish");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown activation 'swish'"), std::string::npos);
  }
}

TEST(Softmax, SumsToOneAndSurvivesHugeLogits) {
  Matrix<double> z(3, 2);
  z << 1000, -1000, 0, -1000, -1000, 1000;
  Matrix<double> y_hat;
  softmax(z, y_hat);
  EXPECT_TRUE(y_hat.allFinite());
  EXPECT_NEAR(y_hat.col(0).sum(), 1.0, 1e-15);
  EXPECT_DOUBLE_EQ(y_hat(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(y_hat(2, 1), 1.0);
}

TEST(CrossEntropy, HandComputedLossAndGradient) {
  // Two classes, logits (0, ln 3): y_hat = (1/4, 3/4). Label 1: loss = -ln(3/4).
  Head<double> head(HeadKind::softmax_cross_entropy);
  Matrix<double> z = column({0.0, std::log(3.0)});
  const std::int32_t label = 1;
  EXPECT_NEAR(head.forward(z, &label), -std::log(0.75), 1e-15);
  const Matrix<double>& dz = head.backward();  // y_hat - y, B = 1
  EXPECT_NEAR(dz(0), 0.25, 1e-15);
  EXPECT_NEAR(dz(1), -0.25, 1e-15);
}

TEST(CrossEntropy, ClippedLikeTheSeedAtExtremeLogits) {
  Head<float> head(HeadKind::softmax_cross_entropy);
  Matrix<float> z(2, 2);
  z << 1000, -1000, -1000, 1000;
  const std::int32_t labels[2] = {1, 1};  // first example confidently wrong, second right
  const float loss = head.forward(z, labels);
  EXPECT_TRUE(std::isfinite(loss));
  // -log(1e-12) for the wrong one, ~0 for the right one, averaged over 2.
  EXPECT_NEAR(loss, -std::log(1e-12) / 2, 1e-3);
  EXPECT_TRUE(head.backward().allFinite());
}

TEST(CrossEntropy, GradientCarriesOneOverBatch) {
  Head<double> head(HeadKind::softmax_cross_entropy);
  Matrix<double> z = Matrix<double>::Zero(2, 4);
  const std::int32_t labels[4] = {0, 0, 1, 1};
  head.forward(z, labels);
  EXPECT_DOUBLE_EQ(head.backward()(0, 0), (0.5 - 1) / 4);
}

TEST(MeanSquaredError, HandComputed) {
  Head<double> head(HeadKind::mse);
  Matrix<double> z = column({0.5, 2.0});
  const std::int32_t label = 1;
  EXPECT_DOUBLE_EQ(head.forward(z, &label), 0.5 * (0.25 + 1.0));
  EXPECT_DOUBLE_EQ(head.backward()(0), 0.5);
  EXPECT_DOUBLE_EQ(head.backward()(1), 1.0);
}

TEST(Network, ForwardMatchesHandComputation) {
  // 2 -> 2 -> 2 sigmoid network with chosen weights.
  NetworkSpec spec;
  spec.sizes = {2, 2, 2};
  spec.validate(2, 2);
  std::mt19937_64 rng(1);
  Network<double> network(spec, &rng);
  auto* l1 = network.dense_layers()[0];
  auto* l2 = network.dense_layers()[1];
  l1->W << 1, 2, -1, 0.5;  // (out, in)
  l1->b << 0.1, -0.2;
  l2->W << 1, -1, 0.5, 2;
  l2->b << 0, 0.3;
  const Matrix<double> x = column({0.5, -1.0});
  const Matrix<double>& logits = network.forward(x, false);
  const auto sigmoid = [](double z) { return 1 / (1 + std::exp(-z)); };
  const double h0 = sigmoid(1 * 0.5 + 2 * -1.0 + 0.1), h1 = sigmoid(-1 * 0.5 + 0.5 * -1.0 - 0.2);
  EXPECT_NEAR(logits(0), h0 - h1, 1e-15);
  EXPECT_NEAR(logits(1), 0.5 * h0 + 2 * h1 + 0.3, 1e-15);
}

TEST(NetworkSpec, ConfigurationErrorsAreClear) {
  const auto message = [](NetworkSpec spec) {
    try {
      spec.validate(784, 10);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  NetworkSpec spec;
  spec.sizes = {100, 32, 10};
  EXPECT_NE(message(spec).find("first size must be the input size 784"), std::string::npos);
  spec.sizes = {784, 32, 5};
  EXPECT_NE(message(spec).find("number of classes 10"), std::string::npos);
  spec.sizes = {784, 0, 10};
  EXPECT_NE(message(spec).find("positive"), std::string::npos);
  spec.sizes = {784, 32, 16, 10};
  spec.activations = {Activation::relu, Activation::relu, Activation::tanh};
  EXPECT_NE(message(spec).find("3 activations given for 2 hidden layers"), std::string::npos);
  EXPECT_THROW(parse_layer_sizes("784,abc,10"), Error);
  EXPECT_THROW(parse_activations("relu,swish"), Error);
}

TEST(NetworkSpec, OneActivationServesEveryHiddenLayer) {
  NetworkSpec spec;
  spec.sizes = {784, 64, 32, 10};
  spec.activations = {Activation::tanh};
  spec.validate(784, 10);
  ASSERT_EQ(spec.activations.size(), 2u);
  EXPECT_EQ(spec.describe(), "784-64-32-10 tanh,tanh softmax");
}

TEST(Init, SchemesHaveTheirStatedSpread) {
  NetworkSpec spec;
  spec.sizes = {400, 300, 10};
  spec.validate(400, 10);
  std::mt19937_64 rng(11);
  Network<double> network(spec, &rng);
  const auto stddev = [](const Matrix<double>& m) {
    const double mean = m.mean();
    return std::sqrt((m.array() - mean).square().mean());
  };
  initialize(network, InitScheme::seed, rng);
  EXPECT_NEAR(stddev(network.dense_layers()[0]->W), std::sqrt(1.0 / 400), 0.002);
  EXPECT_GE(network.dense_layers()[0]->b.minCoeff(), 0.0);  // U[0,1)
  EXPECT_LT(network.dense_layers()[0]->b.maxCoeff(), 1.0);
  initialize(network, InitScheme::he_normal, rng);
  EXPECT_NEAR(stddev(network.dense_layers()[0]->W), std::sqrt(2.0 / 400), 0.002);
  EXPECT_EQ(network.dense_layers()[0]->b.norm(), 0.0);
  initialize(network, InitScheme::xavier_uniform, rng);
  const double bound = std::sqrt(6.0 / 700);
  EXPECT_LE(network.dense_layers()[0]->W.cwiseAbs().maxCoeff(), bound);
  EXPECT_NEAR(stddev(network.dense_layers()[0]->W), bound / std::sqrt(3.0), 0.002);
}

TEST(Dropout, InvertedScalingKeepsTheMeanAndIsOffInEvaluation) {
  std::mt19937_64 rng(2);
  Dropout<double> dropout(0.25, &rng);
  const Matrix<double> x = Matrix<double>::Ones(200, 200);
  const Matrix<double> h = dropout.forward(x, true);
  EXPECT_NEAR(h.mean(), 1.0, 0.02);
  EXPECT_NEAR((h.array() == 0).cast<double>().mean(), 0.25, 0.01);
  EXPECT_TRUE(((h.array() == 0) || (h.array() == 1 / 0.75)).all());
  EXPECT_EQ(dropout.forward(x, false), x);
}

}  // namespace
}  // namespace backprop
