// Pieces every subcommand shares: the network flags, threads, dtype dispatch, and turning
// a spec into an initialised network.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "backprop/nn/init.hpp"
#include "backprop/nn/network.hpp"

namespace backprop::cli {

// Flags that describe the network. An empty string means "not given".
struct NetworkOptions {
  std::string layers;       // --layers 784,256,10
  std::string hidden;       // --hidden 256 | 128,64: the hidden sizes, ends from the data
  std::string activation;   // --activation sigmoid | relu,tanh
  std::string head;         // --head softmax | mse
  std::string dropout;      // --dropout 0.2 | 0.2,0.5
  std::string init_scheme;  // --init-scheme seed | xavier-normal | ...
  std::string dtype = "f32";  // --dtype f32 | f64

  void add_to(CLI::App& app);
  // Fills spec from the flags (given ones only) and validates it for inputs -> classes.
  void apply(NetworkSpec& spec, int inputs, int classes) const;
  bool is_f64() const;  // throws on anything but f32 / f64
};

// Sets Eigen's and OpenMP's thread count; 0 means all cores. Throws on a negative count.
int set_threads(int threads);

// A network built from spec and initialised from rng.
template <typename T>
Network<T> make_network(const NetworkSpec& spec, InitScheme scheme, std::mt19937_64& rng) {
  Network<T> network(spec, &rng);
  initialize(network, scheme, rng);
  return network;
}

// The dataset path of --data: as given, or the MNIST directory ($BACKPROP_DATA or ./data/mnist).
// A directory holding no IDX training set is taken to be MNIST's, fetched there unless
// no_fetch (then an error saying how to fetch it); progress goes to log.
std::string resolve_dataset(const std::string& data, bool no_fetch, std::ostream& log);

// Whether stdout is a terminal (progress bars only then).
bool stdout_is_terminal();

}  // namespace backprop::cli
