// The dense layers' matrix products, each written into its result once.
//
// Eigen's `C.noalias() = A * B` zeroes C and then asks the BLAS for C += A B (beta = 1),
// which reads C back; `z.colwise() += b` is a third pass over z. With the BLAS these are one
// call each: beta = 0 (C only written), or C = b in every column, then beta = 1, for
// z = W x + b (2% of training the digits table, where a product takes a few microseconds).
// Without the BLAS (-DBACKPROP_OPENBLAS=OFF), Eigen's products.
#pragma once

#include "backprop/nn/tensor.hpp"

namespace backprop {

enum class Op { none, transpose };

// C = alpha op(A) op(B); C is resized.
template <typename T>
void multiply(T alpha, const Matrix<T>& A, Op op_a, const Matrix<T>& B, Op op_b, Matrix<T>& C);

// z = W x + b, b added to every column.
template <typename T>
void affine(const Matrix<T>& W, const Matrix<T>& x, const Matrix<T>& b, Matrix<T>& z);

}  // namespace backprop
