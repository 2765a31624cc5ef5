// IDX reading on small files generated here (plain and gzipped), every malformed kind
// the reader must refuse, the dataset helpers, and the fetch module's offline parts
// (sums, sha256_file, data directory). No network.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "backprop/error.hpp"
#include "backprop/data/fetch.hpp"
#include "backprop/data/idx.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace backprop;

namespace {

std::string idx_bytes(std::uint32_t magic, std::vector<std::uint32_t> dims, const std::string& payload) {
  std::string out;
  dims.insert(dims.begin(), magic);
  for (std::uint32_t v : dims)
    for (int shift : {24, 16, 8, 0}) out += char((v >> shift) & 0xff);
  return out + payload;
}

struct IdxTest : ::testing::Test {
  backprop::testing::TempDir tmp{"idx"};
  const fs::path dir = tmp.path;

  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  std::string write_gz(const std::string& name, const std::string& bytes) {
    const std::string path = (dir / name).string();
    gzFile gz = gzopen(path.c_str(), "wb");
    gzwrite(gz, bytes.data(), unsigned(bytes.size()));
    gzclose(gz);
    return path;
  }
  // Two 2x3 images: pixels 0..11.
  std::string images(std::uint32_t count = 2) {
    std::string pixels;
    for (std::uint32_t i = 0; i < count * 6; ++i) pixels += char(i);
    return idx_bytes(0x803, {count, 2, 3}, pixels);
  }
};

using backprop::testing::error_of;


}  // namespace

TEST_F(IdxTest, ReadsPlainAndGzipped) {
  for (const std::string& path :
       {write("a-idx3-ubyte", images()), write_gz("b-idx3-ubyte.gz", images()),
        write_gz("c-idx3-ubyte", images())}) {  // gzip found by its magic, not its name
    const IdxImages read = read_idx_images(path);
    EXPECT_EQ(read.count, 2u);
    EXPECT_EQ(read.rows, 2u);
    EXPECT_EQ(read.cols, 3u);
    ASSERT_EQ(read.pixels.size(), 12u);
    EXPECT_EQ(read.pixels[7], 7);
  }
  const auto labels =
      read_idx_labels(write_gz("l.gz", idx_bytes(0x801, {3}, std::string("\x09\x00\x04", 3))));
  EXPECT_EQ(labels, (std::vector<std::uint8_t>{9, 0, 4}));
}

TEST_F(IdxTest, RefusesWrongMagic) {
  const std::string path = write("labels", idx_bytes(0x801, {2}, "\x01\x02"));
  EXPECT_EQ(error_of([&] { read_idx_images(path); }),
            path + ": not an IDX images file (magic 0x00000801, expected 0x00000803)");
}

TEST_F(IdxTest, RefusesZeroDimensionsAndShortHeaders) {
  const std::string zero = write("zero", idx_bytes(0x803, {2, 0, 3}, ""));
  EXPECT_CONTAINS(error_of([&] { read_idx_images(zero); }), zero + ": zero dimension");
  const std::string no_labels = write("none", idx_bytes(0x801, {0}, ""));
  EXPECT_CONTAINS(error_of([&] { read_idx_labels(no_labels); }), "zero dimension");
  const std::string short_header = write("short", images().substr(0, 10));
  EXPECT_CONTAINS(error_of([&] { read_idx_images(short_header); }), short_header + ": truncated");
}

TEST_F(IdxTest, RefusesTruncatedAndTrailingData) {
  const std::string good = images();
  const std::string cut = write("cut", good.substr(0, good.size() - 1));
  EXPECT_EQ(error_of([&] { read_idx_images(cut); }),
            cut + ": truncated: header says 12 bytes of pixels, file has 11");
  const std::string cut_gz = write_gz("cut.gz", good.substr(0, good.size() - 1));
  EXPECT_EQ(error_of([&] { read_idx_images(cut_gz); }),
            cut_gz + ": truncated: header says 12 bytes of pixels, file has 11");
  const std::string extra = write("extra", good + "xy");
  EXPECT_CONTAINS(error_of([&] { read_idx_images(extra); }), extra + ": trailing data: header says 12 bytes");
  // A gzip stream that inflates to more than the header implies.
  const std::string extra_gz = write_gz("extra.gz", good + std::string(100000, 'x'));
  EXPECT_CONTAINS(error_of([&] { read_idx_images(extra_gz); }), extra_gz + ": trailing data");
}

