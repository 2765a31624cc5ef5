// Microbenchmarks of the library, with Google Benchmark, on real MNIST.
//
//   micro [--data=DIR] [--threads=N] [Google Benchmark flags, e.g. --benchmark_filter=Step]
//
//   BM_Step/B/H      one training step (Trainer<float>::step: gather, forward, loss, backward,
//                    update) of a 784-H-10 sigmoid network, seed settings (SGD lr 0.01, weight
//                    gradients summed), on batch after batch of a shuffled training set.
//                    items_per_second = samples/s; GFLOP/s counts the products only:
//                    2 (2 * 784 H + 3 H 10) per sample (forward, both weight gradients, dh).
//                    sparse GFLOP/s counts only the products the sparse first layer has to do:
//                    2 (2 nnz H + 3 H 10) per sample, nnz = the mean nonzero pixels of an image
//                    (bench/seed_bound.sh sets it against the sgemm rate of the same run).
//   BM_Evaluate/N    evaluate() of the 10,000 test images, batches of 1000 (the seed's), for the
//                    seed's network (N = 0: sigmoid, seed init) and --preset fast's (1: ReLU, He).
//   BM_Predict       Network<float>::predict of one image, a (784, 1) matrix: the latency of a
//                    single prediction.
//   BM_EigenGemm/N   Eigen's own N x N x N float product: the peak of the product the library
//                    builds on (compare gemm_peak's OpenBLAS figure).
//
// --threads sets OpenMP's and Eigen's thread count for all of them (default: all cores), as
// `backprop train --threads` does. The data directory defaults to $BACKPROP_DATA, then data/mnist.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backprop/data/idx.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/train/trainer.hpp"

