// `backprop train`'s options, and what resuming needs of them: the run's configuration as a
// checkpoint records it (JSON), the rules for flags given with --resume, and the SIGINT/SIGTERM
// handlers that ask the trainer to stop at the next step.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <string>

#include "backprop/data/augment.hpp"
#include "backprop/io/checkpoint.hpp"
#include "backprop/nn/optimizer.hpp"
#include "backprop/nn/schedule.hpp"
#include "backprop/train/trainer.hpp"
#include "common.hpp"

namespace backprop::cli {

// Every field that changes a run's numbers must also go into options_to_json and
// options_from_json (train_resume.cpp), or a resumed run would silently take its default.
struct TrainOptions {
  NetworkOptions network;
  std::string preset;
  std::string data_dir;                 // --data: a directory of IDX files, a .csv or a .npz
  std::string test_path, label;         // --test FILE, --label NAME
  std::string task = "classification"; // --task classification | regression
  double test_split = 0.2;              // --test-split F, when the data has no test set of its own
  std::string scale = "auto";           // --scale auto|none|unit|standard
  int epochs = 20, batch = 64, threads = 0, val_split = 0, early_stop = 0;
  int eval_every = 1;  // score the test set after every N-th epoch and the last
  long long train_limit = 0;
  double lr = 0.5, clip_norm = 0;
  unsigned long long seed = 0;
  bool no_shuffle = false, no_fetch = false, quiet = false;
  bool no_sparse_input = false;  // dense products in the first layer even for mostly-zero batches
  std::string grad_reduction = "mean";
  OptimizerConfig optimizer;
  Schedule schedule;
  std::string warmup = "0";
  std::string init_npz, save_npz, out, metrics;
  std::string checkpoint, resume;
  int checkpoint_every = 0;  // epochs; 0 = every epoch when --checkpoint is given
  AugmentConfig augment;     // strengths (augment.seed is --seed); all zero = no augmentation
  int augment_threads = 1;   // worker threads preparing augmented batches (numbers unchanged)
  int ranks = 1;             // processes training the network (mpirun -np; distributed.hpp)
};

// --warmup N (steps) or N% (of the run's steps), parsed strictly: "10x" and "200%" are refused.
struct Warmup {
  bool percent = false;
  double value = 0;
  long long steps(long long total_steps) const;
};
Warmup parse_warmup(const std::string& text);  // throws UsageError

// Every number and name in o within its range (UsageError naming the flag otherwise), for a
// fresh run and a resumed one alike, before any data is loaded or output created.
void validate_train_options(const TrainOptions& o);

// Once a run has taken kStepsBeforeJudging steps (or ends): when its training loss is no lower than chance (ln C for softmax,
// 0.5 (1 - 1/C) for mse) or its evaluation accuracy below 1.5/C, one warning on stderr with the
// likely causes. not_learning is the test, warn_if_not_learning prints.
double chance_loss(HeadKind head, int classes);
bool not_learning(const EpochMetrics& m, HeadKind head, int classes);
// The check waits for the first epoch that ends at or after this many steps (MNIST's first
// epoch has 938; a 1,437-row table at batch 200 has 8, and still sits near chance after one).
constexpr long long kStepsBeforeJudging = 100;
void warn_if_not_learning(const EpochMetrics& m, const NetworkSpec& spec, double lr);

// The options as JSON (threads: the count actually used), and back; errors name `source`.
std::string options_to_json(const TrainOptions& o, int threads);
TrainOptions options_from_json(const std::string& text, const std::string& source);

// The options of a resumed run: the checkpoint's, with the few flags that may change taken
// from the command line (`sub` says which were given). Throws Error for any other flag.
TrainOptions resume_options(const TrainOptions& given, const CLI::App& sub, const Checkpoint& checkpoint);

// SIGINT and SIGTERM set stop_flag() (and stop_signal() to the signal); a second one ends the
// process at once, as if no handler were installed.
void install_stop_handlers();
const std::atomic<bool>* stop_flag();
int stop_signal();

}  // namespace backprop::cli
