// backprop._backprop: the library's network for Python (the Python face is backprop/__init__.py).
//
// Errors: backprop::Error (a bad value, shape or file content) becomes ValueError with the
// library's one-line message; a file that cannot be read or written becomes OSError
// (FileNotFoundError when it is missing).
#include <omp.h>
#include <pybind11/stl.h>

#include <Eigen/Core>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "backprop/data/dataset.hpp"
#include "backprop/data/fetch.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/error.hpp"
#include "model.hpp"

namespace py = pybind11;
using namespace backprop;
using backprop::python::ModelBase;

namespace {

// Runs a file operation; its Error becomes FileNotFoundError or OSError.
template <typename F>
auto file_operation(const std::string& path, bool reading, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    std::error_code ec;
    const bool missing = reading && !std::filesystem::exists(path, ec);
    PyErr_SetString(missing ? PyExc_FileNotFoundError : PyExc_OSError, e.what());
    throw py::error_already_set();
  }
}

// A NumPy (rows, cols) array as our column-major (cols, rows) matrix, or back: same bytes.
Matrix<double> from_numpy(const py::array_t<double, py::array::c_style | py::array::forcecast>& a) {
  if (a.ndim() != 2) throw Error("parameters must be 2-D arrays");
  return Eigen::Map<const Matrix<double>>(a.data(), a.shape(1), a.shape(0));
}

py::array_t<double> to_numpy(const Matrix<double>& m) {
  py::array_t<double> a({m.cols(), m.rows()});
  std::copy(m.data(), m.data() + m.size(), a.mutable_data());
  return a;
}

template <typename V>
py::array_t<V> to_array(const std::vector<V>& values, std::vector<py::ssize_t> shape) {
  py::array_t<V> a(shape);
  std::copy(values.begin(), values.end(), a.mutable_data());
  return a;
}

}  // namespace

