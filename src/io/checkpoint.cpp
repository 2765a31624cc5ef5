// Checkpoints (layout in docs/model-format.md): the model's ARCH and PARM sections, then
// TRNR (trainer), OPTM (optimizer), BEST (early stopping), HIST (metrics) and CONF (the
// command's configuration). Matrices are stored in the run's dtype, so float32 state
// survives the float -> double -> float trip exactly.
#include "backprop/io/checkpoint.hpp"

#include "backprop/error.hpp"
#include "io/model_container.hpp"

namespace backprop {

namespace {

using detail::ByteReader;
using detail::ByteWriter;

// kRegression: the epoch's evaluations are a regression's, each followed by f64 rmse, mae, r2.
constexpr std::uint32_t kHasValidation = 1, kHasTest = 2, kRegression = 4;

// Version 2: u32 K, then the K x K confusion; version 1 always had 10 x 10.
void put_eval(ByteWriter& out, const EvalResult& r) {
  out.f64(r.accuracy);
  out.f64(r.loss);
  out.u64(r.count);
  out.u32(static_cast<std::uint32_t>(r.confusion.size()));
  for (const auto& row : r.confusion)
    for (long n : row) out.u64(static_cast<std::uint64_t>(n));
  if (r.regression) out.f64(r.rmse), out.f64(r.mae), out.f64(r.r2);
}

EvalResult get_eval(ByteReader& in, std::uint32_t version, bool regression) {
  EvalResult r;
  r.accuracy = in.f64("metrics");
  r.loss = in.f64("metrics");
  r.count = in.u64("metrics");
  const std::uint64_t K = version >= 2 ? in.u32("class count") : 10;
  if (K * K > in.remaining() / 8) in.fail("malformed: a " + std::to_string(K) + "-class confusion matrix is longer than the data left");
  r.confusion.assign(K, std::vector<long>(K, 0));
  for (auto& row : r.confusion)
    for (long& n : row) n = static_cast<long>(in.u64("confusion matrix"));
  if (regression) {
    r.regression = true;
    r.rmse = in.f64("regression metrics");
    r.mae = in.f64("regression metrics");
    r.r2 = in.f64("regression metrics");
  }
  return r;
}

std::string history_payload(const std::vector<EpochMetrics>& history) {
  ByteWriter out;
  out.u32(static_cast<std::uint32_t>(history.size()));
  for (const auto& m : history) {
    out.u32(static_cast<std::uint32_t>(m.epoch));
    out.f64(m.train_loss);
    out.f64(m.learning_rate);
    out.f64(m.train_seconds);
    out.f64(m.eval_seconds);
    const bool regression = (m.test && m.test->regression) || (m.validation && m.validation->regression);
    out.u32((m.validation ? kHasValidation : 0) | (m.test ? kHasTest : 0) | (regression ? kRegression : 0));
    if (m.validation) put_eval(out, *m.validation);
    if (m.test) put_eval(out, *m.test);
  }
  return out.str();
}

std::vector<EpochMetrics> get_history(ByteReader& in, std::uint32_t version) {
  const std::uint32_t count = in.u32("epoch count");
  if (count > in.remaining() / 40) in.fail("malformed: epoch count " + std::to_string(count));
  std::vector<EpochMetrics> history(count);
  for (auto& m : history) {
    m.epoch = static_cast<int>(in.u32("epoch"));
    m.train_loss = in.f64("train loss");
    m.learning_rate = in.f64("learning rate");
    m.train_seconds = in.f64("timings");
    m.eval_seconds = in.f64("timings");
    const std::uint32_t flags = in.u32("flags");
    if (flags & ~(kHasValidation | kHasTest | kRegression)) in.fail("malformed: unknown metric flags");
    const bool regression = flags & kRegression;
    if (flags & kHasValidation) m.validation = get_eval(in, version, regression);
    if (flags & kHasTest) m.test = get_eval(in, version, regression);
  }
  return history;
}

}  // namespace

template <typename T>
void save_checkpoint(const std::string& path, const Network<T>& network, const TrainerState& s,
                     const std::string& run_config, const DataSchema* data) {
  ByteWriter trainer;
  trainer.u32(static_cast<std::uint32_t>(s.epoch));
  trainer.u64(static_cast<std::uint64_t>(s.global_step));
  trainer.u64(s.epoch_position);
  trainer.f64(s.epoch_loss_sum);
  trainer.u64(s.epoch_batches);
  trainer.text(s.rng);
  trainer.u64(s.order.size());
  for (std::size_t index : s.order) trainer.u64(index);

  ByteWriter optimizer;
  optimizer.u64(static_cast<std::uint64_t>(s.optimizer_steps));
  detail::put_matrices<T>(optimizer, s.optimizer_state);

  ByteWriter best;
  best.f64(s.best_loss);
  best.u32(static_cast<std::uint32_t>(s.epochs_without_improvement));
  best.u32(s.stopped_early ? 1 : 0);
  detail::put_matrices<T>(best, s.best_params);

  detail::write_container(path, ModelKind::checkpoint,
                          {{"ARCH", detail::arch_payload<T>(network.spec())},
                           {"PARM", detail::params_payload(network.params())},
                           {"DATA", detail::data_payload(data ? *data : legacy_schema(network.spec()), network.spec())},
                           {"TRNR", trainer.str()},
                           {"OPTM", optimizer.str()},
                           {"BEST", best.str()},
                           {"HIST", history_payload(s.history)},
                           {"CONF", run_config}});
}

Checkpoint read_checkpoint(const std::string& path) {
  const detail::Container c = detail::read_container(path);
  if (c.kind != ModelKind::checkpoint)
    throw file_error(path, "is a model, not a checkpoint (it has no training state to resume)");
  Checkpoint checkpoint;
  checkpoint.model = detail::parse_model(c);
  const std::uint32_t dtype = checkpoint.model.is_double ? 8 : 4;
  TrainerState& s = checkpoint.trainer;

  ByteReader trainer = c.reader(*c.find("TRNR", true));
  s.epoch = static_cast<int>(trainer.u32("epoch"));
  s.global_step = static_cast<long long>(trainer.u64("step"));
  s.epoch_position = trainer.u64("epoch position");
  s.epoch_loss_sum = trainer.f64("epoch loss");
  s.epoch_batches = trainer.u64("epoch batches");
  s.rng = trainer.text("generator state");
  const std::uint64_t order = trainer.u64("order length");
  if (order > trainer.remaining() / 8) trainer.fail("malformed: order length " + std::to_string(order));
  s.order.resize(order);
  for (auto& index : s.order) index = trainer.u64("order");
  trainer.expect_end();

  ByteReader optimizer = c.reader(*c.find("OPTM", true));
  s.optimizer_steps = static_cast<long long>(optimizer.u64("optimizer steps"));
  s.optimizer_state = detail::get_matrices(optimizer, dtype, "optimizer buffers");
  optimizer.expect_end();

  ByteReader best = c.reader(*c.find("BEST", true));
  s.best_loss = best.f64("best loss");
  s.epochs_without_improvement = static_cast<int>(best.u32("patience count"));
  s.stopped_early = best.u32("stopped flag") != 0;
  s.best_params = detail::get_matrices(best, dtype, "best parameters");
  best.expect_end();

  ByteReader history = c.reader(*c.find("HIST", true));
  s.history = get_history(history, c.version);
  history.expect_end();

  const detail::Section& config = *c.find("CONF", true);
  checkpoint.run_config = c.bytes.substr(config.begin, config.end - config.begin);
  return checkpoint;
}

template void save_checkpoint<float>(const std::string&, const Network<float>&, const TrainerState&,
                                     const std::string&, const DataSchema*);
template void save_checkpoint<double>(const std::string&, const Network<double>&, const TrainerState&,
                                      const std::string&, const DataSchema*);

}  // namespace backprop
