// Checks that can fail (issue 18): a negative control for the gradient checker (one dW entry
// scaled by 1.01 must be reported above tolerance, at that entry) and a per-layer Jacobian test
// in the manner of mlpack's JacobianTest: each layer alone, a one-hot upstream gradient d_out
// = e_k for every output entry k, and the input gradient dx (and Dense's dW, db) compared with
// central differences of output entry k. The comparison has its own negative control too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "backprop/nn/init.hpp"
#include "backprop/nn/layers.hpp"
#include "backprop/train/gradcheck.hpp"

namespace backprop {
namespace {

// The one call that depends on Layer::backward's signature.
const Matrix<double>& backward_of(Layer<double>& layer, const Matrix<double>& d_out) {
  return layer.backward(d_out);
}

double relative_error(double a, double n) { return std::abs(a - n) / std::max(std::abs(a) + std::abs(n), 1e-4); }

// The worst relative error of analytic (flat, the size of `wrt`) against the five-point
// central difference of output(x)(k) with respect to each entry of wrt.
double worst_error(const std::function<double()>& output_k, Matrix<double>& wrt, const Matrix<double>& analytic) {
  double worst = 0;
  const double h = 1e-4;
  for (Eigen::Index i = 0; i < wrt.size(); ++i) {
    double& v = wrt.data()[i];
    const double saved = v;
    const auto at = [&](double offset) {
      v = saved + offset;
      return output_k();
    };
    const double numeric = (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h);
    v = saved;
    worst = std::max(worst, relative_error(analytic.data()[i], numeric));
  }
  return worst;
}

Matrix<double> random_input(int rows, int cols, std::mt19937_64& rng) {
  Matrix<double> x(rows, cols);
  // Away from 0, where relu and leaky_relu have their kink.
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = (uniform01(rng) < 0.5 ? -1 : 1) * (0.1 + uniform01(rng));
  return x;
}

// dx (and, for Dense, dW and db) of layer at x for every one-hot d_out; returns the worst error.
double jacobian_error(Layer<double>& layer, Matrix<double> x, Dense<double>* dense = nullptr,
                      double corrupt_dx = 1.0) {
  const Matrix<double> out = layer.forward(x, true);
  double worst = 0;
  for (Eigen::Index k = 0; k < out.size(); ++k) {
    Matrix<double> d_out = Matrix<double>::Zero(out.rows(), out.cols());
    d_out.data()[k] = 1;
    layer.forward(x, true);
    Matrix<double> dx = backward_of(layer, d_out);
    dx.data()[0] *= corrupt_dx;  // the comparison's negative control
    const Matrix<double> dW = dense ? dense->dW : Matrix<double>(), db = dense ? dense->db : Matrix<double>();
    const auto output_k = [&] { return layer.forward(x, true).data()[k]; };
    worst = std::max(worst, worst_error(output_k, x, dx));
    if (dense) {
      worst = std::max(worst, worst_error(output_k, dense->W, dW));
      worst = std::max(worst, worst_error(output_k, dense->b, db));
    }
  }
  return worst;
}

TEST(JacobianTest, DenseInputWeightAndBiasGradients) {
  std::mt19937_64 rng(4);
  Dense<double> dense(4, 3, 1);  // 4 inputs, 3 outputs, batch 2
  for (Eigen::Index i = 0; i < dense.W.size(); ++i) dense.W.data()[i] = standard_normal(rng);
  for (Eigen::Index i = 0; i < dense.b.size(); ++i) dense.b.data()[i] = standard_normal(rng);
  EXPECT_LT(jacobian_error(dense, random_input(4, 2, rng), &dense), 1e-8);
}

TEST(JacobianTest, EveryActivationsInputGradient) {
  for (Activation a : {Activation::sigmoid, Activation::tanh, Activation::relu, Activation::leaky_relu,
                       Activation::elu, Activation::gelu, Activation::softplus}) {
    std::mt19937_64 rng(5);
    ActivationLayer<double> layer(a);
    EXPECT_LT(jacobian_error(layer, random_input(3, 2, rng)), 1e-8) << activation_name(a);
  }
}

TEST(JacobianTest, DropoutWithAFixedMask) {
  std::mt19937_64 rng(6), mask_rng(7);
  Dropout<double> dropout(0.4, &mask_rng);
  const Matrix<double> x = random_input(5, 2, rng);
  dropout.forward(x, true);  // draws the mask...
  dropout.freeze_mask(true);  // ...and keeps it
  EXPECT_LT(jacobian_error(dropout, x), 1e-8);
}

// The comparison itself can fail: dx off by 1% in one entry is seen.
TEST(JacobianTest, NegativeControlAWrongInputGradientIsSeen) {
  std::mt19937_64 rng(4);
  ActivationLayer<double> layer(Activation::tanh);
  EXPECT_GT(jacobian_error(layer, random_input(3, 2, rng), nullptr, 1.01), 1e-3);
}

// The gradient checker's negative control: one dW entry scaled by 1.01 must be reported above
// tolerance, at that entry, while every other tensor still passes.
TEST(GradientCheckControl, OneWeightGradientScaledBy1Point01IsReported) {
  NetworkSpec spec;
  spec.sizes = {4, 3, 2};
  spec.activations = {Activation::tanh};
  spec.validate(4, 2);
  std::mt19937_64 rng(9);
  Network<double> network(spec, &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  const Matrix<double> X = random_input(4, 2, rng);
  const std::vector<std::int32_t> labels = {0, 1};
  const Eigen::Index entry = 5;
  const auto corrupt = [&](std::vector<Param<double>>& params) {
    for (auto& p : params)
      if (p.name() == "w1") p.grad->data()[entry] *= 1.01;
  };
  for (const auto& row : gradient_check(network, X, labels)) EXPECT_LT(row.max_rel_error, kGradCheckTolerance) << row.name;
  for (const auto& row : gradient_check(network, X, labels, 0, corrupt)) {
    if (row.name == "w1") {
      EXPECT_GT(row.max_rel_error, kGradCheckTolerance);
      EXPECT_EQ(row.worst_index, entry);
      EXPECT_NEAR(row.analytic / row.numeric, 1.01, 1e-6);
    } else {
      EXPECT_LT(row.max_rel_error, kGradCheckTolerance) << row.name;
    }
  }
}

// --max-entries N checks at most N entries (10 of 12 was 11... of 21 it was 11).
TEST(GradientCheckControl, MaxEntriesIsAnUpperBound) {
  NetworkSpec spec;
  spec.sizes = {7, 3, 2};
  spec.validate(7, 2);
  std::mt19937_64 rng(2);
  Network<double> network(spec, &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  for (const auto& row : gradient_check(network, random_input(7, 2, rng), {0, 1}, 10)) EXPECT_LE(row.entries, 10) << row.name;
}

}  // namespace
}  // namespace backprop
