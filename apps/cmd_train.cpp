// backprop train: the seed's training run, and every generalisation of it.
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <utility>

#include "backprop/io/atomic_file.hpp"
#include "backprop/data/augment.hpp"
#include "backprop/io/checkpoint.hpp"
#include "backprop/train/class_report.hpp"
#include "backprop/error.hpp"
#include "backprop/message_text.hpp"
#include "backprop/data/fetch.hpp"
#include "backprop/data/readers.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/io/npz_params.hpp"
#include "backprop/train/trainer.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "distributed_cli.hpp"
#include "output_path.hpp"
#include "presets.hpp"
#include "task_metrics.hpp"
#include "train_options.hpp"

namespace backprop::cli {

namespace {

// One epoch's metrics as the JSON Lines record of --metrics.
nlohmann::json to_json(const EpochMetrics& m, int ranks, const DataSchema& schema) {
  nlohmann::json j = {{"epoch", m.epoch},
                      {"ranks", ranks},
                      {"train_loss", m.train_loss},
                      {"learning_rate", m.learning_rate},
                      {"train_seconds", m.train_seconds},
                      {"eval_seconds", m.eval_seconds}};
  if (m.test) add_eval_json(j, "test", *m.test);
  if (m.validation) add_eval_json(j, "val", *m.validation);
  if (schema.test_split > 0) {  // which rows the test metrics are of (docs/data.md)
    j["test_split"] = schema.test_split;
    j["split_seed"] = schema.split_seed;
  }
  return j;
}

void print_epoch(const EpochMetrics& m) {
  std::printf("Epoch %d, Train Loss: %.4f", m.epoch, m.train_loss);
  if (m.validation) std::printf("%s", eval_text("Val", *m.validation).c_str());
  if (m.test) std::printf("%s", eval_text("Test", *m.test).c_str());
  std::printf(", %.2f s\n", m.train_seconds);
  std::fflush(stdout);
}

void print_progress(std::size_t done, std::size_t total, double loss) {
  const int width = 30;
  const int filled = static_cast<int>(width * done / total);
  std::printf("\r  [%.*s%*s] %6zu/%zu  loss %.4f", filled, "##############################",
              width - filled, "", done, total, loss);
  if (done == total) std::printf("\r%*s\r", 70, "");
  std::fflush(stdout);
}

template <typename T>
int run_train(const TrainOptions& o, const Checkpoint* resume) {
  validate_train_options(o);  // flags and a checkpoint's configuration alike, before any work
  Collective* world = mpi_world();  // nullptr unless an MPI launcher started this process
  const bool root = !world || world->rank() == 0;  // prints, evaluates and writes
  if (!root && !std::freopen("/dev/null", "w", stdout)) throw Error("cannot silence stdout of rank > 0");
  for (const std::string* path : {&o.out, &o.save_npz, &o.metrics, &o.checkpoint})
    check_output_path(*path);  // before training, not after
  if (o.checkpoint_every < 0) throw Error("--checkpoint-every must not be negative");
  if (o.checkpoint_every > 0 && o.checkpoint.empty()) throw Error("--checkpoint-every needs --checkpoint FILE");
  if (!o.checkpoint.empty() && (o.checkpoint == o.out || o.checkpoint == o.save_npz || o.checkpoint == o.metrics))
    throw Error("--checkpoint " + o.checkpoint + " is also an output file; give it a name of its own");
  const int every = o.checkpoint_every > 0 ? o.checkpoint_every : 1;
  const int threads = set_threads(default_threads(world, o.threads));
  // A missing --test file is found before the training data is read, not after.
  if (!o.test_path.empty() && ::access(o.test_path.c_str(), R_OK) != 0)
    throw file_error(o.test_path, std::string("cannot open (") + std::strerror(errno) + ")");
  DataOptions data_options;
  data_options.path = resolve_dataset(o.data_dir, o.no_fetch || world, std::cout);
  data_options.test_path = o.test_path;
  data_options.read.label = o.label;
  const bool regression = o.task == "regression";
  data_options.read.regression = regression;
  data_options.test_split = o.test_split;
  data_options.seed = o.seed;
  data_options.scale = o.scale;
  const auto read_start = std::chrono::steady_clock::now();
  TrainTest data = load_train_test(data_options);
  const double read_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - read_start).count();
  Dataset& train = data.train;
  Dataset& test = data.test;
  if (o.train_limit > 0) train = train.head(static_cast<std::size_t>(o.train_limit));
  if (o.val_split < 0 || static_cast<std::size_t>(o.val_split) >= train.count)
    throw Error("--val-split must be between 0 and the number of training examples");
  Dataset validation = train.split_tail(static_cast<std::size_t>(o.val_split));
  // The scaling of the rows actually trained on (bytes: p / 255 whatever the rows).
  train.scaling = fit_scaling(train, o.scale);
  validation.scaling = test.scaling = train.scaling;
  data.schema.scaling = train.scaling;
  standardise_targets(train, validation, test);  // regression: targets standardised for training
  data.schema.target_mean = train.target_mean;
  data.schema.target_deviation = train.target_deviation;
  const DataSchema& schema = data.schema;

