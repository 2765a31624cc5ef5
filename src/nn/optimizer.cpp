// The update rules (formulas in optimizer.hpp), one small class each.
#include "backprop/nn/optimizer.hpp"

#include <cmath>

#include "backprop/error.hpp"

namespace backprop {

void OptimizerConfig::validate() const {
  if (name != "sgd" && name != "momentum" && name != "nesterov" && name != "adam" &&
      name != "adamw")
    throw Error("unknown --optimizer '" + name + "' (known: sgd, momentum, nesterov, adam, adamw)");
  if (!(momentum >= 0 && momentum < 1)) throw Error("--momentum must be in [0, 1)");
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    throw Error("--beta1 and --beta2 must be in [0, 1)");
  if (!(eps > 0)) throw Error("--eps must be positive");
  if (!(weight_decay >= 0)) throw Error("--weight-decay must not be negative");
}

template <typename T>
void Optimizer<T>::ensure_state(const std::vector<Param<T>>& params, int per_param) {
  if (!state_.empty()) return;
  for (int k = 0; k < per_param; ++k)
    for (const auto& p : params) state_.push_back(Matrix<T>::Zero(p.value->rows(), p.value->cols()));
}

namespace {

// The L2 coefficient for a parameter: weight matrices are decayed, biases never.
template <typename T>
T l2_coefficient(const Param<T>& p, double weight_decay) {
  return p.is_bias() ? T(0) : T(weight_decay);
}

template <typename T>
class Sgd final : public Optimizer<T> {
 public:
  explicit Sgd(const OptimizerConfig& config) : Optimizer<T>(config) {}
  void step(const std::vector<Param<T>>& params, T lr) override {
    ++this->t_;
    for (const auto& p : params) {
      const T wd = l2_coefficient(p, this->config_.weight_decay);
      if (wd == 0)
        p.value->noalias() -= lr * *p.grad;  // w <- w - lr g
      else
        p.value->array() -= lr * (p.grad->array() + wd * p.value->array());  // g + wd w
    }
  }
};

template <typename T>
class Momentum final : public Optimizer<T> {
 public:
  Momentum(const OptimizerConfig& config, bool nesterov) : Optimizer<T>(config), nesterov_(nesterov) {}
  void step(const std::vector<Param<T>>& params, T lr) override {
    this->ensure_state(params, 1);
    ++this->t_;
    const T mu = T(this->config_.momentum);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const T wd = l2_coefficient(params[i], this->config_.weight_decay);
      auto w = params[i].value->array();
      const auto g = params[i].grad->array() + wd * w;  // an expression: evaluated where used
      auto v = this->state_[i].array();
      v = mu * v + g;  // v <- mu v + g
      if (nesterov_)
        w -= lr * (g + mu * v);  // look ahead along the new velocity
      else
        w -= lr * v;
    }
  }

 private:
  bool nesterov_;
};

template <typename T>
class Adam final : public Optimizer<T> {
 public:
  Adam(const OptimizerConfig& config, bool decoupled) : Optimizer<T>(config), decoupled_(decoupled) {}
  void step(const std::vector<Param<T>>& params, T lr) override {
    this->ensure_state(params, 2);
    ++this->t_;
    const auto& c = this->config_;
    const T b1 = T(c.beta1), b2 = T(c.beta2), eps = T(c.eps);
    // Bias corrections for step t (t counts steps, not tensors).
    const T correction1 = T(1 - std::pow(c.beta1, double(this->t_)));
    const T correction2 = T(1 - std::pow(c.beta2, double(this->t_)));
    const std::size_t n = params.size();
    for (std::size_t i = 0; i < n; ++i) {
      const Param<T>& p = params[i];
      const T decay = l2_coefficient(p, c.weight_decay);
      auto w = p.value->array();
      const auto g = p.grad->array() + (decoupled_ ? T(0) : decay) * w;  // L2 for adam only
      auto m = this->state_[i].array();
      auto s = this->state_[n + i].array();
      m = b1 * m + (1 - b1) * g;           // first moment
      s = b2 * s + (1 - b2) * g.square();  // second moment
      if (decoupled_ && decay > 0) w *= 1 - lr * decay;  // AdamW: decay the weights directly
      w -= lr * (m / correction1) / ((s / correction2).sqrt() + eps);
    }
  }

 private:
  bool decoupled_;
};

}  // namespace

template <typename T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerConfig& config) {
  config.validate();
  if (config.name == "momentum") return std::make_unique<Momentum<T>>(config, false);
  if (config.name == "nesterov") return std::make_unique<Momentum<T>>(config, true);
  if (config.name == "adam") return std::make_unique<Adam<T>>(config, false);
  if (config.name == "adamw") return std::make_unique<Adam<T>>(config, true);
  return std::make_unique<Sgd<T>>(config);
}

template class Optimizer<float>;
template class Optimizer<double>;
template std::unique_ptr<Optimizer<float>> make_optimizer<float>(const OptimizerConfig&);
template std::unique_ptr<Optimizer<double>> make_optimizer<double>(const OptimizerConfig&);

}  // namespace backprop
