// Model<T>: the library's network, optimizer and schedule behind backprop.Network.
//
// Every pass follows the trainer's step (train/trainer.cpp): gather a batch of examples as
// columns, forward, mean loss, backward, optimizer step. The GIL is released while the
// numbers are computed; an epoch takes it back briefly every 50 ms to ask Python whether a
// signal (Ctrl-C) arrived, and stops between two steps when one did.
#include "model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "backprop/error.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/subnormals.hpp"

namespace backprop::python {

namespace {

template <typename T>
using Rows = py::array_t<T, py::array::c_style | py::array::forcecast>;

std::string shape_text(const py::array& a) {
  std::string text = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) text += (i ? ", " : "") + std::to_string(a.shape(i));
  return text + (a.ndim() == 1 ? ",)" : ")");
}

// X as (N, features) C-order T: the caller's own memory when it already is that, else one copy.
// Its values are checked to be finite unless the caller has (the estimator's _validate_data
// does, once per fit, where this would scan the whole of X again every epoch).
template <typename T>
Rows<T> features(py::array X, int width, bool check_finite = true) {
  auto rows = Rows<T>::ensure(X);
  if (!rows) throw py::error_already_set();
  if (rows.ndim() != 2)
    throw Error("X must be 2-D (examples, features), got shape " + shape_text(rows));
  if (rows.shape(1) != width)
    throw Error("X has " + std::to_string(rows.shape(1)) + " features per row, the network takes " +
                std::to_string(width));
  const T* data = rows.data();
  const std::size_t n = static_cast<std::size_t>(rows.size());
  if (!check_finite || Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(data, Eigen::Index(n)).allFinite()) return rows;
  for (std::size_t i = 0; i < n; ++i)  // find the first bad entry, to name it
    if (!std::isfinite(static_cast<double>(data[i])))
      throw Error("X holds " + std::to_string(double(data[i])) + " at row " + std::to_string(i / width) +
                  ", column " + std::to_string(i % width) + " (NaN and infinity cannot be learned from)");
  return rows;
}

std::string int_text(double v) { return std::to_string(static_cast<long long>(v)); }

}  // namespace

template <typename T>
class Model final : public ModelBase {
 public:
  Model(const NetworkSpec& spec, std::uint64_t seed) : rng_(seed), net_(spec, &rng_) {
    set_optimizer(OptimizerConfig{});
  }

  Network<T>& network() { return net_; }
  std::mt19937_64& rng() { return rng_; }

  bool is_double() const override { return std::is_same_v<T, double>; }
  const NetworkSpec& spec() const override { return net_.spec(); }

  py::dict params(py::handle owner) override {
    py::dict result;
    for (const auto& p : net_.params()) {
      Matrix<T>& m = *p.value;  // (n_out, n_in) column-major = (n_in, n_out) row-major
      const auto rows = static_cast<py::ssize_t>(m.cols()), cols = static_cast<py::ssize_t>(m.rows());
      result[py::str(p.name())] = py::array_t<T>({rows, cols}, {cols * py::ssize_t(sizeof(T)), py::ssize_t(sizeof(T))},
                                                 m.data(), owner);
    }
    return result;
  }

  std::vector<Matrix<double>> params_f64() const override {
    std::vector<Matrix<double>> result;
    for (const auto& p : net_.params()) result.push_back(p.value->template cast<double>());
    return result;
  }

