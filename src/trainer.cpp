// The training loop and evaluation.
#include "backprop/trainer.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "backprop/error.hpp"

namespace backprop {

void TrainConfig::validate() const {
  if (epochs < 0) throw Error("--epochs must not be negative");
  if (batch_size <= 0) throw Error("--batch must be positive");
  if (clip_norm < 0) throw Error("--clip-norm must not be negative");
  if (early_stop < 0) throw Error("--early-stop must not be negative");
  if (eval_batch <= 0) throw Error("evaluation batch size must be positive");
  optimizer.validate();
  schedule.validate();
}

template <typename T>
void gather_batch(const Dataset& data, const std::size_t* indices, std::size_t count, Matrix<T>& X) {
  static const auto scale = [] {
    std::array<T, 256> table{};
    for (int p = 0; p < 256; ++p) table[p] = static_cast<T>(static_cast<float>(p) / 255.0f);
    return table;
  }();
  X.resize(static_cast<Eigen::Index>(data.features), static_cast<Eigen::Index>(count));
  for (std::size_t j = 0; j < count; ++j) {
    const std::uint8_t* pixels = data.image(indices[j]);
    T* column = X.col(static_cast<Eigen::Index>(j)).data();
    for (std::size_t i = 0; i < data.features; ++i) column[i] = scale[pixels[i]];
  }
}

template <typename T>
EvalResult evaluate(Network<T>& network, const Dataset& data, int batch_size) {
  EvalResult result;
  result.count = data.count;
  if (data.count == 0) return result;
  std::vector<std::size_t> indices(data.count);
  std::iota(indices.begin(), indices.end(), 0);
  Matrix<T> X;
  Vector<T> losses;
  double loss_sum = 0;
  long correct = 0;
  for (std::size_t start = 0; start < data.count; start += batch_size) {
    const std::size_t n = std::min<std::size_t>(batch_size, data.count - start);
    gather_batch(data, indices.data() + start, n, X);
    const Matrix<T>& logits = network.forward(X, false);
    const std::uint8_t* labels = data.labels.data() + start;
    network.head().losses(logits, labels, losses);
    loss_sum += static_cast<double>(losses.sum());
    for (std::size_t j = 0; j < n; ++j) {
      Eigen::Index predicted = 0;
      logits.col(static_cast<Eigen::Index>(j)).maxCoeff(&predicted);  // argmax of logits = of y_hat
      correct += predicted == labels[j];
      if (labels[j] < 10 && predicted < 10) ++result.confusion[labels[j]][predicted];
    }
  }
  result.accuracy = double(correct) / double(data.count);
  result.loss = loss_sum / double(data.count);
  return result;
}

template <typename T>
Trainer<T>::Trainer(Network<T>& network, const TrainConfig& config, std::mt19937_64& rng)
    : network_(network), config_(config), rng_(rng), optimizer_(make_optimizer<T>(config.optimizer)) {
  config_.validate();
}

template <typename T>
void Trainer<T>::scale_and_clip(std::size_t batch) {
  if (config_.grad_reduction == GradReduction::sum)  // the seed's code: sum dW, average db
    for (const auto& p : network_.params())
      if (!p.is_bias()) *p.grad *= T(batch);
  if (config_.clip_norm > 0) {
    double squared = 0;
    for (const auto& p : network_.params()) squared += double(p.grad->squaredNorm());
    const double norm = std::sqrt(squared);
    if (norm > config_.clip_norm)
      for (const auto& p : network_.params()) *p.grad *= T(config_.clip_norm / norm);
  }
}

template <typename T>
T Trainer<T>::step(const Dataset& data, const std::size_t* indices, std::size_t count) {
  gather_batch(data, indices, count, X_);
  labels_.resize(count);
  for (std::size_t j = 0; j < count; ++j) labels_[j] = data.labels[indices[j]];
  network_.forward(X_, true);
  const T loss = network_.loss(labels_.data());
  if (!std::isfinite(static_cast<double>(loss)))
    throw Error("training diverged: the loss is " + std::to_string(double(loss)) + " at epoch " +
                std::to_string(epoch_) + ", step " + std::to_string(global_step_) +
                " (try a lower --lr)");
  network_.backward();
  scale_and_clip(count);
  optimizer_->step(network_.params(), T(config_.schedule.at(global_step_)));
  ++global_step_;
  return loss;
}

template <typename T>
double Trainer<T>::train_epoch(const Dataset& data, const Progress& progress) {
  if (order_.size() != data.count) {
    order_.resize(data.count);
    std::iota(order_.begin(), order_.end(), 0);
  }
  if (config_.shuffle)  // Fisher-Yates with the run's generator: reproducible from --seed
    for (std::size_t i = data.count; i > 1; --i) std::swap(order_[i - 1], order_[rng_() % i]);
  double loss_sum = 0;
  std::size_t batches = 0;
  for (std::size_t start = 0; start < data.count; start += config_.batch_size) {
    const std::size_t n = std::min<std::size_t>(config_.batch_size, data.count - start);
    loss_sum += static_cast<double>(step(data, order_.data() + start, n));
    ++batches;
    if (progress) progress(start + n, data.count, loss_sum / double(batches));
  }
  ++epoch_;
  return batches ? loss_sum / double(batches) : 0.0;
}

template <typename T>
std::vector<EpochMetrics> Trainer<T>::fit(const Dataset& train, const Dataset* validation,
                                          const Dataset* test, const EpochCallback& on_epoch,
                                          const Progress& progress) {
  using Clock = std::chrono::steady_clock;
  std::vector<EpochMetrics> history;
  std::vector<Matrix<T>> best;  // parameters at the lowest validation loss
  double best_loss = std::numeric_limits<double>::infinity();
  int epochs_without_improvement = 0;
  while (epoch_ < config_.epochs) {
    EpochMetrics m;
    m.epoch = epoch_;
    const auto t0 = Clock::now();
    m.train_loss = train_epoch(train, progress);
    const auto t1 = Clock::now();
    if (validation && validation->count) m.validation = evaluate(network_, *validation, config_.eval_batch);
    if (test && test->count) m.test = evaluate(network_, *test, config_.eval_batch);
    m.train_seconds = std::chrono::duration<double>(t1 - t0).count();
    m.eval_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
    m.learning_rate = config_.schedule.at(global_step_ - 1);
    history.push_back(m);
    if (on_epoch) on_epoch(m);
    if (config_.early_stop > 0 && m.validation) {
      if (m.validation->loss < best_loss) {
        best_loss = m.validation->loss;
        epochs_without_improvement = 0;
        best.clear();
        for (const auto& p : network_.params()) best.push_back(*p.value);
      } else if (++epochs_without_improvement >= config_.early_stop) {
        break;
      }
    }
  }
  if (!best.empty())  // early stopping keeps the best parameters, not the last
    for (std::size_t i = 0; i < best.size(); ++i) *network_.params()[i].value = best[i];
  return history;
}

template void gather_batch<float>(const Dataset&, const std::size_t*, std::size_t, Matrix<float>&);
template void gather_batch<double>(const Dataset&, const std::size_t*, std::size_t, Matrix<double>&);
template EvalResult evaluate<float>(Network<float>&, const Dataset&, int);
template EvalResult evaluate<double>(Network<double>&, const Dataset&, int);
template class Trainer<float>;
template class Trainer<double>;

}  // namespace backprop
