// The training loop and evaluation.
#include "backprop/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "backprop/error.hpp"
#include "backprop/nn/subnormals.hpp"
#include "backprop/train/regression.hpp"

namespace backprop {

namespace {

// Throws when a parameter holds NaN or infinity, naming it and the first bad entry: training
// has diverged, and nothing after this (an evaluation, a checkpoint) may use the values.
// One pass over the parameters: cheap once per epoch, and on a non-finite loss.
template <typename T>
void check_parameters_finite(const Network<T>& network, int epoch, long long step, const std::string& why) {
  for (const auto& p : network.params()) {
    const Matrix<T>& value = *p.value;
    if (value.allFinite()) continue;
    Eigen::Index row = 0, col = 0;
    for (Eigen::Index j = 0; j < value.cols(); ++j)
      for (Eigen::Index i = 0; i < value.rows(); ++i)
        if (!std::isfinite(static_cast<double>(value(i, j)))) {
          row = i, col = j;
          j = value.cols();
          break;
        }
    throw Error("training diverged at epoch " + std::to_string(epoch) + ", step " + std::to_string(step) + ": " +
                (why.empty() ? "" : why + "; ") + "parameter " + p.name() + " holds " +
                std::to_string(double(value(row, col))) + " at (" + std::to_string(row) + ", " + std::to_string(col) +
                ") (try a lower --lr, or --clip-norm)");
  }
  if (!why.empty())
    throw Error("training diverged at epoch " + std::to_string(epoch) + ", step " + std::to_string(step) + ": " +
                why + " while every parameter is finite (try a lower --lr, or --clip-norm)");
}

}  // namespace

void TrainConfig::validate() const {
  if (epochs < 0) throw Error("--epochs must not be negative");
  if (batch_size <= 0) throw Error("--batch must be positive");
  if (clip_norm < 0) throw Error("--clip-norm must not be negative");
  if (early_stop < 0) throw Error("--early-stop must not be negative");
  if (eval_batch <= 0) throw Error("evaluation batch size must be positive");
  if (eval_every < 1) throw Error("--eval-every must be at least 1");
  optimizer.validate();
  schedule.validate();
}

template <typename T>
std::vector<std::int32_t> predict_classes(Network<T>& network, const Dataset& data, int batch_size,
                                          const BatchLogits<T>& on_batch) {
  if (batch_size <= 0) throw Error("evaluation batch size must be positive");
  std::vector<std::int32_t> predicted(data.count);
  std::vector<std::size_t> indices(data.count);
  std::iota(indices.begin(), indices.end(), 0);
  Matrix<T> X;
  // Images whose scaling maps a zero byte to 0 (none, unit) go from their bytes straight to the
  // first layer's sums over their nonzeros (Network::forward_bytes): no float copy of the batch
  // to write and scan again, and the first activation in the same pass.
  T table[256] = {};  // the input value of each byte value, as gather_batch scales it
  const bool from_bytes = network.sparse_input() && data.is_bytes() && data.scaling.kind != ScaleKind::standard;
  for (int v = 0; from_bytes && v < 256; ++v) {
    const auto byte = static_cast<std::uint8_t>(v);
    data.scaling.apply(&byte, 1, &table[v]);
  }
  for (std::size_t start = 0; start < data.count; start += batch_size) {
    const std::size_t n = std::min<std::size_t>(batch_size, data.count - start);
    const Matrix<T>* sparse = from_bytes ? network.forward_bytes(data.row_bytes(start), Eigen::Index(data.features),
                                                                 Eigen::Index(n), table)
                                         : nullptr;
    if (!sparse) gather_batch(data, indices.data() + start, n, X);
    const Matrix<T>& logits = sparse ? *sparse : network.forward(X, false);
    for (std::size_t j = 0; j < n; ++j) {
      Eigen::Index k = 0;
      logits.col(static_cast<Eigen::Index>(j)).maxCoeff(&k);  // argmax of logits = of y_hat
      predicted[start + j] = static_cast<std::int32_t>(k);
    }
    if (on_batch) on_batch(start, logits);
  }
  return predicted;
}

template <typename T>
std::vector<float> predict_values(Network<T>& network, const Dataset& data, int batch_size) {
  if (batch_size <= 0) throw Error("evaluation batch size must be positive");
  std::vector<float> values;
  values.reserve(data.count * data.outputs);
  std::vector<std::size_t> indices(data.count);
  std::iota(indices.begin(), indices.end(), 0);
  Matrix<T> X;
  for (std::size_t start = 0; start < data.count; start += batch_size) {
    const std::size_t n = std::min<std::size_t>(batch_size, data.count - start);
    gather_batch(data, indices.data() + start, n, X);
    unstandardise(data, network.forward(X, false), values);
  }
  return values;
}

namespace {

// Regression: the scores of regression.hpp, in the targets' units; loss = their MSE.
template <typename T>
EvalResult evaluate_regression(Network<T>& network, const Dataset& data, int batch_size) {
  EvalResult result;
  result.regression = true;
  result.count = data.count;
  if (data.count == 0) return result;
  if (static_cast<std::size_t>(network.spec().sizes.back()) != data.outputs)
    throw Error("the network has " + std::to_string(network.spec().sizes.back()) + " outputs, the data " +
                std::to_string(data.outputs) + " targets");
  const std::vector<float> predicted = predict_values(network, data, batch_size);
  const RegressionScores s = regression_scores(predicted.data(), data.targets.data(), data.count, data.outputs);
  result.loss = s.mse;
  result.rmse = s.rmse;
  result.mae = s.mae;
  result.r2 = s.r2;
  return result;
}

}  // namespace

template <typename T>
EvalResult evaluate(Network<T>& network, const Dataset& data, int batch_size) {
  if (data.outputs > 0) return evaluate_regression(network, data, batch_size);
  const std::size_t K = static_cast<std::size_t>(network.spec().sizes.back());
  EvalResult result;
  result.count = data.count;
  result.confusion.assign(K, std::vector<long>(K, 0));
  if (data.count == 0) return result;
  Vector<T> losses;
  double loss_sum = 0;
  const auto predicted = predict_classes<T>(network, data, batch_size, [&](std::size_t start, const Matrix<T>& logits) {
    network.head().losses(logits, data.labels.data() + start, losses);
    loss_sum += static_cast<double>(losses.sum());
  });
  long correct = 0;
  for (std::size_t i = 0; i < data.count; ++i) {
    correct += predicted[i] == data.labels[i];
    ++result.confusion[std::size_t(data.labels[i])][std::size_t(predicted[i])];  // both < K: losses checked
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
  if (collective_) return distributed_step(data, indices, count);
  gather_batch(data, indices, count, X_);
  T loss;
  if (data.outputs > 0) {  // regression: the mse head on the standardised targets
    gather_targets(data, indices, count, Y_);
    network_.forward(X_, true);
    loss = network_.loss(Y_);
  } else {
    labels_.resize(count);
    for (std::size_t j = 0; j < count; ++j) labels_[j] = data.labels[indices[j]];
    network_.forward(X_, true);
    loss = network_.loss(labels_.data());
  }
  if (!std::isfinite(static_cast<double>(loss)))
    check_parameters_finite(network_, epoch_, global_step_, "the loss is " + std::to_string(double(loss)));
  const T lr = T(config_.schedule.at(global_step_));
  if (config_.fused_update) {  // the same update as the reference path below, in fewer passes
    const T weight_scale = config_.grad_reduction == GradReduction::sum ? T(count) : T(1);
    network_.backward_fused(*optimizer_, lr, weight_scale, config_.clip_norm);
  } else {  // gradients, then the optimizer
    network_.backward();
    scale_and_clip(count);
    optimizer_->step(network_.params(), lr);
  }
  ++global_step_;
  return loss;
}

template <typename T>
double Trainer<T>::train_epoch(const Dataset& data, const Progress& progress) {
  const FlushSubnormals flush;  // subnormals.hpp: optimizer state decays into them and stays
  interrupted_ = false;
  if (epoch_position_ == 0) {  // a new epoch (not the rest of one stopped half-way)
    if (order_.size() != data.count) {
      order_.resize(data.count);
      std::iota(order_.begin(), order_.end(), 0);
    }
    if (config_.shuffle)  // Fisher-Yates with the run's generator: reproducible from --seed
      for (std::size_t i = data.count; i > 1; --i) std::swap(order_[i - 1], order_[rng_() % i]);
    epoch_loss_sum_ = 0;
    epoch_batches_ = 0;
  } else if (order_.size() != data.count) {
    throw Error("cannot continue the epoch: it was started on " + std::to_string(order_.size()) +
                " training examples, this data has " + std::to_string(data.count));
  }
  if (source_) {
    source_->start_epoch(data, epoch_, order_, epoch_position_, config_.batch_size);
    identity_.resize(config_.batch_size);
    std::iota(identity_.begin(), identity_.end(), 0);
  }
  while (epoch_position_ < data.count) {
    const std::size_t start = epoch_position_;
    const std::size_t n = std::min<std::size_t>(config_.batch_size, data.count - start);
    T loss;
    if (source_) {
      const Dataset& batch = source_->next_batch();
      if (batch.count != n || batch.features != data.features)
        throw Error("batch source: a batch of " + std::to_string(batch.count) + " examples of " +
                    std::to_string(batch.features) + " features, expected " + std::to_string(n) + " of " +
                    std::to_string(data.features));
      loss = step(batch, identity_.data(), n);
    } else {
      loss = step(data, order_.data() + start, n);
    }
    epoch_loss_sum_ += static_cast<double>(loss);
    ++epoch_batches_;
    epoch_position_ = start + n;
    if (progress) progress(epoch_position_, data.count, epoch_loss_sum_ / double(epoch_batches_));
    if (epoch_position_ < data.count && stop_requested()) {  // stop between two steps
      interrupted_ = true;
      return epoch_loss_sum_ / double(epoch_batches_);
    }
  }
  epoch_position_ = 0;
  ++epoch_;
  return epoch_batches_ ? epoch_loss_sum_ / double(epoch_batches_) : 0.0;
}

template <typename T>
void Trainer<T>::track_best(const EpochMetrics& m) {
  if (config_.early_stop <= 0 || !m.validation) return;
  if (m.validation->loss < best_loss_) {
    best_loss_ = m.validation->loss;
    epochs_without_improvement_ = 0;
    best_.clear();
    for (const auto& p : network_.params()) best_.push_back(*p.value);
  } else if (++epochs_without_improvement_ >= config_.early_stop) {
    stopped_early_ = true;
  }
}

template <typename T>
std::vector<EpochMetrics> Trainer<T>::fit(const Dataset& train, const Dataset* validation,
                                          const Dataset* test, const EpochCallback& on_epoch,
                                          const Progress& progress) {
  using Clock = std::chrono::steady_clock;
  interrupted_ = false;
  // A float table's scaling divides every feature of every batch again each epoch (3% of a
  // 200-epoch table's run): apply it once to a copy when the copy is small. The inputs are
  // the same bits (dataset.hpp), so is everything trained from them.
  constexpr std::size_t kScaledCopyBytes = std::size_t(64) << 20;
  Dataset scaled;
  const bool scale_once = !source_ && !train.is_bytes() && train.scaling.kind != ScaleKind::none &&
                          config_.epochs - epoch_ > 1 && train.values.size() * sizeof(float) <= kScaledCopyBytes;
  if (scale_once) scaled = with_scaling_applied(train);
  const Dataset& data = scale_once ? scaled : train;
  while (epoch_ < config_.epochs && !stopped_early_) {
    if (stop_requested()) {
      interrupted_ = true;
      return history_;
    }
    EpochMetrics m;
    m.epoch = epoch_;
    const auto t0 = Clock::now();
    m.train_loss = train_epoch(data, progress);
    // The last step's update is checked by no loss: check the parameters before anything
    // (evaluation, a checkpoint at the end of the epoch or on a stop signal) uses them.
    check_parameters_finite(network_, m.epoch, global_step_ - 1, "");
    if (interrupted_) return history_;  // mid-epoch: the parameters stay as they are
    const auto t1 = Clock::now();
    const bool evaluates = !collective_ || collective_->rank() == 0;
    if (evaluates && validation && validation->count) m.validation = evaluate(network_, *validation, config_.eval_batch);
    if (collective_) share_validation(m);
    track_best(m);
    const bool last = epoch_ == config_.epochs || stopped_early_;  // the run's last epoch is always scored
    if (evaluates && test && test->count && (last || epoch_ % std::max(1, config_.eval_every) == 0))
      m.test = evaluate(network_, *test, config_.eval_batch);
    m.train_seconds = std::chrono::duration<double>(t1 - t0).count();
    m.eval_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
    m.learning_rate = config_.schedule.at(global_step_ - 1);
    history_.push_back(m);
    if (on_epoch) on_epoch(m);
  }
  if (!best_.empty())  // early stopping keeps the best parameters, not the last
    for (std::size_t i = 0; i < best_.size(); ++i) *network_.params()[i].value = best_[i];
  return history_;
}

template <typename T>
TrainerState Trainer<T>::state() const {
  TrainerState s;
  s.epoch = epoch_;
  s.global_step = global_step_;
  s.epoch_position = epoch_position_;
  s.epoch_loss_sum = epoch_loss_sum_;
  s.epoch_batches = epoch_batches_;
  s.order = order_;
  std::ostringstream rng;
  rng << rng_;
  s.rng = rng.str();
  s.optimizer_steps = optimizer_->steps();
  for (const auto& buffer : optimizer_->state()) s.optimizer_state.push_back(buffer.template cast<double>());
  s.best_loss = best_loss_;
  s.epochs_without_improvement = epochs_without_improvement_;
  s.stopped_early = stopped_early_;
  for (const auto& p : best_) s.best_params.push_back(p.template cast<double>());
  s.history = history_;
  return s;
}

namespace {
// Buffers of the optimizer named in config, per parameter.
int buffers_per_param(const OptimizerConfig& config) {
  if (config.name == "sgd") return 0;
  if (config.name == "momentum" || config.name == "nesterov") return 1;
  return 2;  // adam, adamw: m and s
}

std::string shape_text(Eigen::Index rows, Eigen::Index cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}
}  // namespace

template <typename T>
void Trainer<T>::restore(const TrainerState& s) {
  const auto& params = network_.params();
  const auto check_shapes = [&](const std::vector<Matrix<double>>& buffers, const char* what) {
    for (std::size_t i = 0; i < buffers.size(); ++i) {
      const Matrix<T>& p = *params[i % params.size()].value;
      if (buffers[i].rows() != p.rows() || buffers[i].cols() != p.cols())
        throw Error(std::string("training state: ") + what + " buffer " + std::to_string(i) + " is " +
                    shape_text(buffers[i].rows(), buffers[i].cols()) + ", its parameter " +
                    params[i % params.size()].name() + " is " + shape_text(p.rows(), p.cols()));
    }
  };
  if (s.epoch < 0 || s.global_step < 0 || s.optimizer_steps < 0)
    throw Error("training state: negative epoch or step count");
  if (s.epoch_position > s.order.size())
    throw Error("training state: epoch position " + std::to_string(s.epoch_position) + " is past the " +
                std::to_string(s.order.size()) + " examples of the epoch");
  std::vector<bool> seen(s.order.size(), false);
  for (std::size_t index : s.order) {
    if (index >= s.order.size() || seen[index])
      throw Error("training state: the example order is not a permutation");
    seen[index] = true;
  }
  const std::size_t per_param = static_cast<std::size_t>(buffers_per_param(config_.optimizer));
  const std::size_t expected = per_param * params.size();
  if (s.optimizer_state.size() != expected && !(s.optimizer_state.empty() && s.optimizer_steps == 0))
    throw Error("training state: " + std::to_string(s.optimizer_state.size()) + " optimizer buffers, " +
                config_.optimizer.name + " needs " + std::to_string(expected) + " for this network");
  check_shapes(s.optimizer_state, "optimizer");
  if (!s.best_params.empty() && s.best_params.size() != params.size())
    throw Error("training state: " + std::to_string(s.best_params.size()) + " best parameters for a network of " +
                std::to_string(params.size()));
  check_shapes(s.best_params, "best-parameter");
  std::mt19937_64 rng;
  std::istringstream rng_text(s.rng);
  rng_text >> rng;
  if (rng_text.fail()) throw Error("training state: the random generator's state is unreadable");

  epoch_ = s.epoch;
  global_step_ = s.global_step;
  epoch_position_ = s.epoch_position;
  epoch_loss_sum_ = s.epoch_loss_sum;
  epoch_batches_ = s.epoch_batches;
  order_ = s.order;
  rng_ = rng;
  optimizer_->state().clear();
  for (const auto& buffer : s.optimizer_state) optimizer_->state().push_back(buffer.template cast<T>());
  optimizer_->set_steps(s.optimizer_steps);
  best_loss_ = s.best_loss;
  epochs_without_improvement_ = s.epochs_without_improvement;
  stopped_early_ = s.stopped_early;
  best_.clear();
  for (const auto& p : s.best_params) best_.push_back(p.template cast<T>());
  history_ = s.history;
  interrupted_ = false;
}

template std::vector<std::int32_t> predict_classes<float>(Network<float>&, const Dataset&, int,
                                                           const BatchLogits<float>&);
template std::vector<std::int32_t> predict_classes<double>(Network<double>&, const Dataset&, int,
                                                            const BatchLogits<double>&);
template std::vector<float> predict_values<float>(Network<float>&, const Dataset&, int);
template std::vector<float> predict_values<double>(Network<double>&, const Dataset&, int);
template EvalResult evaluate<float>(Network<float>&, const Dataset&, int);
template EvalResult evaluate<double>(Network<double>&, const Dataset&, int);
template class Trainer<float>;
template class Trainer<double>;

}  // namespace backprop
