// Weight initialisation schemes. The random numbers come from std::mt19937_64 (exactly
// specified by the C++ standard) through our own uniform and normal transforms, so a seed
// gives the same parameters with any standard library.
//
//   seed            W ~ N(0, 1) * sqrt(1 / fan_in), b ~ U[0, 1)   (the blog's code)
//   xavier-normal   W ~ N(0, 2 / (fan_in + fan_out))               b = 0
//   xavier-uniform  W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)) b = 0
//   he-normal       W ~ N(0, 2 / fan_in)                           b = 0
//   he-uniform      W ~ U(-a, a), a = sqrt(6 / fan_in)             b = 0
#pragma once

#include <random>
#include <string>

#include "backprop/nn/network.hpp"

namespace backprop {

enum class InitScheme { seed, xavier_normal, xavier_uniform, he_normal, he_uniform };

InitScheme init_scheme_from_name(const std::string& name);
const char* init_scheme_name(InitScheme scheme);

// Uniform in [0, 1) with 53 random bits, and a standard normal (Box-Muller).
double uniform01(std::mt19937_64& rng);
double standard_normal(std::mt19937_64& rng);

template <typename T>
void initialize(Network<T>& network, InitScheme scheme, std::mt19937_64& rng);

}  // namespace backprop
