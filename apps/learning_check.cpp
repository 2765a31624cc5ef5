// The one-time warning when a run is not learning (train_options.hpp): a learner's most common
// confusion is a network that stays at chance with no word said, from a learning rate too high
// or too low, many sigmoid layers (whose gradient shrinks by at most 1/4 per layer) or an
// unlucky initialisation.
#include <cmath>
#include <cstdio>

#include "backprop/nn/network.hpp"
#include "train_options.hpp"

namespace backprop::cli {

double chance_loss(HeadKind head, int classes) {
  // Predicting every class equally: softmax gives -ln(1/C); an output of 1/C everywhere
  // gives the MSE head 0.5 * ((1 - 1/C)^2 + (C - 1)/C^2) = 0.5 (1 - 1/C).
  return head == HeadKind::mse ? 0.5 * (1.0 - 1.0 / classes) : std::log(double(classes));
}

bool not_learning(const EpochMetrics& m, HeadKind head, int classes) {
  const double chance = chance_loss(head, classes);
  const EvalResult* eval = m.validation ? &*m.validation : m.test ? &*m.test : nullptr;
  const bool loss_at_chance = !(m.train_loss < 0.97 * chance);  // NaN counts as not learning
  const bool accuracy_at_chance = eval && eval->count > 0 && eval->accuracy < 1.5 / classes;
  return loss_at_chance || accuracy_at_chance;
}

void warn_if_not_learning(const EpochMetrics& m, const NetworkSpec& spec, double lr) {
  const int classes = spec.sizes.back();
  if (!not_learning(m, spec.head, classes)) return;
  int sigmoids = 0;
  for (Activation a : spec.activations) sigmoids += a == Activation::sigmoid;
  std::fflush(stdout);
  std::fprintf(stderr,
               "backprop: warning: after epoch %d the training loss is %.4f, no better than chance (%.4f for %d "
               "classes): the network is not learning. Likely causes: the learning rate (--lr %g: try 10 times "
               "lower or higher)%s, or the initialisation (--init-scheme)\n",
               m.epoch, m.train_loss, chance_loss(spec.head, classes), classes, lr,
               sigmoids >= 3 ? ", depth with sigmoid (the gradient shrinks through each sigmoid layer: try "
                               "--activation relu or fewer layers)"
                             : "");
}

}  // namespace backprop::cli
