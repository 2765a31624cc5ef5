#include "common.hpp"

#include <omp.h>
#include <unistd.h>

#include <Eigen/Core>
#include <sstream>
#include <thread>

#include "backprop/error.hpp"

namespace backprop::cli {

void NetworkOptions::add_to(CLI::App& app) {
  app.add_option("--layers", layers, "Layer sizes, input to classes, e.g. 784,512,256,10");
  app.add_option("--hidden", hidden, "One hidden layer of this size (784,H,10)");
  app.add_option("--activation", activation,
                 "Hidden activation: sigmoid, tanh, relu, leaky_relu, elu, gelu, softplus "
                 "(one for all, or a comma list)");
  app.add_option("--head", head, "Output head: softmax (cross-entropy) or mse (linear output)");
  app.add_option("--dropout", dropout, "Inverted dropout rate after each hidden layer (or a list)");
  app.add_option("--init-scheme", init_scheme,
                 "seed, xavier-normal, xavier-uniform, he-normal, he-uniform");
  app.add_option("--dtype", dtype, "f32 (default) or f64")->check(CLI::IsMember({"f32", "f64"}));
}

void NetworkOptions::apply(NetworkSpec& spec, int inputs, int classes) const {
  if (!layers.empty() && hidden > 0) throw Error("give --layers or --hidden, not both");
  if (hidden < 0) throw Error("--hidden must be positive");
  if (!layers.empty()) spec.sizes = parse_layer_sizes(layers);
  if (hidden > 0) spec.sizes = {inputs, hidden, classes};
  if (!activation.empty()) spec.activations = parse_activations(activation);
  if (!head.empty()) spec.head = head_from_name(head);
  if (!dropout.empty()) {
    spec.dropout.clear();
    std::stringstream in(dropout);
    std::string part;
    while (std::getline(in, part, ',')) {
      try {
        std::size_t used = 0;
        spec.dropout.push_back(std::stod(part, &used));
        if (used != part.size()) throw std::invalid_argument(part);
      } catch (const std::exception&) {
        throw Error("--dropout: '" + part + "' is not a number");
      }
    }
  }
  spec.validate(inputs, classes);
}

bool NetworkOptions::is_f64() const { return dtype == "f64"; }

int set_threads(int threads) {
  if (threads < 0) throw Error("--threads must not be negative");
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  omp_set_num_threads(threads);
  Eigen::setNbThreads(threads);
  return threads;
}

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

}  // namespace backprop::cli
