// product.hpp: one BLAS call per product where the build has the BLAS, Eigen's otherwise.
#include "backprop/nn/product.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

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

int blas_size(Eigen::Index n) {
  if (n > std::numeric_limits<int>::max()) throw Error("a matrix dimension is too large for the BLAS");
  return static_cast<int>(n);
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
  const int lda = blas_size(std::max<Eigen::Index>(1, A.rows())), ldb = blas_size(std::max<Eigen::Index>(1, B.rows()));
  const char ta = op_a == Op::none ? 'N' : 'T', tb = op_b == Op::none ? 'N' : 'T';
  // OpenBLAS (0.3.21, Skylake-X kernels) multiplies without packing A and B when m n k is at
  // most 10^6. Just above that line, two to four calls below it are faster than one packed
  // call where each keeps at least 64 columns of C: 100 x 200 x 64 (a small table's first
  // layer) 19.1 us against 25.9, 10 x 1000 x 256 (the seed's output layer in evaluation)
  // 63.6 against 96.1; narrower pieces measured slower. The digits run: 2.4% less time.
  const double work = double(m) * double(n) * double(k);
  const int pieces = static_cast<int>(std::ceil(work / kPackedWork));
  if (pieces > 1 && pieces <= 4 && n / pieces >= 64) {
    const int width = (n + pieces - 1) / pieces;
    for (int j = 0; j < n; j += width) {
      const int w = std::min(width, n - j);
      const T* b = op_b == Op::none ? B.data() + std::ptrdiff_t(j) * ldb : B.data() + j;  // columns j.. of op(B)
      gemm(&ta, &tb, &m, &w, &k, &alpha, A.data(), &lda, b, &ldb, &beta, C.data() + std::ptrdiff_t(j) * m, &m);
    }
    return;
  }
  gemm(&ta, &tb, &m, &n, &k, &alpha, A.data(), &lda, B.data(), &ldb, &beta, C.data(), &m);
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
  z.resize(W.rows(), x.cols());
  for (Eigen::Index j = 0; j < z.cols(); ++j) z.col(j) = b.col(0);  // (Eigen's replicate takes a % per entry)
  blas_product(T(1), W, Op::none, x, Op::none, T(1), z);
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
