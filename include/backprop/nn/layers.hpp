// The layers of a fully connected network. Each forward caches exactly what its backward
// needs; each backward fills its parameter gradients (assigning, never accumulating) and
// returns dL/dx. No layer ever changes its parameters: the optimizer alone does that.
//
// Shapes (B = batch size):  x (n_in, B)   W (n_out, n_in)   b (n_out, 1)   z, h (n_out, B)
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backprop/nn/activation.hpp"
#include "backprop/nn/sparse.hpp"
#include "backprop/nn/tensor.hpp"

namespace backprop {

template <typename T>
class Layer {
 public:
  virtual ~Layer() = default;
  // Computes the output for x and caches what backward needs. x must stay alive and
  // unchanged until backward (the network guarantees this: it is the previous output).
  virtual const Matrix<T>& forward(const Matrix<T>& x, bool training) = 0;
  // Given d_out = dL/d(output), fills the parameter gradients and returns dL/dx.
  virtual const Matrix<T>& backward(const Matrix<T>& d_out) = 0;
  virtual void collect_params(std::vector<Param<T>>&) {}
  virtual std::string describe() const = 0;
};

// z = W x + b.
//
// forward and backward are the textbook products. Beside them, for the network's fast paths
// (network.hpp), the same numbers computed another way: forward_sparse sums over the input's
// nonzeros only (sparse.hpp), backward_sparse forms dW from those nonzeros, and
// input_gradient is backward's dx alone (the fused step hands dz and x to the optimizer,
// which forms dW where it updates W: optimizer.hpp).
template <typename T>
class Dense final : public Layer<T> {
 public:
  // index: 1-based, names the params w<index>, b<index>. A layer fed the data itself (the
  // network's first) has no use for dL/dx: input_gradient = false skips it.
  Dense(int n_in, int n_out, int index, bool input_gradient = true);

  const Matrix<T>& forward(const Matrix<T>& x, bool training) override;
  const Matrix<T>& backward(const Matrix<T>& dz) override;
  void collect_params(std::vector<Param<T>>& params) override;
  std::string describe() const override;

  // The same z for a mostly-zero x, summed over its nonzeros (which it lists and keeps for
  // backward_sparse and the optimizer). Returns nullptr, having computed nothing, when more
  // than kMaxSparseDensity of x is nonzero: the dense product is faster there.
  // In evaluation (training false) only the lists by example are built.
  const Matrix<T>* forward_sparse(const Matrix<T>& x, bool training);
  // dW and db as backward fills them, from the nonzeros forward_sparse listed; no dx.
  void backward_sparse(const Matrix<T>& dz);
  // dx = W^T dz alone (empty when the layer computes no input gradient).
  const Matrix<T>& input_gradient(const Matrix<T>& dz);

  const Matrix<T>& input() const { return *x_; }  // the last forward's x
  // The nonzeros of the last forward's x when it took forward_sparse, else nullptr.
  // (nullptr too after an evaluation's forward: its lists are by example only).
  const SparseColumns<T>* input_nonzeros() const { return sparse_ && xs_.by_row ? &xs_ : nullptr; }
  bool last_forward_sparse() const { return sparse_; }  // which path the last batch took
  // Above this fraction of nonzeros a batch takes the dense products, which are faster there.
  static constexpr double kMaxSparseDensity = 0.5;

  int n_in() const { return static_cast<int>(W.cols()); }
  int n_out() const { return static_cast<int>(W.rows()); }

  Matrix<T> W, dW;  // (n_out, n_in)
  Matrix<T> b, db;  // (n_out, 1)

 private:
  int index_;
  bool input_gradient_;
  const Matrix<T>* x_ = nullptr;  // cached input (n_in, B), owned by the caller
  Matrix<T> z_, dx_;              // (n_out, B), (n_in, B)
  bool sparse_ = false;     // whether the last forward took the sparse path
  SparseColumns<T> xs_;     // the nonzeros of x, when it did
};

// h = g(z) for one of the activations in activation.hpp.
template <typename T>
class ActivationLayer final : public Layer<T> {
 public:
  explicit ActivationLayer(Activation kind) : kind_(kind) {}

  const Matrix<T>& forward(const Matrix<T>& z, bool training) override;
  const Matrix<T>& backward(const Matrix<T>& dh) override;
  std::string describe() const override { return activation_name(kind_); }
  Activation kind() const { return kind_; }

 private:
  Activation kind_;
  const Matrix<T>* z_ = nullptr;  // cached input
  Matrix<T> h_, dz_;
};

// Inverted dropout: in training, each unit is kept with probability 1 - rate and scaled by
// 1 / (1 - rate), so evaluation needs no change: h = x ⊙ m / (1 - rate), dx = dh ⊙ m / (1 - rate).
template <typename T>
class Dropout final : public Layer<T> {
 public:
  Dropout(double rate, std::mt19937_64* rng) : rate_(rate), rng_(rng) {}

  const Matrix<T>& forward(const Matrix<T>& x, bool training) override;
  const Matrix<T>& backward(const Matrix<T>& dh) override;
  std::string describe() const override;

  // Keeps the current mask for the following forward passes (the gradient check needs a
  // fixed function of the parameters).
  void freeze_mask(bool frozen) { frozen_ = frozen; }

  // Data-parallel training (train/distributed.hpp): masks are drawn for the whole batch of
  // `total` columns and forward keeps columns [first, first + x.cols()), so each process draws
  // the numbers one process would. total = 0 (the default): the batch is x itself.
  void set_batch_share(Eigen::Index first, Eigen::Index total) { share_first_ = first, share_total_ = total; }
  // Draws (and drops) the masks of a batch of `rows` x `total` (a process whose share is empty).
  void skip_masks(Eigen::Index rows, Eigen::Index total);

 private:
  Eigen::Index share_first_ = 0, share_total_ = 0;
  double rate_;
  std::mt19937_64* rng_;
  bool frozen_ = false;
  bool active_ = false;  // whether the last forward applied the mask
  Matrix<T> scaled_mask_;  // m / (1 - rate), (n, B)
  Matrix<T> h_, dx_;
  const Matrix<T>* x_ = nullptr;
};

}  // namespace backprop
