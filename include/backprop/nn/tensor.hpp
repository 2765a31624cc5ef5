// Matrix types and the one layout used everywhere.
//
// Legend (as in docs/derivation.md):
//   B      batch size            n_in, n_out  a layer's input and output widths
//   x      layer input  (n_in, B)     z = W x + b   pre-activation (n_out, B)
//   h      activation output g(z)     y_hat         softmax(logits), (classes, B)
//   y      one-hot targets            dX            always means dL/dX
//
// Examples are COLUMNS (Eigen is column-major), so W is (n_out, n_in) and z = W x + b
// reads as the textbook. The seed's NumPy code holds the transposed view (a row per
// example, w1 of shape (n_in, n_out)); a NumPy (n_in, n_out) row-major array is the
// same bytes as our column-major (n_out, n_in) matrix, so .npz interchange copies
// memory and only relabels the shape (see npz_params.cpp).
#pragma once

#include <Eigen/Core>
#include <string>

namespace backprop {

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;  // column-major

template <typename T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// A named parameter tensor with its gradient, as the optimizer, the gradient checker
// and the file formats all walk them. Biases are (n_out, 1) matrices.
template <typename T>
struct Param {
  const char* kind;  // "W" or "b"
  int layer;         // 1-based index of the Dense layer it belongs to
  Matrix<T>* value;
  Matrix<T>* grad;

  bool is_bias() const { return kind[0] == 'b'; }
  // The seed's names: w1, b1, w2, b2, ...
  std::string name() const { return std::string(1, is_bias() ? 'b' : 'w') + std::to_string(layer); }
};

}  // namespace backprop
