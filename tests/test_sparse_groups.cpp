// Evaluation's grouped sparse first layer (sparse_groups.hpp) against its references: the
// lists against the bytes, the product against sparse_affine (bit for bit) and the dense
// product (to tolerance), the thread count, and evaluate() from the bytes against the dense
// first layer, for odd sizes (1, 3, 17, 1000 inputs and outputs; batches of 1, 3, 17 and 1000,
// whose last group is short) in f32 and f64.
#include <gtest/gtest.h>
#include <omp.h>

#include <random>

#include "backprop/nn/init.hpp"
#include "backprop/nn/sparse.hpp"
#include "backprop/nn/sparse_groups.hpp"
#include "backprop/train/trainer.hpp"
#include "near.hpp"

namespace backprop {
namespace {

using Index = Eigen::Index;

// cols examples of rows bytes. correlated: each example's nonzeros are a band of about a
// fifth of the rows near the middle, as a digit's pixels (neighbours share most of theirs);
// otherwise each byte is nonzero with probability 1/5, independently.
std::vector<std::uint8_t> images(Index rows, Index cols, bool correlated, std::mt19937_64& rng) {
  std::vector<std::uint8_t> bytes(std::size_t(rows * cols), 0);
  std::uniform_int_distribution<int> value(1, 255);
  std::uniform_real_distribution<double> u(0, 1);
  for (Index j = 0; j < cols; ++j) {
    const double centre = 0.5 + 0.1 * (u(rng) - 0.5);
    for (Index i = 0; i < rows; ++i) {
      const bool nonzero = correlated ? std::abs((double(i) + 0.5) / double(rows) - centre) < 0.1 && u(rng) < 0.9
                                      : u(rng) < 0.2;
      if (nonzero) bytes[std::size_t(j * rows + i)] = static_cast<std::uint8_t>(value(rng));
    }
  }
  return bytes;
}

template <typename T>
struct Table {
  T values[256];
  Table() {
    for (int v = 0; v < 256; ++v) values[v] = T(float(v) / 255.0f);
  }
};

template <typename T>
Matrix<T> dense_input(const std::vector<std::uint8_t>& bytes, Index rows, Index cols, const Table<T>& table) {
  Matrix<T> x(rows, cols);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = table.values[bytes[std::size_t(i)]];
  return x;
}

const Index kRows[] = {1, 3, 17, 784, 1000};
const Index kBatches[] = {1, 3, 17, 1000};

bool grouping() { return std::string(sparse_kernels()) == "avx512"; }

TEST(SparseGroups, ListEveryPositionWhereAMemberIsNonzero) {
  std::mt19937_64 rng(1);
  const Table<float> table;
  for (bool correlated : {true, false})
    for (Index rows : kRows)
      for (Index cols : kBatches) {
        const auto bytes = images(rows, cols, correlated, rng);
        SparseGroups<float> s;
        const double density = s.assign_bytes(bytes.data(), rows, cols, table.values);
        const std::string what = std::to_string(rows) + "x" + std::to_string(cols) + (correlated ? " banded" : "");
        long long nonzero = 0;
        for (auto b : bytes) nonzero += b != 0;
        EXPECT_EQ(s.nonzeros, nonzero) << what;
        EXPECT_DOUBLE_EQ(density, double(nonzero) / double(rows * cols)) << what;
        ASSERT_TRUE(s.group == 1 || s.group == SparseGroups<float>::kGroup) << what;
        for (Index g = 0; g < s.groups(); ++g) {
          std::vector<bool> listed(std::size_t(rows), false);
          for (int k = 0; k < s.count[std::size_t(g)]; ++k) {
            const int i = s.index[std::size_t(g * rows + k)];
            if (k > 0) {
              EXPECT_LT(s.index[std::size_t(g * rows + k - 1)], i) << what;
            }
            listed[std::size_t(i)] = true;
          }
          for (Index i = 0; i < rows; ++i) {
            bool any = false;
            for (Index j = g * s.group; j < std::min(cols, (g + 1) * s.group); ++j) any |= bytes[std::size_t(j * rows + i)] != 0;
            EXPECT_EQ(listed[std::size_t(i)], any) << what << ", group " << g << ", position " << i;
          }
        }
      }
}

// Images that share their nonzeros are grouped where the kernels allow it; independent zeros
// (little to share) are listed one example at a time.
TEST(SparseGroups, GroupOnlyWhereTheNonzerosOverlap) {
  std::mt19937_64 rng(2);
  const Table<float> table;
  SparseGroups<float> s;
  auto bytes = images(784, 1000, true, rng);
  s.assign_bytes(bytes.data(), 784, 1000, table.values);
  EXPECT_EQ(s.group, grouping() ? SparseGroups<float>::kGroup : 1);
  bytes = images(784, 1000, false, rng);
  s.assign_bytes(bytes.data(), 784, 1000, table.values);
  EXPECT_EQ(s.group, 1);
}

template <typename T>
void check_product() {
  std::mt19937_64 rng(3);
  const Table<T> table;
  for (bool correlated : {true, false})
    for (Index n_out : {Index(1), Index(3), Index(17), Index(100), Index(1000)})
      for (Index n_in : {Index(1), Index(17), Index(784)})
        for (Index batch : {Index(1), Index(3), Index(17), Index(64)}) {
          const std::string what = std::to_string(n_out) + "x" + std::to_string(n_in) + ", B " + std::to_string(batch) +
                                   (correlated ? " banded" : "");
          const Matrix<T> W = Matrix<T>::Random(n_out, n_in), b = Matrix<T>::Random(n_out, 1);
          const auto bytes = images(n_in, batch, correlated, rng);
          const Matrix<T> x = dense_input(bytes, n_in, batch, table);
          SparseGroups<T> groups;
          groups.assign_bytes(bytes.data(), n_in, batch, table.values);
          Matrix<T> z, h;
          sparse_affine_groups(W, b, groups, nullptr, z);
          SparseColumns<T> columns;
          columns.assign(x, 1.0, false);
          Matrix<T> reference;
          sparse_affine(W, b, columns, reference);
          EXPECT_EQ(z, reference) << "z = W x + b against sparse_affine, " << what;  // the same sums, in the same order
          Matrix<T> want = W * x;
          want.colwise() += b.col(0);
          expect_near(z, want, "z = W x + b, " + what);
          for (Activation a : {Activation::sigmoid, Activation::relu, Activation::tanh}) {
            sparse_affine_groups(W, b, groups, &a, h);
            Matrix<T> g;
            activation_forward(a, want, g);
            expect_near(h, g, std::string(activation_name(a)) + "(W x + b), " + what);
          }
        }
}

TEST(SparseGroups, MatchSparseAffineAndTheDenseProductFloat) { check_product<float>(); }
TEST(SparseGroups, MatchSparseAffineAndTheDenseProductDouble) { check_product<double>(); }

// Groups are fixed by the batch and each output is summed by one thread: the thread count
// changes nothing.
TEST(SparseGroups, SameBitsWithAnyThreadCount) {
  std::mt19937_64 rng(4);
  const Table<float> table;
  const Matrix<float> W = Matrix<float>::Random(256, 784), b = Matrix<float>::Random(256, 1);
  const auto bytes = images(784, 1000, true, rng);
  const Activation sigmoid = Activation::sigmoid;
  Matrix<float> h[2];
  const int saved = omp_get_max_threads();
  for (int t = 0; t < 2; ++t) {
    omp_set_num_threads(t + 1);
    SparseGroups<float> s;
    s.assign_bytes(bytes.data(), 784, 1000, table.values);
    sparse_affine_groups(W, b, s, &sigmoid, h[t]);
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(h[0], h[1]);
}

Dataset banded_dataset(std::size_t count, std::size_t features, int classes, std::mt19937_64& rng) {
  Dataset data;
  data.count = count;
  data.features = features;
  data.bytes = images(Index(features), Index(count), true, rng);
  data.labels.resize(count);
  for (auto& l : data.labels) l = static_cast<std::int32_t>(rng() % classes);
  return data;
}

// evaluate() from the bytes (grouped) against the dense first layer: the same loss to
// tolerance, the same predictions in f64; and the same bits at one thread and two. Batches of
// 16 over 53 examples: a short last batch, whose last group has one example.
template <typename T>
void check_evaluation(const std::vector<int>& sizes, Activation activation) {
  NetworkSpec spec;
  spec.sizes = sizes;
  spec.activations = {activation};
  spec.validate(sizes.front(), sizes.back());
  std::mt19937_64 data_rng(7);
  const Dataset data = banded_dataset(3 * 16 + 5, std::size_t(sizes.front()), sizes.back(), data_rng);
  std::mt19937_64 rng(8);
  Network<T> network(spec, &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  const std::string what = std::to_string(sizes.front()) + "-...-" + std::to_string(sizes.back()) + " " +
                           activation_name(activation);
  EvalResult result[2];
  for (int sparse = 0; sparse < 2; ++sparse) {
    network.set_sparse_input(sparse == 1);
    result[sparse] = evaluate(network, data, 16);
    EXPECT_EQ(network.last_forward_sparse(), sparse == 1) << what;
  }
  EXPECT_NEAR(result[1].loss, result[0].loss, 10 * double(tolerance<T>()) * std::max(1.0, result[0].loss)) << what;
  if (std::is_same_v<T, double>) {
    EXPECT_EQ(result[1].accuracy, result[0].accuracy) << what;
    EXPECT_EQ(result[1].confusion, result[0].confusion) << what;
  }
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  const EvalResult two = evaluate(network, data, 16);
  omp_set_num_threads(saved);
#ifdef EIGEN_USE_BLAS
  // OpenBLAS splits no sum of the dense layers' products between threads: the same bits.
  EXPECT_EQ(two.loss, result[1].loss) << what;
  EXPECT_EQ(two.confusion, result[1].confusion) << what;
#else
  // Eigen's own products (the sanitizer build) block their sums by the thread count, so the
  // dense layers after the grouped one agree to rounding only.
  EXPECT_NEAR(two.loss, result[1].loss, 10 * double(tolerance<T>()) * std::max(1.0, result[1].loss)) << what;
  if (std::is_same_v<T, double>) {
    EXPECT_EQ(two.confusion, result[1].confusion) << what;
  }
#endif
}

TEST(SparseGroupsEvaluation, SameScoresAsTheDenseFirstLayer) {
  for (const auto& sizes : {std::vector<int>{784, 256, 10}, std::vector<int>{17, 1, 3}, std::vector<int>{3, 1000, 17, 2},
                            std::vector<int>{1000, 129, 10}, std::vector<int>{784, 10}})
    for (Activation a : {Activation::sigmoid, Activation::relu}) {
      check_evaluation<float>(sizes, a);
      check_evaluation<double>(sizes, a);
    }
}

}  // namespace
}  // namespace backprop
