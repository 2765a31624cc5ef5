// The run's configuration for checkpoints, the --resume rules and the stop signals
// (train_options.hpp).
#include "train_options.hpp"

#include <nlohmann/json.hpp>
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "backprop/data/fetch.hpp"
#include "backprop/error.hpp"
#include "backprop/message_text.hpp"
#include "usage.hpp"

namespace backprop::cli {

// ---- The run's configuration, as a checkpoint records it -----------------------------------
// Everything that decides the numbers of a run, so `--resume FILE` alone continues it. The
// output names are recorded too, relative to the checkpoint's directory when they are in it,
// so a resumed run writes what the original would have; one elsewhere is recorded as given
// and a resumed run refuses it unless the flag is given again (resume_options).

namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

std::string base_name(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

// The directory's real path, or the path itself when it cannot be resolved.
std::string real_directory(const std::string& path) {
  char* real = ::realpath(directory_of(path).c_str(), nullptr);
  if (!real) return directory_of(path);
  std::string text = real;
  std::free(real);
  return text;
}

// How a checkpoint records an output: its plain name when it sits beside the checkpoint.
std::string recorded_output(const std::string& path, const std::string& checkpoint) {
  if (path.empty() || checkpoint.empty()) return path;
  return real_directory(path) == real_directory(checkpoint) ? base_name(path) : path;
}

}  // namespace

std::string options_to_json(const TrainOptions& o, int threads) {
  const auto& n = o.network;
  return nlohmann::json{{"command", "train"},
          {"network", {{"layers", n.layers}, {"hidden", n.hidden}, {"activation", n.activation},
                       {"head", n.head}, {"dropout", n.dropout}, {"init_scheme", n.init_scheme},
                       {"dtype", n.dtype}}},
          {"preset", o.preset}, {"data", o.data_dir}, {"test", o.test_path}, {"label", o.label}, {"task", o.task},
          {"test_split", o.test_split}, {"scale", o.scale}, {"epochs", o.epochs}, {"batch", o.batch},
          {"threads", threads}, {"ranks", o.ranks}, {"val_split", o.val_split}, {"early_stop", o.early_stop},
          {"eval_every", o.eval_every},
          {"train_limit", o.train_limit}, {"lr", o.lr}, {"clip_norm", o.clip_norm}, {"seed", o.seed},
          {"no_shuffle", o.no_shuffle}, {"no_sparse_input", o.no_sparse_input},
          {"grad_reduction", o.grad_reduction},
          {"optimizer", {{"name", o.optimizer.name}, {"momentum", o.optimizer.momentum},
                         {"beta1", o.optimizer.beta1}, {"beta2", o.optimizer.beta2},
                         {"eps", o.optimizer.eps}, {"weight_decay", o.optimizer.weight_decay}}},
          {"schedule", {{"kind", o.schedule.kind}, {"step_epochs", o.schedule.step_epochs},
                        {"gamma", o.schedule.gamma}}},
          {"warmup", o.warmup}, {"init", o.init_npz}, {"save_npz", recorded_output(o.save_npz, o.checkpoint)},
          {"out", recorded_output(o.out, o.checkpoint)}, {"metrics", recorded_output(o.metrics, o.checkpoint)}, {"checkpoint_every", o.checkpoint_every},
          {"augment", {{"shift", o.augment.shift}, {"rotate", o.augment.rotate}, {"scale", o.augment.scale},
                       {"shear", o.augment.shear}, {"elastic_alpha", o.augment.elastic_alpha},
                       {"elastic_sigma", o.augment.elastic_sigma}, {"threads", o.augment_threads}}}}
      .dump();
}

TrainOptions options_from_json(const std::string& text, const std::string& source) {
  TrainOptions o;
  // Numbers as exactly the type they go into: nlohmann's get_to would cast 1e300 to an int
  // (undefined) and wrap 4294967297 to 1, past every range check.
  const auto get = [&](const nlohmann::json& j, const char* key, auto& out) {
    using T = std::decay_t<decltype(out)>;
    const nlohmann::json& value = j.at(key);
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string>) {
      value.get_to(out);
    } else if constexpr (std::is_integral_v<T>) {
      const bool fits = value.is_number_unsigned()
          ? value.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())
          : value.is_number_integer() && value.get<std::int64_t>() >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                (std::is_unsigned_v<T> || value.get<std::int64_t>() <= static_cast<std::int64_t>(std::numeric_limits<T>::max()));
      if (!fits) throw Error(source + ": the run configuration's \"" + key + "\" is " + value.dump() +
                             ", not a whole number in range");
      out = value.is_number_unsigned() ? static_cast<T>(value.get<std::uint64_t>()) : static_cast<T>(value.get<std::int64_t>());
    } else {
      if (!value.is_number()) throw Error(source + ": the run configuration's \"" + key + "\" is not a number");
      out = value.get<double>();
    }
  };
  try {
    const auto j = nlohmann::json::parse(text);
    if (j.at("command") != "train") throw Error(source + ": not a checkpoint of `backprop train`");
    const auto& n = j.at("network");
    get(n, "layers", o.network.layers);
    if (n.contains("hidden") && n.at("hidden").is_number()) {  // an int before --hidden took a list
      int hidden = 0;
      get(n, "hidden", hidden);
      o.network.hidden = hidden > 0 ? std::to_string(hidden) : "";
    } else {
      get(n, "hidden", o.network.hidden);
    }
    get(n, "activation", o.network.activation);
    get(n, "head", o.network.head);
    get(n, "dropout", o.network.dropout);
    get(n, "init_scheme", o.network.init_scheme);
    get(n, "dtype", o.network.dtype);
    get(j, "preset", o.preset);
    get(j, "data", o.data_dir);
    // Absent before datasets other than MNIST: the defaults then.
    for (auto [key, out] : {std::pair<const char*, std::string*>{"test", &o.test_path}, {"label", &o.label},
                            {"task", &o.task}, {"scale", &o.scale}})
      if (j.contains(key)) get(j, key, *out);
    if (j.contains("test_split")) get(j, "test_split", o.test_split);
    get(j, "epochs", o.epochs);
    get(j, "batch", o.batch);
    get(j, "threads", o.threads);
    if (j.contains("ranks")) get(j, "ranks", o.ranks);  // absent before data-parallel training existed
    else o.ranks = 1;
    get(j, "val_split", o.val_split);
    get(j, "early_stop", o.early_stop);
    o.eval_every = j.value("eval_every", 1);  // absent before --eval-every existed
    get(j, "train_limit", o.train_limit);
    get(j, "lr", o.lr);
    get(j, "clip_norm", o.clip_norm);
    get(j, "seed", o.seed);
    get(j, "no_shuffle", o.no_shuffle);
    o.no_sparse_input = j.value("no_sparse_input", false);  // absent before the sparse path existed
    get(j, "grad_reduction", o.grad_reduction);
    const auto& opt = j.at("optimizer");
    get(opt, "name", o.optimizer.name);
    get(opt, "momentum", o.optimizer.momentum);
    get(opt, "beta1", o.optimizer.beta1);
    get(opt, "beta2", o.optimizer.beta2);
    get(opt, "eps", o.optimizer.eps);
    get(opt, "weight_decay", o.optimizer.weight_decay);
    const auto& sch = j.at("schedule");
    get(sch, "kind", o.schedule.kind);
    get(sch, "step_epochs", o.schedule.step_epochs);
    get(sch, "gamma", o.schedule.gamma);
    get(j, "warmup", o.warmup);
    get(j, "init", o.init_npz);
    get(j, "save_npz", o.save_npz);
    get(j, "out", o.out);
    get(j, "metrics", o.metrics);
    get(j, "checkpoint_every", o.checkpoint_every);
    if (j.contains("augment")) {  // absent in checkpoints written before augmentation existed
      const auto& a = j.at("augment");
      get(a, "shift", o.augment.shift);
      get(a, "rotate", o.augment.rotate);
      get(a, "scale", o.augment.scale);
      get(a, "shear", o.augment.shear);
      get(a, "elastic_alpha", o.augment.elastic_alpha);
      get(a, "elastic_sigma", o.augment.elastic_sigma);
      get(a, "threads", o.augment_threads);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": the run configuration in the checkpoint is unreadable (" + e.what() + ")");
  }
  return o;
}

