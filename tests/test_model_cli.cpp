// eval, predict, export and import through the command line: what they print, and every bad
// case the issue lists (a damaged or newer model, a PNG that is not a PNG, an .npz whose shapes
// do not match --layers, an output path in a missing directory). Each bad case must exit
// non-zero with one line on stderr naming the file, and leave no file behind.
#include <gtest/gtest.h>

#include <zlib.h>

#include <cmath>
#include <cstring>
#include <regex>

#include "backprop/data/fetch.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/io/npz_params.hpp"
#include "backprop/data/preprocess.hpp"
#include "backprop/train/trainer.hpp"
#include "cli_process.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using backprop::testing::CliResult;
using backprop::testing::read_text;
using backprop::testing::run_cli;
using namespace backprop;

namespace {

class ModelCli : public ::testing::Test {
 protected:
  backprop::testing::TempDir tmp{"modelcli"};
  const fs::path dir = tmp.path;
  void SetUp() override {
    NetworkSpec spec;
    spec.sizes = {784, 16, 10};
    spec.activations = {Activation::relu};
    std::mt19937_64 rng(3);
    Network<float> network(spec, &rng);
    initialize(network, InitScheme::he_normal, rng);
    save_model(path("m.bpm"), network);
    write_npz(path("m.npz"), params_to_npz(network));
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  // A bad case: non-zero exit, one line on stderr containing `expected`, no new file.
  void expect_refused(const std::vector<std::string>& args, const std::string& expected) {
    const auto before = files();
    const CliResult r = run_cli(args, dir);
    EXPECT_NE(r.exit_code, 0) << args[0];
    EXPECT_EQ(r.signal, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << "stderr: " << r.err << "expected: " << expected;
    EXPECT_EQ(files(), before) << "a file was left behind";
  }
};

bool have_mnist() { return mnist_present(resolve_data_dir("")); }
// Absolute, since the commands run in a temporary directory.
std::string data_dir() { return fs::absolute(resolve_data_dir("")).string(); }

TEST_F(ModelCli, DamagedNewerOrForeignModelFilesAreRefusedByEveryCommand) {
  const std::string good = read_text(path("m.bpm"));
  std::ofstream(path("cut.bpm"), std::ios::binary) << good.substr(0, good.size() / 2);
  std::string flipped = good;
  flipped[good.size() / 3] ^= 0x01;
  std::ofstream(path("flip.bpm"), std::ios::binary) << flipped;
  std::ofstream(path("text.bpm")) << "definitely not a model\n";
  std::string newer = good;
  newer[8] = 9;  // version 9, with the header's CRC made valid again
  const auto header_crc = static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(newer.data()), 28));
  std::memcpy(&newer[28], &header_crc, 4);
  std::ofstream(path("newer.bpm"), std::ios::binary) << newer;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"cut.bpm", "cut.bpm: truncated"},
      {"flip.bpm", "flip.bpm: checksum mismatch"},
      {"text.bpm", "text.bpm: not a backprop model file"},
      {"newer.bpm", "newer.bpm: format version 9 is newer than this program reads"},
      {"absent.bpm", "absent.bpm: cannot open"}};
  for (const auto& [file, message] : cases) {
    SCOPED_TRACE(file);
    expect_refused({"export", "--model", file, "--npz", "out.npz"}, message);
    expect_refused({"predict", "--model", file, "in.csv"}, message);
    if (have_mnist()) expect_refused({"eval", "--model", file, "--no-fetch", "--data", data_dir()}, message);
  }
}

TEST_F(ModelCli, OutputsInAMissingDirectoryAreRefusedBeforeAnyWork) {
  expect_refused({"export", "--model", "m.bpm", "--npz", "no/such/dir/p.npz"}, "no/such/dir/p.npz: cannot create");
  expect_refused({"export", "--model", "m.bpm", "--onnx", "no/such/dir/m.onnx"}, "no/such/dir/m.onnx: cannot create");
  // One good and one bad path: neither is written.
  expect_refused({"export", "--model", "m.bpm", "--npz", "ok.npz", "--onnx", "nowhere/m.onnx"}, "nowhere/m.onnx");
  expect_refused({"import", "--npz", "m.npz", "--out", "nowhere/m.bpm"}, "nowhere/m.bpm: cannot create");
  expect_refused({"train", "--epochs", "1", "--out", "nowhere/m.bpm"}, "nowhere/m.bpm: cannot create");
  expect_refused({"train", "--epochs", "1", "--checkpoint", "nowhere/c.bpm"}, "nowhere/c.bpm: cannot create");
  expect_refused({"eval", "--model", "m.bpm", "--misclassified", "nowhere/w.png"}, "nowhere/w.png: cannot create");
}

