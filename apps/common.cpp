#include "common.hpp"

#include <omp.h>
#include <unistd.h>

#include <Eigen/Core>
#include <sstream>
#include <filesystem>
#include <thread>

#include "backprop/data/fetch.hpp"
#include "backprop/error.hpp"
#include "usage.hpp"

namespace backprop::cli {

void NetworkOptions::add_to(CLI::App& app, Flags flags) {
  app.add_option("--layers", layers, "Layer sizes, input to classes, e.g. 784,512,256,10");
  app.add_option("--hidden", hidden, "Hidden layer sizes, e.g. 64 or 128,64 (inputs and outputs come from the data)");
  app.add_option("--activation", activation,
                 "Hidden activation: sigmoid, tanh, relu, leaky_relu, elu, gelu, softplus "
                 "(one for all, or a comma list)");
  app.add_option("--head", head, "Output head: softmax (cross-entropy) or mse (linear output)");
  if (flags.dropout) app.add_option("--dropout", dropout, "Inverted dropout rate after each hidden layer (or a list)");
  if (flags.init_scheme)
    app.add_option("--init-scheme", init_scheme, "seed, xavier-normal, xavier-uniform, he-normal, he-uniform");
  if (flags.dtype) app.add_option("--dtype", dtype, "f32 (default) or f64")->check(CLI::IsMember({"f32", "f64"}));
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
  if (layers.empty() && hidden.empty() && spec.sizes.size() >= 2) {  // the default hidden sizes, ends from the data
    spec.sizes.front() = inputs;
    spec.sizes.back() = classes;
  }
  if (!activation.empty()) spec.activations = parse_activations(activation);
  if (!head.empty()) spec.head = head_from_name(head);
  if (!dropout.empty()) spec.dropout = parse_dropout(dropout);
  spec.validate(inputs, classes);
}

std::vector<double> parse_dropout(const std::string& text) {
  std::vector<double> rates;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    try {
      std::size_t used = 0;
      rates.push_back(std::stod(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw Error("--dropout: '" + part + "' is not a number");
    }
  }
  return rates;
}

bool NetworkOptions::is_f64() const { return dtype == "f64"; }

namespace {
int cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }
}  // namespace

int max_threads() { return 4 * cores(); }

void check_thread_count(const char* flag, long long value, int min) {
  if (value < min || value > max_threads())
    throw UsageError(std::string(flag) + " must be between " + std::to_string(min) + (min == 0 ? " (all cores)" : "") +
                " and " + std::to_string(max_threads()) + " (4 x the " + std::to_string(cores()) +
                " cores), not " + std::to_string(value));
}

std::string threads_help() {
  return "Threads (0 = all cores; at most " + std::to_string(max_threads()) + ", 4 x the cores)";
}

CLI::Validator seed_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.size() <= 20 &&
                            text.find_first_not_of("0123456789") == std::string::npos;
        if (digits && (text.size() < 20 || text <= "18446744073709551615")) return "";
        return "must be a whole number from 0 to 18446744073709551615, not " + text;
      },
      "UINT64");
}

int set_threads(int threads) {
  check_thread_count("--threads", threads, 0);
  if (threads == 0) threads = cores();
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
  if (!mnist_dir || mnist_present(path)) return path;  // a .csv, .npz or IDX set: the readers say what is wrong
  if (!no_fetch) {
    fetch_mnist(path, log);
    return path;
  }
  std::string missing;
  int count = 0;
  for (const MnistFile& file : mnist_files()) {
    const std::string name = path + "/" + file.name;
    if (std::filesystem::exists(name, error) || std::filesystem::exists(name + ".gz", error)) continue;
    missing += (missing.empty() ? "" : ", ") + std::string(file.name);
    ++count;
  }
  throw Error(path + ": MNIST not found: " + (count == 4 ? "none of its four files" : "no " + missing) +
              " (run `backprop fetch-mnist --dir " + path + "`)");
}

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

}  // namespace backprop::cli
