// Shared by test_serve_api.cpp and test_serve_http.cpp: a temporary directory, a small
// saved model, and a tiny fake MNIST so that run pages compute in milliseconds.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "backprop/data/idx.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/io/model_file.hpp"
#include "temp_dir.hpp"

namespace serve_test {

// A temporary directory named backprop-serve-XXXXXX.
struct TempDir : backprop::testing::TempDir {
  TempDir() : backprop::testing::TempDir("serve") {}
};

// A randomly initialised network saved to path and read back as the server would.
inline backprop::ModelFile small_model(const std::filesystem::path& path, std::vector<int> sizes = {784, 16, 10},
                                       backprop::HeadKind head = backprop::HeadKind::softmax_cross_entropy) {
  backprop::NetworkSpec spec;
  spec.sizes = sizes;
  spec.activations = {backprop::Activation::sigmoid};
  spec.head = head;
  spec.validate(sizes.front(), sizes.back());
  std::mt19937_64 rng(7);
  backprop::Network<float> network(spec, &rng);
  backprop::initialize(network, backprop::InitScheme::xavier_normal, rng);
  backprop::save_model(path.string(), network);
  return backprop::read_model(path.string());
}

// count random 28x28 images labelled 0, 1, ..., 9, 0, ... as both training and test set.
inline backprop::Mnist tiny_mnist(std::size_t count) {
  backprop::Dataset data;
  data.count = count;
  data.features = 784;
  data.rows = data.cols = 28;
  data.classes = backprop::numbered_classes(10);
  data.bytes.resize(count * 784);
  data.labels.resize(count);
  std::mt19937 rng(3);
  for (auto& p : data.bytes) p = static_cast<std::uint8_t>(rng() % 256);
  for (std::size_t i = 0; i < count; ++i) data.labels[i] = static_cast<std::uint8_t>(i % 10);
  return {data, data};
}

}  // namespace serve_test
