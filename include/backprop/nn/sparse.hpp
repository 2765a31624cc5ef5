// Products with a mostly-zero input. 81% of MNIST's pixels are 0, and a zero x_i adds nothing
// to z = W x + b nor to dW = dz x^T: skipping those terms is exact, and leaves about a fifth
// of the first layer's multiply-adds, the layer that holds 98% of the seed network's work.
//
// The kernels compute the same sums as the dense products (in another order, so they agree
// to float tolerance, not bit for bit). Each output row is summed by one thread, in the same
// order whatever the thread count, so their results do not depend on --threads.
#pragma once

#include <vector>

#include "backprop/nn/tensor.hpp"

namespace backprop {

// The nonzero entries of a batch x (n, B), listed twice: by column (example), for the
// forward pass, and by row (input unit), for the weight gradient.
//   by column: column j's are col_index[j * n + k], col_value[j * n + k] for k < col_count[j]
//              (a fixed stride of n per column lets every thread fill its own columns);
//   by row:    row i's are row_col[i * B + k], row_value[i * B + k] for k < row_count[i].
template <typename T>
struct SparseColumns {
  Eigen::Index rows = 0, cols = 0;
  std::vector<int> col_count, col_index;
  std::vector<T> col_value;
  std::vector<int> row_count, row_col;
  std::vector<T> row_value;

  bool by_row = false;        // whether the lists by row are there (for the last x)
  double last_density = 0;    // of the last x: when it was dense, the next is counted first

  // Collects the nonzeros of x; returns their fraction of x's entries (the density; above
  // max_density, possibly a count of part of x that is already above it). The
  // lists by row are built only when the density is at most max_density and by_rows is
  // true (evaluation needs only the lists by column); above max_density (< 1) the lists by
  // column may be missing too. The buffers only grow: a batch of another size reuses them.
  double assign(const Matrix<T>& x, double max_density, bool by_rows = true);
};

// z = W x + b for a sparse x: z(:, j) = b + sum over nonzero x_ij of x_ij W(:, i).
template <typename T>
void sparse_affine(const Matrix<T>& W, const Matrix<T>& b, const SparseColumns<T>& x, Matrix<T>& z);

// A <- A + alpha dz x^T for a sparse x: A(:, i) += alpha x_ij dz(:, j) over the nonzero x_ij.
// With A = W and alpha = -lr it is the SGD step on W; with A = 0 and alpha = 1 it is dW.
template <typename T>
void sparse_add_outer(T alpha, const Matrix<T>& dz, const SparseColumns<T>& x, Matrix<T>& A);

// g = column i of dz x^T for a sparse x: g(r) = sum over the nonzero x_ij of x_ij dz(r, j),
// for r < dz.rows() (the optimizer's fused step forms dW one column at a time with it).
template <typename T>
void sparse_outer_column(const Matrix<T>& dz, const SparseColumns<T>& x, Eigen::Index i, T* g);

// The kernels these functions run: "avx512" where the CPU has AVX-512F, else "baseline" (the
// instruction set the build targets). Chosen once; BACKPROP_ISA=baseline forces the baseline.
const char* sparse_kernels();

}  // namespace backprop
