// The seed's NumPy view of a network's parameters, as .npz arrays.
//
// Names and shapes: w1 (n_0, n_1), b1 (1, n_1), ..., wL (n_{L-1}, n_L), bL (1, n_L), i.e.
// one row per example as the blog's code has it. A NumPy (n_in, n_out) C-order array holds
// the same bytes as our column-major (n_out, n_in) W, so this is the one place where the
// view changes: values are copied in memory order and only the shape is relabelled.
#pragma once

#include <string>

#include "backprop/nn/network.hpp"
#include "backprop/io/npz.hpp"

namespace backprop {

// w1, b1, ..., in T's dtype (float32 or float64).
template <typename T>
Npz params_to_npz(const Network<T>& network);

// dw1, db1, ... (the gradients of the last backward) plus the scalar "loss".
template <typename T>
Npz grads_to_npz(const Network<T>& network, double loss);

// Loads w1, b1, ... into network, checking that every array is present with the expected
// shape; errors name the file (source) and the array.
template <typename T>
void npz_to_params(const Npz& arrays, const std::string& source, Network<T>& network);

// The shapes npz_to_params expects for network, to give read_npz so that a wrong shape is
// refused from the .npy header, before its data is inflated.
template <typename T>
NpzExpect expected_shapes(const Network<T>& network);

// The layer sizes an .npz of parameters implies: n_0 from w1, then n_l from each wl, within
// the limits every network and model file keeps (kMaxLayers sizes, widths up to kMaxWidth).
std::vector<int> layer_sizes_from_npz(const Npz& arrays, const std::string& source);

}  // namespace backprop
