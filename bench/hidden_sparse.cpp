// The sparse first-layer kernels (sparse.hpp) on a hidden ReLU output, for issue 15 item 4
// ("hidden ReLU outputs are about half zeros; try the sparse kernels there too"): the
// 1024 x 1024 layer of 784-1024-1024-10 at batch 128, z = W h + b and dW = dz h^T, dense
// (one BLAS call each, product.hpp) against sparse (the lists of h's nonzeros, then the sums
// over them), for h with a given share of zeros. Rounds interleave the four; best of each.
//
//   build/bench/hidden_sparse [ZERO_SHARE=0.5] [ROUNDS=7]     (OMP_NUM_THREADS as you like)
#include <cstdio>
#include <cstdlib>
#include <random>

#include "backprop/nn/product.hpp"
#include "backprop/nn/sparse.hpp"
#include "microseconds.hpp"

using namespace backprop;

int main(int argc, char** argv) {
  const double zeros = argc > 1 ? std::atof(argv[1]) : 0.5;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  const int n = 1024, batch = 128, reps = 10;
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<float> u(0, 1);
  const Matrix<float> W = Matrix<float>::Random(n, n), b = Matrix<float>::Random(n, 1);
  const Matrix<float> dz = Matrix<float>::Random(n, batch);
  Matrix<float> h(n, batch), z, dW(n, n);
  for (Eigen::Index i = 0; i < h.size(); ++i) h.data()[i] = u(rng) < zeros ? 0.f : u(rng);
  SparseColumns<float> s;
  double best[4] = {1e30, 1e30, 1e30, 1e30};
  for (int r = 0; r < rounds; ++r) {
    const double t[4] = {
        microseconds([&] { affine(W, h, b, z); }, reps),
        microseconds([&] { s.assign(h, 1.0); sparse_affine(W, b, s, z); }, reps),
        microseconds([&] { multiply(1.f, dz, Op::none, h, Op::transpose, dW); }, reps),
        microseconds([&] { s.assign(h, 1.0); dW.setZero(); sparse_add_outer(1.f, dz, s, dW); }, reps),
    };
    for (int k = 0; k < 4; ++k) best[k] = std::min(best[k], t[k]);
  }
  std::printf("h %.0f%% zeros, 1024 x 1024 layer, batch 128: z = W h + b dense %.0f us, sparse %.0f us (%.2fx); "
              "dW = dz h^T dense %.0f us, sparse %.0f us (%.2fx)\n",
              100 * zeros, best[0], best[1], best[1] / best[0], best[2], best[3], best[3] / best[2]);
}
