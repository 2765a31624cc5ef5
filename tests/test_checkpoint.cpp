// Exact resume at the library level: a run stopped at any step boundary (or checkpointed at an
// epoch boundary), written to a checkpoint file, read back into a fresh network, trainer and
// generator, and continued, ends with the same parameters and the same per-epoch metrics, bit
// for bit, as the run left alone. Every optimizer, dropout, early stopping, warm-up + cosine,
// both dtypes. Plus the checks restore makes on a state that does not fit.
#include <gtest/gtest.h>

#include <filesystem>

#include "backprop/io/checkpoint.hpp"
#include "backprop/error.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/train/trainer.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace backprop;

namespace {

Dataset synthetic(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  Dataset d;
  d.count = count;
  d.features = 20;
  for (std::size_t i = 0; i < count * d.features; ++i) d.bytes.push_back(static_cast<std::uint8_t>(rng()));
  for (std::size_t i = 0; i < count; ++i) d.labels.push_back(static_cast<std::uint8_t>(rng() % 10));
  return d;
}

struct Scenario {
  const char* name;
  const char* optimizer;
  bool dropout = false, early_stop = false, cosine = false, f64 = false;
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

struct RunSetup {
  TrainConfig config;
  NetworkSpec spec;
  Dataset train = synthetic(300, 1), validation = synthetic(60, 2), test = synthetic(60, 3);
};

RunSetup make_run(const Scenario& s) {
  RunSetup r;
  r.spec.sizes = {20, 12, 8, 10};
  r.spec.activations = {Activation::tanh, Activation::relu};
  if (s.dropout) r.spec.dropout = {0.3};
  r.spec.validate(20, 10);
  r.config.epochs = 5;
  r.config.batch_size = 32;  // 10 steps per epoch, the last one short
  r.config.optimizer.name = s.optimizer;
  r.config.optimizer.weight_decay = s.optimizer == std::string("adamw") ? 0.01 : 0.0;
  r.config.schedule.lr = 0.05;
  r.config.schedule.steps_per_epoch = 10;
  r.config.schedule.total_steps = 50;
  if (s.cosine) {
    r.config.schedule.kind = "cosine";
    r.config.schedule.warmup_steps = 7;
  }
  if (s.early_stop) r.config.early_stop = 1;
  return r;
}

template <typename T>
struct Outcome {
  std::vector<Matrix<T>> params;
  std::vector<EpochMetrics> history;
};

template <typename T>
Outcome<T> outcome(const Network<T>& network, std::vector<EpochMetrics> history) {
  Outcome<T> o{{}, std::move(history)};
  for (const auto& p : network.params()) o.params.push_back(*p.value);
  return o;
}

// The uninterrupted run.
template <typename T>
Outcome<T> straight(const RunSetup& r) {
  std::mt19937_64 rng(42);
  Network<T> network(r.spec, &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  Trainer<T> trainer(network, r.config, rng);
  auto history = trainer.fit(r.train, &r.validation, &r.test);
  return outcome(network, std::move(history));
}

// Stops after `stop_step` steps (mid-epoch unless it is a multiple of 10), writes a checkpoint,
// reads it into fresh objects built from a different seed, and finishes the run.
template <typename T>
Outcome<T> interrupted(const RunSetup& r, long long stop_step, const std::string& file, bool* stopped) {
  {
    std::mt19937_64 rng(42);
    Network<T> network(r.spec, &rng);
    initialize(network, InitScheme::xavier_normal, rng);
    Trainer<T> trainer(network, r.config, rng);
    std::atomic<bool> stop{stop_step == 0};  // 0: stopped before the first step
    trainer.set_stop_flag(&stop);
    trainer.fit(r.train, &r.validation, &r.test, {}, [&](std::size_t, std::size_t, double) {
      if (trainer.global_step() == stop_step) stop = true;
    });
    *stopped = trainer.interrupted();
    if (!*stopped) return outcome(network, trainer.state().history);  // early stopping ended it first
    save_checkpoint(file, network, trainer.state(), "{\"test\": true}");
  }
  const Checkpoint checkpoint = read_checkpoint(file);
  EXPECT_EQ(checkpoint.run_config, "{\"test\": true}");
  EXPECT_EQ(checkpoint.trainer.global_step, stop_step);
  std::mt19937_64 rng(7);  // deliberately different: everything must come from the checkpoint
  Network<T> network(checkpoint.model.spec, &rng);
  initialize(network, InitScheme::he_uniform, rng);
  load_params(checkpoint.model, network);
  Trainer<T> trainer(network, r.config, rng);
  trainer.restore(checkpoint.trainer);
  auto history = trainer.fit(r.train, &r.validation, &r.test);
  return outcome(network, std::move(history));
}

void expect_same_eval(const std::optional<EvalResult>& a, const std::optional<EvalResult>& b) {
  ASSERT_EQ(a.has_value(), b.has_value());
  if (!a) return;
  EXPECT_EQ(a->accuracy, b->accuracy);
  EXPECT_EQ(a->loss, b->loss);
  EXPECT_EQ(a->count, b->count);
  EXPECT_EQ(a->confusion, b->confusion);
}

template <typename T>
void expect_identical(const Outcome<T>& a, const Outcome<T>& b) {
  ASSERT_EQ(a.params.size(), b.params.size());
  for (std::size_t i = 0; i < a.params.size(); ++i) EXPECT_TRUE(a.params[i] == b.params[i]) << "parameter " << i;
  ASSERT_EQ(a.history.size(), b.history.size());
  for (std::size_t e = 0; e < a.history.size(); ++e) {
    SCOPED_TRACE("epoch " + std::to_string(e));
    EXPECT_EQ(a.history[e].epoch, b.history[e].epoch);
    EXPECT_EQ(a.history[e].train_loss, b.history[e].train_loss);
    EXPECT_EQ(a.history[e].learning_rate, b.history[e].learning_rate);
    expect_same_eval(a.history[e].validation, b.history[e].validation);
    expect_same_eval(a.history[e].test, b.history[e].test);
  }
}

}  // namespace

class ExactResume : public ::testing::TestWithParam<Scenario> {
 protected:
  backprop::testing::TempDir tmp{"ckpt"};
  const fs::path dir = tmp.path;