PYBIND11_MODULE(_backprop, m) {
  m.doc() = "The backprop library (hand-derived gradients) for Python: see backprop/__init__.py";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  py::class_<OptimizerConfig>(m, "OptimizerConfig")
      .def(py::init([](const std::string& name, double momentum, double beta1, double beta2, double eps,
                       double weight_decay) {
             OptimizerConfig c;
             c.name = name, c.momentum = momentum, c.beta1 = beta1, c.beta2 = beta2, c.eps = eps;
             c.weight_decay = weight_decay;
             return c;
           }),
           py::arg("name") = "sgd", py::arg("momentum") = 0.9, py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
           py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0);

  py::class_<Schedule>(m, "Schedule")
      .def(py::init([](const std::string& kind, double lr, long long steps_per_epoch, long long total_steps,
                       long long warmup_steps, int step_epochs, double gamma) {
             Schedule s;
             s.kind = kind, s.lr = lr, s.steps_per_epoch = steps_per_epoch, s.total_steps = total_steps;
             s.warmup_steps = warmup_steps, s.step_epochs = step_epochs, s.gamma = gamma;
             return s;
           }),
           py::arg("kind") = "constant", py::arg("lr") = 0.01, py::arg("steps_per_epoch") = 1,
           py::arg("total_steps") = 1, py::arg("warmup_steps") = 0, py::arg("step_epochs") = 10,
           py::arg("gamma") = 0.1)
      .def("at", &Schedule::at);

  py::class_<ModelBase>(m, "Core")
      .def(py::init([](const std::vector<int>& sizes, const std::vector<std::string>& activations,
                       const std::vector<double>& dropout, const std::string& head, const std::string& init,
                       const std::string& dtype, std::uint64_t seed) {
             NetworkSpec spec;
             spec.sizes = sizes;
             spec.activations.clear();
             for (const auto& a : activations) spec.activations.push_back(activation_from_name(a));
             spec.dropout = dropout;
             spec.head = head_from_name(head);
             if (sizes.size() < 2) throw Error("sizes: need at least an input and an output size");
             spec.validate(sizes.front(), sizes.back());
             return python::make_model(spec, dtype, init_scheme_from_name(init), seed);
           }),
           py::arg("sizes"), py::arg("activations"), py::arg("dropout"), py::arg("head"), py::arg("init"),
           py::arg("dtype"), py::arg("seed"))
      .def_property_readonly("sizes", [](const ModelBase& self) { return self.spec().sizes; })
      .def_property_readonly("activations",
                             [](const ModelBase& self) {
                               std::vector<std::string> names;
                               for (auto a : self.spec().activations) names.push_back(activation_name(a));
                               return names;
                             })
      .def_property_readonly("dropout", [](const ModelBase& self) { return self.spec().dropout; })
      .def_property_readonly("head", [](const ModelBase& self) { return std::string(head_name(self.spec().head)); })
      .def_property_readonly("dtype", [](const ModelBase& self) { return self.is_double() ? "f64" : "f32"; })
      .def_property_readonly("describe", [](const ModelBase& self) { return self.spec().describe(); })
      .def_property_readonly("global_step", &ModelBase::global_step)
      .def("params", [](py::object self) { return self.cast<ModelBase&>().params(self); })
      .def("params_f64",
           [](const ModelBase& self) {
             py::list out;
             for (const auto& p : self.params_f64()) out.append(to_numpy(p));
             return out;
           })
      .def("set_params_f64",
           [](ModelBase& self, const std::vector<py::array_t<double, py::array::c_style | py::array::forcecast>>& arrays) {
             std::vector<Matrix<double>> values;
             for (const auto& a : arrays) values.push_back(from_numpy(a));
             self.set_params_f64(values);
           })
      .def("forward", &ModelBase::forward, py::arg("X"), py::arg("cache") = false)
      .def("predict_f64", &ModelBase::predict_f64)
      .def("gradients", &ModelBase::gradients)
      .def("step", &ModelBase::step)
      .def("set_optimizer", &ModelBase::set_optimizer)
      .def("set_schedule", &ModelBase::set_schedule)
      .def("set_sparse_input", &ModelBase::set_sparse_input)
      .def("epoch",
           [](ModelBase& self, py::array X, py::array y, std::size_t batch, bool shuffle, bool sum_reduction,
              bool checked) {
             const auto r = self.epoch(X, y, batch, shuffle, sum_reduction, checked);
             return py::make_tuple(r.loss, r.batch_loss, r.steps, r.weight_norm2);
           },
           py::arg("X"), py::arg("y"), py::arg("batch_size"), py::arg("shuffle") = true,
           py::arg("sum_reduction") = false, py::arg("checked") = false)
      .def("evaluate", &ModelBase::evaluate, py::arg("X"), py::arg("y"), py::arg("batch_size") = 1000)
      // save(path, classes, scaling, mean, deviation, target_mean, target_deviation): the DATA
      // section says how the CLI turns its files' values into this network's inputs.
      .def("save",
           [](const ModelBase& self, const std::string& path, const std::vector<std::string>& classes,
              const std::string& scaling, const std::vector<float>& mean, const std::vector<float>& deviation,
              const std::vector<double>& target_mean, const std::vector<double>& target_deviation) {
             DataSchema data;
             data.features = static_cast<std::size_t>(self.spec().sizes.front());
             if (data.features == 784) data.rows = data.cols = 28;  // an MNIST-shaped input: an image
             data.classes = classes;
             data.scaling.kind = scale_kind_from_name(scaling);
             data.scaling.mean = mean, data.scaling.deviation = deviation;
             data.target_mean = target_mean, data.target_deviation = target_deviation;
             file_operation(path, false, [&] {
               self.save(path, data);
               return 0;
             });
           },
           py::arg("path"), py::arg("classes") = std::vector<std::string>{}, py::arg("scaling") = "none",
           py::arg("mean") = std::vector<float>{}, py::arg("deviation") = std::vector<float>{},
           py::arg("target_mean") = std::vector<double>{}, py::arg("target_deviation") = std::vector<double>{});

  // (core, schema dict) of a model file: classes, scaling, mean, deviation, target_mean, target_deviation.
  m.def("load_core",
        [](const std::string& path, const std::string& dtype) {
          DataSchema data;
          auto core = file_operation(path, true, [&] { return python::load_model(path, dtype, &data); });
          py::dict schema;
          schema["classes"] = data.classes;
          schema["scaling"] = std::string(scale_kind_name(data.scaling.kind));
          schema["mean"] = data.scaling.mean;
          schema["deviation"] = data.scaling.deviation;
          schema["target_mean"] = data.target_mean;
          schema["target_deviation"] = data.target_deviation;
          return py::make_tuple(std::move(core), schema);
        },
        py::arg("path"), py::arg("dtype") = "");

  // 0: every core, or OMP_NUM_THREADS when the environment sets it (as OpenMP reads it at start).
  static const int default_threads = std::getenv("OMP_NUM_THREADS")
      ? omp_get_max_threads() : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  m.def("set_threads", [](int threads) {
    // The CLI's cap (apps/common.cpp, issue 18): 100,000 threads crashed libgomp.
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (threads < 0 || threads > 4 * cores)
      throw Error("threads must be between 0 (every core) and " + std::to_string(4 * cores) + " (4 x the " +
                  std::to_string(cores) + " cores), not " + std::to_string(threads));
    if (threads == 0) threads = default_threads;
    omp_set_num_threads(threads);
    Eigen::setNbThreads(threads);
    return threads;
  });

  // MNIST as the CLI has it (fetched into dir when missing): uint8 images (N, 784), labels (N,).
  m.def("mnist", [](const std::string& dir) {
    std::ostringstream log;
    const Mnist data = file_operation(dir, true, [&] {
      if (!mnist_present(dir)) fetch_mnist(dir, log);
      return load_mnist(dir);
    });
    py::dict out;
    const auto n = [](const Dataset& d) { return py::ssize_t(d.count); };
    const auto f = [](const Dataset& d) { return py::ssize_t(d.features); };
    out["train_images"] = to_array(data.train.bytes, {n(data.train), f(data.train)});
    out["train_labels"] = to_array(data.train.labels, {n(data.train)});  // class indices: digits 0..9
    out["test_images"] = to_array(data.test.bytes, {n(data.test), f(data.test)});
    out["test_labels"] = to_array(data.test.labels, {n(data.test)});
    return out;
  });
}