  NetworkSpec spec;
  if (regression && !o.network.head.empty() && o.network.head != "mse")
    throw Error("--task regression trains the mse head (a linear output); --head " + o.network.head + " does not fit");
  o.network.apply(spec, static_cast<int>(train.features),
                  static_cast<int>(regression ? train.outputs : train.classes.size()));
  if (regression) spec.head = HeadKind::mse;
  const InitScheme scheme = init_scheme_from_name(o.network.init_scheme.empty() ? "xavier-normal" : o.network.init_scheme);

  TrainConfig config;
  config.epochs = o.epochs;
  config.batch_size = o.batch;
  config.shuffle = !o.no_shuffle;
  if (o.grad_reduction != "mean" && o.grad_reduction != "sum")
    throw Error("--grad-reduction must be mean or sum");
  config.grad_reduction = o.grad_reduction == "sum" ? GradReduction::sum : GradReduction::mean;
  config.optimizer = o.optimizer;
  config.schedule = o.schedule;
  config.schedule.lr = o.lr;
  config.clip_norm = o.clip_norm;
  config.early_stop = o.early_stop;
  config.eval_every = o.eval_every;
  config.schedule.steps_per_epoch = static_cast<long long>((train.count + o.batch - 1) / std::max(1, o.batch));
  config.schedule.total_steps = config.schedule.steps_per_epoch * o.epochs;
  config.schedule.warmup_steps = parse_warmup(o.warmup).steps(config.schedule.total_steps);  // N or N%
  if (config.early_stop > 0 && validation.count == 0) throw Error("--early-stop needs --val-split");
  config.validate();

  std::mt19937_64 rng(o.seed);
  Network<T> network = make_network<T>(spec, scheme, rng);
  network.set_sparse_input(!o.no_sparse_input);
  if (resume) {
    const NetworkSpec& saved = resume->model.spec;
    if (saved.sizes != spec.sizes || saved.activations != spec.activations || saved.head != spec.head ||
        saved.dropout != spec.dropout)
      throw Error(o.resume + ": the checkpoint's network (" + saved.describe() +
                  ") differs from its recorded configuration (" + spec.describe() + ")");
    load_params(resume->model, network, o.resume);
  } else if (!o.init_npz.empty()) {
    npz_to_params(read_npz(o.init_npz, expected_shapes(network)), o.init_npz, network);  // shapes checked before inflating
  }

  std::printf("network %s, %s, %s, dtype %s%s\n", spec.describe().c_str(),
              o.preset.empty() ? "no preset" : ("preset " + o.preset).c_str(), count_text(threads, "thread").c_str(),
              sizeof(T) == 8 ? "f64" : "f32", world ? (", " + std::to_string(o.ranks) + " ranks").c_str() : "");
  const char* what = train.is_image() ? "images" : "examples";
  std::printf("data %s: %zu training, %zu validation, %zu test %s (%zu features, %zu classes; test set: %s; read in %.2f s)\n",
              data_options.path.c_str(), train.count, validation.count, test.count, what, train.features,
              train.classes.size(), data.test_source.c_str(), read_seconds);
  std::fflush(stdout);

