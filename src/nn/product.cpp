// product.hpp: one BLAS call per product where the build has the BLAS, Eigen's otherwise.
#include "backprop/nn/product.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "backprop/error.hpp"

namespace backprop {

namespace {

#ifdef EIGEN_USE_BLAS
// Eigen declares the Fortran BLAS (Eigen/src/misc/blas.h); these pick the precision.
inline void gemm(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha,
                 const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
                 const int* ldc) {
  sgemm_(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void gemm(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
                 const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
                 const int* ldc) {
  dgemm_(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

constexpr double kPackedWork = 1e6;  // m n k above which OpenBLAS packs its operands
constexpr Eigen::Index kTransposedEntries = 1 << 16;  // the largest A of A^T B copied to A' (256 KB of floats)

int blas_size(Eigen::Index n) {
  if (n > std::numeric_limits<int>::max()) throw Error("a matrix dimension is too large for the BLAS");
  return static_cast<int>(n);
}

// An operand as the BLAS sees it: its entries, leading dimension and whether it is transposed.
template <typename T>
struct Operand {
  const T* data;
  int ld;
  Op op;
};

// C (m x n, leading dimension m) = alpha op(A) op(B) + beta C, for a sum of k > 0 terms.
// OpenBLAS (0.3.21, Skylake-X kernels) multiplies without packing A and B when m n k is at
// most 10^6. Just above that line, two to four calls below it are faster than one packed
// call (one thread, bench/product_pieces.cpp):
// - C = A op(B) in pieces of at least 64 columns of C: 100 x 200 x 64 (a small table's first
//   layer) 14.6 us against 31.2, 10 x 1000 x 256 (the seed's output layer in evaluation)
//   59.7 against 92.0; narrower pieces measured slower;
// - C = A B^T (a gradient dz x^T) better still in pieces of its sum of at least 32 terms,
//   each added to C: 100 x 64 x 200 (that layer's dW over a batch of 200) 14.0 us against
//   29.0 (no column pieces: 64 columns), 100 x 100 x 200 20.8 against 40.3 (columns: 24.3).
template <typename T>
void gemm_in_pieces(int m, int n, int k, T alpha, Operand<T> a, Operand<T> b, T beta, T* c) {
  const char ta = a.op == Op::none ? 'N' : 'T', tb = b.op == Op::none ? 'N' : 'T';
  const double work = double(m) * double(n) * double(k);
  const int pieces = static_cast<int>(std::ceil(work / kPackedWork));
  if (pieces > 1 && pieces <= 4 && a.op == Op::none) {
    if (b.op == Op::transpose && k / pieces >= 32) {
      const int depth = (k + pieces - 1) / pieces;
      for (int q = 0; q < k; q += depth) {  // C = beta C + alpha A_q B_q^T, then C += for the other pieces
        const int d = std::min(depth, k - q);
        const T scale = q == 0 ? beta : T(1);
        gemm(&ta, &tb, &m, &n, &d, &alpha, a.data + std::ptrdiff_t(q) * a.ld, &a.ld, b.data + std::ptrdiff_t(q) * b.ld,
             &b.ld, &scale, c, &m);
      }
      return;
    }
    if (n / pieces >= 64) {
      const int width = (n + pieces - 1) / pieces;
      for (int j = 0; j < n; j += width) {
        const int w = std::min(width, n - j);
        const T* bj = b.op == Op::none ? b.data + std::ptrdiff_t(j) * b.ld : b.data + j;  // columns j.. of op(B)
        gemm(&ta, &tb, &m, &w, &k, &alpha, a.data, &a.ld, bj, &b.ld, &beta, c + std::ptrdiff_t(j) * m, &m);
      }
      return;
    }
  }
  gemm(&ta, &tb, &m, &n, &k, &alpha, a.data, &a.ld, b.data, &b.ld, &beta, c, &m);
}

// C = alpha op(A) op(B) + beta C, C already (rows of op(A), columns of op(B)).
template <typename T>
void blas_product(T alpha, const Matrix<T>& A, Op op_a, const Matrix<T>& B, Op op_b, T beta, Matrix<T>& C) {
  const int m = blas_size(C.rows()), n = blas_size(C.cols());
  const int k = blas_size(op_a == Op::none ? A.cols() : A.rows());
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum: the BLAS would leave C as it is for beta = 0 too
    if (beta == T(0)) C.setZero();
    else C *= beta;
    return;
  }
  Operand<T> a{A.data(), blas_size(std::max<Eigen::Index>(1, A.rows())), op_a};
  const Operand<T> b{B.data(), blas_size(std::max<Eigen::Index>(1, B.rows())), op_b};
  if (op_a == Op::transpose && op_b == Op::none && A.size() <= kTransposedEntries) {
    // A^T B (dx = W^T dz) through OpenBLAS's packed path costs more than transposing a small A
    // and multiplying A' B: 100 x 200 x 10 (the output layer of a small table) 5.2 us against
    // 3.2 + the copy, 64 x 200 x 100 31.5 against 21.6 (A' B in column pieces).
    thread_local std::vector<T> transposed;  // grows to the largest A once, then is reused
    if (transposed.size() < std::size_t(A.size())) transposed.resize(std::size_t(A.size()));
    Eigen::Map<Matrix<T>>(transposed.data(), A.cols(), A.rows()) = A.transpose();
    a = {transposed.data(), m, Op::none};
  }
  gemm_in_pieces(m, n, k, alpha, a, b, beta, C.data());
}
#endif

template <typename T>
void check_shapes(const Matrix<T>& A, Op op_a, const Matrix<T>& B, Op op_b) {
  const Eigen::Index inner_a = op_a == Op::none ? A.cols() : A.rows();
  const Eigen::Index inner_b = op_b == Op::none ? B.rows() : B.cols();
  if (inner_a != inner_b)
    throw Error("matrix product: inner sizes " + std::to_string(inner_a) + " and " + std::to_string(inner_b) + " differ");
}

}  // namespace

template <typename T>
void multiply(T alpha, const Matrix<T>& A, Op op_a, const Matrix<T>& B, Op op_b, Matrix<T>& C) {
  check_shapes(A, op_a, B, op_b);
  C.resize(op_a == Op::none ? A.rows() : A.cols(), op_b == Op::none ? B.cols() : B.rows());
#ifdef EIGEN_USE_BLAS
  blas_product(alpha, A, op_a, B, op_b, T(0), C);
#else
  if (op_a == Op::none && op_b == Op::none) C.noalias() = alpha * A * B;
  else if (op_a == Op::none) C.noalias() = alpha * A * B.transpose();
  else if (op_b == Op::none) C.noalias() = alpha * A.transpose() * B;
  else C.noalias() = alpha * A.transpose() * B.transpose();
#endif
}

template <typename T>
void affine(const Matrix<T>& W, const Matrix<T>& x, const Matrix<T>& b, Matrix<T>& z) {
  check_shapes(W, Op::none, x, Op::none);
  if (b.rows() != W.rows() || b.cols() != 1) throw Error("affine: the bias is not a column of the output's height");
#ifdef EIGEN_USE_BLAS
  // z = W x, then + b a column at a time: 16.7 us for 100 x 200 x 64, against 19.5 for
  // filling z with b and adding W x to it (the fill is a pass of its own, and the BLAS then
  // reads z); the same sums either way. (Eigen's replicate takes a % per entry.)
  z.resize(W.rows(), x.cols());
  blas_product(T(1), W, Op::none, x, Op::none, T(0), z);
  for (Eigen::Index j = 0; j < z.cols(); ++j) z.col(j) += b.col(0);
#else
  z.noalias() = W * x;
  z.colwise() += b.col(0);
#endif
}

template void multiply<float>(float, const Matrix<float>&, Op, const Matrix<float>&, Op, Matrix<float>&);
template void multiply<double>(double, const Matrix<double>&, Op, const Matrix<double>&, Op, Matrix<double>&);
template void affine<float>(const Matrix<float>&, const Matrix<float>&, const Matrix<float>&, Matrix<float>&);
template void affine<double>(const Matrix<double>&, const Matrix<double>&, const Matrix<double>&, Matrix<double>&);

}  // namespace backprop
