// Minibatch training and evaluation on a Dataset of bytes.
//
// One step: gather a batch (pixels / 255 as the seed's ToTensor), forward, mean loss,
// backward, optional seed gradient scaling and clipping, optimizer step. One epoch: every
// example once, in a fresh random order unless shuffling is off.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <vector>

#include "backprop/idx.hpp"
#include "backprop/network.hpp"
#include "backprop/optimizer.hpp"
#include "backprop/schedule.hpp"

namespace backprop {

// How minibatch gradients are reduced.
//   mean  every gradient is the gradient of the mean loss (what the blog's text says)
//   sum   the blog's CODE: weight gradients summed over the batch, bias gradients averaged.
//         At lr 0.01 this is what gives the blog its 98% (docs/seed-quirk.md).
enum class GradReduction { mean, sum };

struct TrainConfig {
  int epochs = 20;
  int batch_size = 64;
  bool shuffle = true;
  GradReduction grad_reduction = GradReduction::mean;
  OptimizerConfig optimizer;
  Schedule schedule;       // holds the base learning rate
  double clip_norm = 0;    // clip the global gradient norm to this; 0 = off
  int early_stop = 0;      // patience in epochs on validation loss; 0 = off
  int eval_batch = 1000;   // the seed evaluates in batches of 1000

  void validate() const;  // throws Error
};

struct EvalResult {
  double accuracy = 0, loss = 0;  // loss: mean over all examples
  std::size_t count = 0;
  std::array<std::array<long, 10>, 10> confusion{};  // [true][predicted], first 10 classes
};

struct EpochMetrics {
  int epoch = 0;  // 0-based, as the seed prints
  double train_loss = 0;  // mean of the minibatch losses, as the seed reports it
  double learning_rate = 0;  // at the end of the epoch
  double train_seconds = 0, eval_seconds = 0;
  std::optional<EvalResult> validation, test;
};

// X(:, j) = image(indices[j]) / 255 for j < count; X is (features, count).
// Pixels become float32 p/255 first, then T (so float64 runs see the seed's values).
template <typename T>
void gather_batch(const Dataset& data, const std::size_t* indices, std::size_t count, Matrix<T>& X);

// Accuracy, mean loss and confusion matrix over a whole dataset, in batches.
template <typename T>
EvalResult evaluate(Network<T>& network, const Dataset& data, int batch_size = 1000);

template <typename T>
class Trainer {
 public:
  using Progress = std::function<void(std::size_t done, std::size_t total, double mean_loss)>;
  using EpochCallback = std::function<void(const EpochMetrics&)>;

  // rng drives shuffling (and must be the one the network's dropout layers use).
  Trainer(Network<T>& network, const TrainConfig& config, std::mt19937_64& rng);

  // One optimisation step on the given examples; returns the batch's mean loss.
  T step(const Dataset& data, const std::size_t* indices, std::size_t count);
  // One pass over data; returns the mean of the minibatch losses.
  double train_epoch(const Dataset& data, const Progress& progress = {});
  // The whole run: epochs, evaluation on val and test after each, early stopping (restoring
  // the best parameters). Returns every epoch's metrics.
  std::vector<EpochMetrics> fit(const Dataset& train, const Dataset* validation,
                                const Dataset* test, const EpochCallback& on_epoch = {},
                                const Progress& progress = {});

  long long global_step() const { return global_step_; }
  int epoch() const { return epoch_; }

 private:
  void scale_and_clip(std::size_t batch);

  Network<T>& network_;
  TrainConfig config_;
  std::mt19937_64& rng_;
  std::unique_ptr<Optimizer<T>> optimizer_;
  std::vector<std::size_t> order_;
  Matrix<T> X_;                       // (features, B)
  std::vector<std::uint8_t> labels_;  // (B)
  long long global_step_ = 0;
  int epoch_ = 0;
};

}  // namespace backprop
