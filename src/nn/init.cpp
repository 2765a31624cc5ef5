// Initialisation schemes (formulas in init.hpp).
#include "backprop/nn/init.hpp"

#include <cmath>

#include "backprop/error.hpp"

namespace backprop {

namespace {
struct NamedScheme {
  InitScheme scheme;
  const char* name;
};
constexpr NamedScheme kSchemes[] = {{InitScheme::seed, "seed"},
                                    {InitScheme::xavier_normal, "xavier-normal"},
                                    {InitScheme::xavier_uniform, "xavier-uniform"},
                                    {InitScheme::he_normal, "he-normal"},
                                    {InitScheme::he_uniform, "he-uniform"}};
}  // namespace

InitScheme init_scheme_from_name(const std::string& name) {
  for (const auto& entry : kSchemes)
    if (name == entry.name) return entry.scheme;
  throw Error("unknown --init-scheme '" + name +
              "' (known: seed, xavier-normal, xavier-uniform, he-normal, he-uniform)");
}

const char* init_scheme_name(InitScheme scheme) {
  for (const auto& entry : kSchemes)
    if (scheme == entry.scheme) return entry.name;
  return "?";
}

double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

double standard_normal(std::mt19937_64& rng) {
  const double u1 = 1.0 - uniform01(rng);  // in (0, 1]: log(u1) is finite
  const double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

template <typename T>
void initialize(Network<T>& network, InitScheme scheme, std::mt19937_64& rng) {
  for (Dense<T>* layer : network.dense_layers()) {
    const double fan_in = layer->n_in(), fan_out = layer->n_out();
    double stddev = 0, bound = 0;  // normal or uniform, whichever the scheme uses
    switch (scheme) {
      case InitScheme::seed: stddev = std::sqrt(1.0 / fan_in); break;
      case InitScheme::xavier_normal: stddev = std::sqrt(2.0 / (fan_in + fan_out)); break;
      case InitScheme::xavier_uniform: bound = std::sqrt(6.0 / (fan_in + fan_out)); break;
      case InitScheme::he_normal: stddev = std::sqrt(2.0 / fan_in); break;
      case InitScheme::he_uniform: bound = std::sqrt(6.0 / fan_in); break;
    }
    // Filled in memory order, which is the seed's (n_in, n_out) row-major order.
    for (Eigen::Index i = 0; i < layer->W.size(); ++i)
      layer->W.data()[i] = static_cast<T>(
          bound > 0 ? (2 * uniform01(rng) - 1) * bound : standard_normal(rng) * stddev);
    if (scheme == InitScheme::seed)
      for (Eigen::Index i = 0; i < layer->b.size(); ++i) layer->b.data()[i] = T(uniform01(rng));
    else
      layer->b.setZero();
  }
}

template void initialize<float>(Network<float>&, InitScheme, std::mt19937_64&);
template void initialize<double>(Network<double>&, InitScheme, std::mt19937_64&);

}  // namespace backprop
