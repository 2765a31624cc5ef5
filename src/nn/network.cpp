// Building a network from its spec, and the forward and backward passes through it.
#include "backprop/nn/network.hpp"

#include <sstream>

#include "backprop/error.hpp"
#include "backprop/message_text.hpp"
#include "backprop/nn/limits.hpp"

namespace backprop {

namespace {
std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}
}  // namespace

std::vector<int> parse_layer_sizes(const std::string& text) {
  std::vector<int> sizes;
  for (const auto& part : split(text, ',')) {
    std::size_t used = 0;
    int value = 0;
    try {
      value = std::stoi(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size())
      throw Error("--layers: '" + part + "' is not a whole number (expected e.g. 784,256,10)");
    sizes.push_back(value);
  }
  return sizes;
}

std::vector<Activation> parse_activations(const std::string& text) {
  std::vector<Activation> result;
  for (const auto& part : split(text, ',')) result.push_back(activation_from_name(part));
  return result;
}

void NetworkSpec::validate(int inputs, int classes) {
  if (sizes.size() < 2) throw Error("--layers: need at least an input and an output size");
  if (sizes.front() != inputs)
    throw Error("--layers: the first size must be the input size " + std::to_string(inputs) +
                ", got " + std::to_string(sizes.front()));
  if (sizes.back() != classes)
    throw Error("--layers: the last size must be the number of classes " +
                std::to_string(classes) + ", got " + std::to_string(sizes.back()));
  if (sizes.size() > std::size_t(kMaxLayers))
    throw Error("--layers: at most " + std::to_string(kMaxLayers) + " sizes, got " + std::to_string(sizes.size()));
  for (int s : sizes)
    if (s <= 0 || s > kMaxWidth)
      throw Error("--layers: every size must be positive and at most " + std::to_string(kMaxWidth) + ", got " +
                  std::to_string(s));
  const std::size_t hidden = sizes.size() - 2;
  if (activations.size() == 1 && hidden > 1) activations.assign(hidden, activations[0]);
  if (hidden == 0) activations.clear();
  if (activations.size() != hidden)
    throw Error("--activation: " + count_text(static_cast<long long>(activations.size()), "activation") +
                " given for " + count_text(static_cast<long long>(hidden), "hidden layer"));
  if (dropout.size() == 1 && hidden > 1) dropout.assign(hidden, dropout[0]);
  if (hidden == 0) dropout.clear();
  if (!dropout.empty() && dropout.size() != hidden)
    throw Error("--dropout: " + count_text(static_cast<long long>(dropout.size()), "rate") + " given for " +
                count_text(static_cast<long long>(hidden), "hidden layer"));
  for (double rate : dropout)
    if (!(rate >= 0 && rate < 1)) throw Error("--dropout: rate must be in [0, 1)");
}

std::string NetworkSpec::describe() const {
  std::string text;
  for (std::size_t i = 0; i < sizes.size(); ++i) text += (i ? "-" : "") + std::to_string(sizes[i]);
  for (std::size_t i = 0; i < activations.size(); ++i)
    text += (i ? "," : " ") + std::string(activation_name(activations[i]));
  return text + " " + head_name(head);
}

template <typename T>
Network<T>::Network(const NetworkSpec& spec, std::mt19937_64* rng) : spec_(spec), head_(spec.head) {
  const int L = static_cast<int>(spec.sizes.size()) - 1;  // number of Dense layers
  for (int l = 1; l <= L; ++l) {
    // The first layer's input is the data: nobody needs dL/dx there.
    auto dense = std::make_unique<Dense<T>>(spec.sizes[l - 1], spec.sizes[l], l, l > 1);
    dense_.push_back(dense.get());
    layers_.push_back(std::move(dense));
    if (l == L) break;  // the head follows the last Dense layer
    layers_.push_back(std::make_unique<ActivationLayer<T>>(spec.activations[l - 1]));
    if (!spec.dropout.empty() && spec.dropout[l - 1] > 0)
      layers_.push_back(std::make_unique<Dropout<T>>(spec.dropout[l - 1], rng));
  }
  for (auto& layer : layers_) layer->collect_params(params_);
  outputs_.resize(layers_.size(), nullptr);
}

template <typename T>
const Matrix<T>& Network<T>::forward(const Matrix<T>& x, bool training) {
  const Matrix<T>* a = &x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Matrix<T>* sparse = i == 0 && sparse_input_ ? dense_.front()->forward_sparse(x, training) : nullptr;
    a = sparse ? sparse : &layers_[i]->forward(*a, training);
    outputs_[i] = a;
  }
  last_forward_sparse_ = dense_.front()->last_forward_sparse();
  logits_ = a;
  return *a;
}

