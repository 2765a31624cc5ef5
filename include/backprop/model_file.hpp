// The model file: a network's architecture and parameters in one checked binary file.
// The byte layout is specified in docs/model-format.md. Writes are atomic; reads check
// every field and the CRC-32 and say precisely what is wrong.
#pragma once

#include <string>
#include <vector>

#include "backprop/network.hpp"

namespace backprop {

constexpr char kModelMagic[8] = {'B', 'P', 'R', 'O', 'P', 'M', 'D', 'L'};
constexpr unsigned kModelVersion = 1;

struct ModelFile {
  NetworkSpec spec;          // sizes, activations, head (no dropout: it is training-only)
  bool is_double = false;    // parameters stored as float64 (else float32)
  std::vector<std::vector<double>> params;  // in the network's parameter order
};

template <typename T>
void save_model(const std::string& path, const Network<T>& network);

ModelFile read_model(const std::string& path);

// Copies the file's parameters into a network built from model.spec.
template <typename T>
void load_params(const ModelFile& model, Network<T>& network);

}  // namespace backprop
