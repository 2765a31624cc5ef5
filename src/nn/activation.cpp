// The activation pairs: each forward formula beside its derivative.
#include "backprop/nn/activation.hpp"

#include <cmath>

#include "backprop/error.hpp"

namespace backprop {
namespace {

constexpr double kLeakySlope = 0.01;  // leaky_relu: g(z) = z for z > 0, 0.01 z otherwise
constexpr double kEluAlpha = 1.0;     // elu: g(z) = alpha (e^z - 1) for z <= 0

struct NamedActivation {
  Activation kind;
  const char* name;
};
constexpr NamedActivation kTable[] = {
    {Activation::sigmoid, "sigmoid"}, {Activation::tanh, "tanh"},
    {Activation::relu, "relu"},       {Activation::leaky_relu, "leaky_relu"},
    {Activation::elu, "elu"},         {Activation::gelu, "gelu"},
    {Activation::softplus, "softplus"},
};

}  // namespace

Activation activation_from_name(const std::string& name) {
  for (const auto& entry : kTable)
    if (name == entry.name) return entry.kind;
  std::string known;
  for (const auto& entry : kTable) known += std::string(known.empty() ? "" : ", ") + entry.name;
  throw Error("unknown activation '" + name + "' (known: " + known + ")");
}

const char* activation_name(Activation a) {
  for (const auto& entry : kTable)
    if (a == entry.kind) return entry.name;
  return "?";
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const auto& entry : kTable) names.emplace_back(entry.name);
  return names;
}

namespace {
// H = g(Z) for arrays of one shape (H may be Z itself: every formula is element-wise).
template <typename T, typename In, typename Out>
void forward_formula(Activation a, const In& Z, Out& H) {
  switch (a) {
    case Activation::sigmoid:  // sigma(z) = 1 / (1 + e^-z); e^-z = inf gives exactly 0
      H = T(1) / (T(1) + (-Z).exp());
      break;
    case Activation::tanh:
      H = Z.tanh();
      break;
    case Activation::relu:  // max(z, 0)
      H = Z.max(T(0));
      break;
    case Activation::leaky_relu:
      H = (Z > T(0)).select(Z, T(kLeakySlope) * Z);
      break;
    case Activation::elu:  // min(z,0) keeps e^z finite for large z
      H = (Z > T(0)).select(Z, T(kEluAlpha) * (Z.min(T(0)).exp() - T(1)));
      break;
    case Activation::gelu: {  // tanh form: z/2 (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))
      const T c = T(std::sqrt(2.0 / M_PI));
      H = T(0.5) * Z * (T(1) + (c * (Z + T(0.044715) * Z.cube())).tanh());
      break;
    }
    case Activation::softplus:  // log(1 + e^z) = max(z,0) + log1p(e^-|z|), never overflows
      H = Z.max(T(0)) + (-Z.abs()).exp().log1p();
      break;
  }
}
}  // namespace

template <typename T>
void activation_forward(Activation a, const Matrix<T>& z, Matrix<T>& h) {
  h.resize(z.rows(), z.cols());
  auto H = h.array();
  forward_formula<T>(a, z.array(), H);
}

template <typename T>
void activation_forward_inplace(Activation a, T* x, Eigen::Index n) {
  Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> X(x, n);
  forward_formula<T>(a, X, X);
}

template <typename T>
void activation_backward(Activation a, const Matrix<T>& z, const Matrix<T>& h,
                         const Matrix<T>& dh, Matrix<T>& dz) {
  const auto Z = z.array();
  const auto H = h.array();
  const auto dH = dh.array();
  dz.resize(z.rows(), z.cols());
  auto dZ = dz.array();
  switch (a) {
    case Activation::sigmoid:  // sigma' = h (1 - h)
      dZ = dH * H * (T(1) - H);
      break;
    case Activation::tanh:  // tanh' = 1 - h^2
      dZ = dH * (T(1) - H.square());
      break;
    case Activation::relu:  // 1 for z > 0, else 0 (the subgradient at 0 is taken as 0)
      dZ = (Z > T(0)).select(dH, T(0));
      break;
    case Activation::leaky_relu:
      dZ = (Z > T(0)).select(dH, T(kLeakySlope) * dH);
      break;
    case Activation::elu:  // 1 for z > 0, else alpha e^z = h + alpha
      dZ = (Z > T(0)).select(dH, dH * (H + T(kEluAlpha)));
      break;
    case Activation::gelu: {  // with u = c (z + k z^3), t = tanh(u):
      // g' = (1 + t)/2 + z/2 (1 - t^2) c (1 + 3 k z^2)
      const T c = T(std::sqrt(2.0 / M_PI)), k = T(0.044715);
      const auto t = (c * (Z + k * Z.cube())).tanh();
      dZ = dH * (T(0.5) * (T(1) + t) +
                 T(0.5) * Z * (T(1) - t.square()) * c * (T(1) + T(3) * k * Z.square()));
      break;
    }
    case Activation::softplus:  // softplus' = sigma(z)
      dZ = dH / (T(1) + (-Z).exp());
      break;
  }
}

template void activation_forward<float>(Activation, const Matrix<float>&, Matrix<float>&);
template void activation_forward<double>(Activation, const Matrix<double>&, Matrix<double>&);
template void activation_forward_inplace<float>(Activation, float*, Eigen::Index);
template void activation_forward_inplace<double>(Activation, double*, Eigen::Index);
template void activation_backward<float>(Activation, const Matrix<float>&, const Matrix<float>&,
                                         const Matrix<float>&, Matrix<float>&);
template void activation_backward<double>(Activation, const Matrix<double>&,
                                          const Matrix<double>&, const Matrix<double>&,
                                          Matrix<double>&);

}  // namespace backprop
