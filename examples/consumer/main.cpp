// A 784-64-10 network trained one epoch on MNIST through an installed backprop; prints the
// test accuracy and fails below 90% (a broken install or library then fails CI).
//   consumer MNIST_DIR
#include <backprop/data/idx.hpp>
#include <backprop/nn/init.hpp>
#include <backprop/train/trainer.hpp>
#include <backprop/version.hpp>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer MNIST_DIR\n");
    return 2;
  }
  using namespace backprop;
  try {
    const Mnist mnist = load_mnist(argv[1]);

    NetworkSpec spec;
    spec.sizes = {784, 64, 10};
    spec.activations = {Activation::relu};
    spec.validate(784, 10);
    std::mt19937_64 rng(1);
    Network<float> network(spec, &rng);
    initialize(network, InitScheme::he_normal, rng);

    TrainConfig config;
    config.epochs = 1;
    config.optimizer.name = "adam";
    config.schedule.lr = 1e-3;
    Trainer<float> trainer(network, config, rng);
    double accuracy = 0;
    trainer.fit(mnist.train, nullptr, &mnist.test, [&](const EpochMetrics& m) { accuracy = m.test->accuracy; });

    std::printf("backprop %s (headers %s): 784-64-10, 1 epoch, test accuracy %.4f\n", library_version(),
                BACKPROP_VERSION_STRING, accuracy);
    return accuracy >= 0.90 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
