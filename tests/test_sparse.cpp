// The sparse-input path (sparse.hpp) against the dense products it stands in for: the lists of
// nonzeros, z = W x + b, A + alpha dz x^T, and whole training runs with the first layer on
// either path, for odd sizes (1, 3, 17, 100, 1000: whole tiles, tails, and tiles of one row).
#include <gtest/gtest.h>
#include <omp.h>

#include <random>

#include "backprop/nn/init.hpp"
#include "backprop/nn/sparse.hpp"
#include "backprop/train/trainer.hpp"
#include "near.hpp"

namespace backprop {
namespace {

using Index = Eigen::Index;

// A (rows, cols) matrix with about zero_fraction of its entries 0, the others in [-1, 1].
template <typename T>
Matrix<T> mostly_zeros(Index rows, Index cols, double zero_fraction, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1), v(-1, 1);
  Matrix<T> x(rows, cols);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = u(rng) < zero_fraction ? T(0) : T(v(rng));
  return x;
}

const Index kSizes[] = {1, 3, 17, 100, 1000};
const Index kBatches[] = {1, 7, 64};

TEST(SparseColumns, ListEveryNonzeroByColumnAndByRow) {
  std::mt19937_64 rng(1);
  for (Index rows : {Index(1), Index(3), Index(17), Index(784), Index(1000)})
    for (Index cols : kBatches) {
      const Matrix<float> x = mostly_zeros<float>(rows, cols, 0.8, rng);
      SparseColumns<float> s;
      const double density = s.assign(x, 1.0);
      const std::string what = std::to_string(rows) + "x" + std::to_string(cols);
      EXPECT_DOUBLE_EQ(density, double((x.array() != 0).count()) / double(x.size())) << what;
      Matrix<float> by_col = Matrix<float>::Zero(rows, cols), by_row = Matrix<float>::Zero(rows, cols);
      for (Index j = 0; j < cols; ++j)
        for (int k = 0; k < s.col_count[j]; ++k) {
          const int i = s.col_index[j * rows + k];
          if (k > 0) {
            EXPECT_LT(s.col_index[j * rows + k - 1], i) << what;
          }
          by_col(i, j) = s.col_value[j * rows + k];
        }
      for (Index i = 0; i < rows; ++i)
        for (int k = 0; k < s.row_count[i]; ++k) {
          const int j = s.row_col[i * cols + k];
          if (k > 0) {
            EXPECT_LT(s.row_col[i * cols + k - 1], j) << what;
          }
          by_row(i, j) = s.row_value[i * cols + k];
        }
      EXPECT_EQ(by_col, x) << what;  // every nonzero once, and nothing else
      EXPECT_EQ(by_row, x) << what;
    }
}

TEST(SparseColumns, AllZeroAndAllNonzero) {
  SparseColumns<double> s;
  EXPECT_EQ(s.assign(Matrix<double>::Zero(784, 5), 1.0), 0.0);
  for (Index j = 0; j < 5; ++j) EXPECT_EQ(s.col_count[j], 0);
  for (Index i = 0; i < 784; ++i) EXPECT_EQ(s.row_count[i], 0);
  // The buffers only grow: a smaller batch after a larger one uses the first entries.
  EXPECT_EQ(s.assign(Matrix<double>::Constant(17, 3, 0.5), 1.0), 1.0);
  for (Index j = 0; j < 3; ++j) EXPECT_EQ(s.col_count[j], 17);
  for (Index i = 0; i < 17; ++i) EXPECT_EQ(s.row_count[i], 3);
  EXPECT_TRUE(s.by_row);
  s.assign(Matrix<double>::Constant(17, 3, 0.5), 1.0, false);  // evaluation: by example only
  EXPECT_FALSE(s.by_row);
}

template <typename T>
void check_kernels() {
  std::mt19937_64 rng(2);
  for (Index n_out : kSizes)
    for (Index n_in : {Index(1), Index(17), Index(784)})
      for (Index batch : kBatches) {
        const std::string what = std::to_string(n_out) + "x" + std::to_string(n_in) + ", B " + std::to_string(batch);
        const Matrix<T> W = Matrix<T>::Random(n_out, n_in), b = Matrix<T>::Random(n_out, 1);
        const Matrix<T> x = mostly_zeros<T>(n_in, batch, 0.8, rng), dz = Matrix<T>::Random(n_out, batch);
        SparseColumns<T> s;
        s.assign(x, 1.0);
        Matrix<T> z;
        sparse_affine(W, b, s, z);
        Matrix<T> want = W * x;
        want.colwise() += b.col(0);
        expect_near(z, want, "z = W x + b, " + what);
        Matrix<T> A = W;
        sparse_add_outer(T(-0.3), dz, s, A);
        expect_near(A, Matrix<T>(W - T(0.3) * dz * x.transpose()), "W - 0.3 dz x^T, " + what);
      }
}

TEST(SparseKernels, MatchTheDenseProductsFloat) { check_kernels<float>(); }
TEST(SparseKernels, MatchTheDenseProductsDouble) { check_kernels<double>(); }

// Each output is summed by one thread in a fixed order, so the thread count changes nothing.
TEST(SparseKernels, SameBitsWithAnyThreadCount) {
  std::mt19937_64 rng(3);
  const Matrix<float> W = Matrix<float>::Random(256, 784), b = Matrix<float>::Random(256, 1);
  const Matrix<float> x = mostly_zeros<float>(784, 64, 0.8, rng), dz = Matrix<float>::Random(256, 64);
  Matrix<float> z[2], A[2];
  const int saved = omp_get_max_threads();
  for (int t = 0; t < 2; ++t) {
    omp_set_num_threads(t + 1);
    SparseColumns<float> s;
    s.assign(x, 1.0);
    sparse_affine(W, b, s, z[t]);
    A[t] = W;
    sparse_add_outer(-0.01f, dz, s, A[t]);
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(z[0], z[1]);
  EXPECT_EQ(A[0], A[1]);
}

// Images with about zero_fraction of their bytes 0.
Dataset image_dataset(std::size_t count, std::size_t features, int classes, double zero_fraction, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  Dataset data;
  data.count = count;
  data.features = features;
  data.bytes.resize(count * features);
  data.labels.resize(count);
  for (auto& p : data.bytes) p = u(rng) < zero_fraction ? 0 : static_cast<std::uint8_t>(1 + rng() % 255);
  for (auto& l : data.labels) l = static_cast<std::uint8_t>(rng() % classes);
  return data;
}

template <typename T>
std::vector<Matrix<T>> train(const std::vector<int>& sizes, const std::string& optimizer, bool sparse,
                             double zero_fraction, bool* took_sparse) {
  NetworkSpec spec;
  spec.sizes = sizes;
  spec.activations = {Activation::tanh};
  spec.validate(sizes.front(), sizes.back());
  std::mt19937_64 data_rng(5);
  const int batch = 16;
  const Dataset data = image_dataset(4 * batch + 5, sizes.front(), sizes.back(), zero_fraction, data_rng);
  std::mt19937_64 rng(6);
  Network<T> network(spec, &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  network.set_sparse_input(sparse);
  TrainConfig config;
  config.batch_size = batch;
  config.optimizer.name = optimizer;
  config.schedule.lr = optimizer == "sgd" ? 0.1 : 1e-3;
  Trainer<T> trainer(network, config, rng);
  trainer.train_epoch(data);
  *took_sparse = network.dense_layers().front()->last_forward_sparse();
  std::vector<Matrix<T>> params;
  for (const auto& p : network.params()) params.push_back(*p.value);
  return params;
}

// Whole epochs: the fused SGD step and the gradient-then-optimizer path (adam), the first layer
// sparse or dense. The sparse path is taken only for mostly-zero batches.
TEST(SparseTraining, SameParametersAsTheDenseFirstLayer) {
  for (const auto& sizes : {std::vector<int>{784, 256, 10}, std::vector<int>{17, 1, 3}, std::vector<int>{3, 1000, 17, 2},
                            std::vector<int>{1000, 100, 10}})
    for (const std::string optimizer : {"sgd", "adam"}) {
      bool took_sparse = false, took_dense = true;
      const auto sparse = train<double>(sizes, optimizer, true, 0.8, &took_sparse);
      const auto dense = train<double>(sizes, optimizer, false, 0.8, &took_dense);
      EXPECT_TRUE(took_sparse);
      EXPECT_FALSE(took_dense);
      ASSERT_EQ(sparse.size(), dense.size());
      for (std::size_t i = 0; i < sparse.size(); ++i)
        expect_near(sparse[i], dense[i], optimizer + ", parameter " + std::to_string(i) + " of " +
                                             std::to_string(sizes.front()) + "-...-" + std::to_string(sizes.back()));
    }
}

// evaluate() and predict_classes() with the first layer on the sparse path against the dense
// products: the same logits batch by batch (a short last batch), the same loss, and, in f64,
// the same predictions. Sizes cross the forward pass's tiles (128 floats, 64 doubles), their
// one-vector tails and the rows after them.
template <typename T>
void check_evaluation(const std::vector<int>& sizes) {
  NetworkSpec spec;
  spec.sizes = sizes;
  spec.activations = {Activation::sigmoid};
  spec.validate(sizes.front(), sizes.back());
  std::mt19937_64 data_rng(7);
  const Dataset data = image_dataset(3 * 16 + 5, sizes.front(), sizes.back(), 0.8, data_rng);
  std::mt19937_64 rng(8);
  Network<T> network(spec, &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  const std::string what = std::to_string(sizes.front()) + "-...-" + std::to_string(sizes.back());
  std::vector<Matrix<T>> logits[2];
  EvalResult result[2];
  std::vector<std::int32_t> predicted[2];
  for (int sparse = 0; sparse < 2; ++sparse) {
    network.set_sparse_input(sparse == 1);
    predicted[sparse] = predict_classes<T>(network, data, 16, [&](std::size_t, const Matrix<T>& batch_logits) {
      logits[sparse].push_back(batch_logits);
    });
    EXPECT_EQ(network.last_forward_sparse(), sparse == 1) << what;
    result[sparse] = evaluate(network, data, 16);
  }
  ASSERT_EQ(logits[0].size(), 4u) << what;
  ASSERT_EQ(logits[1].size(), 4u) << what;
  for (std::size_t i = 0; i < logits[0].size(); ++i)
    expect_near(logits[1][i], logits[0][i], what + ", batch " + std::to_string(i));
  EXPECT_NEAR(result[1].loss, result[0].loss, 10 * double(tolerance<T>()) * std::max(1.0, result[0].loss)) << what;
  if (std::is_same_v<T, double>) {
    EXPECT_EQ(predicted[1], predicted[0]) << what;
    EXPECT_EQ(result[1].accuracy, result[0].accuracy) << what;
  }
}

TEST(SparseEvaluation, SameScoresAsTheDenseFirstLayer) {
  for (const auto& sizes : {std::vector<int>{784, 256, 10}, std::vector<int>{17, 1, 3}, std::vector<int>{3, 1000, 17, 2},
                            std::vector<int>{1000, 129, 10}, std::vector<int>{784, 300, 40, 7}}) {
    check_evaluation<float>(sizes);
    check_evaluation<double>(sizes);
  }
}

TEST(SparseTraining, DenseBatchesTakeTheDenseProducts) {
  bool took_sparse = true;
  train<float>({784, 32, 10}, "sgd", true, 0.1, &took_sparse);  // 90% nonzero
  EXPECT_FALSE(took_sparse);
}

}  // namespace
}  // namespace backprop
