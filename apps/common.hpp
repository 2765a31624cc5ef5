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

  // Which of the flags a command lists: only those it uses (import has no initialisation or
  // dropout, gradcheck is always float64).
  struct Flags {
    bool init_scheme = true, dropout = true, dtype = true;
  };
  void add_to(CLI::App& app) { add_to(app, Flags{}); }
  void add_to(CLI::App& app, Flags flags);
  // Fills spec from the flags (given ones only) and validates it for inputs -> classes.
  void apply(NetworkSpec& spec, int inputs, int classes) const;
  bool is_f64() const;  // throws on anything but f32 / f64
};

// "0.2" or "0.2,0.5" as rates (not yet range-checked); throws Error on a non-number.
std::vector<double> parse_dropout(const std::string& text);

// The most threads a flag may ask for: 4 x the cores (more only slows training down, and
// 100,000 made libgomp crash and --augment-threads exhaust the machine).
int max_threads();
// Throws "FLAG must be between MIN and max_threads() (...), not VALUE" outside [min, max_threads()].
void check_thread_count(const char* flag, long long value, int min);

// --threads' help, with the cap.
std::string threads_help();
// For --seed: a whole number 0 .. 2^64 - 1 as written ("-1" and 2^64 are refused, not wrapped).
CLI::Validator seed_validator();

// Sets Eigen's and OpenMP's thread count; 0 means all cores. Throws outside [0, max_threads()].
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
// no_fetch (then an error naming the missing files and how to fetch them); progress goes to log.
std::string resolve_dataset(const std::string& data, bool no_fetch, std::ostream& log);

// Whether stdout is a terminal (progress bars only then).
bool stdout_is_terminal();

}  // namespace backprop::cli