TEST_F(IdxTest, LyingHeaderFailsFastWithoutAllocating) {
  // 2^31 images of 28x28 would be 1.7 TB: allocating first would throw bad_alloc (not
  // backprop::Error) or zero-fill for minutes.
  const std::string tiny = idx_bytes(0x803, {1u << 31, 28, 28}, std::string(100, 'x'));
  const std::string huge = write("huge", tiny), huge_gz = write_gz("huge.gz", tiny);
  EXPECT_CONTAINS(error_of([&] { read_idx_images(huge); }),
                  huge + ": truncated: header says 1683627180032 bytes of pixels, file has 100");
  EXPECT_CONTAINS(error_of([&] { read_idx_images(huge_gz); }),
                  huge_gz + ": header says 1683627180032 bytes of pixels, more than the 1073741824");
  const std::string overflow = write("overflow", idx_bytes(0x803, {0xffffffff, 0xffffffff, 0xffffffff}, ""));
  EXPECT_CONTAINS(error_of([&] { read_idx_images(overflow); }), overflow + ": header dimensions overflow");
}

TEST_F(IdxTest, RefusesLabelsOutOfRange) {
  const std::string path = write("labels", idx_bytes(0x801, {6}, std::string("\0\1\2\3\4\x0c", 6)));
  EXPECT_EQ(error_of([&] { read_idx_labels(path, 10); }), path + ": label 12 at index 5 is out of range 0..9");
  EXPECT_EQ(read_idx_labels(path, 13).size(), 6u);
  EXPECT_EQ(read_idx_labels(path).size(), 6u);  // any byte by default
}

TEST_F(IdxTest, RefusesMissingFileAndCountMismatch) {
  const std::string missing = (dir / "missing").string();
  EXPECT_EQ(error_of([&] { read_idx_images(missing); }),
            missing + ": cannot open (No such file or directory)");
  const std::string imgs = write("imgs", images(2)), labels = write("labs", idx_bytes(0x801, {3}, "\1\2\3"));
  const std::string message = error_of([&] { load_idx_pair(imgs, labels); });
  EXPECT_EQ(message, imgs + ": 2 images but " + labels + " has 3 labels");
}

TEST_F(IdxTest, DatasetHeadAndSplitTail) {
  Dataset data = load_idx_pair(write("i", images(4)), write("l", idx_bytes(0x801, {4}, "\1\2\3\4")));
  EXPECT_EQ(data.features, 6u);
  const Dataset first = data.head(3);
  EXPECT_EQ(first.count, 3u);
  EXPECT_EQ(first.bytes.size(), 18u);
  EXPECT_EQ(data.head(10).count, 4u);
  EXPECT_EQ(data.classes, (std::vector<std::string>{"1", "2", "3", "4"}));  // the distinct labels, sorted
  const Dataset tail = data.split_tail(1);
  EXPECT_EQ(tail.count, 1u);
  EXPECT_EQ(tail.labels, std::vector<std::int32_t>{3});  // label 4 is class 3
  EXPECT_EQ(tail.classes, data.classes);
  EXPECT_EQ(tail.row_bytes(0)[0], 18);
  EXPECT_EQ(data.count, 3u);
  EXPECT_EQ(data.bytes.size(), 18u);
  EXPECT_EQ(data.labels.size(), 3u);
  EXPECT_THROW(data.split_tail(4), Error);
}

TEST_F(IdxTest, LoadMnistFindsPlainOrGzAndNamesMissingFiles) {
  write("train-images-idx3-ubyte", images(4));
  write_gz("train-labels-idx1-ubyte.gz", idx_bytes(0x801, {4}, std::string("\7\0\3\4", 4)));
  write_gz("t10k-images-idx3-ubyte.gz", images(2));
  const std::string d = dir.string();
  EXPECT_EQ(error_of([&] { load_mnist(d); }),
            d + ": MNIST file t10k-labels-idx1-ubyte not found (run `backprop fetch-mnist --dir " + d + "`)");
  EXPECT_FALSE(mnist_present(d));
  write("t10k-labels-idx1-ubyte", idx_bytes(0x801, {2}, std::string("\7\0", 2)));
  EXPECT_TRUE(mnist_present(d));
  const Mnist mnist = load_mnist(d);
  EXPECT_EQ(mnist.train.count, 4u);
  EXPECT_EQ(mnist.test.count, 2u);
  EXPECT_EQ(mnist.train.classes, (std::vector<std::string>{"0", "3", "4", "7"}));
  EXPECT_EQ(mnist.test.labels, (std::vector<std::int32_t>{3, 0}));  // 7 and 0, in the training classes
  write("t10k-labels-idx1-ubyte", idx_bytes(0x801, {2}, std::string("\7\5", 2)));
  EXPECT_CONTAINS(error_of([&] { load_mnist(d); }), "label 5 at index 1 is not a class of the training set");
}

