// Exact resume through the command line, on real MNIST: `backprop train` killed with SIGKILL
// after its first checkpoint (mid-run), then `backprop train --resume`, ends with the same
// model file, byte for byte, and the same per-epoch metrics (all but the timings) as the same
// command left alone. SIGINT and SIGTERM stop at the next step with a checkpoint, a message
// and exit status 128 + signal, and the resumed run is identical too.
#include <gtest/gtest.h>

#include <regex>

#include "backprop/io/checkpoint.hpp"
#include "backprop/data/fetch.hpp"
#include "cli_process.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using backprop::testing::CliProcess;
using backprop::testing::CliResult;
using backprop::testing::read_text;
using backprop::testing::run_cli;

namespace {

// Absolute, since the commands run in a temporary directory.
std::string data_dir() { return fs::absolute(backprop::resolve_data_dir("")).string(); }

class ResumeCli : public ::testing::Test {
 protected:
  backprop::testing::TempDir tmp{"resume"};
  const fs::path dir = tmp.path;
  void SetUp() override {
    if (!backprop::mnist_present(backprop::resolve_data_dir("")))
      GTEST_SKIP() << "MNIST not in " << backprop::resolve_data_dir("");
  }

  // A small run with everything that carries state: Adam, dropout, a validation split,
  // shuffling, warm-up. --threads 1 in both runs (the same count is what the promise needs).
  static std::vector<std::string> train(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"train", "--train-limit", "2500", "--val-split", "500", "--epochs", "4",
                                      "--hidden", "24", "--activation", "relu", "--optimizer", "adam", "--lr", "0.003",
                                      "--warmup", "20", "--dropout", "0.2", "--seed", "11", "--threads", "1", "--quiet",
                                      "--no-fetch", "--data", data_dir(), "--out", name + ".bpm", "--metrics", name + ".jsonl"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // The metrics lines without their wall-clock timings.
  std::string metrics(const std::string& name) const {
    static const std::regex timing(R"("(train|eval)_seconds":[-+.eE0-9]+,?)");
    return std::regex_replace(read_text(dir / (name + ".jsonl")), timing, "");
  }

  void expect_same_as_straight_run(const std::string& name) {
    const CliResult straight = run_cli(train("straight"), dir);
    ASSERT_EQ(straight.exit_code, 0) << straight.err;
    const std::string model = read_text(dir / (name + ".bpm"));
    ASSERT_FALSE(model.empty());
    EXPECT_TRUE(model == read_text(dir / "straight.bpm")) << "final parameters differ";
    const std::string lines = metrics(name);
    EXPECT_EQ(lines, metrics("straight"));
    EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 4) << lines;
  }
};

TEST_F(ResumeCli, KilledWithSigkillAfterItsFirstCheckpointThenResumedEqualsTheRunLeftAlone) {
  CliProcess run(train("resumed", {"--checkpoint", "run.ckpt", "--checkpoint-every", "1"}), dir);
  ASSERT_TRUE(backprop::testing::wait_for_file(run, dir / "run.ckpt")) << run.wait().err;
  run.signal(SIGKILL);
  const CliResult killed = run.wait();
  ASSERT_EQ(killed.signal, SIGKILL) << "the run ended before it could be killed: " << killed.out;
  EXPECT_FALSE(fs::exists(dir / "resumed.bpm"));  // it really was cut short
  const backprop::Checkpoint checkpoint = backprop::read_checkpoint((dir / "run.ckpt").string());
  EXPECT_EQ(checkpoint.trainer.epoch, 1);
  EXPECT_EQ(checkpoint.trainer.history.size(), 1u);

  const CliResult resumed = run_cli({"train", "--resume", "run.ckpt", "--no-fetch"}, dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("resuming run.ckpt at epoch 1"), std::string::npos) << resumed.out;
  expect_same_as_straight_run("resumed");
  // The checkpoint now holds the finished run.
  EXPECT_EQ(backprop::read_checkpoint((dir / "run.ckpt").string()).trainer.epoch, 4);
}

TEST_F(ResumeCli, SigintAndSigtermStopAtTheNextStepWithACheckpointAndResumeExactly) {
  for (int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sig == SIGINT ? "SIGINT" : "SIGTERM");
    for (const char* file : {"run.ckpt", "resumed.bpm", "resumed.jsonl"}) fs::remove(dir / file);
    CliProcess run(train("resumed", {"--checkpoint", "run.ckpt"}), dir);
    ASSERT_TRUE(backprop::testing::wait_for_file(run, dir / "run.ckpt")) << run.wait().err;
    run.signal(sig);
    const CliResult stopped = run.wait();
    ASSERT_EQ(stopped.exit_code, 128 + sig) << stopped.out << stopped.err;
    EXPECT_NE(stopped.err.find(std::string("interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM")),
              std::string::npos) << stopped.err;
    EXPECT_NE(stopped.err.find("backprop train --resume run.ckpt"), std::string::npos) << stopped.err;
    EXPECT_FALSE(fs::exists(dir / "resumed.bpm"));
    const CliResult resumed = run_cli({"train", "--resume", "run.ckpt", "--no-fetch"}, dir);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    expect_same_as_straight_run("resumed");
  }
}

TEST_F(ResumeCli, ResumeRefusesFlagsThatWouldChangeTheRun) {
  CliResult first = run_cli(train("short", {"--epochs", "1", "--train-limit", "800", "--checkpoint", "run.ckpt"}), dir);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const CliResult changed = run_cli({"train", "--resume", "run.ckpt", "--lr", "0.5"}, dir);
  EXPECT_EQ(changed.exit_code, 2);  // a usage error
  EXPECT_NE(changed.err.find("--lr cannot be given with --resume"), std::string::npos) << changed.err;
  // --epochs may extend a run whose schedule does not depend on its length.
  const CliResult extended = run_cli({"train", "--resume", "run.ckpt", "--epochs", "2", "--no-fetch"}, dir);
  EXPECT_EQ(extended.exit_code, 0) << extended.err;
  EXPECT_NE(extended.out.find("Epoch 1,"), std::string::npos) << extended.out;
  // A model file is not a checkpoint.
  const CliResult model = run_cli({"train", "--resume", "short.bpm"}, dir);
  EXPECT_EQ(model.exit_code, 1);
  EXPECT_NE(model.err.find("short.bpm: is a model, not a checkpoint"), std::string::npos) << model.err;
}

}  // namespace
