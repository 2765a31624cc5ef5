// Training that diverges: a NaN or infinity in the loss or in a parameter stops the run at
// once with an Error that says the epoch, the step, the tensor and what to try, and before
// anything (an evaluation, a checkpoint) uses the bad values, so the last good checkpoint
// stays as it was. Synthetic data, milliseconds. (The CLI side, exit codes and full disks:
// tests/fault_test.py.)
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "backprop/io/checkpoint.hpp"
#include "backprop/error.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/train/trainer.hpp"
#include "error_of.hpp"

namespace backprop {
namespace {

namespace fs = std::filesystem;


// 64 random 4-pixel examples in two classes.
Dataset toy_data() {
  Dataset data;
  data.count = 64;
  data.features = 4;
  std::mt19937_64 rng(3);
  for (std::size_t i = 0; i < data.count * data.features; ++i) data.bytes.push_back(std::uint8_t(rng() % 256));
  for (std::size_t i = 0; i < data.count; ++i) data.labels.push_back(std::uint8_t(i % 2));
  return data;
}

NetworkSpec toy_spec(Activation activation) {
  NetworkSpec spec;
  spec.sizes = {4, 3, 2};
  spec.activations = {activation};
  spec.validate(4, 2);
  return spec;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct TempFile {
  fs::path path = fs::temp_directory_path() / ("backprop-faults-" + std::to_string(::getpid()) + ".ckpt");
  ~TempFile() { fs::remove(path); }
};

TEST(TrainingFaults, ANanParameterStopsTheNextStepAndTheCheckpointStaysGood) {
  const Dataset data = toy_data();
  std::mt19937_64 rng(1);
  Network<float> network(toy_spec(Activation::sigmoid), &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  TrainConfig config;
  config.epochs = 3;
  config.batch_size = 16;
  config.schedule.lr = 0.1;
  Trainer<float> trainer(network, config, rng);
  TempFile checkpoint;
  std::string good;
  const auto on_epoch = [&](const EpochMetrics& m) {
    ASSERT_EQ(m.epoch, 0) << "training went on past the NaN";
    save_checkpoint(checkpoint.path.string(), network, trainer.state(), "{}");
    good = slurp(checkpoint.path);
    (*network.params()[3].value)(1, 0) = std::numeric_limits<float>::quiet_NaN();  // b2, as if diverged
  };
  std::string message;
  try {
    trainer.fit(data, nullptr, nullptr, on_epoch);
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_CONTAINS(message, "training diverged at epoch 1, step 4: the loss is ");  // nan or -nan
  EXPECT_CONTAINS(message, "nan; parameter b2 holds nan at (1, 0)");
  EXPECT_CONTAINS(message, "try a lower --lr");
  EXPECT_EQ(slurp(checkpoint.path), good);  // untouched, and good
  const Checkpoint read = read_checkpoint(checkpoint.path.string());
  for (const auto& p : read.model.params) EXPECT_TRUE(p.allFinite());
}

// The update of an epoch's last step is followed by no loss: the check at the end of the epoch
// catches it before the evaluation and the checkpoint. An enormous learning rate overflows
// float32 in the very first (and only) step of the epoch.
TEST(TrainingFaults, AnOverflowingLastUpdateIsCaughtBeforeTheEpochEnds) {
  const Dataset data = toy_data();
  std::mt19937_64 rng(1);
  Network<float> network(toy_spec(Activation::relu), &rng);
  initialize(network, InitScheme::he_normal, rng);
  TrainConfig config;
  config.epochs = 2;
  config.batch_size = 64;  // one step per epoch
  config.grad_reduction = GradReduction::sum;
  config.schedule.lr = 3e38;
  Trainer<float> trainer(network, config, rng);
  bool epoch_finished = false;
  std::string message;
  try {
    trainer.fit(data, &data, &data, [&](const EpochMetrics&) { epoch_finished = true; });
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_CONTAINS(message, "training diverged at epoch 0, step 0: parameter ");
  EXPECT_CONTAINS(message, "(try a lower --lr, or --clip-norm)");
  EXPECT_FALSE(epoch_finished);
}

TEST(TrainingFaults, AnInfiniteLossWithFiniteParametersSaysSo) {
  // Logits of 1e30 and -1e30 under an MSE head: the squares overflow float32.
  Dataset data = toy_data();
  NetworkSpec spec = toy_spec(Activation::relu);
  spec.head = HeadKind::mse;
  std::mt19937_64 rng(1);
  Network<float> network(spec, &rng);
  initialize(network, InitScheme::he_normal, rng);
  network.params()[3].value->setConstant(1e30f);  // b2
  TrainConfig config;
  config.epochs = 1;
  Trainer<float> trainer(network, config, rng);
  std::string message;
  try {
    trainer.fit(data, nullptr, nullptr);
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_CONTAINS(message, "training diverged at epoch 0, step 0: the loss is inf while every parameter is finite");
}

}  // namespace
}  // namespace backprop
