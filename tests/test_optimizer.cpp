// Each optimizer against steps computed by hand on a two-parameter problem (one weight w,
// one bias b), and the learning-rate schedules at their boundaries.
#include <gtest/gtest.h>

#include "backprop/error.hpp"
#include "backprop/nn/optimizer.hpp"
#include "backprop/nn/schedule.hpp"

namespace backprop {
namespace {

struct TwoParams {
  Matrix<double> w = Matrix<double>::Constant(1, 1, 1.0), dw = Matrix<double>::Zero(1, 1);
  Matrix<double> b = Matrix<double>::Constant(1, 1, 1.0), db = Matrix<double>::Zero(1, 1);
  std::vector<Param<double>> params() { return {{"W", 1, &w, &dw}, {"b", 1, &b, &db}}; }
};

// Runs the optimizer for the given gradients (the same for w and b) with lr 0.1; returns
// w and b after each step.
std::vector<std::pair<double, double>> run(OptimizerConfig config, const std::vector<double>& grads) {
  TwoParams p;
  auto optimizer = make_optimizer<double>(config);
  std::vector<std::pair<double, double>> trace;
  for (double g : grads) {
    p.dw(0, 0) = g;
    p.db(0, 0) = g;
    optimizer->step(p.params(), 0.1);
    trace.emplace_back(p.w(0, 0), p.b(0, 0));
  }
  return trace;
}

TEST(Optimizer, SgdStepsAgainstTheGradient) {
  OptimizerConfig c;
  c.name = "sgd";
  const auto t = run(c, {0.5, -1.0});
  EXPECT_DOUBLE_EQ(t[0].first, 0.95);  // 1 - 0.1 * 0.5
  EXPECT_DOUBLE_EQ(t[1].first, 1.05);  // 0.95 + 0.1 * 1
}

TEST(Optimizer, SgdL2DecayAppliesToWeightsOnly) {
  OptimizerConfig c;
  c.weight_decay = 0.1;
  const auto t = run(c, {0.5});
  EXPECT_DOUBLE_EQ(t[0].first, 1 - 0.1 * (0.5 + 0.1 * 1.0));  // g + wd w
  EXPECT_DOUBLE_EQ(t[0].second, 0.95);                        // bias: no decay
}

TEST(Optimizer, MomentumAccumulatesVelocity) {
  OptimizerConfig c;
  c.name = "momentum";
  c.momentum = 0.9;
  const auto t = run(c, {0.5, 0.5});
  EXPECT_DOUBLE_EQ(t[0].first, 0.95);   // v = 0.5
  EXPECT_DOUBLE_EQ(t[1].first, 0.855);  // v = 0.9*0.5 + 0.5 = 0.95
}

TEST(Optimizer, NesterovLooksAhead) {
  OptimizerConfig c;
  c.name = "nesterov";
  c.momentum = 0.9;
  const auto t = run(c, {0.5, 0.5});
  EXPECT_DOUBLE_EQ(t[0].first, 0.905);   // 1 - 0.1 (0.5 + 0.9*0.5)
  EXPECT_DOUBLE_EQ(t[1].first, 0.7695);  // v = 0.95: 0.905 - 0.1 (0.5 + 0.855)
}

TEST(Optimizer, AdamBiasCorrection) {
  OptimizerConfig c;
  c.name = "adam";
  const auto t = run(c, {0.5, -1.0});
  // Step 1: m_hat = g and s_hat = g^2, so the step is lr * sign(g) (up to eps).
  EXPECT_NEAR(t[0].first, 0.900000002, 1e-12);
  EXPECT_NEAR(t[1].first, 0.9366103542405654, 1e-12);
  EXPECT_NEAR(t[1].second, 0.9366103542405654, 1e-12);  // same rule for biases
}

TEST(Optimizer, AdamWithL2AddsDecayToTheGradient) {
  OptimizerConfig c;
  c.name = "adam";
  c.weight_decay = 0.1;
  const auto t = run(c, {0.5, -1.0});
  EXPECT_NEAR(t[1].first, 0.9252635194456061, 1e-12);
  EXPECT_NEAR(t[1].second, 0.9366103542405654, 1e-12);  // bias undecayed
}

TEST(Optimizer, AdamWDecaysWeightsDecoupled) {
  OptimizerConfig c;
  c.name = "adamw";
  c.weight_decay = 0.1;
  const auto t = run(c, {0.5, -1.0});
  EXPECT_NEAR(t[0].first, 0.890000002, 1e-12);  // w - lr wd w, then the Adam step
  EXPECT_NEAR(t[1].first, 0.9177103542205653, 1e-12);
  EXPECT_NEAR(t[1].second, 0.9366103542405654, 1e-12);
}

TEST(Optimizer, StepCountAdvancesOncePerStep) {
  OptimizerConfig c;
  c.name = "adam";
  TwoParams p;
  auto optimizer = make_optimizer<double>(c);
  optimizer->step(p.params(), 0.1);
  optimizer->step(p.params(), 0.1);
  EXPECT_EQ(optimizer->steps(), 2);  // two tensors, two steps: t == 2, not 4
}

TEST(Optimizer, RejectsBadConfiguration) {
  OptimizerConfig c;
  c.name = "adagrad";
  EXPECT_THROW(make_optimizer<double>(c), Error);
  c.name = "momentum";
  c.momentum = 1.5;
  EXPECT_THROW(make_optimizer<double>(c), Error);
}

TEST(Schedule, ConstantAndWarmup) {
  Schedule s;
  s.lr = 0.5;
  EXPECT_DOUBLE_EQ(s.at(0), 0.5);
  EXPECT_DOUBLE_EQ(s.at(1000), 0.5);
  s.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(s.at(0), 0.125);  // lr (t+1) / W
  EXPECT_DOUBLE_EQ(s.at(3), 0.5);
  EXPECT_DOUBLE_EQ(s.at(4), 0.5);
}

TEST(Schedule, StepDecaysAtEpochBoundaries) {
  Schedule s;
  s.kind = "step";
  s.lr = 1.0;
  s.steps_per_epoch = 10;
  s.step_epochs = 2;
  s.gamma = 0.5;
  EXPECT_DOUBLE_EQ(s.at(19), 1.0);   // last step of epoch 1
  EXPECT_DOUBLE_EQ(s.at(20), 0.5);   // first step of epoch 2
  EXPECT_DOUBLE_EQ(s.at(39), 0.5);
  EXPECT_DOUBLE_EQ(s.at(40), 0.25);
}

TEST(Schedule, CosineFromLrToZero) {
  Schedule s;
  s.kind = "cosine";
  s.lr = 1.0;
  s.total_steps = 110;
  s.warmup_steps = 10;
  EXPECT_DOUBLE_EQ(s.at(9), 1.0);    // end of warm-up
  EXPECT_DOUBLE_EQ(s.at(10), 1.0);   // cosine starts at lr
  EXPECT_NEAR(s.at(60), 0.5, 1e-12); // half way
  EXPECT_NEAR(s.at(110), 0.0, 1e-12);
  EXPECT_NEAR(s.at(500), 0.0, 1e-12);  // stays at 0 past the end
}

TEST(Schedule, RejectsBadValues) {
  Schedule s;
  s.lr = 0;
  EXPECT_THROW(s.validate(), Error);
  s.lr = -1;
  EXPECT_THROW(s.validate(), Error);
  s.lr = 0.1;
  s.kind = "exponential";
  EXPECT_THROW(s.validate(), Error);
}

}  // namespace
}  // namespace backprop
