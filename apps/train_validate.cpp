// Every number and name of `backprop train` checked before anything is loaded or created,
// the same way whether it came from a flag or from a checkpoint's configuration (a
// checkpoint may be a file someone sent you): train_options.hpp.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backprop/message_text.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/nn/loss.hpp"
#include "backprop/nn/limits.hpp"
#include "backprop/nn/network.hpp"
#include "common.hpp"
#include "train_options.hpp"
#include "usage.hpp"

namespace backprop::cli {

namespace {

constexpr long long kMaxEpochs = 1000000;
constexpr long long kMaxBatch = 1 << 20;

void check_range(const char* flag, long long value, long long min, long long max) {
  if (value < min || value > max)
    throw UsageError(std::string(flag) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
                     ", not " + std::to_string(value));
}

void check_finite(const char* flag, double value, double min) {
  if (!std::isfinite(value) || value < min)
    throw UsageError(std::string(flag) + " must be a number of at least " + number_text(min) + ", not " +
                     number_text(value));
}

}  // namespace

Warmup parse_warmup(const std::string& text) {
  const auto refuse = [&](const std::string& why) {
    return UsageError("--warmup: '" + text + "' " + why + " (give a step count, e.g. 500, or a percentage, e.g. 5%)");
  };
  const bool percent = !text.empty() && text.back() == '%';
  const std::string number = percent ? text.substr(0, text.size() - 1) : text;
  Warmup warmup;
  warmup.percent = percent;
  std::size_t used = 0;
  try {
    warmup.value = percent ? std::stod(number, &used) : double(std::stoll(number, &used));
  } catch (const std::exception&) {
    used = 0;
  }
  if (number.empty() || used != number.size() || !std::isfinite(warmup.value))
    throw refuse("is not a step count or a percentage");
  if (warmup.value < 0) throw refuse("is negative");
  if (percent && warmup.value >= 100) throw refuse("is not below 100%");
  return warmup;
}

long long Warmup::steps(long long total_steps) const {
  return percent ? static_cast<long long>(value / 100.0 * double(total_steps)) : static_cast<long long>(value);
}

void validate_train_options(const TrainOptions& o) {
  check_range("--epochs", o.epochs, 0, kMaxEpochs);
  if (o.epochs == 0 && (!o.out.empty() || !o.metrics.empty() || !o.checkpoint.empty()))
    throw UsageError("--epochs 0 trains nothing: --out, --metrics and --checkpoint would record an untrained "
                     "network (--save-npz alone writes the initial parameters)");
  check_range("--batch", o.batch, 1, kMaxBatch);
  check_thread_count("--threads", o.threads, 0);
  check_thread_count("--augment-threads", o.augment_threads, 1);
  check_range("--val-split", o.val_split, 0, 1LL << 31);
  check_range("--early-stop", o.early_stop, 0, kMaxEpochs);
  check_range("--eval-every", o.eval_every, 1, kMaxEpochs);
  check_range("--train-limit", o.train_limit, 0, 1LL << 40);  // 0: all (only a checkpoint says 0)
  check_range("--checkpoint-every", o.checkpoint_every, 0, kMaxEpochs);
  if (o.checkpoint_every > 0 && o.checkpoint.empty()) throw UsageError("--checkpoint-every needs --checkpoint FILE");
  check_finite("--clip-norm", o.clip_norm, 0);
  if (o.grad_reduction != "mean" && o.grad_reduction != "sum")
    throw UsageError("--grad-reduction must be mean or sum, not '" + o.grad_reduction + "'");
  parse_warmup(o.warmup);
  const NetworkOptions& n = o.network;
  as_usage_error([&] {
    Schedule schedule = o.schedule;
    schedule.lr = o.lr;
    schedule.validate();
    o.optimizer.validate();
    o.augment.validate();
    if (!n.layers.empty()) parse_layer_sizes(n.layers);
    if (!n.activation.empty()) parse_activations(n.activation);
    if (!n.head.empty()) head_from_name(n.head);
    if (!n.init_scheme.empty()) init_scheme_from_name(n.init_scheme);
    if (n.dtype != "f32" && n.dtype != "f64") throw Error("--dtype must be f32 or f64, not '" + n.dtype + "'");
    for (double rate : parse_dropout(n.dropout))
      if (!(rate >= 0 && rate < 1)) throw Error("--dropout: rate must be in [0, 1), not " + number_text(rate));
  });
  if (!n.layers.empty() && !n.hidden.empty()) throw UsageError("give --layers or --hidden, not both");
  if (!n.hidden.empty()) {
    std::vector<int> sizes;
    try {
      sizes = parse_layer_sizes(n.hidden);
    } catch (const Error&) {
      throw UsageError("--hidden: '" + n.hidden + "' is not a list of sizes such as 64 or 128,64");
    }
    if (sizes.size() + 2 > std::size_t(kMaxLayers))
      throw UsageError("--hidden: " + std::to_string(sizes.size()) + " hidden layers, at most " +
                       std::to_string(kMaxLayers - 2));
    for (int h : sizes) check_range("--hidden", h, 1, kMaxWidth);
  }
  // The data flags: what they mean is known before the data is read.
  if (o.task != "classification" && o.task != "regression")
    throw UsageError("--task must be classification or regression, not '" + o.task + "'");
  if (o.task == "regression" && !n.head.empty() && n.head != "mse")
    throw UsageError("--task regression trains the mse head (a linear output); --head " + n.head + " does not fit");
  if (o.scale != "auto" && o.scale != "none" && o.scale != "unit" && o.scale != "standard")
    throw UsageError("--scale must be auto, none, unit or standard, not '" + o.scale + "'");
  if (!std::isfinite(o.test_split) || o.test_split < 0 || o.test_split >= 1)
    throw UsageError("--test-split must be 0 (no test set) or a share between 0 and 1, not " + number_text(o.test_split));
  if (!o.label.empty()) {
    std::size_t start = 0;
    for (std::size_t comma; start <= o.label.size(); start = comma + 1) {
      comma = std::min(o.label.find(',', start), o.label.size());
      if (comma == start) throw UsageError("--label: '" + o.label + "' has an empty column name");
    }
    if (o.task != "regression" && o.label.find(',') != std::string::npos)
      throw UsageError("--label " + o.label + " names several columns; classification takes one (several targets "
                       "need --task regression)");
  }
  if (o.early_stop > 0 && o.val_split == 0) throw UsageError("--early-stop needs --val-split");
}

}  // namespace backprop::cli
