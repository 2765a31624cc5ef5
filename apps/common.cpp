#include "common.hpp"

#include <omp.h>
#include <unistd.h>

#include <Eigen/Core>
#include <sstream>
#include <filesystem>
#include <thread>

#include "backprop/data/fetch.hpp"
#include "backprop/error.hpp"

namespace backprop::cli {

void NetworkOptions::add_to(CLI::App& app) {
  app.add_option("--layers", layers, "Layer sizes, input to classes, e.g. 784,512,256,10");
  app.add_option("--hidden", hidden, "Hidden layer sizes, e.g. 64 or 128,64 (inputs and outputs come from the data)");
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
  if (!layers.empty() && !hidden.empty()) throw Error("give --layers or --hidden, not both");
  if (!layers.empty()) {
    spec.sizes = parse_layer_sizes(layers);
    if (spec.sizes.size() >= 2 && spec.sizes.front() != inputs)
      throw Error("--layers " + layers + " starts with " + std::to_string(spec.sizes.front()) + " inputs, the data has " +
                  std::to_string(inputs) + " features per example");
    if (spec.sizes.size() >= 2 && spec.sizes.back() != classes)
      throw Error("--layers " + layers + " ends with " + std::to_string(spec.sizes.back()) + " outputs, the data needs " +
                  std::to_string(classes) + " (one per class, or per target)");
  }
  if (!hidden.empty()) {
    std::vector<int> sizes;
    try {
      sizes = parse_layer_sizes(hidden);
    } catch (const Error&) {
      throw Error("--hidden: '" + hidden + "' is not a list of sizes such as 64 or 128,64");
    }
    for (int h : sizes)
      if (h <= 0) throw Error("--hidden: every size must be positive, got " + std::to_string(h));
    spec.sizes = {inputs};
    spec.sizes.insert(spec.sizes.end(), sizes.begin(), sizes.end());
    spec.sizes.push_back(classes);
  }
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

std::string resolve_dataset(const std::string& data, bool no_fetch, std::ostream& log) {
  const std::string path = data.empty() ? resolve_data_dir("") : data;
  std::error_code error;
  const bool directory = std::filesystem::is_directory(path, error);
  const bool exists = std::filesystem::exists(path, error);
  bool has_idx = false;
  if (directory)
    for (const auto& entry : std::filesystem::directory_iterator(path, error))
      has_idx = has_idx || entry.path().filename().string().find("train-images-idx3-ubyte") != std::string::npos;
  const bool mnist_dir = directory ? !has_idx : !exists && std::filesystem::path(path).extension().empty();
  if (mnist_dir && !mnist_present(path)) {
    if (no_fetch) throw Error(path + ": MNIST not found (run `backprop fetch-mnist --dir " + path + "`)");
    fetch_mnist(path, log);
  }
  return path;
}

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

}  // namespace backprop::cli
