// Parameters and gradients to and from the seed's .npz layout (see npz_params.hpp).
#include "backprop/io/npz_params.hpp"

#include <type_traits>

#include "backprop/error.hpp"
#include "backprop/nn/limits.hpp"

namespace backprop {

namespace {

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

// Our (rows, cols) column-major matrix as NumPy's (cols, rows) C-order array: same bytes.
template <typename T>
NpyArray to_array(const Matrix<T>& m) {
  NpyArray array;
  array.shape = {static_cast<std::size_t>(m.cols()), static_cast<std::size_t>(m.rows())};
  array.is_double = std::is_same_v<T, double>;
  array.values.assign(m.data(), m.data() + m.size());
  return array;
}

}  // namespace

template <typename T>
Npz params_to_npz(const Network<T>& network) {
  Npz arrays;
  for (const auto& p : network.params()) arrays[p.name()] = to_array(*p.value);
  return arrays;
}

template <typename T>
Npz grads_to_npz(const Network<T>& network, double loss) {
  Npz arrays;
  for (const auto& p : network.params()) arrays["d" + p.name()] = to_array(*p.grad);
  NpyArray scalar;
  scalar.is_double = true;
  scalar.values = {loss};
  arrays["loss"] = scalar;
  return arrays;
}

template <typename T>
NpzExpect expected_shapes(const Network<T>& network) {
  NpzExpect expect;
  for (const auto& p : network.params())
    expect.shapes[p.name()] = {static_cast<std::size_t>(p.value->cols()), static_cast<std::size_t>(p.value->rows())};
  return expect;
}

template <typename T>
void npz_to_params(const Npz& arrays, const std::string& source, Network<T>& network) {
  for (const auto& p : network.params()) {
    const std::string name = p.name();
    const auto found = arrays.find(name);
    if (found == arrays.end()) throw file_error(source, "array '" + name + "' is missing");
    const std::vector<std::size_t> expected = {static_cast<std::size_t>(p.value->cols()),
                                               static_cast<std::size_t>(p.value->rows())};
    if (found->second.shape != expected)
      throw file_error(source, "array '" + name + "' has shape " + shape_text(found->second.shape) +
                                   ", expected " + shape_text(expected) + " for this network");
    const auto& values = found->second.values;
    for (std::size_t i = 0; i < values.size(); ++i) p.value->data()[i] = static_cast<T>(values[i]);
  }
}

std::vector<int> layer_sizes_from_npz(const Npz& arrays, const std::string& source) {
  std::vector<int> sizes;
  for (int l = 1;; ++l) {
    const auto found = arrays.find("w" + std::to_string(l));
    if (found == arrays.end()) break;
    const auto& shape = found->second.shape;
    if (shape.size() != 2) throw file_error(source, "array 'w" + std::to_string(l) + "' is not 2-D");
    if (l >= kMaxLayers)
      throw file_error(source, "more than " + std::to_string(kMaxLayers - 1) + " layers (w1 ... w" +
                                   std::to_string(kMaxLayers - 1) + "): a model file cannot hold them");
    for (std::size_t d : shape)
      if (d == 0 || d > kMaxWidth)
        throw file_error(source, "array 'w" + std::to_string(l) + "' has a dimension of " + std::to_string(d) +
                                     " (layer widths are 1 to " + std::to_string(kMaxWidth) + ")");
    if (sizes.empty()) sizes.push_back(static_cast<int>(shape[0]));
    if (static_cast<int>(shape[0]) != sizes.back())
      throw file_error(source, "array 'w" + std::to_string(l) + "' has " + std::to_string(shape[0]) +
                                   " rows but the previous layer has " + std::to_string(sizes.back()) +
                                   " outputs");
    sizes.push_back(static_cast<int>(shape[1]));
  }
  if (sizes.empty()) throw file_error(source, "no array 'w1': not a parameter file");
  return sizes;
}

template Npz params_to_npz<float>(const Network<float>&);
template Npz params_to_npz<double>(const Network<double>&);
template Npz grads_to_npz<float>(const Network<float>&, double);
template Npz grads_to_npz<double>(const Network<double>&, double);
template NpzExpect expected_shapes<float>(const Network<float>&);
template NpzExpect expected_shapes<double>(const Network<double>&);
template void npz_to_params<float>(const Npz&, const std::string&, Network<float>&);
template void npz_to_params<double>(const Npz&, const std::string&, Network<double>&);

}  // namespace backprop
