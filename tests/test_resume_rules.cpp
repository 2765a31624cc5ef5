// A checkpoint may be a file someone sent you (issue 18): `train --resume` writes only where its
// command line says or, for the names the checkpoint records, beside the checkpoint; it never
// reads a data directory the user did not name; and every number of the recorded
// configuration goes through the flags' own checks. The checkpoints here are edited with the
// library (so their CRCs are right), as an attacker would.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backprop/data/fetch.hpp"
#include "backprop/io/checkpoint.hpp"
#include "backprop/io/model_file.hpp"
#include "cli_process.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using backprop::testing::CliResult;
using backprop::testing::run_cli;

namespace {

class ResumeRules : public ::testing::Test {
 protected:
  backprop::testing::TempDir tmp{"resume-rules"};
  const fs::path dir = tmp.path;
  const std::string data = fs::absolute(backprop::resolve_data_dir("")).string();

  void SetUp() override {
    if (!backprop::mnist_present(data)) GTEST_SKIP() << "MNIST not in " << data;
    const CliResult first = run_cli({"train", "--train-limit", "300", "--epochs", "2", "--hidden", "8", "--threads", "1",
                                     "--quiet", "--no-fetch", "--data", data, "--out", "run.bpm", "--metrics",
                                     "run.jsonl", "--checkpoint", "run.ckpt", "--checkpoint-every", "1"},
                                    dir);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    // Back to the state after epoch 1 of 2, so that a resume has an epoch to run.
    const CliResult shorter = run_cli({"train", "--train-limit", "300", "--epochs", "1", "--hidden", "8", "--threads",
                                       "1", "--quiet", "--no-fetch", "--data", data, "--out", "run.bpm",
                                       "--metrics", "run.jsonl", "--checkpoint", "run.ckpt"},
                                      dir);
    ASSERT_EQ(shorter.exit_code, 0) << shorter.err;
  }

  // run.ckpt with its configuration changed by edit, written as `name` (CRCs recomputed).
  std::string edited(const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    const backprop::Checkpoint checkpoint = backprop::read_checkpoint((dir / "run.ckpt").string());
    nlohmann::json config = nlohmann::json::parse(checkpoint.run_config);
    edit(config);
    const auto network = backprop::make_inference_network<float>(checkpoint.model);
    backprop::save_checkpoint((dir / name).string(), network, checkpoint.trainer, config.dump(),
                              &checkpoint.model.data);
    return name;
  }
};

TEST_F(ResumeRules, StoredOutputsOutsideTheCheckpointsDirectoryAreRefused) {
  backprop::testing::TempDir victim{"resume-victim"};
  const std::string target = (victim.path / "owned.bpm").string();
  const std::string ck = edited("evil.ckpt", [&](nlohmann::json& c) { c["out"] = target; });
  const CliResult resumed = run_cli({"train", "--resume", ck, "--epochs", "2", "--no-fetch"}, dir);
  EXPECT_EQ(resumed.exit_code, 2) << resumed.err;
  EXPECT_NE(resumed.err.find("the run wrote out to " + target), std::string::npos) << resumed.err;
  EXPECT_NE(resumed.err.find("give --out FILE"), std::string::npos) << resumed.err;
  EXPECT_FALSE(fs::exists(target));
  for (const char* key : {"metrics", "save_npz"}) {
    const std::string other = edited(std::string(key) + ".ckpt", [&](nlohmann::json& c) { c[key] = "../escape"; });
    const CliResult r = run_cli({"train", "--resume", other, "--epochs", "2", "--no-fetch"}, dir);
    EXPECT_EQ(r.exit_code, 2) << key << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir.parent_path() / "escape")) << key;
  }
  // Named on the command line, the output goes there, and the run says where before training.
  const CliResult told = run_cli({"train", "--resume", ck, "--epochs", "2", "--no-fetch", "--out", "mine.bpm"}, dir);
  EXPECT_EQ(told.exit_code, 0) << told.err;
  EXPECT_TRUE(fs::exists(dir / "mine.bpm"));
  EXPECT_LT(told.out.find("the model to mine.bpm"), told.out.find("Epoch 1")) << told.out;
}

TEST_F(ResumeRules, PlainStoredNamesAreWrittenBesideTheCheckpoint) {
  fs::create_directory(dir / "sub");
  fs::copy_file(dir / "run.ckpt", dir / "sub" / "run.ckpt");
  fs::remove(dir / "run.bpm");
  const CliResult resumed = run_cli({"train", "--resume", "sub/run.ckpt", "--epochs", "2", "--no-fetch"}, dir);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(fs::exists(dir / "sub" / "run.bpm"));
  EXPECT_TRUE(fs::exists(dir / "sub" / "run.jsonl"));
  EXPECT_FALSE(fs::exists(dir / "run.bpm"));
  EXPECT_NE(resumed.out.find("the model to sub/run.bpm"), std::string::npos) << resumed.out;
}

TEST_F(ResumeRules, AStoredDataDirectoryIsNeverReadUnlessNamed) {
  backprop::testing::TempDir elsewhere{"resume-data"};
  const std::string ck = edited("data.ckpt", [&](nlohmann::json& c) { c["data"] = elsewhere.path.string(); });
  const CliResult resumed = run_cli({"train", "--resume", ck, "--epochs", "2", "--no-fetch"}, dir);
  EXPECT_EQ(resumed.exit_code, 2) << resumed.err;
  EXPECT_NE(resumed.err.find("add --data DIR"), std::string::npos) << resumed.err;
  const CliResult named = run_cli({"train", "--resume", ck, "--epochs", "2", "--no-fetch", "--data", data}, dir);
  EXPECT_EQ(named.exit_code, 0) << named.err;
}

TEST_F(ResumeRules, EveryNumberInTheConfigurationIsValidatedLikeItsFlag) {
  struct Case {
    const char* key;
    nlohmann::json value;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"batch", 0, "--batch must be between 1 and"},
      {"epochs", -3, "--epochs must be between 0 and"},
      {"lr", -1.0, "--lr must be a positive number"},
      {"clip_norm", -2.0, "--clip-norm must be a number of at least 0"},
      {"warmup", "200%", "'200%' is not below 100%"},
      {"grad_reduction", "max", "--grad-reduction must be mean or sum"},
      {"val_split", -1, "--val-split must be between 0 and"},
  };
  for (const auto& c : cases) {
    const std::string ck = edited(std::string(c.key) + ".ckpt", [&](nlohmann::json& j) { j[c.key] = c.value; });
    const CliResult r = run_cli({"train", "--resume", ck, "--no-fetch"}, dir);
    EXPECT_EQ(r.exit_code, 2) << c.key << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.key << ": " << r.err;
  }
  // Thread counts from a checkpoint are lowered to this machine's cap, not trusted.
  const std::string threads = edited("threads.ckpt", [](nlohmann::json& j) {
    j["threads"] = 100000;
    j["augment"]["threads"] = 100000;
  });
  const CliResult r = run_cli({"train", "--resume", threads, "--epochs", "2", "--no-fetch", "--out", "t.bpm"}, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("100000 threads"), std::string::npos) << r.out;
}

}  // namespace
