// Hidden-layer activations h = g(z) and their derivatives g'(z), as small pure pairs.
//
// The derivative functions take both z and h = g(z) so that sigmoid and tanh use the
// output form the derivation uses (sigma' = h (1 - h), tanh' = 1 - h^2). Adding an
// activation is one enum value, one name in the table, and one pair in activation.cpp.
#pragma once

#include <string>
#include <vector>

#include "backprop/nn/tensor.hpp"

namespace backprop {

enum class Activation { sigmoid, tanh, relu, leaky_relu, elu, gelu, softplus };

// "sigmoid" -> Activation::sigmoid; throws backprop::Error listing the known names.
Activation activation_from_name(const std::string& name);
const char* activation_name(Activation a);
std::vector<std::string> activation_names();

// h = g(z), element-wise. z and h are (n, B).
template <typename T>
void activation_forward(Activation a, const Matrix<T>& z, Matrix<T>& h);

// x <- g(x) for the n values at x, by the same formulas (evaluation's fused first layer,
// sparse_groups.hpp, applies it to a few columns at a time while they are in cache).
template <typename T>
void activation_forward_inplace(Activation a, T* x, Eigen::Index n);

// dz = dh ⊙ g'(z), element-wise, using the cached z and h.
template <typename T>
void activation_backward(Activation a, const Matrix<T>& z, const Matrix<T>& h,
                         const Matrix<T>& dh, Matrix<T>& dz);

}  // namespace backprop