  void set_params_f64(const std::vector<Matrix<double>>& values) override {
    const auto& params = net_.params();
    if (values.size() != params.size()) throw Error("expected " + std::to_string(params.size()) + " parameter arrays");
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (values[i].rows() != params[i].value->rows() || values[i].cols() != params[i].value->cols())
        throw Error("parameter " + params[i].name() + " has the wrong shape");
      *params[i].value = values[i].template cast<T>();  // same size: the storage (and any view) stays
    }
  }

  py::object forward(py::array X_in, bool cache) override {
    const auto X = features<T>(X_in, spec().sizes.front());
    const std::size_t n = static_cast<std::size_t>(X.shape(0));
    py::array_t<T> scores({py::ssize_t(n), py::ssize_t(spec().sizes.back())});
    py::dict cached;
    {
      py::gil_scoped_release release;
      columns(X.data(), n, x_);
      const Matrix<T>& y_hat = net_.predict(x_);
      std::copy(y_hat.data(), y_hat.data() + y_hat.size(), scores.mutable_data());
    }
    if (!cache) return std::move(scores);
    // z1, h1, z2, ...: Dense layer l's output is z_l, the activation (or dropout) after it h_l.
    const auto& layers = net_.layers();
    int l = 0;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const bool dense = dynamic_cast<const Dense<T>*>(layers[i].get()) != nullptr;
      if (dense) ++l;
      const Matrix<T>& out = net_.layer_output(i);
      py::array_t<T> copy({out.cols(), out.rows()});
      std::copy(out.data(), out.data() + out.size(), copy.mutable_data());
      cached[py::str((dense ? "z" : "h") + std::to_string(l))] = copy;
    }
    cached["y_hat"] = scores;
    return py::make_tuple(scores, cached);
  }

  py::array predict_f64(py::array X_in) override {
    const auto X = features<T>(X_in, spec().sizes.front());
    const std::size_t n = static_cast<std::size_t>(X.shape(0));
    const int K = spec().sizes.back();
    py::array_t<double> scores({py::ssize_t(n), py::ssize_t(K)});
    double* out = scores.mutable_data();
    {
      py::gil_scoped_release release;
      std::mt19937_64 unused;
      NetworkSpec plain = spec();
      plain.dropout.clear();
      Network<double> net(plain, &unused);
      const auto& from = net_.params();
      for (std::size_t i = 0; i < from.size(); ++i) *net.params()[i].value = from[i].value->template cast<double>();
      Matrix<double> x;
      constexpr std::size_t kBatch = 1024;
      for (std::size_t start = 0; start < n; start += kBatch) {
        const std::size_t count = std::min(kBatch, n - start);
        const Eigen::Map<const Matrix<T>> rows(X.data() + start * X.shape(1), X.shape(1), Eigen::Index(count));
        x = rows.template cast<double>();
        const Matrix<double>& y = net.predict(x);
        std::copy(y.data(), y.data() + y.size(), out + start * K);
      }
    }
    return std::move(scores);
  }

  py::dict gradients(py::array X_in, py::array y_in) override {
    const auto X = features<T>(X_in, spec().sizes.front());
    Targets targets = read_targets(y_in, X.shape(0));
    double loss = 0;
    {
      py::gil_scoped_release release;
      columns(X.data(), targets.count, x_);
      net_.forward(x_, false);  // no dropout: the gradient of the deterministic loss, as `backprop grads`
      loss = static_cast<double>(loss_and_backward(targets, identity(targets.count), targets.count, nullptr));
    }
    py::dict result;
    for (const auto& p : net_.params()) {
      const Matrix<T>& g = *p.grad;
      py::array_t<T> copy({g.cols(), g.rows()});
      std::copy(g.data(), g.data() + g.size(), copy.mutable_data());
      result[py::str("d" + p.name())] = copy;
    }
    result["loss"] = loss;
    return result;
  }

  double step(py::array X_in, py::array y_in, double lr) override {
    if (!(lr > 0) || !std::isfinite(lr)) throw Error("lr must be a positive number, got " + std::to_string(lr));
    const auto X = features<T>(X_in, spec().sizes.front());
    Targets targets = read_targets(y_in, X.shape(0));
    py::gil_scoped_release release;
    columns(X.data(), targets.count, x_);
    net_.forward(x_, true);
    return static_cast<double>(loss_and_backward(targets, identity(targets.count), targets.count, &*plain_sgd_, T(lr)));
  }

  void set_optimizer(const OptimizerConfig& config) override {
    config.validate();
    optimizer_config_ = config;
    optimizer_ = make_optimizer<T>(config);
  }

  void set_schedule(const Schedule& schedule) override {
    schedule.validate();
    schedule_ = schedule;
  }

  long long global_step() const override { return global_step_; }
  void set_sparse_input(bool on) override { net_.set_sparse_input(on); }

  EpochResult epoch(py::array X_in, py::array y_in, std::size_t batch, bool shuffle, bool sum_reduction,
                    bool checked) override {
    if (batch == 0) throw Error("batch_size must be positive");
    const auto X = features<T>(X_in, spec().sizes.front(), !checked);
    Targets targets = read_targets(y_in, X.shape(0));
    const std::size_t n = targets.count;
    EpochResult result;
    bool interrupted = false;
    {
      py::gil_scoped_release release;
      const FlushSubnormals flush;  // as the trainer's epoch (subnormals.hpp); Python's mode is restored
      using Clock = std::chrono::steady_clock;
      auto last_check = Clock::now();
      if (order_.size() != n) {  // each epoch shuffles the last one's order, as the trainer does
        order_.resize(n);
        std::iota(order_.begin(), order_.end(), 0);
      }
      if (shuffle)  // Fisher-Yates with the network's generator, as the trainer shuffles
        for (std::size_t i = n; i > 1; --i) std::swap(order_[i - 1], order_[rng_() % i]);
      double weighted = 0;
      for (std::size_t start = 0; start < n && !interrupted; start += batch) {
        const std::size_t count = std::min(batch, n - start);
        const double loss = train_step(X.data(), targets, order_.data() + start, count, sum_reduction);
        if (!std::isfinite(loss))
          throw Error("training diverged at step " + std::to_string(global_step_) + ": the loss is " +
                      std::to_string(loss) + " (try a lower learning_rate_init)");
        weighted += loss * double(count);
        result.batch_loss += loss;
        ++result.steps;
        if (Clock::now() - last_check > std::chrono::milliseconds(50)) {
          last_check = Clock::now();
          py::gil_scoped_acquire acquire;
          interrupted = PyErr_CheckSignals() != 0;  // KeyboardInterrupt is now pending
        }
      }
      result.loss = n ? weighted / double(n) : 0;
      result.batch_loss = result.steps ? result.batch_loss / double(result.steps) : 0;
      // For the estimator's L2 term (scikit-learn adds alpha/2 ||W||^2 to each loss): here,
      // rather than a dict of arrays and a dot product each in Python, every epoch.
      for (const auto* dense : net_.dense_layers()) result.weight_norm2 += dense->W.template cast<double>().squaredNorm();
    }
    if (interrupted) throw py::error_already_set();  // after a whole step: the model stays usable
    return result;
  }

  py::tuple evaluate(py::array X_in, py::array y_in, std::size_t batch) override {
    if (spec().head != HeadKind::softmax_cross_entropy) throw Error("evaluate needs a softmax network");
    const auto X = features<T>(X_in, spec().sizes.front());
    Targets targets = read_targets(y_in, X.shape(0));
    const std::size_t n = targets.count;
    double loss_sum = 0;
    long correct = 0;
    {
      py::gil_scoped_release release;
      Vector<T> losses;
      for (std::size_t start = 0; start < n; start += batch) {  // as evaluate() in train/trainer.cpp
        const std::size_t count = std::min(batch, n - start);
        columns(X.data() + start * X.shape(1), count, x_);
        const Matrix<T>& logits = net_.forward(x_, false);
        const std::int32_t* labels = targets.labels.data() + start;
        net_.head().losses(logits, labels, losses);
        loss_sum += static_cast<double>(losses.sum());
        for (std::size_t j = 0; j < count; ++j) {
          Eigen::Index predicted = 0;
          logits.col(Eigen::Index(j)).maxCoeff(&predicted);
          correct += predicted == labels[j];
        }
      }
    }
    return py::make_tuple(n ? double(correct) / double(n) : 0.0, n ? loss_sum / double(n) : 0.0);
  }

  void save(const std::string& path, const DataSchema& data) const override { save_model(path, net_, &data); }

 private:
  // Class indices (softmax) or real targets (mse), checked against the network.
  struct Targets {
    std::size_t count = 0;
    std::vector<std::int32_t> labels;  // softmax: one per example, below the class count
    Rows<T> values;                    // mse: (N, outputs)
  };

  Targets read_targets(py::array y, py::ssize_t n) {
    Targets t;
    t.count = static_cast<std::size_t>(n);
    const int K = spec().sizes.back();
    if (spec().head == HeadKind::softmax_cross_entropy) {
      auto labels = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(y);
      if (!labels) throw py::error_already_set();
      if (labels.ndim() != 1)
        throw Error("y must be 1-D class indices, got shape " + shape_text(labels));
      if (labels.shape(0) != n)
        throw Error("X has " + std::to_string(n) + " rows but y has " + std::to_string(labels.shape(0)));
      t.labels.resize(t.count);
      for (std::size_t i = 0; i < t.count; ++i) {
        const double v = labels.data()[i];
        if (!(v >= 0 && v < K) || v != std::floor(v))
          throw Error("y[" + std::to_string(i) + "] is " + (std::isfinite(v) ? int_text(v) : std::to_string(v)) +
                      ", not a class index in 0.." + std::to_string(K - 1));
        t.labels[i] = static_cast<std::int32_t>(v);
      }
      return t;
    }
    auto values = Rows<T>::ensure(y);
    if (!values) throw py::error_already_set();
    if (values.ndim() == 1 && K == 1) values = values.reshape({n, py::ssize_t(1)});
    if (values.ndim() != 2 || values.shape(0) != n || values.shape(1) != K)
      throw Error("y must have shape (" + std::to_string(n) + ", " + std::to_string(K) + "), got " +
                  shape_text(values));
    for (py::ssize_t i = 0; i < values.size(); ++i)
      if (!std::isfinite(static_cast<double>(values.data()[i]))) throw Error("y holds NaN or infinity");
    t.values = values;
    return t;
  }

  const std::size_t* identity(std::size_t count) {
    if (identity_.size() < count) {
      identity_.resize(count);
      std::iota(identity_.begin(), identity_.end(), 0);
    }
    return identity_.data();
  }

  // Rows [0, count) of X (C order) as the columns of x: one block copy.
  void columns(const T* X, std::size_t count, Matrix<T>& x) const {
    const Eigen::Index width = spec().sizes.front();
    x = Eigen::Map<const Matrix<T>>(X, width, Eigen::Index(count));
  }

  // The batch's loss; backward from it: with an optimizer, its fused step at lr (weight
  // gradients times weight_scale) instead of gradients (Network::backward_fused).
  // targets are picked by index: example j of the batch is targets[which[j]].
  T loss_and_backward(const Targets& targets, const std::size_t* which, std::size_t count,
                      Optimizer<T>* optimizer = nullptr, T lr = 0, T weight_scale = 1) {
    const Matrix<T>& logits = net_.layer_output(net_.layers().size() - 1);
    const Matrix<T>* d_logits = nullptr;  // the head's
    T loss;
    if (spec().head == HeadKind::softmax_cross_entropy) {
      batch_labels_.resize(count);
      for (std::size_t j = 0; j < count; ++j) batch_labels_[j] = targets.labels[which[j]];
      loss = net_.loss(batch_labels_.data());
    } else {
      // mse on real targets: L = (1/B) sum_b 1/2 ||z_b - y_b||^2, dz = (z - y) / B (as loss.hpp).
      const Eigen::Index K = logits.rows();
      dz_.resize(K, Eigen::Index(count));
      const T* y = targets.values.data();
      for (std::size_t j = 0; j < count; ++j)
        for (Eigen::Index k = 0; k < K; ++k) dz_(k, Eigen::Index(j)) = logits(k, Eigen::Index(j)) - y[which[j] * K + k];
      loss = T(0.5) * dz_.squaredNorm() / T(count);
      dz_ /= T(count);
      d_logits = &dz_;
    }
    if (optimizer)
      net_.backward_fused(*optimizer, lr, weight_scale, 0, d_logits);
    else
      net_.backward(d_logits);
    return loss;
  }

  // One optimisation step on examples which[0 .. count) (trainer.cpp's Trainer::step).
  double train_step(const T* X, const Targets& targets, const std::size_t* which, std::size_t count,
                    bool sum_reduction) {
    const Eigen::Index width = spec().sizes.front();
    x_.resize(width, Eigen::Index(count));
    constexpr std::size_t kAhead = 4;  // shuffled rows are scattered over X: fetch ahead (as gather_batch)
    for (std::size_t j = 0; j < count; ++j) {
      if (j + kAhead < count)
        for (Eigen::Index at = 0; at < width; at += 64 / Eigen::Index(sizeof(T)))
          __builtin_prefetch(X + which[j + kAhead] * width + at);
      std::copy(X + which[j] * width, X + (which[j] + 1) * width, x_.col(Eigen::Index(j)).data());
    }
    net_.forward(x_, true);
    const T lr = T(schedule_.at(global_step_));
    // The seed's code sums the weight gradients over the batch.
    const T loss = loss_and_backward(targets, which, count, &*optimizer_, lr, sum_reduction ? T(count) : T(1));
    ++global_step_;
    return static_cast<double>(loss);
  }

  std::mt19937_64 rng_;  // before net_: its dropout layers hold a pointer to it
  Network<T> net_;
  OptimizerConfig optimizer_config_;
  std::unique_ptr<Optimizer<T>> optimizer_;
  std::unique_ptr<Optimizer<T>> plain_sgd_ = make_optimizer<T>(OptimizerConfig{});  // step()'s
  Schedule schedule_;
  long long global_step_ = 0;
  Matrix<T> x_, dz_;
  std::vector<std::int32_t> batch_labels_;
  std::vector<std::size_t> order_, identity_;
};

std::unique_ptr<ModelBase> make_model(const NetworkSpec& spec, const std::string& dtype, InitScheme init,
                                      std::uint64_t seed) {
  if (dtype != "f32" && dtype != "f64") throw Error("dtype must be 'f32' or 'f64', got '" + dtype + "'");
  if (dtype == "f64") {
    auto model = std::make_unique<Model<double>>(spec, seed);
    initialize(model->network(), init, model->rng());
    return model;
  }
  auto model = std::make_unique<Model<float>>(spec, seed);
  initialize(model->network(), init, model->rng());
  return model;
}

std::unique_ptr<ModelBase> load_model(const std::string& path, const std::string& dtype, DataSchema* data) {
  const ModelFile file = read_model(path);
  const std::string chosen = dtype.empty() ? (file.is_double ? "f64" : "f32") : dtype;
  auto model = make_model(file.spec, chosen, InitScheme::xavier_normal, 0);
  model->set_params_f64(file.params);
  if (data) *data = file.data;
  return model;
}

}  // namespace backprop::python