TEST_F(ModelCli, ImportRefusesArraysThatDoNotMatchTheLayers) {
  expect_refused({"import", "--npz", "m.npz", "--layers", "784,32,10", "--out", "x.bpm"},
                 "m.npz: shape mismatch: the arrays make a 784,16,10 network, --layers says 784,32,10");
  expect_refused({"import", "--npz", "m.npz", "--layers", "784,16,16,10", "--out", "x.bpm"}, "m.npz: shape mismatch");
  Npz arrays = read_npz(path("m.npz"));
  arrays["b1"].shape = {16, 1};  // a column where the seed's layout has a row
  write_npz(path("col.npz"), arrays);
  expect_refused({"import", "--npz", "col.npz", "--out", "x.bpm"}, "array 'b1' has shape (16, 1), expected (1, 16)");
  arrays = read_npz(path("m.npz"));
  arrays["w2"].values[5] = std::nan("");
  write_npz(path("nan.npz"), arrays);
  expect_refused({"import", "--npz", "nan.npz", "--out", "x.bpm"}, "array 'w2' holds NaN or infinity");
  expect_refused({"import", "--npz", "m.bpm", "--out", "x.bpm"}, "m.bpm");  // not an .npz at all
}

TEST_F(ModelCli, PredictRefusesBadInputs) {
  std::ofstream(path("fake.png")) << "I am text with a .png name\n";
  expect_refused({"predict", "--model", "m.bpm", "fake.png"}, "fake.png: not a PNG file");
  std::ofstream(path("short.csv")) << "1,2,3\n";
  expect_refused({"predict", "--model", "m.bpm", "short.csv"}, "short.csv:1: 3 values, the model takes 784");
  std::ofstream(path("words.csv")) << std::string(783 * 2, '0').replace(1, 1, ",") << "\n0,x\n";
  expect_refused({"predict", "--model", "m.bpm", "words.csv"}, "words.csv");
  expect_refused({"predict", "--model", "m.bpm", "--top", "11", "m.bpm"}, "--top must be between 1 and 10");
  expect_refused({"predict", "--model", "m.bpm", "missing.png"}, "missing.png: cannot open");
}

TEST_F(ModelCli, ExportThenImportGivesBackTheSameModelFile) {
  const CliResult exported = run_cli({"export", "--model", "m.bpm", "--npz", "e.npz", "--onnx", "e.onnx"}, dir);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(exported.out.find("ONNX opset 13"), std::string::npos);
  EXPECT_GT(fs::file_size(dir / "e.onnx"), 784u * 16 * 4);
  const CliResult imported = run_cli({"import", "--npz", "e.npz", "--activation", "relu", "--out", "i.bpm"}, dir);
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_TRUE(read_text(path("i.bpm")) == read_text(path("m.bpm")));
}

