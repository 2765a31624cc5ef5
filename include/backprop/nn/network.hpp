// A fully connected network: Dense -> activation [-> dropout] -> ... -> Dense -> head.
//
// NetworkSpec says what to build (the CLI, the model file and the examples all fill one);
// Network<T> owns the layers and runs the three stages in order: forward (caching),
// backward (gradients, last layer first), and leaves the update to an optimizer. The
// trainer's fast path is one call, backward_fused: the backward pass without the parameter
// products, which it hands to the optimizer to form where it updates (Optimizer::step_fused).
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backprop/nn/activation.hpp"
#include "backprop/nn/layers.hpp"
#include "backprop/nn/loss.hpp"
#include "backprop/nn/optimizer.hpp"
#include "backprop/nn/sparse_groups.hpp"
#include "backprop/nn/tensor.hpp"

namespace backprop {

struct NetworkSpec {
  std::vector<int> sizes{784, 256, 10};              // input, hidden..., classes
  std::vector<Activation> activations{Activation::sigmoid};  // one per hidden layer
  std::vector<double> dropout;                       // one rate per hidden layer; empty = none
  HeadKind head = HeadKind::softmax_cross_entropy;

  int hidden_layers() const { return static_cast<int>(sizes.size()) - 2; }
  // Checks the spec against the data: sizes start at `inputs` and end at `classes`, every
  // size is positive, one activation (or one for all) per hidden layer, rates in [0, 1).
  // Expands a single activation or dropout rate to every hidden layer. Throws Error.
  void validate(int inputs, int classes);
  std::string describe() const;  // "784-256-10 sigmoid softmax"
};

// Parses "784,512,256,10" and "relu" / "relu,tanh" into a spec (not yet validated).
std::vector<int> parse_layer_sizes(const std::string& text);
std::vector<Activation> parse_activations(const std::string& text);

template <typename T>
class Network {
 public:
  // spec must be validated. rng drives dropout masks (it must outlive the network).
  Network(const NetworkSpec& spec, std::mt19937_64* rng);

  // logits = the last Dense layer's output (classes, B) for x (inputs, B). With sparse input
  // on and x mostly zeros, the first layer sums over x's nonzeros (Dense::forward_sparse).
  const Matrix<T>& forward(const Matrix<T>& x, bool training);
  // Mean loss of the last forward against labels (B of them); caches for backward.
  T loss(const std::int32_t* labels) { return head_.forward(*logits_, labels); }
  // Regression: mean loss against real targets (outputs, B); they must outlive backward.
  T loss(const Matrix<T>& targets) { return head_.forward(*logits_, targets); }
  // Fills every parameter gradient of the mean loss, from the head back to the first layer
  // (the first layer's from x's nonzeros when its forward took them). Changes no parameter.
  // d_logits: dL/dlogits of a loss computed elsewhere; nullptr: the head's (after loss()).
  void backward(const Matrix<T>* d_logits = nullptr);
  // The fast path: the same step as backward(), then scaling the weight gradients by
  // weight_scale, clipping to clip_norm (0 = off) and optimizer.step(params(), lr), with
  // no gradient product formed before the optimizer needs it (Optimizer::step_fused).
  void backward_fused(Optimizer<T>& optimizer, T lr, T weight_scale, double clip_norm,
                      const Matrix<T>* d_logits = nullptr);

  // Evaluation's fast path for images: the logits forward(x, false) gives for the batch
  // x_ij = table[bytes[j * rows + i]] (cols examples of rows bytes; table[0] = 0), summed over
  // x's nonzeros straight from the bytes (sparse_groups.hpp), the first layer's activation in
  // the same pass; the later layers as in forward. Returns nullptr, having computed nothing,
  // when more than Dense::kMaxSparseDensity of x is nonzero (forward's dense products are
  // faster there). Leaves nothing for backward (the first layer's z is not kept).
  const Matrix<T>* forward_bytes(const std::uint8_t* bytes, Eigen::Index rows, Eigen::Index cols,
                                 const T (&table)[256]);

  const std::vector<Param<T>>& params() const { return params_; }
  std::vector<Dense<T>*> dense_layers() const { return dense_; }
  Head<T>& head() { return head_; }
  const NetworkSpec& spec() const { return spec_; }
  std::vector<Dropout<T>*> dropout_layers() const;
  // Output of layer i of layers_ from the last forward (hidden activations for the demo).
  const std::vector<std::unique_ptr<Layer<T>>>& layers() const { return layers_; }
  const Matrix<T>& layer_output(std::size_t i) const { return *outputs_[i]; }

  // Whether the last forward pass's first layer summed over its input's nonzeros only
  // (forward_bytes, or forward with Dense::forward_sparse taken).
  bool last_forward_sparse() const { return last_forward_sparse_; }

  // Whether the first layer skips the zeros of its input (on by default; sparse.hpp).
  void set_sparse_input(bool on) { sparse_input_ = on; }
  bool sparse_input() const { return sparse_input_; }

  // Class scores for x (probabilities for softmax), evaluation mode.
  const Matrix<T>& predict(const Matrix<T>& x);

 private:
  NetworkSpec spec_;
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  std::vector<Dense<T>*> dense_;
  std::vector<const Matrix<T>*> outputs_;  // outputs_[i] = layers_[i]'s last output
  std::vector<Param<T>> params_;
  Head<T> head_;
  const Matrix<T>* logits_ = nullptr;
  Matrix<T> scores_;
  SparseGroups<T> nonzeros_;  // forward_bytes's lists (kept: they are a few MB a batch)
  Matrix<T> first_output_;    // and its g(z) of the first layer
  bool sparse_input_ = true;  // the data: mostly zeros for images like MNIST's
  bool last_forward_sparse_ = false;
  std::vector<OuterGradient<T>> unformed_;  // backward_fused's gradients, first layer first
};

}  // namespace backprop
