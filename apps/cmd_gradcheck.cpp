// backprop gradcheck: analytic gradients against central finite differences, in float64.
#include <cstdio>
#include <iostream>
#include <memory>
#include <numeric>

#include "backprop/error.hpp"
#include "backprop/data/fetch.hpp"
#include "backprop/train/gradcheck.hpp"
#include "backprop/data/readers.hpp"
#include "backprop/train/trainer.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "usage.hpp"

namespace backprop::cli {

namespace {

struct GradcheckOptions {
  NetworkOptions network;
  std::string data_dir, label;
  int samples = 4;
  long long max_entries = 0;
  unsigned long long seed = 1;
  bool random = false;
};

int run_gradcheck(GradcheckOptions o) {
  set_threads(1);
  // A check costs 5 forward passes per entry: a batch past a few thousand says nothing more.
  if (o.samples <= 0 || o.samples > 10000) throw UsageError("--samples must be between 1 and 10000, not " + std::to_string(o.samples));
  if (o.max_entries < 0) throw UsageError("--max-entries must not be negative (0 = all)");
  // A real batch from --data (any dataset), or from MNIST when it is there and the shapes are
  // MNIST's; random inputs and labels otherwise.
  Dataset data;
  const std::string dir = resolve_data_dir(o.data_dir);
  std::vector<int> sizes = o.network.layers.empty() ? std::vector<int>{784, 32, 10} : parse_layer_sizes(o.network.layers);
  if (sizes.size() < 2) throw Error("--layers: need at least an input and an output size");
  const bool mnist_shapes = sizes.front() == 784 && sizes.back() == 10 && mnist_present(dir);
  const bool real = !o.random && (!o.data_dir.empty() || mnist_shapes);
  if (real) {
    ReadOptions read;
    read.label = o.label;
    data = read_data(resolve_dataset(o.data_dir, true, std::cerr), read).train;
    if (data.classes.size() < 2) throw Error(o.data_dir + ": only one class; a gradient check of softmax needs two or more");
    data.scaling = fit_scaling(data, "auto");
    data = data.head(static_cast<std::size_t>(o.samples));
    if (o.network.layers.empty()) sizes = {int(data.features), 32, int(data.classes.size())};
  }
  NetworkSpec spec;
  spec.sizes = sizes;
  o.network.apply(spec, sizes.front(), sizes.back());
  if (real) spec.validate(int(data.features), int(data.classes.size()));
  if (o.network.init_scheme.empty()) o.network.init_scheme = "xavier-normal";

  std::mt19937_64 rng(o.seed);
  Network<double> network = make_network<double>(spec, init_scheme_from_name(o.network.init_scheme), rng);

  Matrix<double> X;
  std::vector<std::int32_t> labels(o.samples);
  if (real) {
    std::vector<std::size_t> indices(data.count);
    std::iota(indices.begin(), indices.end(), 0);
    gather_batch(data, indices.data(), data.count, X);
    labels.assign(data.labels.begin(), data.labels.end());
  } else {
    X.resize(spec.sizes.front(), o.samples);
    for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = uniform01(rng);
    for (auto& label : labels) label = static_cast<std::int32_t>(rng() % spec.sizes.back());
  }
  std::printf("gradient check of %s%s on %d %s examples, float64\n", spec.describe().c_str(),
              spec.dropout.empty() ? "" : " with dropout (fixed mask)", int(labels.size()), real ? (o.data_dir.empty() ? "MNIST" : o.data_dir.c_str()) : "random");
  std::printf("five-point central differences, h %.0e; rel error = |a-n| / max(|a|+|n|, %.0e); pass below %.0e\n",
              kGradCheckEps, kGradCheckFloor, kGradCheckTolerance);
  bool ok = true;
  for (const auto& row : gradient_check(network, X, labels, o.max_entries)) {
    const bool pass = row.max_rel_error < kGradCheckTolerance;
    ok = ok && pass;
    std::printf("  %-4s %8lld entries  max rel error %.3e  (at %lld: analytic %+.6e, numeric %+.6e)  %s\n",
                row.name.c_str(), row.entries, row.max_rel_error, row.worst_index, row.analytic, row.numeric,
                pass ? "ok" : "FAIL");
  }
  std::printf("%s\n", ok ? "all gradients agree" : "some gradients disagree");
  return ok ? 0 : 1;
}

}  // namespace

Command add_gradcheck(CLI::App& app) {
  auto o = std::make_shared<GradcheckOptions>();
  CLI::App* sub = app.add_subcommand("gradcheck", "Check every gradient against finite differences");
  o->network.add_to(*sub, {/*init_scheme=*/true, /*dropout=*/true, /*dtype=*/false});  // always float64
  sub->add_option("--samples", o->samples, "Batch size of the check")->capture_default_str();
  sub->add_option("--max-entries", o->max_entries, "Check at most this many entries per tensor (0 = all)");
  sub->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  sub->add_option("--data", o->data_dir, "A real batch from this data (IDX directory, .csv or .npz; default MNIST when present)");
  sub->add_option("--label", o->label, "CSV label column (default: the column named label, else the last)");
  sub->add_flag("--random", o->random, "Use a random batch even when MNIST is present");
  return {sub, [o] { return run_gradcheck(*o); }};
}

}  // namespace backprop::cli
