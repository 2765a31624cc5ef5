// The trainer's step when several processes train one network (distributed.hpp): each
// computes the gradient of its share of the batch, one sum over all of them, then the update.
#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "backprop/error.hpp"
#include "backprop/train/trainer.hpp"

namespace backprop {

template <typename T>
T Trainer<T>::distributed_step(const Dataset& data, const std::size_t* indices, std::size_t count) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const auto [first, last] = batch_share(count, collective_->rank(), collective_->size());
  const std::size_t n = last - first;
  const auto& params = network_.params();
  std::size_t values = 0;
  for (const auto& p : params) values += static_cast<std::size_t>(p.grad->size());
  // One buffer, one sum: every gradient, then this share's loss sum and its stop request.
  reduce_buffer_.resize(values + 2);
  T* out = reduce_buffer_.data();
  if (n > 0) {
    for (Dropout<T>* dropout : network_.dropout_layers())
      dropout->set_batch_share(static_cast<Eigen::Index>(first), static_cast<Eigen::Index>(count));
    gather_batch(data, indices + first, n, X_);
    labels_.resize(n);
    for (std::size_t j = 0; j < n; ++j) labels_[j] = data.labels[indices[first + j]];
    network_.forward(X_, true);
    const T loss = network_.loss(labels_.data());
    network_.backward();
    // The share's mean gradient weighted by its size: g = sum_r (n_r / B) g_r.
    const T weight = T(n) / T(count);
    for (const auto& p : params) {
      Eigen::Map<Matrix<T>>(out, p.grad->rows(), p.grad->cols()) = *p.grad * weight;
      out += p.grad->size();
    }
    *out = loss * T(n);
  } else {
    // Nothing to compute, but the masks this batch would have drawn must still be drawn, or
    // this process's generator would fall out of step with the others'.
    Eigen::Index rows = 0;
    for (const auto& layer : network_.layers()) {
      if (auto* dense = dynamic_cast<Dense<T>*>(layer.get())) rows = dense->n_out();
      if (auto* dropout = dynamic_cast<Dropout<T>*>(layer.get()))
        dropout->skip_masks(rows, static_cast<Eigen::Index>(count));
    }
    std::fill(reduce_buffer_.begin(), reduce_buffer_.end(), T(0));
  }
  reduce_buffer_[values + 1] = stop_flag_ && stop_flag_->load() ? T(1) : T(0);
  const auto t1 = Clock::now();
  collective_->sum(reduce_buffer_.data(), reduce_buffer_.size());
  const auto t2 = Clock::now();

  const T* in = reduce_buffer_.data();
  for (const auto& p : params) {
    *p.grad = Eigen::Map<const Matrix<T>>(in, p.grad->rows(), p.grad->cols());
    in += p.grad->size();
  }
  const T loss = *in / T(count);
  agreed_stop_ = in[1] > T(0);
  if (!std::isfinite(static_cast<double>(loss)))  // the same sum everywhere: every process stops here
    throw Error("training diverged at epoch " + std::to_string(epoch_) + ", step " + std::to_string(global_step_) +
                ": the loss is " + std::to_string(double(loss)) + " (try a lower --lr, or --clip-norm)");
  scale_and_clip(count);
  optimizer_->step(params, T(config_.schedule.at(global_step_)));
  ++global_step_;
  const auto t3 = Clock::now();
  ++timings_.steps;
  timings_.compute_seconds += std::chrono::duration<double>((t1 - t0) + (t3 - t2)).count();
  timings_.reduce_seconds += std::chrono::duration<double>(t2 - t1).count();
  timings_.bytes_per_step = reduce_buffer_.size() * sizeof(T);
  return loss;
}

template <typename T>
void Trainer<T>::share_validation(EpochMetrics& m) {
  // Rank 0 evaluated; early stopping needs its validation loss on every process.
  double v[3] = {m.validation ? 1.0 : 0.0, m.validation ? m.validation->loss : 0.0,
                 m.validation ? m.validation->accuracy : 0.0};
  collective_->broadcast(v, 3);
  if (v[0] != 0 && !m.validation) {
    EvalResult shared;
    shared.loss = v[1];
    shared.accuracy = v[2];
    m.validation = shared;
  }
}

template float Trainer<float>::distributed_step(const Dataset&, const std::size_t*, std::size_t);
template double Trainer<double>::distributed_step(const Dataset&, const std::size_t*, std::size_t);
template void Trainer<float>::share_validation(EpochMetrics&);
template void Trainer<double>::share_validation(EpochMetrics&);

}  // namespace backprop
