// One training step by hand, the three stages the derivation describes: forward (caching
// z and h), backward (dz, dW, db for every layer), update (the optimizer alone).
//   build/examples/one_step
#include <cstdio>

#include "backprop/nn/init.hpp"
#include "backprop/nn/network.hpp"
#include "backprop/nn/optimizer.hpp"

int main() {
  using namespace backprop;
  NetworkSpec spec;
  spec.sizes = {4, 3, 2};  // 4 inputs -> 3 sigmoid units -> 2 classes
  spec.validate(4, 2);
  std::mt19937_64 rng(0);
  Network<double> network(spec, &rng);
  initialize(network, InitScheme::seed, rng);

  Matrix<double> x(4, 2);  // two examples, one per column
  x << 0.1, 0.9, 0.5, 0.2, 0.0, 0.4, 1.0, 0.3;
  const std::int32_t labels[2] = {1, 0};

  network.forward(x, true);                   // z1, h, z2 cached in the layers
  const double loss = network.loss(labels);   // y_hat = softmax(z2), mean cross-entropy
  network.backward();                         // dz2 = (y_hat - y)/B, dW2, db2, dz1, dW1, db1
  std::printf("loss %.6f\n", loss);
  for (const auto& p : network.params())
    std::printf("d%s (%ldx%ld), first entry %+.6f\n", p.name().c_str(), (long)p.grad->rows(),
                (long)p.grad->cols(), (*p.grad)(0, 0));

  OptimizerConfig sgd;                        // the update: w <- w - lr dw
  make_optimizer<double>(sgd)->step(network.params(), 0.5);
  network.forward(x, false);
  std::printf("loss after one step %.6f\n", network.loss(labels));
  return 0;
}
