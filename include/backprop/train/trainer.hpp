// Minibatch training and evaluation on a Dataset (dataset.hpp).
//
// One step: gather a batch (scaled by the dataset's Scaling: p / 255 for MNIST), forward, mean loss,
// backward, optional seed gradient scaling and clipping, optimizer step. One epoch: every
// example once, in a fresh random order unless shuffling is off.
//
// A run can stop at any step boundary (set_stop_flag) and its whole state can be taken out
// (state) and put back (restore), so a run continued from a checkpoint takes exactly the
// steps, with exactly the numbers, of the same run left alone.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backprop/data/dataset.hpp"
#include "backprop/nn/network.hpp"
#include "backprop/nn/optimizer.hpp"
#include "backprop/nn/schedule.hpp"
#include "backprop/train/distributed.hpp"

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
  // The test set is scored after every eval_every-th epoch and after the last (the
  // validation set, which early stopping watches, after every epoch).
  int eval_every = 1;
  // Each step's update is formed where the optimizer applies it (Network::backward_fused).
  // false takes the reference path: every gradient stored, then scaled, clipped, applied.
  bool fused_update = true;

  void validate() const;  // throws Error
};

struct EvalResult {
  double accuracy = 0, loss = 0;  // loss: mean over all examples
  std::size_t count = 0;
  std::vector<std::vector<long>> confusion;  // K x K, [true][predicted]
  // Regression (regression.hpp), in the targets' units; then loss is their MSE and there is
  // no accuracy or confusion.
  bool regression = false;
  double rmse = 0, mae = 0, r2 = 0;
};

struct EpochMetrics {
  int epoch = 0;  // 0-based, as the seed prints
  double train_loss = 0;  // mean of the minibatch losses, as the seed reports it
  double learning_rate = 0;  // at the end of the epoch
  double train_seconds = 0, eval_seconds = 0;
  std::optional<EvalResult> validation, test;
};

// Everything a Trainer holds besides the network's parameters and its configuration: what a
// checkpoint must keep to continue the run exactly. Matrices are float64 whatever the run's
// dtype (float -> double -> float is exact).
struct TrainerState {
  int epoch = 0;                   // epochs completed
  long long global_step = 0;       // optimizer steps taken: the schedule's clock
  std::size_t epoch_position = 0;  // examples of the current epoch already trained (0 between epochs)
  double epoch_loss_sum = 0;       // this epoch's minibatch losses so far, and their count
  std::size_t epoch_batches = 0;
  std::vector<std::size_t> order;  // the current epoch's order of the training examples
  std::string rng;                 // the generator (shuffling, dropout), as operator<< writes it
  long long optimizer_steps = 0;   // the optimizer's t
  std::vector<Matrix<double>> optimizer_state;  // its buffers, each shaped like a parameter
  // Early stopping.
  double best_loss = std::numeric_limits<double>::infinity();
  int epochs_without_improvement = 0;
  bool stopped_early = false;
  std::vector<Matrix<double>> best_params;  // at the lowest validation loss; empty if none yet
  std::vector<EpochMetrics> history;        // every finished epoch
};

// Where training batches come from when they are not the dataset's own bytes (augment.hpp's
// AugmentedBatches). At the start of an epoch (or of its rest, after a stop or a restore) the
// trainer gives the epoch's number and example order and the position it starts from, then
// takes the batches in order. A batch is a small Dataset: examples order[p .. p + count) of
// data, transformed, with their labels; it stays valid until the next call.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual void start_epoch(const Dataset& data, int epoch, const std::vector<std::size_t>& order,
                           std::size_t position, std::size_t batch_size) = 0;
  virtual const Dataset& next_batch() = 0;
};

// The predicted class (the argmax of the logits, so of the probabilities) of every example of
// data, in batches of batch_size in dataset order; each batch's logits (K, n), from example
// `start` on, also go to on_batch when given. The one predict-and-argmax loop: training's
// evaluation, `eval` and the run page all use it.
template <typename T>
using BatchLogits = std::function<void(std::size_t start, const Matrix<T>& logits)>;
template <typename T>
std::vector<std::int32_t> predict_classes(Network<T>& network, const Dataset& data, int batch_size = 1000,
                                          const BatchLogits<T>& on_batch = {});

