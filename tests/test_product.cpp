// product.hpp's single-call products against Eigen's expressions of the same formulas, for
// every transpose, odd sizes (1, 3, 17, 100, 1000) and an empty inner size, in float and
// double; a result of another shape is resized, never read.
#include <gtest/gtest.h>

#include "backprop/error.hpp"
#include "backprop/nn/product.hpp"

namespace backprop {
namespace {

using Index = Eigen::Index;

template <typename T>
void expect_near(const Matrix<T>& got, const Matrix<T>& want, const std::string& what) {
  ASSERT_EQ(got.rows(), want.rows()) << what;
  ASSERT_EQ(got.cols(), want.cols()) << what;
  if (want.size() == 0) return;
  const T tolerance = std::is_same_v<T, float> ? T(1e-5) : T(1e-13);
  const T scale = std::max(T(1), want.cwiseAbs().maxCoeff());
  EXPECT_LE((got - want).cwiseAbs().maxCoeff(), tolerance * scale) << what;
}

template <typename T>
void check_products() {
  for (Index m : {1, 3, 10, 17, 100})
    for (Index n : {1, 17, 200, 1000})  // pieces: 100x200x64 (columns), 100x17x1000 A B^T (terms of the sum)
      for (Index k : {0, 1, 3, 64, 256, 1000}) {
        const std::string what = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
        const Matrix<T> A = Matrix<T>::Random(m, k), At = A.transpose(), B = Matrix<T>::Random(k, n),
                        Bt = B.transpose(), b = Matrix<T>::Random(m, 1);
        const Matrix<T> want = T(0.5) * A * B;
        Matrix<T> C = Matrix<T>::Constant(2, 2, T(7));  // another shape, and values never to be read
        multiply(T(0.5), A, Op::none, B, Op::none, C);
        expect_near(C, want, "A B, " + what);
        multiply(T(0.5), At, Op::transpose, B, Op::none, C);
        expect_near(C, want, "At^T B, " + what);
        multiply(T(0.5), A, Op::none, Bt, Op::transpose, C);
        expect_near(C, want, "A Bt^T, " + what);
        multiply(T(0.5), At, Op::transpose, Bt, Op::transpose, C);
        expect_near(C, want, "At^T Bt^T, " + what);
        Matrix<T> z = Matrix<T>::Constant(m, n, T(7));
        affine(A, B, b, z);
        Matrix<T> want_z = A * B;
        want_z.colwise() += b.col(0);
        expect_near(z, want_z, "W x + b, " + what);
      }
}

TEST(Product, MatchesEigenFloat) { check_products<float>(); }
TEST(Product, MatchesEigenDouble) { check_products<double>(); }

TEST(Product, MismatchedInnerSizesAreAnError) {
  Matrix<float> C;
  EXPECT_THROW(multiply(1.0f, Matrix<float>(3, 4), Op::none, Matrix<float>(5, 2), Op::none, C), Error);
  EXPECT_THROW(affine(Matrix<float>(3, 4), Matrix<float>(4, 2), Matrix<float>(2, 1), C), Error);
}

}  // namespace
}  // namespace backprop
