// The object behind backprop.Network: a Network<T> of the library with its random generator,
// optimizer and schedule, driven with NumPy arrays.
//
// Layout: NumPy holds one example per ROW, (N, features) in C order; that is the same memory
// as our column-major (features, N) matrix (tensor.hpp), so a batch of rows is a block of
// columns and w1 (n_in, n_out) is W (n_out, n_in) without a copy.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backprop/data/dataset.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/nn/network.hpp"
#include "backprop/nn/optimizer.hpp"
#include "backprop/nn/schedule.hpp"

namespace backprop::python {

namespace py = pybind11;

// What one pass over the data reports.
struct EpochResult {
  double loss = 0;        // mean loss per example (batches weighted by their size)
  double batch_loss = 0;  // mean of the minibatch losses, as `backprop train` prints it
  std::size_t steps = 0;
  double weight_norm2 = 0;  // sum of ||W||^2 over the weight matrices after the epoch (L2 penalty)
};

// The dtype-free face the bindings see; Model<T> implements it for float and double.
class ModelBase {
 public:
  virtual ~ModelBase() = default;
  virtual bool is_double() const = 0;
  virtual const NetworkSpec& spec() const = 0;
  // The parameters as writable NumPy views (w1 (n_in, n_out), b1 (1, n_out), ...) kept alive by owner.
  virtual py::dict params(py::handle owner) = 0;
  // Copies of the parameters in float64 (for pickling, coefs_ and the like).
  virtual std::vector<Matrix<double>> params_f64() const = 0;
  virtual void set_params_f64(const std::vector<Matrix<double>>& values) = 0;
  // Class scores (probabilities, or outputs for mse) in T; with cache, also z1, h1, ... .
  virtual py::object forward(py::array X, bool cache) = 0;
  // The same scores computed in float64 from the parameters, whatever T: the answer then
  // does not depend on how rows are batched (BLAS sums in a batch-dependent order).
  virtual py::array predict_f64(py::array X) = 0;
  virtual py::dict gradients(py::array X, py::array y) = 0;
  virtual double step(py::array X, py::array y, double lr) = 0;
  virtual void set_optimizer(const OptimizerConfig& config) = 0;
  virtual void set_schedule(const Schedule& schedule) = 0;
  virtual long long global_step() const = 0;
  // Whether the first layer skips zero inputs (on by default: for mostly-zero data like MNIST's).
  virtual void set_sparse_input(bool on) = 0;
  virtual EpochResult epoch(py::array X, py::array y, std::size_t batch, bool shuffle, bool sum_reduction,
                            bool checked) = 0;
  virtual py::tuple evaluate(py::array X, py::array y, std::size_t batch) = 0;
  // A model file with data's schema (the features' scaling, the class names) for the CLI.
  virtual void save(const std::string& path, const DataSchema& data) const = 0;
};

std::unique_ptr<ModelBase> make_model(const NetworkSpec& spec, const std::string& dtype, InitScheme init,
                                      std::uint64_t seed);
// A model whose parameters come from a model file (or checkpoint) that the CLI wrote; its
// data schema (scaling, class names) into *data when given.
std::unique_ptr<ModelBase> load_model(const std::string& path, const std::string& dtype, DataSchema* data = nullptr);

}  // namespace backprop::python