template <typename T>
const Matrix<T>* Network<T>::forward_bytes(const std::uint8_t* bytes, Eigen::Index rows, Eigen::Index cols,
                                           const T (&table)[256]) {
  if (nonzeros_.assign_bytes(bytes, rows, cols, table) > Dense<T>::kMaxSparseDensity) return nullptr;
  const Dense<T>& first = *dense_.front();
  // The first layer, and the activation after it when there is one (a hidden layer).
  const auto* activation = layers_.size() > 1 ? dynamic_cast<const ActivationLayer<T>*>(layers_[1].get()) : nullptr;
  const Activation kind = activation ? activation->kind() : Activation::relu;
  sparse_affine_groups(first.W, first.b, nonzeros_, activation ? &kind : nullptr, first_output_);
  const Matrix<T>* a = &first_output_;
  const std::size_t next = activation ? 2 : 1;
  for (std::size_t i = 0; i < next; ++i) outputs_[i] = a;
  for (std::size_t i = next; i < layers_.size(); ++i) outputs_[i] = a = &layers_[i]->forward(*a, false);
  last_forward_sparse_ = true;
  logits_ = a;
  return a;
}

template <typename T>
void Network<T>::backward(const Matrix<T>* d_logits) {
  const Matrix<T>* d = d_logits ? d_logits : &head_.backward();  // dz of the last layer
  for (std::size_t i = layers_.size(); i-- > 1;) d = &layers_[i]->backward(*d);
  Dense<T>& first = *dense_.front();
  if (first.last_forward_sparse())
    first.backward_sparse(*d);
  else
    first.backward(*d);
}

template <typename T>
void Network<T>::backward_fused(Optimizer<T>& optimizer, T lr, T weight_scale, double clip_norm,
                                const Matrix<T>* d_logits) {
  // Each Dense layer's dz and input, with dx from the old W (no parameter changes before
  // the optimizer step); everything else as backward().
  unformed_.resize(dense_.size());
  std::size_t l = dense_.size();
  const Matrix<T>* d = d_logits ? d_logits : &head_.backward();
  for (std::size_t i = layers_.size(); i-- > 0;) {
    if (auto* dense = dynamic_cast<Dense<T>*>(layers_[i].get())) {
      unformed_[--l] = {d, &dense->input(), dense->input_nonzeros()};
      d = &dense->input_gradient(*d);
    } else {
      d = &layers_[i]->backward(*d);
    }
  }
  optimizer.step_fused(params_, unformed_, lr, weight_scale, clip_norm);
}

template <typename T>
std::vector<Dropout<T>*> Network<T>::dropout_layers() const {
  std::vector<Dropout<T>*> result;
  for (const auto& layer : layers_)
    if (auto* dropout = dynamic_cast<Dropout<T>*>(layer.get())) result.push_back(dropout);
  return result;
}

template <typename T>
const Matrix<T>& Network<T>::predict(const Matrix<T>& x) {
  const Matrix<T>& logits = forward(x, false);
  if (spec_.head == HeadKind::mse) return logits;
  softmax(logits, scores_);
  return scores_;
}

template class Network<float>;
template class Network<double>;

}  // namespace backprop
