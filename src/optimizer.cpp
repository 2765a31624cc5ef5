// The update rules (formulas in optimizer.hpp), one small class each.
#include "backprop/optimizer.hpp"

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

// The gradient with L2 decay added for weight matrices: g + wd w.
template <typename T>
Matrix<T> decayed_gradient(const Param<T>& p, double weight_decay) {
  if (weight_decay == 0 || p.is_bias()) return *p.grad;
  return *p.grad + T(weight_decay) * *p.value;
}

template <typename T>
class Sgd final : public Optimizer<T> {
 public:
  explicit Sgd(const OptimizerConfig& config) : Optimizer<T>(config) {}
  void step(const std::vector<Param<T>>& params, T lr) override {
    ++this->t_;
    const double wd = this->config_.weight_decay;
    for (const auto& p : params) {
      if (wd == 0 || p.is_bias())
        p.value->noalias() -= lr * *p.grad;  // w <- w - lr g
      else
        *p.value -= lr * decayed_gradient(p, wd);
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
      const Matrix<T> g = decayed_gradient(params[i], this->config_.weight_decay);
      Matrix<T>& v = this->state_[i];
      v = mu * v + g;  // v <- mu v + g
      if (nesterov_)
        *params[i].value -= lr * (g + mu * v);  // look ahead along the new velocity
      else
        *params[i].value -= lr * v;
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
      const Matrix<T> g = decoupled_ ? *p.grad : decayed_gradient(p, c.weight_decay);
      Matrix<T>& m = this->state_[i];
      Matrix<T>& s = this->state_[n + i];
      m = b1 * m + (1 - b1) * g;                    // first moment
      s = b2 * s + (1 - b2) * g.cwiseAbs2();        // second moment
      if (decoupled_ && c.weight_decay > 0 && !p.is_bias())
        *p.value -= lr * T(c.weight_decay) * *p.value;  // AdamW: decay the weights directly
      p.value->array() -= lr * (m.array() / correction1) /
                          ((s.array() / correction2).sqrt() + eps);
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
