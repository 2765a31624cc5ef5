// backprop grads: the gradients of the mean loss over the first N training images, as .npz,
// so a learner can compare their own NumPy gradients with ours array by array.
#include <cstdio>
#include <iostream>
#include <memory>
#include <numeric>

#include "backprop/error.hpp"
#include "backprop/data/fetch.hpp"
#include "backprop/data/readers.hpp"
#include "backprop/io/npz_params.hpp"
#include "backprop/train/trainer.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "output_path.hpp"
#include "usage.hpp"

namespace backprop::cli {

namespace {

struct GradsOptions {
  NetworkOptions network;
  std::string data_dir, label, init, out;
  int samples = 64;
};

template <typename T>
int run_grads(GradsOptions o) {
  set_threads(1);
  if (o.samples <= 0) throw UsageError("--samples must be positive");
  check_output_path(o.out);  // before reading anything
  const Npz init = read_npz(o.init);
  NetworkSpec spec;
  spec.sizes = layer_sizes_from_npz(init, o.init);
  if (o.network.layers.empty() && o.network.hidden.empty()) {
    std::string text;
    for (int s : spec.sizes) text += (text.empty() ? "" : ",") + std::to_string(s);
    o.network.layers = text;
  }
  o.network.apply(spec, spec.sizes.front(), spec.sizes.back());
  std::mt19937_64 rng(0);
  Network<T> network(spec, &rng);
  npz_to_params(init, o.init, network);

  ReadOptions read;
  read.label = o.label;
  read.features = static_cast<std::size_t>(spec.sizes.front());
  Dataset train = read_data(resolve_dataset(o.data_dir, false, std::cout), read).train;
  train.scaling = fit_scaling(train, "auto");  // of the whole training part, as `train` scales it
  train = train.head(static_cast<std::size_t>(o.samples));
  std::vector<std::size_t> indices(train.count);
  std::iota(indices.begin(), indices.end(), 0);
  Matrix<T> X;
  gather_batch(train, indices.data(), train.count, X);
  network.forward(X, false);  // no dropout: the gradient of the deterministic loss
  const double loss = static_cast<double>(network.loss(train.labels.data()));
  network.backward();
  write_npz(o.out, grads_to_npz(network, loss));
  std::printf("loss %.10f over %zu images; wrote %s\n", loss, train.count, o.out.c_str());
  return 0;
}

}  // namespace

Command add_grads(CLI::App& app) {
  auto o = std::make_shared<GradsOptions>();
  CLI::App* sub = app.add_subcommand("grads", "Write the gradients of the mean loss for given parameters (.npz)");
  o->network.add_to(*sub);
  sub->add_option("--init", o->init, "Parameters w1, b1, ... (.npz)")->required();
  sub->add_option("--samples", o->samples, "Use the first N training images")->capture_default_str();
  sub->add_option("--out", o->out, "Output .npz: dw1, db1, ..., loss")->required();
  sub->add_option("--data", o->data_dir, "Training data: IDX directory, .csv or .npz (default MNIST)");
  sub->add_option("--label", o->label, "CSV label column (default: the column named label, else the last)");
  return {sub, [o] { return o->network.is_f64() ? run_grads<double>(*o) : run_grads<float>(*o); }};
}

}  // namespace backprop::cli
