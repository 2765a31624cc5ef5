// Central finite differences against backward(), parameter by parameter.
#include "backprop/train/gradcheck.hpp"

#include <algorithm>
#include <cmath>

namespace backprop {

std::vector<GradCheckRow> gradient_check(Network<double>& network, const Matrix<double>& X,
                                         const std::vector<std::int32_t>& labels,
                                         long long max_entries, const GradCheckHook& after_backward) {
  for (auto* dropout : network.dropout_layers()) dropout->freeze_mask(false);
  network.forward(X, true);  // draws the dropout masks...
  for (auto* dropout : network.dropout_layers()) dropout->freeze_mask(true);  // ...and keeps them
  network.loss(labels.data());
  network.backward();
  if (after_backward) {
    std::vector<Param<double>> params = network.params();
    after_backward(params);
  }

  const auto loss_at = [&] {
    network.forward(X, true);
    return network.loss(labels.data());
  };

  std::vector<GradCheckRow> rows;
  for (const Param<double>& p : network.params()) {
    const Matrix<double> analytic = *p.grad;
    GradCheckRow row;
    row.name = p.name();
    const long long size = p.value->size();
    // Every stride-th entry, at most max_entries of them (ceil, so 10 of 21 is 10, not 11).
    const long long stride = max_entries > 0 ? std::max(1LL, (size + max_entries - 1) / max_entries) : 1;
    for (long long i = 0; i < size; i += stride) {
      double& w = p.value->data()[i];
      const double saved = w;
      const auto loss_with = [&](double offset) {
        w = saved + offset;
        return loss_at();
      };
      const double h = kGradCheckEps;
      const double numeric = (8 * (loss_with(h) - loss_with(-h)) - (loss_with(2 * h) - loss_with(-2 * h))) / (12 * h);
      w = saved;
      const double a = analytic.data()[i];
      const double error = std::abs(a - numeric) / std::max(std::abs(a) + std::abs(numeric), kGradCheckFloor);
      ++row.entries;
      if (error >= row.max_rel_error) {
        row.max_rel_error = error;
        row.worst_index = i;
        row.analytic = a;
        row.numeric = numeric;
      }
    }
    rows.push_back(row);
  }
  for (auto* dropout : network.dropout_layers()) dropout->freeze_mask(false);
  return rows;
}

}  // namespace backprop