  template <typename T>
  void check() {
    const RunSetup r = make_run(GetParam());
    const Outcome<T> reference = straight<T>(r);
    ASSERT_FALSE(reference.history.empty());
    for (long long stop : {0LL, 1LL, 10LL, 23LL, 39LL}) {  // before any step, the first, an epoch boundary,
                                                           // mid-epoch, the last of an epoch
      SCOPED_TRACE("stopped after step " + std::to_string(stop));
      bool stopped = false;
      expect_identical(reference, interrupted<T>(r, stop, (dir / "run.ckpt").string(), &stopped));
      if (stop <= 10 || !GetParam().early_stop) {
        EXPECT_TRUE(stopped);
      }
    }
  }
};

TEST_P(ExactResume, StoppedAtAnyStepAndResumedEqualsTheRunLeftAlone) {
  if (GetParam().f64)
    check<double>();
  else
    check<float>();
}

INSTANTIATE_TEST_SUITE_P(
    Scenarios, ExactResume,
    ::testing::Values(Scenario{"sgd", "sgd"}, Scenario{"momentum_dropout", "momentum", true},
                      Scenario{"nesterov_f64", "nesterov", false, false, false, true},
                      Scenario{"adam_cosine_warmup", "adam", false, false, true},
                      Scenario{"adamw_dropout_early_stop", "adamw", true, true},
                      Scenario{"adam_early_stop_f64", "adam", false, true, false, true}),
    [](const auto& info) { return std::string(info.param.name); });

// The SIGKILL case: the last checkpoint was taken at an epoch boundary (in on_epoch) and the
// process died later; the resumed run must still equal the straight one.
TEST(ExactResumeFromEpochCheckpoint, EqualsTheRunLeftAlone) {
  const RunSetup r = make_run({"adam_dropout", "adam", true});
  const Outcome<float> reference = straight<float>(r);
  const std::string file = (fs::temp_directory_path() / ("backprop-epoch-" + std::to_string(::getpid()))).string();
  {
    std::mt19937_64 rng(42);
    Network<float> network(r.spec, &rng);
    initialize(network, InitScheme::xavier_normal, rng);
    Trainer<float> trainer(network, r.config, rng);
    trainer.fit(r.train, &r.validation, &r.test, [&](const EpochMetrics& m) {
      if (m.epoch == 1) save_checkpoint(file, network, trainer.state(), "");
    });  // runs on to the end: what happened after the checkpoint is lost, as with SIGKILL
  }
  const Checkpoint checkpoint = read_checkpoint(file);
  fs::remove(file);
  EXPECT_EQ(checkpoint.trainer.epoch, 2);
  EXPECT_EQ(checkpoint.trainer.epoch_position, 0u);
  std::mt19937_64 rng(0);
  Network<float> network(checkpoint.model.spec, &rng);
  load_params(checkpoint.model, network);
  Trainer<float> trainer(network, r.config, rng);
  trainer.restore(checkpoint.trainer);
  expect_identical(reference, outcome(network, trainer.fit(r.train, &r.validation, &r.test)));
}

TEST(TrainerRestore, RefusesAStateThatDoesNotFit) {
  const RunSetup r = make_run({"adam", "adam"});
  std::mt19937_64 rng(1);
  Network<float> network(r.spec, &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  Trainer<float> adam(network, r.config, rng);
  adam.train_epoch(r.train);
  const TrainerState good = adam.state();
  ASSERT_EQ(good.optimizer_state.size(), 2 * network.params().size());

  TrainConfig momentum_config = r.config;
  momentum_config.optimizer.name = "momentum";
  Trainer<float> momentum(network, momentum_config, rng);
  EXPECT_THROW(momentum.restore(good), Error);  // 12 buffers where momentum keeps 6

  const auto refuses = [&](const std::function<void(TrainerState&)>& damage, const char* expected) {
    TrainerState s = good;
    damage(s);
    try {
      adam.restore(s);
      ADD_FAILURE() << "accepted: " << expected;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  refuses([](TrainerState& s) { s.optimizer_state[3] = Matrix<double>::Zero(2, 2); }, "optimizer buffer 3 is 2x2");
  refuses([](TrainerState& s) { s.order[0] = s.order[1]; }, "not a permutation");
  refuses([](TrainerState& s) { s.epoch_position = s.order.size() + 1; }, "past the");
  refuses([](TrainerState& s) { s.rng = "not numbers"; }, "generator's state is unreadable");
  refuses([](TrainerState& s) { s.best_params.resize(1); }, "best parameters");
  adam.restore(good);  // and the good one still goes in
}
