// The model file: exact round trips in both dtypes, a file written by hand from
// docs/model-format.md, and every loader error: not a model file, newer version, truncation at
// every 1/16 of the length, every single flipped byte, appended bytes, malformed sections with
// valid checksums, and shape mismatches. The loader must throw backprop::Error naming the
// file, never crash.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "backprop/io/checkpoint.hpp"
#include "backprop/error.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/io/model_file.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace backprop;

namespace {

struct ModelFileTest : ::testing::Test {
  backprop::testing::TempDir tmp{"model"};
  const fs::path dir = tmp.path;
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

NetworkSpec small_spec() {
  NetworkSpec spec;
  spec.sizes = {6, 5, 4, 3};
  spec.activations = {Activation::tanh, Activation::gelu};
  spec.validate(6, 3);
  return spec;
}

// For networks that never train: a dropout layer would keep a pointer to the local generator.
template <typename T>
Network<T> random_network(const NetworkSpec& spec, unsigned seed) {
  std::mt19937_64 rng(seed);
  Network<T> network(spec, &rng);
  initialize(network, InitScheme::seed, rng);  // non-zero biases too
  return network;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void spit(const std::string& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

using backprop::testing::error_of;

std::uint32_t crc(const std::string& bytes, std::size_t n) {
  return static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(n)));
}

void put_u32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put_u64(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
void put_f32(std::string& out, float v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put_f64(std::string& out, double v) { out.append(reinterpret_cast<const char*>(&v), 8); }

// A file from the documented layout: header (with its CRC), the sections, the trailing CRC.
std::string container(const std::vector<std::pair<std::string, std::string>>& sections, std::uint32_t version = 1,
                      std::uint32_t kind = 1) {
  std::string out("BPROPMDL", 8);
  put_u32(out, version);
  put_u32(out, kind);
  std::uint64_t total = 32 + 4;
  for (const auto& s : sections) total += 12 + s.second.size();
  put_u64(out, total);
  put_u32(out, 0);
  put_u32(out, crc(out, 28));
  for (const auto& [tag, payload] : sections) {
    out += tag;
    put_u64(out, payload.size());
    out += payload;
  }
  put_u32(out, crc(out, out.size()));
  return out;
}

// ARCH for a 3-2-2 float32 network, relu hidden layer, softmax head, no dropout.
std::string arch_322() {
  std::string a;
  for (std::uint32_t v : {4u, 0u, 3u, 3u, 2u, 2u, 2u}) put_u32(a, v);  // dtype head count sizes... activation relu=2
  put_f64(a, 0.0);
  return a;
}

// PARM with the given shapes, values 0.5, 1.5, ...
std::string parm(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& shapes) {
  std::string p;
  put_u32(p, static_cast<std::uint32_t>(shapes.size()));
  float v = 0.5f;
  for (auto [rows, cols] : shapes) {
    put_u32(p, rows);
    put_u32(p, cols);
    for (std::uint32_t i = 0; i < rows * cols; ++i) put_f32(p, v++);
  }
  return p;
}

}  // namespace

template <typename T>
void expect_round_trip(const std::string& file) {
  const Network<T> saved = random_network<T>(small_spec(), 3);
  save_model(file, saved);
  const ModelFile model = read_model(file);
  EXPECT_EQ(model.is_double, sizeof(T) == 8);
  EXPECT_EQ(model.spec.sizes, small_spec().sizes);
  EXPECT_EQ(model.spec.activations, small_spec().activations);
  Network<T> loaded = make_inference_network<T>(model);
  for (std::size_t i = 0; i < saved.params().size(); ++i)
    EXPECT_EQ(*saved.params()[i].value, *loaded.params()[i].value) << saved.params()[i].name();
  Network<T> original = random_network<T>(small_spec(), 3);
  const Matrix<T> X = Matrix<T>::Random(6, 7);
  const Matrix<T> expected = original.predict(X);
  EXPECT_EQ(loaded.predict(X), expected);  // bit for bit
}

TEST_F(ModelFileTest, RoundTripsFloat32AndFloat64Exactly) {
  expect_round_trip<float>(path("f32.bpm"));
  expect_round_trip<double>(path("f64.bpm"));
}

TEST_F(ModelFileTest, KeepsHeadAndDropoutRates) {
  NetworkSpec spec = small_spec();
  spec.head = HeadKind::mse;
  spec.dropout = {0.25, 0.0};
  save_model(path("m.bpm"), random_network<float>(spec, 1));
  const ModelFile model = read_model(path("m.bpm"));
  EXPECT_EQ(model.spec.head, HeadKind::mse);
  EXPECT_EQ(model.spec.dropout, spec.dropout);
  EXPECT_EQ(model.kind, ModelKind::model);
}

TEST_F(ModelFileTest, ReadsAFileWrittenByHandFromTheDocumentedLayout) {
  spit(path("hand.bpm"), container({{"ARCH", arch_322()}, {"PARM", parm({{2, 3}, {2, 1}, {2, 2}, {2, 1}})}}));
  const ModelFile model = read_model(path("hand.bpm"));
  EXPECT_EQ(model.spec.sizes, (std::vector<int>{3, 2, 2}));
  ASSERT_EQ(model.spec.activations.size(), 1u);
  EXPECT_EQ(model.spec.activations[0], Activation::relu);
  ASSERT_EQ(model.params.size(), 4u);
  EXPECT_EQ(model.params[0](0, 0), 0.5);  // column-major: w1(0,0), w1(1,0), w1(0,1), ...
  EXPECT_EQ(model.params[0](1, 0), 1.5);
  EXPECT_EQ(model.params[0](0, 1), 2.5);
  EXPECT_EQ(model.params[1](1, 0), 7.5);  // b1 follows w1's six values
}

TEST_F(ModelFileTest, RefusesWhatIsNotAModelFile) {
  spit(path("text.bpm"), "hello, I am a text file and not a model at all\n");
  EXPECT_NE(error_of([&] { read_model(path("text.bpm")); }).find("not a backprop model file"), std::string::npos);
  spit(path("empty.bpm"), "");
  EXPECT_NE(error_of([&] { read_model(path("empty.bpm")); }).find("truncated to 0 bytes"), std::string::npos);
  EXPECT_NE(error_of([&] { read_model(path("missing.bpm")); }).find("cannot open"), std::string::npos);
  EXPECT_NE(error_of([&] { read_model(dir.string()); }).find("is a directory"), std::string::npos);
}

TEST_F(ModelFileTest, RefusesANewerFormatVersion) {
  spit(path("v3.bpm"), container({{"ARCH", arch_322()}, {"PARM", parm({{2, 3}, {2, 1}, {2, 2}, {2, 1}})}}, 3));
  const std::string message = error_of([&] { read_model(path("v3.bpm")); });
  EXPECT_NE(message.find("format version 3 is newer"), std::string::npos) << message;
  EXPECT_EQ(message.rfind(path("v3.bpm"), 0), 0u) << message;
}

TEST_F(ModelFileTest, EveryTruncationAtASixteenthIsCaughtAsTruncated) {
  save_model(path("m.bpm"), random_network<float>(small_spec(), 1));
  const std::string bytes = slurp(path("m.bpm"));
  for (int k = 0; k < 16; ++k) {
    const std::size_t size = bytes.size() * k / 16;
    spit(path("cut.bpm"), bytes.substr(0, size));
    const std::string message = error_of([&] { read_model(path("cut.bpm")); });
    EXPECT_NE(message.find("truncated"), std::string::npos) << k << "/16 (" << size << " bytes): " << message;
    EXPECT_EQ(message.rfind(path("cut.bpm"), 0), 0u) << message;
  }
  // and one byte short of complete
  spit(path("cut.bpm"), bytes.substr(0, bytes.size() - 1));
  EXPECT_NE(error_of([&] { read_model(path("cut.bpm")); }).find("truncated"), std::string::npos);
}

TEST_F(ModelFileTest, EveryFlippedByteIsCaught) {
  save_model(path("m.bpm"), random_network<float>(small_spec(), 1));
  const std::string bytes = slurp(path("m.bpm"));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x10);
    spit(path("flip.bpm"), damaged);
    const std::string message = error_of([&] { read_model(path("flip.bpm")); });
    const char* expected = i < 8 ? "not a backprop model file" : i < 32 ? "damaged header" : "checksum mismatch";
    EXPECT_NE(message.find(expected), std::string::npos) << "byte " << i << ": " << message;
  }
}

TEST_F(ModelFileTest, RefusesAppendedBytes) {
  save_model(path("m.bpm"), random_network<float>(small_spec(), 1));
  spit(path("long.bpm"), slurp(path("m.bpm")) + "extra");
  EXPECT_NE(error_of([&] { read_model(path("long.bpm")); }).find("5 bytes more than its header says"), std::string::npos);
}

TEST_F(ModelFileTest, ShapeMismatchesAreNamed) {
  // PARM's second layer is (2, 3) where the architecture 3-2-2 needs (2, 2).
  spit(path("bad.bpm"), container({{"ARCH", arch_322()}, {"PARM", parm({{2, 3}, {2, 1}, {2, 3}, {2, 1}})}}));
  std::string message = error_of([&] { read_model(path("bad.bpm")); });
  EXPECT_NE(message.find("shape mismatch: layer 2"), std::string::npos) << message;
  spit(path("few.bpm"), container({{"ARCH", arch_322()}, {"PARM", parm({{2, 3}, {2, 1}})}}));
  message = error_of([&] { read_model(path("few.bpm")); });
  EXPECT_NE(message.find("shape mismatch: 2 parameter tensors"), std::string::npos) << message;
  // A good file loaded into a different network.
  save_model(path("m.bpm"), random_network<float>(small_spec(), 1));
  NetworkSpec other = small_spec();
  other.sizes[1] = 7;
  Network<float> network = random_network<float>(other, 1);
  message = error_of([&] { load_params(read_model(path("m.bpm")), network, "m.bpm"); });
  EXPECT_NE(message.find("m.bpm: shape mismatch: w1 is (5, 6) in the file, the network needs (7, 6)"), std::string::npos)
      << message;
}

TEST_F(ModelFileTest, MalformedSectionsWithValidChecksumsAreRefused) {
  const std::string good_parm = parm({{2, 3}, {2, 1}, {2, 2}, {2, 1}});
  const std::vector<std::pair<std::vector<std::pair<std::string, std::string>>, std::string>> cases = {
      {{{"ARCH", arch_322()}}, "no PARM section"},
      {{{"ARCH", arch_322()}, {"PARM", good_parm}, {"XYZW", ""}}, "unknown section 'XYZW'"},
      {{{"ARCH", arch_322()}, {"ARCH", arch_322()}, {"PARM", good_parm}}, "two ARCH sections"},
      {{{"ARCH", arch_322().substr(0, 10)}, {"PARM", good_parm}}, "ends inside"},
      {{{"ARCH", arch_322() + "xx"}, {"PARM", good_parm}}, "unexpected bytes"},
  };
  for (const auto& [sections, expected] : cases) {
    spit(path("bad.bpm"), container(sections));
    const std::string message = error_of([&] { read_model(path("bad.bpm")); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
  std::string huge = arch_322();
  const std::uint32_t big = 1u << 24;
  std::memcpy(&huge[12], &big, 4);  // a 16M-wide input layer: sizes are checked against the data
  spit(path("huge.bpm"), container({{"ARCH", huge}, {"PARM", good_parm}}));
  EXPECT_NE(error_of([&] { read_model(path("huge.bpm")); }).find("shape mismatch"), std::string::npos);
}

// Random damage behind valid checksums: the loader may accept or refuse, but only by Error.
TEST_F(ModelFileTest, SurvivesRandomDamageBehindValidChecksums) {
  std::mt19937 rng(5);
  const std::string body_arch = arch_322(), body_parm = parm({{2, 3}, {2, 1}, {2, 2}, {2, 1}});
  int accepted = 0, refused = 0;
  for (int trial = 0; trial < 600; ++trial) {
    std::string a = body_arch, p = body_parm;
    std::string& target = trial % 2 ? a : p;
    for (int k = 0; k < 1 + trial % 3; ++k) target[rng() % target.size()] = static_cast<char>(rng());
    if (trial % 5 == 0) target.resize(rng() % (target.size() + 1));
    spit(path("fuzz.bpm"), container({{"ARCH", a}, {"PARM", p}}));
    // Accepted, the model must be what it says (a network of its shapes runs on it, finite or
    // not); refused, by one line naming the file. Both outcomes must occur.
    try {
      const ModelFile model = read_model(path("fuzz.bpm"));
      ++accepted;
      ASSERT_EQ(model.params.size(), 2 * (model.spec.sizes.size() - 1));
      const Network<double> network = make_inference_network<double>(model);
      EXPECT_EQ(network.params().size(), model.params.size());
    } catch (const Error& e) {
      ++refused;
      EXPECT_EQ(std::string(e.what()).rfind(path("fuzz.bpm") + ": ", 0), 0u) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(accepted, 0);  // damaged values behind valid checksums read as values
  EXPECT_GT(refused, 100);  // damaged structure is refused
}

TEST_F(ModelFileTest, AFailedWriteLeavesNothing) {
  const std::string target = (dir / "no-such-dir" / "m.bpm").string();
  const std::string message = error_of([&] { save_model(target, random_network<float>(small_spec(), 1)); });
  EXPECT_EQ(message.rfind(target + ": cannot create", 0), 0u) << message;
  EXPECT_FALSE(fs::exists(dir / "no-such-dir"));
  // Overwriting keeps the old file until the new one is complete: the old one is intact after.
  save_model(path("m.bpm"), random_network<float>(small_spec(), 1));
  const std::string before = slurp(path("m.bpm"));
  save_model(path("m.bpm"), random_network<float>(small_spec(), 2));
  EXPECT_NE(slurp(path("m.bpm")), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // no temp file left
}

TEST_F(ModelFileTest, ACheckpointIsAlsoAModelButAModelIsNotACheckpoint) {
  Network<float> network = random_network<float>(small_spec(), 1);
  TrainerState state;
  state.order = {2, 0, 1};
  state.rng = "0";
  save_checkpoint(path("c.bpm"), network, state, "{}");
  EXPECT_EQ(read_model(path("c.bpm")).kind, ModelKind::checkpoint);
  save_model(path("m.bpm"), network);
  EXPECT_NE(error_of([&] { read_checkpoint(path("m.bpm")); }).find("is a model, not a checkpoint"), std::string::npos);
}

// A real checkpoint with random bytes changed behind a recomputed CRC: reading it, and putting
// its state into a trainer, may fail only by Error.
TEST_F(ModelFileTest, CheckpointsSurviveRandomDamageBehindValidChecksums) {
  NetworkSpec spec = small_spec();
  spec.dropout = {0.1, 0.2};
  std::mt19937_64 rng(1);  // the dropout layers keep a pointer to it
  Network<float> network(spec, &rng);
  initialize(network, InitScheme::seed, rng);
  Dataset data;
  data.count = 40;
  data.features = 6;
  data.bytes.assign(40 * 6, 100);
  data.labels.assign(40, 1);
  TrainConfig config;
  config.epochs = 2;
  config.batch_size = 16;
  config.optimizer.name = "adam";
  Trainer<float> trainer(network, config, rng);
  trainer.fit(data, &data, nullptr);
  save_checkpoint(path("c.bpm"), network, trainer.state(), "{\"x\": 1}");
  const std::string good = slurp(path("c.bpm"));
  std::mt19937 mutate(9);
  int accepted = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string bytes = good;
    for (int k = 0; k < 1 + trial % 4; ++k)
      bytes[32 + mutate() % (bytes.size() - 36)] = static_cast<char>(mutate());
    const auto trailer = crc(bytes, bytes.size() - 4);
    std::memcpy(&bytes[bytes.size() - 4], &trailer, 4);
    spit(path("fuzz.bpm"), bytes);
    try {
      const Checkpoint c = read_checkpoint(path("fuzz.bpm"));
      std::mt19937_64 other(0);
      Network<float> restored(c.model.spec, &other);
      load_params(c.model, restored);
      Trainer<float> t(restored, config, other);
      t.restore(c.trainer);
      ++accepted;
    } catch (const Error&) {
    }
  }
  EXPECT_GT(accepted, 0);  // damage to values alone is not detectable behind a valid CRC
}
