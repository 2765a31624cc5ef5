// Optimizers: the only code that changes parameters. Each step(params, lr) applies one
// update to every parameter, given its gradient g (state is kept per parameter, by its
// position in the network's parameter list, and the step count t advances once per step).
// step_fused takes the same step from the gradients before their products are formed.
//
//   sgd        w <- w - lr g
//   momentum   v <- mu v + g;             w <- w - lr v
//   nesterov   v <- mu v + g;             w <- w - lr (g + mu v)
//   adam       m <- b1 m + (1-b1) g;      s <- b2 s + (1-b2) g^2
//              w <- w - lr m_hat / (sqrt(s_hat) + eps),  m_hat = m/(1-b1^t), s_hat = s/(1-b2^t)
//   adamw      adam, then w <- w - lr wd w  (decoupled weight decay)
//
// L2 weight decay (weight_decay > 0 with sgd, momentum, nesterov, adam) adds wd w to the
// gradient of every weight matrix before the update; biases are never decayed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backprop/nn/sparse.hpp"
#include "backprop/nn/tensor.hpp"

namespace backprop {

struct OptimizerConfig {
  std::string name = "sgd";  // sgd, momentum, nesterov, adam, adamw
  double momentum = 0.9;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0;

  void validate() const;  // throws Error on an unknown name or out-of-range value
};

// A Dense layer's gradient as the backward pass leaves it, before its products:
// dW = dz x^T and db = dz 1 (sums over the batch), with x's nonzeros when the layer listed them.
template <typename T>
struct OuterGradient {
  const Matrix<T>* dz;               // (n_out, B)
  const Matrix<T>* x;                // (n_in, B)
  const SparseColumns<T>* nonzeros;  // x's nonzeros (sparse.hpp), or nullptr
};

template <typename T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // The reference step: each parameter's gradient is in its Param.
  virtual void step(const std::vector<Param<T>>& params, T lr) = 0;
  // The same step as multiplying every weight gradient by weight_scale, clipping the global
  // norm to clip_norm (0 = off), then step(params, lr), for a network whose Dense layers give
  // their gradients unformed (layers[l] holds the parameters params[2l], params[2l + 1]).
  // Each dW is formed where it is used: plain SGD accumulates dz x^T into W; the other rules
  // form a column of dW at a time (sparse x) or the whole product (dense x) and update W and
  // its state in one pass. fused_update.cpp.
  void step_fused(const std::vector<Param<T>>& params, const std::vector<OuterGradient<T>>& layers, T lr,
                  T weight_scale, double clip_norm);
  long long steps() const { return t_; }
  // The state, for checkpoints: one list of buffers per parameter, and t.
  std::vector<Matrix<T>>& state() { return state_; }
  void set_steps(long long t) { t_ = t; }

 protected:
  explicit Optimizer(const OptimizerConfig& config) : config_(config) {}
  // Sizes the state on the first step: `per_param` zero buffers shaped like each parameter.
  void ensure_state(const std::vector<Param<T>>& params, int per_param);

  OptimizerConfig config_;
  std::vector<Matrix<T>> state_;
  long long t_ = 0;

 private:
  std::vector<T> columns_;         // step_fused: a column of dW per thread
  std::vector<double> norms_;      // step_fused: squared norms, summed in a fixed order
};

template <typename T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerConfig& config);

}  // namespace backprop
