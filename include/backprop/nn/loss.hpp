// Output heads: the last step from logits to a loss, and its gradient dL/dlogits.
//
// Every head returns the MEAN loss over the batch, so its gradient carries the 1/B and the
// layers stay batch-size agnostic. Labels are class indices (int32), each checked to be in
// 0..K-1 (an Error otherwise: a label past K would index outside the logits); y is their
// one-hot matrix.
//
//   softmax_cross_entropy:  y_hat = softmax(z),  L = -(1/B) sum_b sum_k y_kb log y_hat_kb
//                           dz = (y_hat - y) / B            (fused: no division by y_hat)
//   mse (linear output):    y_hat = z,           L = (1/B) sum_b 1/2 ||z_b - y_b||^2
//                           dz = (z - y) / B
// For regression the mse head takes y itself, a (K, B) matrix of real targets, instead of
// class indices (the same formulas; y is no longer one-hot).
#pragma once

#include <cstdint>
#include <string>

#include "backprop/nn/tensor.hpp"

namespace backprop {

enum class HeadKind { softmax_cross_entropy, mse };

HeadKind head_from_name(const std::string& name);  // "softmax" (or "softmax_ce"), "mse"
const char* head_name(HeadKind kind);

// The seed clips y_hat to [1e-12, 1 - 1e-12] before the log; we clip log y_hat the same way
// so the printed losses match it, while computing log y_hat stably from the logits.
constexpr double kCrossEntropyClip = 1e-12;

// Column-wise softmax with the column max subtracted (so no e^z overflows): (K, B) -> (K, B).
template <typename T>
void softmax(const Matrix<T>& z, Matrix<T>& y_hat);

template <typename T>
class Head {
 public:
  explicit Head(HeadKind kind) : kind_(kind) {}

  // Mean loss of the batch; caches y_hat and the labels for backward.
  T forward(const Matrix<T>& logits, const std::int32_t* labels);
  // Per-example losses (K, B) -> (B); used by evaluation for an exact mean over a dataset.
  // (The softmax head leaves y_hat in output() too.)
  void losses(const Matrix<T>& logits, const std::int32_t* labels, Vector<T>& out);
  // Regression (mse head only): the same with real targets Y (K, B); Y must outlive backward.
  T forward(const Matrix<T>& logits, const Matrix<T>& targets);
  void losses(const Matrix<T>& logits, const Matrix<T>& targets, Vector<T>& out);
  // dz = dL/dlogits for the last forward, 1/B included.
  const Matrix<T>& backward();

  // Class scores of the last forward: probabilities for softmax, raw outputs for mse.
  const Matrix<T>& output() const { return y_hat_; }
  HeadKind kind() const { return kind_; }

 private:
  HeadKind kind_;
  Matrix<T> y_hat_, dz_;
  Vector<T> per_example_;
  Eigen::Array<T, 1, Eigen::Dynamic> max_, sum_;  // per column: max z, sum e^(z - max)
  const std::int32_t* labels_ = nullptr;
  const Matrix<T>* targets_ = nullptr;  // the last forward's regression targets, else nullptr
};

}  // namespace backprop
