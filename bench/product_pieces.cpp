// The products of product.hpp against one BLAS call of the same shape, at the shapes where
// product.cpp cuts a product into pieces (m n k just above OpenBLAS's small-matrix line,
// 10^6): the figures quoted there. Rounds interleave the two; best of each, microseconds.
//
//   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 build/bench/product_pieces [ROUNDS=5]
#include <cblas.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "backprop/nn/product.hpp"
#include "microseconds.hpp"

using namespace backprop;

namespace {

struct Shape {
  const char* what;
  Op op_a, op_b;
  int m, n, k;
};


}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  const Shape shapes[] = {
      {"a table's first layer, W x (batch 200, 64 inputs)", Op::none, Op::none, 100, 200, 64},
      {"its dW = dz x^T", Op::none, Op::transpose, 100, 64, 200},
      {"dW = dz x^T, 100 inputs", Op::none, Op::transpose, 100, 100, 200},
      {"dx = W^T dz", Op::transpose, Op::none, 64, 200, 100},
      {"the seed's output layer in evaluation", Op::none, Op::none, 10, 1000, 256},
      {"a wide dW with few terms", Op::none, Op::transpose, 100, 1000, 16},
  };
  std::printf("%-52s %10s %10s %8s\n", "C = op(A) op(B), m x n x k", "one call", "ours", "ratio");
  for (const Shape& s : shapes) {
    const Matrix<float> A = s.op_a == Op::none ? Matrix<float>::Random(s.m, s.k) : Matrix<float>::Random(s.k, s.m);
    const Matrix<float> B = s.op_b == Op::none ? Matrix<float>::Random(s.k, s.n) : Matrix<float>::Random(s.n, s.k);
    Matrix<float> C(s.m, s.n), D(s.m, s.n);
    const auto ta = s.op_a == Op::none ? CblasNoTrans : CblasTrans, tb = s.op_b == Op::none ? CblasNoTrans : CblasTrans;
    const int reps = std::max(100, int(2e8 / (double(s.m) * s.n * s.k)));
    double one = 1e30, ours = 1e30;
    for (int r = 0; r < rounds; ++r) {
      one = std::min(one, microseconds(
                              [&] {
                                cblas_sgemm(CblasColMajor, ta, tb, s.m, s.n, s.k, 1.f, A.data(), int(A.rows()),
                                            B.data(), int(B.rows()), 0.f, C.data(), s.m);
                              },
                              reps));
      ours = std::min(ours, microseconds([&] { multiply(1.f, A, s.op_a, B, s.op_b, D); }, reps));
    }
    const double diff = (C - D).cwiseAbs().maxCoeff();
    char label[96];
    std::snprintf(label, sizeof label, "%s, %dx%dx%d", s.what, s.m, s.n, s.k);
    std::printf("%-52s %10.1f %10.1f %7.2fx%s\n", label, one, ours, one / ours, diff > 1e-3 ? "  (results differ!)" : "");
  }
  return 0;
}