namespace {

using namespace backprop;

std::string g_data_dir = "data/mnist";

const Mnist& mnist() {
  static const Mnist data = load_mnist(g_data_dir);
  return data;
}

NetworkSpec seed_spec(int hidden) {
  NetworkSpec spec;
  spec.sizes = {784, hidden, 10};
  spec.activations = {Activation::sigmoid};
  spec.head = HeadKind::softmax_cross_entropy;
  spec.validate(784, 10);
  return spec;
}

// The products of one step, per sample: forward X W1 and h W2, weight gradients of both
// layers, and dh = dz2 W2^T (no dx for the first layer).
double step_flops_per_sample(int hidden) { return 2.0 * (2.0 * 784 * hidden + 3.0 * hidden * 10); }

// The mean number of nonzero pixels of a training image: the first layer's forward pass and
// weight gradient need 2 nnz H multiply-adds a sample, not 2 784 H.
double mean_nonzeros() {
  static const double mean = [] {
    const Dataset& train = mnist().train;
    std::size_t nonzero = 0;
    for (std::uint8_t p : train.bytes) nonzero += p != 0;
    return double(nonzero) / double(train.count);
  }();
  return mean;
}
double sparse_step_flops_per_sample(int hidden) { return 2.0 * (2.0 * mean_nonzeros() * hidden + 3.0 * hidden * 10); }

void BM_Step(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const int hidden = static_cast<int>(state.range(1));
  const Dataset& train = mnist().train;
  std::mt19937_64 rng(1);
  Network<float> network(seed_spec(hidden), &rng);
  initialize(network, InitScheme::seed, rng);
  TrainConfig config;
  config.batch_size = static_cast<int>(batch);
  config.grad_reduction = GradReduction::sum;
  config.schedule.lr = 0.01;
  config.validate();
  Trainer<float> trainer(network, config, rng);

  std::vector<std::size_t> order(train.count);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  std::size_t position = 0;
  for (auto _ : state) {
    if (position + batch > order.size()) position = 0;
    benchmark::DoNotOptimize(trainer.step(train, order.data() + position, batch));
    position += batch;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  state.counters["GFLOP/s"] = benchmark::Counter(
      step_flops_per_sample(hidden) * double(batch) * double(state.iterations()) / 1e9,
      benchmark::Counter::kIsRate);
  state.counters["sparse GFLOP/s"] = benchmark::Counter(
      sparse_step_flops_per_sample(hidden) * double(batch) * double(state.iterations()) / 1e9,
      benchmark::Counter::kIsRate);
  state.counters["nnz"] = mean_nonzeros();
}
BENCHMARK(BM_Step)
    ->ArgNames({"B", "H"})
    ->ArgsProduct({{1, 64, 256}, {128, 256}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// One step of the seed network (B 64, H 256) with each optimizer: the fused update's cost
// beside plain SGD's (issue 15: Adam within 1.3x of SGD).
const char* const kOptimizers[] = {"sgd", "momentum", "nesterov", "adam", "adamw"};

void BM_StepOptimizer(benchmark::State& state) {
  const std::size_t batch = 64;
  const Dataset& train = mnist().train;
  std::mt19937_64 rng(1);
  Network<float> network(seed_spec(256), &rng);
  initialize(network, InitScheme::seed, rng);
  TrainConfig config;
  config.batch_size = static_cast<int>(batch);
  config.optimizer.name = kOptimizers[state.range(0)];
  config.schedule.lr = 0.001;
  config.validate();
  Trainer<float> trainer(network, config, rng);
  std::vector<std::size_t> order(train.count);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  std::size_t position = 0;
  for (auto _ : state) {
    if (position + batch > order.size()) position = 0;
    benchmark::DoNotOptimize(trainer.step(train, order.data() + position, batch));
    position += batch;
  }
  state.SetLabel(kOptimizers[state.range(0)]);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}
BENCHMARK(BM_StepOptimizer)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

void BM_Evaluate(benchmark::State& state) {
  const Dataset& test = mnist().test;
  const bool relu = state.range(0) == 1;
  NetworkSpec spec = seed_spec(256);
  if (relu) spec.activations = {Activation::relu};
  std::mt19937_64 rng(1);
  Network<float> network(spec, &rng);
  initialize(network, relu ? InitScheme::he_normal : InitScheme::seed, rng);
  for (auto _ : state) benchmark::DoNotOptimize(evaluate(network, test, 1000).accuracy);
  state.SetLabel(relu ? "784-256-10 relu" : "784-256-10 sigmoid (seed)");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * test.count));
}
BENCHMARK(BM_Evaluate)->DenseRange(0, 1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Predict(benchmark::State& state) {
  const Dataset& test = mnist().test;
  std::mt19937_64 rng(1);
  Network<float> network(seed_spec(256), &rng);
  initialize(network, InitScheme::seed, rng);
  Matrix<float> x(784, 1);
  for (int i = 0; i < 784; ++i) x(i, 0) = float(test.row_bytes(0)[i]) / 255.f;
  for (auto _ : state) benchmark::DoNotOptimize(network.predict(x)(0, 0));
}
BENCHMARK(BM_Predict)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_EigenGemm(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  const Matrix<float> a = Matrix<float>::Random(n, n), b = Matrix<float>::Random(n, n);
  Matrix<float> c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * double(n) * double(n) * double(n) * double(state.iterations()) / 1e9,
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EigenGemm)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  if (const char* dir = std::getenv("BACKPROP_DATA")) g_data_dir = dir;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Take our two flags out of argv before Google Benchmark sees it.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strncmp(argv[i], "--data=", 7)) g_data_dir = argv[i] + 7;
    else if (!std::strncmp(argv[i], "--threads=", 10)) threads = std::max(1, std::atoi(argv[i] + 10));
    else argv[kept++] = argv[i];
  }
  argc = kept;
  omp_set_num_threads(threads);
  Eigen::setNbThreads(threads);
  benchmark::AddCustomContext("threads", std::to_string(threads));
  benchmark::AddCustomContext("data", g_data_dir);

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    mnist();  // load once, outside every timing
  } catch (const std::exception& e) {
    std::fprintf(stderr, "micro: %s\n", e.what());
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