// The same images as IDX, as 0..255 CSV (with a label column and a header) and as 0..1 CSV
// give the same probabilities; a PNG of a digit is classified.
TEST_F(ModelCli, PredictReadsIdxCsvAndPng) {
  if (!have_mnist()) GTEST_SKIP() << "MNIST not found";
  const Dataset test = load_mnist(resolve_data_dir("")).test.head(5);
  {
    std::ofstream idx(path("five.idx"), std::ios::binary);
    const unsigned char header[16] = {0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28};
    idx.write(reinterpret_cast<const char*>(header), 16);
    idx.write(reinterpret_cast<const char*>(test.bytes.data()), static_cast<std::streamsize>(test.bytes.size()));
    std::ofstream bytes(path("five.csv")), unit(path("unit.csv"));
    unit.precision(17);  // so each float value reads back exactly
    bytes << "label";
    for (int i = 0; i < 784; ++i) bytes << ",pixel" << i;
    bytes << "\n";
    for (std::size_t n = 0; n < 5; ++n) {
      bytes << int(test.labels[n]);
      for (std::size_t i = 0; i < 784; ++i) {
        bytes << "," << int(test.row_bytes(n)[i]);
        unit << (i ? "," : "") << double(float(test.row_bytes(n)[i]) / 255.0f);
      }
      bytes << "\n";
      unit << "\n";
    }
  }
  const auto probabilities = [&](const std::string& file) {
    const CliResult r = run_cli({"predict", "--model", "m.bpm", "--json", file}, dir);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> found;
    static const std::regex list(R"("probabilities":\{[^}]*\})");  // keyed by class name
    for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), list); it != std::sregex_iterator(); ++it)
      found.push_back(it->str());
    return found;
  };
  const auto from_idx = probabilities("five.idx");
  ASSERT_EQ(from_idx.size(), 5u);
  EXPECT_EQ(probabilities("five.csv"), from_idx);
  EXPECT_EQ(probabilities("unit.csv"), from_idx);
  const CliResult labelled = run_cli({"predict", "--model", "m.bpm", "--top", "2", "five.csv"}, dir);
  EXPECT_NE(labelled.out.find("five.csv:2: "), std::string::npos) << labelled.out;
  EXPECT_NE(labelled.out.find("(label 7)"), std::string::npos) << labelled.out;  // the first test digit is a 7

  // A digit drawn larger on a white page, dark ink: preprocessing makes it MNIST-like.
  std::vector<std::uint8_t> page(84 * 84, 255);
  for (int y = 0; y < 84; ++y)
    for (int x = 0; x < 84; ++x) page[y * 84 + x] = static_cast<std::uint8_t>(255 - test.row_bytes(0)[(y / 3) * 28 + x / 3]);
  std::ofstream(path("seven.png"), std::ios::binary) << encode_png(84, 84, page);
  const CliResult png = run_cli({"predict", "--model", "m.bpm", "--json", "--top", "3", "seven.png"}, dir);
  ASSERT_EQ(png.exit_code, 0) << png.err;
  EXPECT_NE(png.out.find("\"input\":\"seven.png\""), std::string::npos) << png.out;
  // top-level, record, its probabilities by class name, 3 in top
  EXPECT_EQ(std::count(png.out.begin(), png.out.end(), '{'), 1 + 1 + 1 + 3) << png.out;
}

TEST_F(ModelCli, EvalPrintsScoresConfusionAndTheMisclassifiedGrid) {
  if (!have_mnist()) GTEST_SKIP() << "MNIST not found";
  const CliResult text = run_cli({"eval", "--model", "m.bpm", "--no-fetch", "--data", data_dir(), "--misclassified", "wrong.png",
                                  "--max-misclassified", "25"}, dir);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  for (const char* part : {"accuracy", "precision", "recall", "f1", "confusion matrix", "true\\pred", "macro",
                           "wrote wrong.png: 25 of"})
    EXPECT_NE(text.out.find(part), std::string::npos) << part << "\n" << text.out;
  const GrayImage grid = read_png(path("wrong.png"));
  EXPECT_EQ(grid.width, 2 * 10 * 30);
  EXPECT_EQ(grid.height, 2 * 3 * 38);

  // --json agrees with the library's evaluate() on the same model.
  const CliResult json = run_cli({"eval", "--model", "m.bpm", "--no-fetch", "--data", data_dir(), "--json"}, dir);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  Network<float> network = make_inference_network<float>(read_model(path("m.bpm")));
  const EvalResult expected = evaluate(network, load_mnist(resolve_data_dir("")).test);
  std::ostringstream confusion_row;
  confusion_row << "[";
  for (int j = 0; j < 10; ++j) confusion_row << (j ? "," : "") << expected.confusion[3][j];
  confusion_row << "]";
  EXPECT_NE(json.out.find(confusion_row.str()), std::string::npos) << confusion_row.str() << "\n" << json.out;
  EXPECT_NE(json.out.find("\"count\":10000"), std::string::npos);
  for (const char* key : {"\"accuracy\"", "\"loss\"", "\"precision\"", "\"recall\"", "\"f1\"", "\"support\"", "\"macro\""})
    EXPECT_NE(json.out.find(key), std::string::npos) << key;
}

}  // namespace
