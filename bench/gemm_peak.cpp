// This machine's single-precision matrix-product peak, with OpenBLAS's cblas_sgemm: the
// speed limit of training the seed network, which is almost all matrix products.
//
//   gemm_peak [--threads 1,2] [--sizes 2048,4096] [--repeats 5]
//
// For each thread count: C = A B with square n x n matrices, best and median of `repeats`
// timed calls after one warm-up call, at 2 n^3 flops per call. Then the seed's two big
// products at batch 64, one epoch's worth of calls (938) each, to show what a batch-64
// shape reaches:
//   forward          Z1 (64 x 256)  = X (64 x 784) W1 (784 x 256)
//   weight gradient  dW1 (784 x 256) = X^T (784 x 64) dZ1 (64 x 256)
// (row-major, the blog's view). One JSON object per line on stdout:
//   {"kind":"square","n":2048,"threads":2,"best_gflops":...,"median_gflops":...}
//   {"kind":"seed_forward","threads":2,"gflops":...}
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::vector<int> parse_list(const char* text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) out.push_back(std::atoi(part.c_str()));
  return out;
}

std::vector<float> random_matrix(std::size_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  std::vector<float> m(count);
  for (float& v : m) v = uniform(rng);
  return m;
}

// C (m x n) = op(A) B, row-major; op(A) = A (m x k) or A^T with A stored (k x m).
void sgemm(bool transpose_a, int m, int n, int k, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, CblasNoTrans, m, n, k, 1.f, a,
              transpose_a ? m : k, b, n, 0.f, c, n);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void square(int n, int threads, int repeats, std::mt19937& rng) {
  const std::size_t count = static_cast<std::size_t>(n) * n;
  std::vector<float> a = random_matrix(count, rng), b = random_matrix(count, rng), c(count);
  sgemm(false, n, n, n, a.data(), b.data(), c.data());  // warm-up: thread pool, page faults
  std::vector<double> gflops;
  for (int r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    sgemm(false, n, n, n, a.data(), b.data(), c.data());
    gflops.push_back(2.0 * n * double(n) * n / seconds_since(start) / 1e9);
  }
  std::sort(gflops.begin(), gflops.end());
  std::printf("{\"kind\":\"square\",\"n\":%d,\"threads\":%d,\"best_gflops\":%.2f,\"median_gflops\":%.2f}\n", n,
              threads, gflops.back(), gflops[gflops.size() / 2]);
  std::fflush(stdout);
}

// One epoch's worth (938 calls) of one seed product, best of `repeats` epochs.
void seed_shape(const char* kind, bool transpose_a, int m, int n, int k, int threads, int repeats,
                std::mt19937& rng) {
  const int calls = 938;
  std::vector<float> a = random_matrix(std::size_t(m) * k, rng), b = random_matrix(std::size_t(k) * n, rng),
                     c(std::size_t(m) * n);
  for (int i = 0; i < 50; ++i) sgemm(transpose_a, m, n, k, a.data(), b.data(), c.data());
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    for (int i = 0; i < calls; ++i) sgemm(transpose_a, m, n, k, a.data(), b.data(), c.data());
    best = std::max(best, 2.0 * m * double(n) * k * calls / seconds_since(start) / 1e9);
  }
  std::printf("{\"kind\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"threads\":%d,\"gflops\":%.2f}\n", kind, m, n, k,
              threads, best);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads{1, 2}, sizes{2048, 4096};
  int repeats = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = parse_list(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--sizes")) sizes = parse_list(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeats")) repeats = std::max(1, std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: gemm_peak [--threads 1,2] [--sizes 2048,4096] [--repeats 5]\n");
      return 2;
    }
  }
  std::fprintf(stderr, "gemm_peak: %s, core %s\n", openblas_get_config(), openblas_get_corename());
  std::mt19937 rng(1);
  for (int t : threads) {
    openblas_set_num_threads(t);
    for (int n : sizes) square(n, t, repeats, rng);
    seed_shape("seed_forward", false, 64, 256, 784, t, repeats, rng);
    seed_shape("seed_weight_gradient", true, 784, 256, 64, t, repeats, rng);
  }
  return 0;
}
