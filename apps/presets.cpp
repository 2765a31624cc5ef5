#include "presets.hpp"

#include "backprop/error.hpp"

namespace backprop::cli {

const std::vector<Preset>& presets() {
  static const std::vector<Preset> table = {
      {"seed",
       "the blog's code exactly: 784-256-10 sigmoid, SGD lr 0.01, batch 64, 20 epochs, "
       "randn*sqrt(1/fan_in) weights, U[0,1) biases, weight gradients summed over the batch",
       {{"--layers", "784,256,10"},
        {"--activation", "sigmoid"},
        {"--head", "softmax"},
        {"--init-scheme", "seed"},
        {"--optimizer", "sgd"},
        {"--lr", "0.01"},
        {"--batch", "64"},
        {"--epochs", "20"},
        {"--grad-reduction", "sum"}}},
      {"relu-adam",
       "two ReLU hidden layers with Adam: 784-512-256-10, dropout 0.2, lr 1e-3 with cosine decay, "
       "10 epochs, batch 128",
       {{"--layers", "784,512,256,10"},
        {"--activation", "relu"},
        {"--init-scheme", "he-normal"},
        {"--optimizer", "adam"},
        {"--lr", "0.001"},
        {"--schedule", "cosine"},
        {"--dropout", "0.2"},
        {"--batch", "128"},
        {"--epochs", "10"},
        {"--grad-reduction", "mean"}}},
  };
  return table;
}

const Preset& find_preset(const std::string& name) {
  std::string known;
  for (const auto& preset : presets()) {
    if (name == preset.name) return preset;
    known += std::string(known.empty() ? "" : ", ") + preset.name;
  }
  throw Error("unknown --preset '" + name + "' (known: " + known + ")");
}

}  // namespace backprop::cli
