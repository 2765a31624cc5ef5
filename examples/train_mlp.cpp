// The library in a few lines: a 784-128-64-10 ReLU network trained with Adam for two epochs.
//   build/examples/train_mlp [MNIST_DIR]
#include <cstdio>
#include <exception>

#include "backprop/data/fetch.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/train/trainer.hpp"

int train(int argc, char** argv) {
  using namespace backprop;
  const std::string dir = resolve_data_dir(argc > 1 ? argv[1] : "");
  const Mnist mnist = load_mnist(dir);

  NetworkSpec spec;                                   // what to build
  spec.sizes = {784, 128, 64, 10};
  spec.activations = {Activation::relu};              // one for every hidden layer
  spec.validate(784, 10);

  std::mt19937_64 rng(1);
  Network<float> network(spec, &rng);                 // Dense, relu, Dense, relu, Dense + softmax head
  initialize(network, InitScheme::he_normal, rng);

  TrainConfig config;
  config.epochs = 2;
  config.batch_size = 128;
  config.optimizer.name = "adam";
  config.schedule.lr = 1e-3;

  Trainer<float> trainer(network, config, rng);
  trainer.fit(mnist.train, nullptr, &mnist.test, [](const EpochMetrics& m) {
    std::printf("epoch %d: train loss %.4f, test accuracy %.4f\n", m.epoch, m.train_loss, m.test->accuracy);
  });
  return 0;
}

// Errors as the command line reports them: one line, exit status 1 (not an uncaught exception).
int main(int argc, char** argv) {
  try {
    return train(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_mlp: error: %s\n", e.what());
    return 1;
  }
}
