// Softmax with cross-entropy, and mean squared error, with their gradients.
// docs/derivation.md shows why softmax + cross-entropy collapses to dz = y_hat - y.
#include "backprop/nn/loss.hpp"

#include <algorithm>
#include <cmath>

#include "backprop/error.hpp"

namespace backprop {

HeadKind head_from_name(const std::string& name) {
  if (name == "softmax" || name == "softmax_ce" || name == "cross_entropy")
    return HeadKind::softmax_cross_entropy;
  if (name == "mse") return HeadKind::mse;
  throw Error("unknown head '" + name + "' (known: softmax, mse)");
}

const char* head_name(HeadKind kind) {
  return kind == HeadKind::mse ? "mse" : "softmax";
}

template <typename T>
void softmax(const Matrix<T>& z, Matrix<T>& y_hat) {
  y_hat.resize(z.rows(), z.cols());
  for (Eigen::Index b = 0; b < z.cols(); ++b) {
    const T max = z.col(b).maxCoeff();
    y_hat.col(b) = (z.col(b).array() - max).exp();
    y_hat.col(b) /= y_hat.col(b).sum();
  }
}

template <typename T>
void Head<T>::losses(const Matrix<T>& logits, const std::int32_t* labels, Vector<T>& out) {
  const Eigen::Index K = logits.rows(), B = logits.cols();
  for (Eigen::Index b = 0; b < B; ++b)
    if (labels[b] < 0 || labels[b] >= K)
      throw Error("label " + std::to_string(labels[b]) + " is not a class index of a " + std::to_string(K) +
                  "-class network (0.." + std::to_string(K - 1) + ")");
  out.resize(B);
  if (kind_ == HeadKind::mse) {
    // 1/2 ||z - y||^2 with y one-hot
    for (Eigen::Index b = 0; b < B; ++b) {
      T sum = 0;
      for (Eigen::Index k = 0; k < K; ++k) {
        const T diff = logits(k, b) - (k == labels[b] ? T(1) : T(0));
        sum += diff * diff;
      }
      out(b) = T(0.5) * sum;
    }
    return;
  }
  // -log y_hat_label = -(z_label - max - log sum_k e^(z_k - max)), clipped as the seed clips y_hat.
  const T log_lo = T(std::log(kCrossEntropyClip)), log_hi = T(std::log1p(-kCrossEntropyClip));
  for (Eigen::Index b = 0; b < B; ++b) {
    const T max = logits.col(b).maxCoeff();
    const T log_sum = std::log((logits.col(b).array() - max).exp().sum());
    const T log_y_hat = logits(labels[b], b) - max - log_sum;
    out(b) = -std::clamp(log_y_hat, log_lo, log_hi);
  }
}

template <typename T>
void Head<T>::losses(const Matrix<T>& logits, const Matrix<T>& targets, Vector<T>& out) {
  if (kind_ != HeadKind::mse) throw Error("real-valued targets need the mse head (regression)");
  if (targets.rows() != logits.rows() || targets.cols() != logits.cols())
    throw Error("regression targets are " + std::to_string(targets.rows()) + "x" + std::to_string(targets.cols()) +
                ", the network's outputs " + std::to_string(logits.rows()) + "x" + std::to_string(logits.cols()));
  out = T(0.5) * (logits - targets).colwise().squaredNorm().transpose();  // 1/2 ||z_b - y_b||^2
}

template <typename T>
T Head<T>::forward(const Matrix<T>& logits, const Matrix<T>& targets) {
  Vector<T> per_example;
  losses(logits, targets, per_example);
  y_hat_ = logits;
  targets_ = &targets;
  labels_ = nullptr;
  return per_example.mean();
}

template <typename T>
T Head<T>::forward(const Matrix<T>& logits, const std::int32_t* labels) {
  labels_ = labels;
  targets_ = nullptr;
  if (kind_ == HeadKind::mse)
    y_hat_ = logits;
  else
    softmax(logits, y_hat_);
  Vector<T> per_example;
  losses(logits, labels, per_example);
  return per_example.mean();
}

template <typename T>
const Matrix<T>& Head<T>::backward() {
  // Both heads: dz = (y_hat - y) / B.
  const Eigen::Index B = y_hat_.cols();
  if (targets_) {  // regression: y is the targets themselves
    dz_ = (y_hat_ - *targets_) / T(B);
    return dz_;
  }
  dz_ = y_hat_;
  for (Eigen::Index b = 0; b < B; ++b) dz_(labels_[b], b) -= T(1);
  dz_ /= T(B);
  return dz_;
}

template void softmax<float>(const Matrix<float>&, Matrix<float>&);
template void softmax<double>(const Matrix<double>&, Matrix<double>&);
template class Head<float>;
template class Head<double>;

}  // namespace backprop