// Accuracy, mean loss and K x K confusion matrix over a whole dataset, in batches; for a
// regression dataset (data.outputs > 0) the MSE, RMSE, MAE and R^2 in the targets' units.
template <typename T>
EvalResult evaluate(Network<T>& network, const Dataset& data, int batch_size = 1000);

// Regression: the network's predictions for every example, in the targets' units,
// example-major (count x outputs).
template <typename T>
std::vector<float> predict_values(Network<T>& network, const Dataset& data, int batch_size = 1000);

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
  // the best parameters). Returns every epoch's metrics, those before a restore included.
  // on_epoch runs once an epoch is finished and evaluated and its early-stopping bookkeeping
  // done, so a checkpoint written there holds a complete state.
  std::vector<EpochMetrics> fit(const Dataset& train, const Dataset* validation,
                                const Dataset* test, const EpochCallback& on_epoch = {},
                                const Progress& progress = {});

  // Training batches from source instead of straight from the dataset (nullptr: from the
  // dataset). The source must outlive the trainer's use of it; it owns no trainer state, so
  // state() and restore() are the same with or without one.
  void set_batch_source(BatchSource* source) { source_ = source; }

  // Data-parallel training with the processes of `collective` (distributed.hpp; nullptr:
  // alone). Every process then computes its share of each batch, the gradients are summed
  // between the backward pass and the optimizer (the fused SGD path is not taken), the stop
  // flag is agreed in the same sum, and rank 0 alone evaluates (validation losses are sent to
  // the others for early stopping). Every process must make the same calls.
  void set_collective(Collective* collective) { collective_ = collective; }
  const StepTimings& step_timings() const { return timings_; }

  long long global_step() const { return global_step_; }
  int epoch() const { return epoch_; }
  bool stopped_early() const { return stopped_early_; }

  // When *flag becomes true, train_epoch and fit return after the step in progress (mid-epoch
  // included) and interrupted() is true. The flag may be set from a signal handler.
  void set_stop_flag(const std::atomic<bool>* flag) { stop_flag_ = flag; }
  bool interrupted() const { return interrupted_; }

  // A snapshot of the run's state, and its exact inverse. restore checks every buffer
  // against the network and the optimizer and throws Error naming what does not fit.
  TrainerState state() const;
  void restore(const TrainerState& state);

 private:
  void scale_and_clip(std::size_t batch);
  bool stop_requested() const { return collective_ ? agreed_stop_ : stop_flag_ && stop_flag_->load(); }
  // distributed_step.cpp: step() and fit()'s evaluation with a collective.
  T distributed_step(const Dataset& data, const std::size_t* indices, std::size_t count);
  void share_validation(EpochMetrics& m);
  void track_best(const EpochMetrics& m);

  Network<T>& network_;
  TrainConfig config_;
  std::mt19937_64& rng_;
  std::unique_ptr<Optimizer<T>> optimizer_;
  std::vector<std::size_t> order_;
  Matrix<T> X_;                       // (features, B)
  std::vector<std::int32_t> labels_;  // (B)
  Matrix<T> Y_;                       // (outputs, B): standardised regression targets
  long long global_step_ = 0;
  int epoch_ = 0;
  // Where the current epoch stands (non-zero only when stopped or restored mid-epoch).
  std::size_t epoch_position_ = 0;
  double epoch_loss_sum_ = 0;
  std::size_t epoch_batches_ = 0;
  // Early stopping.
  double best_loss_ = std::numeric_limits<double>::infinity();
  int epochs_without_improvement_ = 0;
  bool stopped_early_ = false;
  std::vector<Matrix<T>> best_;  // parameters at the lowest validation loss
  std::vector<EpochMetrics> history_;
  const std::atomic<bool>* stop_flag_ = nullptr;
  bool interrupted_ = false;
  BatchSource* source_ = nullptr;
  std::vector<std::size_t> identity_;  // 0, 1, ..., B - 1: a source's batch in its own order
  Collective* collective_ = nullptr;
  bool agreed_stop_ = false;  // some process was asked to stop, as of the last step's sum
  std::vector<T> reduce_buffer_;  // every gradient, then the share's loss sum and stop flag
  StepTimings timings_;
};

}  // namespace backprop