TEST_F(IdxTest, Sha256File) {
  EXPECT_EQ(sha256_file(write("abc", "abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_file(write("empty", "")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_CONTAINS(error_of([&] { sha256_file((dir / "nope").string()); }), "nope: cannot open");
}

// The mirror fallback's inflation: exact below the cap, refused above it and on corrupt data.
TEST_F(IdxTest, GunzipCapsTheOutput) {
  const std::string bytes(100000, 'x');  // compresses to a few hundred bytes
  const std::string gz = write_gz("a.gz", bytes), out = (dir / "a").string();
  gunzip_file(gz, out, bytes.size());
  std::ifstream in(out, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), bytes);
  EXPECT_CONTAINS(error_of([&] { gunzip_file(gz, out, bytes.size() - 1); }),
                  "a.gz: inflates to more than 99999 bytes");
  std::string damaged;
  {
    std::ifstream raw(gz, std::ios::binary);
    damaged.assign(std::istreambuf_iterator<char>(raw), {});
  }
  damaged.resize(damaged.size() / 2);  // cut in the middle of the deflate stream
  EXPECT_CONTAINS(error_of([&] { gunzip_file(write("b.gz", damaged), out, bytes.size()); }), "b.gz: corrupt gzip data");
}

TEST(Fetch, ResolveDataDir) {
  const char* old = std::getenv("BACKPROP_DATA");
  const std::string saved = old ? old : "";
  EXPECT_EQ(resolve_data_dir("/x/y"), "/x/y");
  ::setenv("BACKPROP_DATA", "/from/env", 1);
  EXPECT_EQ(resolve_data_dir(""), "/from/env");
  ::unsetenv("BACKPROP_DATA");
  EXPECT_EQ(resolve_data_dir(""), "data/mnist");
  if (old) ::setenv("BACKPROP_DATA", saved.c_str(), 1);
}

// The compiled-in sums must be the project's record in shared/data/mnist.sha256.
TEST(Fetch, CompiledSumsMatchSharedFile) {
  std::string path;
  if (const char* env = std::getenv("BACKPROP_SHARED_SUMS")) path = env;
#ifdef BACKPROP_SOURCE_DIR
  if (path.empty()) path = std::string(BACKPROP_SOURCE_DIR) + "/../shared/data/mnist.sha256";
#endif
  std::ifstream in(path);
  if (path.empty() || !in)
    GTEST_SKIP() << "may skip in CI: shared/ is outside the repository; no shared sums file (" << path << ")";
  std::map<std::string, std::string> recorded;
  std::string sum, name;
  while (in >> sum >> name) recorded[name] = sum;
  ASSERT_EQ(recorded.size(), 4u);
  for (const MnistFile& file : mnist_files()) EXPECT_EQ(recorded[file.name], file.sha256) << file.name;
}

// The real files, when the fetch fixture (or the user) has put them in $BACKPROP_DATA.
TEST(Mnist, RealFilesLoad) {
  const char* dir = std::getenv("BACKPROP_DATA");
  if (!dir || !mnist_present(dir)) GTEST_SKIP() << "MNIST not in $BACKPROP_DATA";
  const Mnist mnist = load_mnist(dir);
  EXPECT_EQ(mnist.train.count, 60000u);
  EXPECT_EQ(mnist.test.count, 10000u);
  EXPECT_EQ(mnist.train.features, 784u);
  EXPECT_EQ(mnist.train.labels[0], 5);  // the well-known first digits
  EXPECT_EQ(mnist.test.labels[0], 7);
}