// The flags a resumed run may change: where things are read and written, the thread count
// (a different count may change the last bits), and --epochs to extend the run.
namespace {
constexpr const char* kResumeFlags[] = {"--resume",  "--data",  "--test",  "--no-fetch", "--threads", "--out",
                                        "--save-npz", "--metrics",   "--checkpoint", "--checkpoint-every",
                                        "--quiet",   "--epochs", "--augment-threads"};

}  // namespace

namespace {

// A checkpoint may be a file someone sent you: its output names are used only when they are
// plain names, resolved beside the checkpoint; anything else needs the flag on the command line.
std::string stored_output(const std::string& stored, const char* flag, const std::string& checkpoint) {
  if (stored.empty()) return stored;
  if (stored.find('/') != std::string::npos || stored == "." || stored == "..")
    throw UsageError(checkpoint + ": the run wrote " + std::string(flag + 2) + " to " + stored +
                     "; a resumed run writes only beside its checkpoint or where the command line says: give " +
                     flag + " FILE");
  return checkpoint.find('/') == std::string::npos ? stored : directory_of(checkpoint) + "/" + stored;
}

std::string real_path_or_self(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return path;
  std::string text = real;
  std::free(real);
  return text;
}

}  // namespace

TrainOptions resume_options(const TrainOptions& given, const CLI::App& sub, const Checkpoint& checkpoint) {
  TrainOptions o = options_from_json(checkpoint.run_config, given.resume);
  for (const CLI::Option* option : sub.get_options()) {
    if (option->count() == 0) continue;
    const std::string name = option->get_name();
    bool allowed = false;
    for (const char* flag : kResumeFlags) allowed = allowed || name == flag;
    if (!allowed)
      throw UsageError(name + " cannot be given with --resume: the run continues with the configuration in " + given.resume +
                  " (only --data, --test, --threads, --augment-threads, --epochs and the output flags may change)");
  }
  const auto given_flag = [&](const char* name) { return sub.get_option(name)->count() > 0; };
  // Data: only a directory the user names (or the default); the stored one is never read.
  if (given_flag("--data")) {
    o.data_dir = given.data_dir;
  } else {
    if (!o.data_dir.empty() &&
        real_path_or_self(resolve_data_dir(o.data_dir)) != real_path_or_self(resolve_data_dir("")))
      throw UsageError(given.resume + ": the run read its data from " + o.data_dir +
                       "; a resumed run reads only data the command line names: add --data DIR");
    o.data_dir.clear();
  }
  // The test set likewise: the recorded name is only a reminder of what to give.
  if (given_flag("--test")) {
    o.test_path = given.test_path;
  } else if (!o.test_path.empty()) {
    throw UsageError(given.resume + ": the run scored the test set " + o.test_path +
                     "; a resumed run reads only data the command line names: add --test FILE");
  }
  o.init_npz.clear();  // the parameters come from the checkpoint; nothing else is read
  o.no_fetch = given.no_fetch;
  o.quiet = given.quiet;
  // Thread counts from the file within this machine's cap (a count from a bigger machine is
  // lowered, not refused; validate_train_options refuses out-of-range flags).
  o.threads = std::clamp(o.threads, 0, max_threads());
  o.augment_threads = std::clamp(o.augment_threads, 1, max_threads());
  if (given_flag("--threads")) {
    if (given.threads != o.threads)
      std::fprintf(stderr, "backprop: warning: the run used %s; with %d the results may differ in the last bits\n",
                   count_text(o.threads, "thread").c_str(), given.threads);
    o.threads = given.threads;
  }
  o.out = given_flag("--out") ? given.out : stored_output(o.out, "--out", given.resume);
  o.save_npz = given_flag("--save-npz") ? given.save_npz : stored_output(o.save_npz, "--save-npz", given.resume);
  o.metrics = given_flag("--metrics") ? given.metrics : stored_output(o.metrics, "--metrics", given.resume);
  if (given_flag("--checkpoint-every")) o.checkpoint_every = given.checkpoint_every;
  if (given_flag("--augment-threads")) o.augment_threads = given.augment_threads;  // same images
  // Checkpoints go back to the file resumed from unless told otherwise.
  o.checkpoint = given_flag("--checkpoint") ? given.checkpoint : given.resume;
  if (given_flag("--epochs") && given.epochs != o.epochs) {
    if (o.schedule.kind == "cosine" || (!o.warmup.empty() && o.warmup.back() == '%'))
      throw UsageError("--epochs cannot change when resuming a run whose schedule depends on its length "
                  "(--schedule cosine or --warmup N%)");
    if (given.epochs < checkpoint.trainer.epoch)
      throw UsageError("--epochs " + std::to_string(given.epochs) + " is fewer than the " +
                  std::to_string(checkpoint.trainer.epoch) + " epochs the checkpoint has finished");
    o.epochs = given.epochs;
  }
  o.resume = given.resume;
  std::printf("resuming %s: writes checkpoints to %s", o.resume.c_str(), o.checkpoint.c_str());
  for (const auto& [what, path] : {std::pair<const char*, const std::string*>{"the model", &o.out},
                                   {"the parameters", &o.save_npz}, {"metrics", &o.metrics}})
    if (!path->empty()) std::printf(", %s to %s", what, path->c_str());
  std::printf("\n");
  std::fflush(stdout);
  return o;
}

// ---- Signals ------------------------------------------------------------------------------
// SIGINT and SIGTERM ask the trainer to stop at the next step boundary (it then writes a
// checkpoint); a second one ends the process at once, as if no handler were installed.

namespace {
std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_signal = 0;
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set from a signal handler");

extern "C" void on_stop_signal(int signal) {
  if (g_signal != 0) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  g_signal = signal;
  g_stop.store(true);
}

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

const std::atomic<bool>* stop_flag() { return &g_stop; }
int stop_signal() { return g_signal; }

}  // namespace backprop::cli