  Trainer<T> trainer(network, config, rng);
  trainer.set_collective(world);
  std::unique_ptr<AugmentedBatches> augmented;  // the trainer's batch source when augmenting
  if (o.augment.enabled()) {
    if (!train.is_bytes() || !train.is_image())
      throw Error("--augment-*: augmentation transforms images; " + data_options.path + " holds no byte images");
    AugmentConfig augment = o.augment;
    augment.rows = static_cast<int>(train.rows);
    augment.cols = static_cast<int>(train.cols);
    augment.seed = o.seed;
    augmented = std::make_unique<AugmentedBatches>(augment, o.augment_threads);
    trainer.set_batch_source(augmented.get());
    std::printf("augmentation: shift %g px, rotate %g deg, scale %g, shear %g, elastic alpha %g sigma %g; "
                "%d worker thread%s\n", augment.shift, augment.rotate, augment.scale, augment.shear,
                augment.elastic_alpha, augment.elastic_sigma, o.augment_threads, o.augment_threads == 1 ? "" : "s");
    std::fflush(stdout);
  }
  std::string metrics_text;
  if (resume) {
    trainer.restore(resume->trainer);
    if (!resume->trainer.order.empty() && resume->trainer.order.size() != train.count)
      throw Error(o.resume + ": the run trained on " + std::to_string(resume->trainer.order.size()) +
                  " images, this data gives " + std::to_string(train.count) + " (is --data the same?)");
    for (const auto& m : resume->trainer.history) metrics_text += to_json(m, o.ranks, schema).dump() + "\n";
    std::printf("resuming %s at epoch %d, step %lld (%zu of %zu images of the epoch done)\n", o.resume.c_str(),
                trainer.epoch(), trainer.global_step(), resume->trainer.epoch_position, train.count);
  }
  const std::string run_config = options_to_json(o, threads);
  const auto write_checkpoint = [&] {
    if (root) save_checkpoint(o.checkpoint, network, trainer.state(), run_config, &schema);
  };
  bool judged = false;
  const auto on_epoch = [&](const EpochMetrics& m) {
    if (!root) return;
    print_epoch(m);
    // Once, after enough steps to have moved (an epoch of a small table is a few steps).
    const bool last_epoch = m.epoch + 1 >= config.epochs || trainer.stopped_early();
    if (!judged && (trainer.global_step() >= kStepsBeforeJudging || last_epoch)) {
      judged = true;
      warn_if_not_learning(m, spec, o.lr);
    }
    if (!o.metrics.empty()) {
      metrics_text += to_json(m, o.ranks, schema).dump() + "\n";
      write_file_atomic(o.metrics, metrics_text);  // whole file each epoch: never half a line
    }
    const bool last = m.epoch + 1 >= config.epochs || trainer.stopped_early();
    if (!o.checkpoint.empty() && ((m.epoch + 1) % every == 0 || last)) write_checkpoint();
  };
  if (!o.checkpoint.empty()) install_stop_handlers();
  trainer.set_stop_flag(stop_flag());
  const bool show_progress = !o.quiet && stdout_is_terminal();
  const auto history = trainer.fit(train, validation.count ? &validation : nullptr, test.count ? &test : nullptr,
                                   on_epoch, show_progress ? typename Trainer<T>::Progress(print_progress) : nullptr);
  if (world) print_step_timings(*world, trainer.step_timings());
  if (trainer.interrupted()) {
    write_checkpoint();
    double written = 0;  // the others exit non-zero only once rank 0's checkpoint is whole:
    if (world) world->sum(&written, 1);  // mpirun ends the job at the first such exit
    const int signal = stop_signal();  // 0: another process was asked to stop
    std::fflush(stdout);
    if (root)
      std::fprintf(stderr,
                   "backprop: interrupted by %s at epoch %d, step %lld; checkpoint written to %s\n"
                   "backprop: continue with: %sbackprop train --resume %s\n",
                   signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : "a signal to another rank",
                   trainer.epoch(), trainer.global_step(), o.checkpoint.c_str(),
                   world ? ("mpirun -np " + std::to_string(o.ranks) + " ").c_str() : "", o.checkpoint.c_str());
    return 128 + (signal ? signal : SIGTERM);
  }
  if (!history.empty() && history.back().test) {
    const EvalResult final_test = evaluate(network, test);
    if (final_test.regression) {
      std::printf("final test rmse %.6g, mae %.6g, r2 %.4f after %d epochs (in the targets' units)\n", final_test.rmse,
                  final_test.mae, final_test.r2, static_cast<int>(history.size()));
    } else {
      std::printf("final test accuracy %.4f after %d epochs\n", final_test.accuracy, static_cast<int>(history.size()));
      std::printf("%s", format_confusion(final_test.confusion, train.classes).c_str());
    }
  }
  if (!root) return 0;
  if (!o.save_npz.empty()) {
    write_npz(o.save_npz, params_to_npz(network));
    std::printf("wrote %s\n", o.save_npz.c_str());
  }
  if (!o.out.empty()) {
    save_model(o.out, network, &schema);
    std::printf("wrote %s\n", o.out.c_str());
  }
  return 0;
}

// A fresh run, or one resumed from its checkpoint (on as many processes as it was trained on).
int train_command(const TrainOptions& o, const CLI::App& sub) {
  if (o.resume.empty()) return o.network.is_f64() ? run_train<double>(o, nullptr) : run_train<float>(o, nullptr);
  const Checkpoint checkpoint = read_checkpoint(o.resume);
  const TrainOptions options = resume_options(o, sub, checkpoint);
  if (options.ranks != o.ranks)
    throw Error(o.resume + ": the run was trained on " + std::to_string(options.ranks) + " process(es), not " +
                std::to_string(o.ranks) + "; resume it on as many" +
                (options.ranks > 1 ? " (mpirun -np " + std::to_string(options.ranks) + ")" : " (without mpirun)"));
  if (options.network.is_f64() != checkpoint.model.is_double)
    throw Error(o.resume + ": the checkpoint's dtype differs from its recorded configuration");
  return checkpoint.model.is_double ? run_train<double>(options, &checkpoint) : run_train<float>(options, &checkpoint);
}

}  // namespace

