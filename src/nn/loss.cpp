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

namespace {

// y_hat = softmax(z) column by column, and each column's log sum_k e^(z_k - max) for the
// cross-entropy. The whole batch is one array operation: with K = 10, a column at a time
// left Eigen's vector exp mostly empty and called the scalar exp for the rest.
template <typename T>
void softmax_parts(const Matrix<T>& z, Matrix<T>& y_hat, Eigen::Array<T, 1, Eigen::Dynamic>& max,
                   Eigen::Array<T, 1, Eigen::Dynamic>& sum) {
  const Eigen::Index K = z.rows(), B = z.cols();
  max.resize(B);
  sum.resize(B);
  y_hat.resize(K, B);
  // A column's K entries are too few for Eigen's vector reductions (a packet of 8 or 16 and
  // a scalar tail, then a tree): plain loops down each column for the max and the sum.
  for (Eigen::Index b = 0; b < B; ++b) {
    const T* zb = z.col(b).data();
    T m = zb[0];
    for (Eigen::Index k = 1; k < K; ++k) m = std::max(m, zb[k]);
    max(b) = m;
    T* yb = y_hat.col(b).data();
    for (Eigen::Index k = 0; k < K; ++k) yb[k] = zb[k] - m;  // no e^z overflows
  }
  y_hat.array() = y_hat.array().exp();  // one flat pass, whole vectors across the columns
  for (Eigen::Index b = 0; b < B; ++b) {
    T* yb = y_hat.col(b).data();
    T total = 0;
    for (Eigen::Index k = 0; k < K; ++k) total += yb[k];
    sum(b) = total;
    for (Eigen::Index k = 0; k < K; ++k) yb[k] /= total;
  }
}

}  // namespace

template <typename T>
void softmax(const Matrix<T>& z, Matrix<T>& y_hat) {
  Eigen::Array<T, 1, Eigen::Dynamic> max, sum;
  softmax_parts(z, y_hat, max, sum);
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
  softmax_parts(logits, y_hat_, max_, sum_);
  sum_ = sum_.log();
  const T log_lo = T(std::log(kCrossEntropyClip)), log_hi = T(std::log1p(-kCrossEntropyClip));
  for (Eigen::Index b = 0; b < B; ++b) out(b) = -std::clamp(logits(labels[b], b) - max_(b) - sum_(b), log_lo, log_hi);
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
  losses(logits, labels, per_example_);  // softmax: y_hat_ too
  if (kind_ == HeadKind::mse) y_hat_ = logits;
  labels_ = labels;
  targets_ = nullptr;
  return per_example_.mean();
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
