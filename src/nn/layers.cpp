// Dense, activation and dropout layers: each forward beside the backward that
// differentiates it.
#include "backprop/nn/layers.hpp"

#include "backprop/error.hpp"
#include "backprop/nn/product.hpp"

namespace backprop {

// ---- Dense -----------------------------------------------------------------------------

template <typename T>
Dense<T>::Dense(int n_in, int n_out, int index, bool input_gradient)
    : W(Matrix<T>::Zero(n_out, n_in)),
      dW(Matrix<T>::Zero(n_out, n_in)),
      b(Matrix<T>::Zero(n_out, 1)),
      db(Matrix<T>::Zero(n_out, 1)),
      index_(index),
      input_gradient_(input_gradient) {}

template <typename T>
const Matrix<T>& Dense<T>::forward(const Matrix<T>& x, bool /*training*/) {
  x_ = &x;
  sparse_ = false;
  affine(W, x, b, z_);  // z = W x + b    (n_out, B)
  return z_;
}

template <typename T>
const Matrix<T>& Dense<T>::backward(const Matrix<T>& dz) {
  // In the forward pass z = W x + b, so
  //   dx = W^T dz            (n_in, B)
  //   dW = dz x^T            (n_out, n_in)   summed over the batch by the product
  //   db = sum_batch dz      (n_out, 1)
  // The 1/B of a mean loss is already inside dz (the head puts it there).
  multiply(T(1), dz, Op::none, *x_, Op::transpose, dW);
  db = dz.rowwise().sum();
  return input_gradient(dz);
}

template <typename T>
const Matrix<T>& Dense<T>::input_gradient(const Matrix<T>& dz) {
  if (input_gradient_) multiply(T(1), W, Op::transpose, dz, Op::none, dx_);  // dx = W^T dz
  return dx_;
}

template <typename T>
const Matrix<T>* Dense<T>::forward_sparse(const Matrix<T>& x, bool training) {
  x_ = &x;
  sparse_ = xs_.assign(x, kMaxSparseDensity, training) <= kMaxSparseDensity;
  if (!sparse_) return nullptr;
  sparse_affine(W, b, xs_, z_);  // the same z, summed over the nonzero x_i only
  return &z_;
}

template <typename T>
void Dense<T>::backward_sparse(const Matrix<T>& dz) {
  if (!xs_.by_row) {  // the forward was an evaluation's: no lists by row
    backward(dz);
    return;
  }
  dW.setZero();  // the same dW = dz x^T, skipping the zero x_i
  sparse_add_outer(T(1), dz, xs_, dW);
  db = dz.rowwise().sum();
}

template <typename T>
void Dense<T>::collect_params(std::vector<Param<T>>& params) {
  params.push_back({"W", index_, &W, &dW});
  params.push_back({"b", index_, &b, &db});
}

template <typename T>
std::string Dense<T>::describe() const {
  return "dense " + std::to_string(n_in()) + "->" + std::to_string(n_out());
}

// ---- Activation ------------------------------------------------------------------------

template <typename T>
const Matrix<T>& ActivationLayer<T>::forward(const Matrix<T>& z, bool /*training*/) {
  z_ = &z;
  activation_forward(kind_, z, h_);  // h = g(z)
  return h_;
}

template <typename T>
const Matrix<T>& ActivationLayer<T>::backward(const Matrix<T>& dh) {
  activation_backward(kind_, *z_, h_, dh, dz_);  // dz = dh ⊙ g'(z)
  return dz_;
}

// ---- Dropout ---------------------------------------------------------------------------

template <typename T>
const Matrix<T>& Dropout<T>::forward(const Matrix<T>& x, bool training) {
  x_ = &x;
  active_ = training && rate_ > 0;
  if (!active_) return x;
  const bool reuse = frozen_ && scaled_mask_.rows() == x.rows() && scaled_mask_.cols() == x.cols();
  if (!reuse) {
    std::bernoulli_distribution keep(1.0 - rate_);
    const T scale = T(1.0 / (1.0 - rate_));
    scaled_mask_.resize(x.rows(), share_total_ > 0 ? share_total_ : x.cols());
    for (Eigen::Index i = 0; i < scaled_mask_.size(); ++i)
      scaled_mask_.data()[i] = keep(*rng_) ? scale : T(0);
    if (share_total_ > 0) scaled_mask_ = scaled_mask_.middleCols(share_first_, x.cols()).eval();
  }
  h_ = x.cwiseProduct(scaled_mask_);  // h = x ⊙ m / (1 - rate)
  return h_;
}

template <typename T>
const Matrix<T>& Dropout<T>::backward(const Matrix<T>& dh) {
  if (!active_) {
    dx_ = dh;
    return dx_;
  }
  dx_ = dh.cwiseProduct(scaled_mask_);  // dx = dh ⊙ m / (1 - rate)
  return dx_;
}

template <typename T>
void Dropout<T>::skip_masks(Eigen::Index rows, Eigen::Index total) {
  if (rate_ <= 0) return;  // forward draws nothing either
  std::bernoulli_distribution keep(1.0 - rate_);
  for (Eigen::Index i = 0; i < rows * total; ++i) keep(*rng_);
}

template <typename T>
std::string Dropout<T>::describe() const {
  return "dropout " + std::to_string(rate_).substr(0, 4);
}

template class Dense<float>;
template class Dense<double>;
template class ActivationLayer<float>;
template class ActivationLayer<double>;
template class Dropout<float>;
template class Dropout<double>;

}  // namespace backprop