Command add_train(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* sub = app.add_subcommand("train", "Train a network on MNIST or your own data (IDX, CSV, .npz)");
  sub->add_option("--preset", o->preset, "Named configuration (seed, fast, fast99, relu-adam, best, best-plain); later flags override it");
  o->network.add_to(*sub);
  sub->add_option("--data", o->data_dir,
                  "Training data: a directory of IDX files, a .csv or a .npz (default: MNIST in $BACKPROP_DATA or ./data/mnist)");
  sub->add_option("--test", o->test_path, "A separate test set (IDX directory, .csv or .npz)");
  sub->add_option("--test-split", o->test_split,
                  "Without a test set of its own, hold out this stratified, seeded share of --data (0 = none)")
      ->capture_default_str();
  sub->add_option("--label", o->label,
                  "CSV label column, or for regression the target column(s): y or y1,y2 (default: the column named "
                  "label, else the last)");
  sub->add_option("--task", o->task, "classification, or regression (linear output, MSE, targets standardised)")
      ->capture_default_str();
  sub->add_option("--scale", o->scale, "Input scaling: auto (unit for bytes, standard otherwise), none, unit, standard")
      ->check(CLI::IsMember({"auto", "none", "unit", "standard"}))->capture_default_str();
  sub->add_flag("--no-fetch", o->no_fetch, "Fail instead of downloading missing data");
  sub->add_option("--epochs", o->epochs, "Training epochs")->capture_default_str();
  sub->add_option("--batch", o->batch, "Minibatch size")->capture_default_str();
  sub->add_option("--lr", o->lr, "Learning rate")->capture_default_str();
  sub->add_option("--optimizer", o->optimizer.name, "sgd, momentum, nesterov, adam, adamw")->capture_default_str();
  sub->add_option("--momentum", o->optimizer.momentum, "Momentum coefficient mu")->capture_default_str();
  sub->add_option("--beta1", o->optimizer.beta1, "Adam beta1")->capture_default_str();
  sub->add_option("--beta2", o->optimizer.beta2, "Adam beta2")->capture_default_str();
  sub->add_option("--eps", o->optimizer.eps, "Adam epsilon")->capture_default_str();
  sub->add_option("--weight-decay", o->optimizer.weight_decay, "L2 (decoupled for adamw) weight decay")->capture_default_str();
  sub->add_option("--schedule", o->schedule.kind, "constant, step, cosine")->capture_default_str();
  sub->add_option("--warmup", o->warmup, "Linear warm-up: steps, or N% of the run")->capture_default_str();
  sub->add_option("--step-epochs", o->schedule.step_epochs, "step schedule: epochs between decays")->capture_default_str();
  sub->add_option("--gamma", o->schedule.gamma, "step schedule: decay factor")->capture_default_str();
  sub->add_option("--clip-norm", o->clip_norm, "Clip the global gradient norm (0 = off)")->capture_default_str();
  sub->add_option("--grad-reduction", o->grad_reduction,
                  "mean (every gradient of the mean loss) or sum (the seed's code: weight gradients summed, "
                  "bias gradients averaged)")->capture_default_str();
  sub->add_option("--val-split", o->val_split, "Hold out the last N training images for validation")->capture_default_str();
  sub->add_option("--early-stop", o->early_stop, "Stop after K epochs without a lower validation loss")->capture_default_str();
  sub->add_option("--eval-every", o->eval_every,
                  "Score the test set after every N-th epoch and after the last (validation: every epoch)")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Random seed (initialisation, shuffling, dropout): 0 to 2^64 - 1")
      ->check(seed_validator())->capture_default_str();
  sub->add_option("--threads", o->threads, threads_help())->capture_default_str();
  sub->add_option("--train-limit", o->train_limit, "Use only the first N training images (N >= 1)")
      ->check(CLI::Validator([](std::string& text) -> std::string {
        return text.find_first_not_of("0123456789") == std::string::npos && text.find_first_not_of('0') != std::string::npos
                   ? "" : "must be a whole number of at least 1 (leave it out for all images), not " + text;
      }, "N"));
  sub->add_flag("--no-shuffle", o->no_shuffle, "Keep the data order (for comparisons with the oracle)");
  sub->add_flag("--no-sparse-input", o->no_sparse_input,
                "Dense products in the first layer even when a batch is mostly zeros (the same numbers to float tolerance, slower on MNIST)");
  sub->add_option("--init", o->init_npz, "Start from the parameters in this .npz (w1, b1, ...)");
  sub->add_option("--save-npz", o->save_npz, "Write the trained parameters as .npz");
  sub->add_option("--out", o->out, "Write the trained model file");
  sub->add_option("--metrics", o->metrics, "Write per-epoch metrics as JSON Lines");
  sub->add_flag("--quiet", o->quiet, "No progress bar");
  sub->add_option("--checkpoint", o->checkpoint,
                  "Write a checkpoint (model + optimizer, schedule and random state) to this file; "
                  "SIGINT/SIGTERM then stop at the next step and write it");
  sub->add_option("--checkpoint-every", o->checkpoint_every, "Epochs between checkpoints (default 1)");
  sub->add_option("--resume", o->resume, "Continue the run saved in this checkpoint, exactly");
  // Augmentation of the training images (augment.hpp, docs/augmentation.md); 0 = off.
  sub->add_option("--augment-shift", o->augment.shift, "Random shift, pixels: up to this much each way")->capture_default_str();
  sub->add_option("--augment-rotate", o->augment.rotate, "Random rotation, degrees: up to this much each way")->capture_default_str();
  sub->add_option("--augment-scale", o->augment.scale, "Random scaling per axis in [1 - s, 1 + s]")->capture_default_str();
  sub->add_option("--augment-shear", o->augment.shear, "Random shear factor in [-k, k]")->capture_default_str();
  sub->add_option("--elastic-alpha", o->augment.elastic_alpha, "Elastic distortion strength, pixels (Simard: 34)")->capture_default_str();
  sub->add_option("--elastic-sigma", o->augment.elastic_sigma, "Elastic field smoothness: Gaussian std, pixels")->capture_default_str();
  sub->add_option("--augment-threads", o->augment_threads, "Threads preparing augmented batches ahead of the step (at most " + std::to_string(max_threads()) + ")")->capture_default_str();
  return {sub, [o, sub] {
            Collective* world = mpi_world();
            o->ranks = world ? world->size() : 1;
            return run_collectively(world, [&] { return train_command(*o, *sub); });
          }};
}

}  // namespace backprop::cli
