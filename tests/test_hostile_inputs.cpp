// Claims that lie, and files that are not what they say: sizes in headers are checked against
// the bytes that exist before anything is allocated (IDX, model files, .npz members), devices
// and endless files are refused without being read, and CSV values are checked one by one.
// (More of the same: test_idx.cpp, test_model_file.cpp, test_npz.cpp, test_preprocess.cpp;
// the fuzzers' regression corpus: test_fuzz_corpus.cpp.)
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "backprop/error.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/io/npz.hpp"
#include "backprop/data/predict_input.hpp"
#include "backprop/data/readers.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace backprop;

namespace {

struct HostileTest : ::testing::Test {
  backprop::testing::TempDir tmp{"hostile"};
  const fs::path dir = tmp.path;
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
};

using backprop::testing::error_of;


std::string be32(std::uint32_t v) {
  return {char(v >> 24), char(v >> 16 & 0xff), char(v >> 8 & 0xff), char(v & 0xff)};
}
std::string le16(std::uint16_t v) { return {char(v & 0xff), char(v >> 8)}; }
std::string le32(std::uint32_t v) { return le16(std::uint16_t(v & 0xffff)) + le16(std::uint16_t(v >> 16)); }

// A zip archive of one deflated member whose headers claim `claimed` uncompressed bytes.
std::string zip_claiming(const std::string& name, const std::string& content, std::uint32_t claimed) {
  std::string deflated(compressBound(uLong(content.size())) + 64, '\0');
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);  // raw deflate, as zip has it
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
  z.avail_in = uInt(content.size());
  z.next_out = reinterpret_cast<Bytef*>(deflated.data());
  z.avail_out = uInt(deflated.size());
  deflate(&z, Z_FINISH);
  deflated.resize(z.total_out);
  deflateEnd(&z);
  const std::uint32_t crc = std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(content.data()), uInt(content.size())));
  const std::string sizes = le32(crc) + le32(std::uint32_t(deflated.size())) + le32(claimed);
  const std::string common = le16(20) + le16(0) + le16(8) + le16(0) + le16(0x21) + sizes + le16(std::uint16_t(name.size()));
  const std::string local = le32(0x04034b50) + common + le16(0) + name + deflated;
  const std::string central = le32(0x02014b50) + le16(20) + common + le16(0) + le16(0) + le16(0) + le16(0) +
                              le32(0) + le32(0) + name;
  return local + central + le32(0x06054b50) + le16(0) + le16(0) + le16(1) + le16(1) +
         le32(std::uint32_t(central.size())) + le32(std::uint32_t(local.size())) + le16(0);
}

}  // namespace

TEST_F(HostileTest, IdxHeaderOfATrillionPixelsIsRefusedBeforeAllocating) {
  // One image of 2^20 x 2^20 pixels (a terabyte) in a file of 14 bytes, plain and gzipped.
  const std::string liar = be32(0x803) + be32(1) + be32(1u << 20) + be32(1u << 20) + "xy";
  std::string gz;
  {
    const std::string path = (dir / "liar.gz").string();
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, liar.data(), unsigned(liar.size()));
    gzclose(f);
    gz = path;
  }
  const std::string plain = write("liar", liar);
  EXPECT_EQ(error_of([&] { read_idx_images(plain); }),
            plain + ": truncated: header says 1099511627776 bytes of pixels, file has 2");
  // A gzip stream has no size to compare with: the header's claim is capped before inflating.
  EXPECT_EQ(error_of([&] { read_idx_images(gz); }),
            gz + ": header says 1099511627776 bytes of pixels, more than the 1073741824 an IDX file may hold");
}

TEST_F(HostileTest, NpzMemberClaimingGigabytesIsNotAllocated) {
  // A .npy header for 1006632960 float32 values (3.75 GB) followed by 4 bytes, and zip headers
  // that agree with the header: the claim is only found false by reading.
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1006632960,), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  const std::string npy = std::string("\x93NUMPY\x01\x00", 8) + le16(std::uint16_t(header.size())) + header + "abcd";
  const std::uint32_t claimed = std::uint32_t(10 + header.size()) + 1006632960u * 4;
  const std::string path = write("liar.npz", zip_claiming("w1.npy", npy, claimed));
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_of([&] { read_npz(path); });
  EXPECT_CONTAINS(message, path + ": member w1.npy: ");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0)
      << "a lying size must not be allocated and zero-filled first";
}

TEST_F(HostileTest, DevicesAndHugeForeignFilesAreNotReadWhole) {
  EXPECT_EQ(error_of([] { read_model("/dev/zero"); }), "/dev/zero: not a regular file, so not a model file");
  std::vector<PredictInput> inputs;
  EXPECT_CONTAINS(error_of([&] { read_predict_inputs("/dev/zero", 784, "auto", inputs); }),
                  "/dev/zero: not a regular file");
  // A sparse 8 GB file of zeros: its first bytes already say it is no model file.
  const std::string huge = (dir / "huge.model").string();
  const int fd = ::open(huge.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 8ll << 30), 0);
  ::close(fd);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of([&] { read_model(huge); }), huge + ": not a backprop model file (it does not start with BPROPMDL)");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.0);
}

TEST(HostileCsv, EveryBadValueIsNamedWithItsLine) {
  const auto error = [](const std::string& text, std::size_t width = 2) {
    std::vector<PredictInput> out;
    return error_of([&] { parse_csv_inputs("d.csv", text, width, "auto", out); });
  };
  EXPECT_EQ(error("1,2\nnan,1\n"), "d.csv:2: not a number in 'nan'");
  EXPECT_EQ(error("1,2\n1,inf\n"), "d.csv:2: not a number in 'inf'");
  EXPECT_EQ(error("1,2\n1e400,1\n"), "d.csv:2: not a number in '1e400'");
  EXPECT_EQ(error("1,2\n1,2x\n"), "d.csv:2: not a number in '2x'");
  EXPECT_EQ(error("1,256\n"), "d.csv:1: value 256.000000 is outside 0..255");
  EXPECT_EQ(error("1,-1\n"), "d.csv:1: value -1.000000 is outside 0..255");
  EXPECT_EQ(error("10,1,2\n"), "d.csv:1: 3 values, and the first is not a label 0-9");
  EXPECT_EQ(error("2.5,1,2\n"), "d.csv:1: 3 values, and the first is not a label 0-9");
  EXPECT_EQ(error("1,2,3,4\n"), "d.csv:1: 4 values, the model takes 2");
  EXPECT_EQ(error(""), "d.csv: no rows of pixel values");
  EXPECT_EQ(error("a,b\n\n  \n"), "d.csv: no rows of pixel values");
  EXPECT_CONTAINS(error(std::string("1,2\n1,\0", 7)), "d.csv:2: not a number in '");
  std::vector<PredictInput> out;
  parse_csv_inputs("d.csv", "x,y\r\n7,255,0\r\n0,0.5\n", 2, "255", out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].label, 7);
  EXPECT_EQ(out[0].pixels, (std::vector<float>{1.0f, 0.0f}));
  EXPECT_EQ(out[1].name, "d.csv:3");
}

// ---- Sizes known from a header are checked before reading (issue 18) --------------------------

namespace {
// A .npy member whose header claims `shape` (float32) but holds 4 bytes, in a zip whose
// headers agree with the claim: only the header can say it is wrong before inflating.
std::string npz_claiming(const std::string& name, const std::string& shape, std::uint64_t values) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  const std::string npy = std::string("\x93NUMPY\x01\x00", 8) + le16(std::uint16_t(header.size())) + header + "abcd";
  return zip_claiming(name + ".npy", npy, std::uint32_t(10 + header.size() + values * 4));
}
}  // namespace

TEST_F(HostileTest, NpzShapeIsComparedWithTheExpectedOneFromItsHeader) {
  // The 990 KB import: w1 of 784 x 320,000 (a billion bytes as float32).
  const std::string path = write("wide.npz", npz_claiming("w1", "(784, 320000)", 784ull * 320000));
  EXPECT_EQ(error_of([&] { read_npz(path); }),
            path + ": member w1.npy: shape (784, 320000) holds 250880000 values, more than the 16777216 an array may have");
  NpzExpect expect;
  expect.shapes["w1"] = {784, 16};
  EXPECT_EQ(error_of([&] { read_npz(path, expect); }),
            path + ": array 'w1' has shape (784, 320000), expected (784, 16) for this network");
  // Within the cap and as expected, the claim is still only a claim: found short by reading.
  const std::string small = write("small.npz", npz_claiming("w1", "(784, 16)", 784 * 16));
  expect.shapes["w1"] = {784, 16};
  EXPECT_CONTAINS(error_of([&] { read_npz(small, expect); }), small + ": member w1.npy: ");
}

TEST_F(HostileTest, GzippedIdxWithOtherImagesIsRefusedBeforeInflating) {
  // The 972 KB .gz claiming 100,000 images of 100 x 100: the expected 784 pixels are
  // compared with the header, so nothing is inflated (the payload here is 2 bytes anyway).
  const std::string bytes = be32(0x803) + be32(100000) + be32(100) + be32(100) + "xy";
  const std::string path = (dir / "big.gz").string();
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
  EXPECT_EQ(error_of([&] { read_idx_images(path, 784); }),
            path + ": the images have 10000 pixels (100 x 100), expected 784");
  std::vector<PredictInput> inputs;
  EXPECT_CONTAINS(error_of([&] { read_predict_inputs(path, 784, "auto", inputs); }), "expected 784");
}

TEST_F(HostileTest, CsvRowStopsAtTheExpectedWidth) {
  // 786 numbers then a non-number: reading stops after width + 1 cells, so the row is refused
  // for its width (counted, not parsed), never for the cell far beyond it.
  std::string row;
  for (int i = 0; i < 786; ++i) row += "1,";
  row += "x\n";
  std::vector<PredictInput> inputs;
  EXPECT_EQ(error_of([&] { parse_csv_inputs("wide.csv", row, 784, "auto", inputs); }),
            "wide.csv:1: 787 values, the model takes 784");
}

// ---- The same checks in the dataset readers (issue 12's IDX prefixes, CSV, .npz datasets) ------

TEST_F(HostileTest, NpzDatasetShapesAreCheckedFromTheirHeaders) {
  // x_train claims 1000 values per example where a model takes 784: refused from the header
  // (the member holds 4 bytes, so reading it would fail differently).
  const std::string path = write("data.npz", npz_claiming("x_train", "(1000, 1000)", 1000ull * 1000));
  ReadOptions options;
  options.features = 784;
  EXPECT_EQ(error_of([&] { read_npz_dataset(path, options); }),
            path + ": array 'x_train' has shape (1000, 1000): 1000 values per example, expected 784");
  // Nothing expected (training): a compressed member may claim at most kMaxInflatedBytes.
  const std::string big = write("big.npz", npz_claiming("x", "(300000, 1000)", 300000ull * 1000));
  EXPECT_EQ(error_of([&] { read_npz_dataset(big); }),
            big + ": member x.npy: shape (300000, 1000) needs 1200000000 bytes, more than the 1073741824 a "
                  "compressed member may inflate to");
}

TEST_F(HostileTest, PrefixedIdxDirectoryChecksPixelsFromTheHeader) {
  // EMNIST-style names: the prefix path reads the header's 100 x 100 and stops, as does a
  // claim over the cap when no pixel count is expected.
  const auto gz = [&](const std::string& name, const std::string& bytes) {
    gzFile f = gzopen((dir / name).c_str(), "wb");
    gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
  };
  gz("emnist-letters-train-images-idx3-ubyte.gz", be32(0x803) + be32(100000) + be32(100) + be32(100) + "xy");
  gz("emnist-letters-train-labels-idx1-ubyte.gz", be32(0x801) + be32(1) + "\x01");
  const std::string images = (dir / "emnist-letters-train-images-idx3-ubyte.gz").string();
  ReadOptions options;
  options.features = 784;
  EXPECT_EQ(error_of([&] { read_data(dir.string(), options); }),
            images + ": the images have 10000 pixels (100 x 100), expected 784");
  gz("emnist-letters-train-images-idx3-ubyte.gz", be32(0x803) + be32(200000) + be32(100) + be32(100) + "xy");
  EXPECT_EQ(error_of([&] { read_data(images); }),
            images + ": header says 2000000000 bytes of pixels, more than the 1073741824 an IDX file may hold");
}

TEST_F(HostileTest, CsvHeaderStopsAtTheExpectedWidth) {
  // A one-row file of 100,000 columns for a model of 2 features: stopped at 2 x (2 + 1) names.
  std::string wide;
  for (int c = 0; c < 100000; ++c) wide += "c" + std::to_string(c) + ",";
  wide += "label\n";
  const std::string path = write("wide.csv", wide);
  ReadOptions options;
  options.features = 2;
  EXPECT_EQ(error_of([&] { read_csv(path, options); }),
            path + ": the header row has more than 6 columns (the model takes 2 features)");
  // A near miss still gets the exact count.
  const std::string three = write("three.csv", "a,b,c,label\n1,2,3,x\n");
  EXPECT_EQ(error_of([&] { read_csv(three, options); }), three + ": 3 feature columns, the model takes 2");
  // Training (nothing expected): at most 2^20 feature columns.
  std::string widest;
  for (std::size_t c = 0; c < (std::size_t(1) << 20) + 2; ++c) widest += "c,";
  widest += "label\n";
  const std::string huge = write("huge.csv", widest);
  EXPECT_EQ(error_of([&] { read_csv(huge); }),
            huge + ": the header row has more than 1048577 columns (a CSV holds at most 1048576 features)");
}

TEST_F(HostileTest, CsvOfEmptyLinesUnderAWideHeaderReservesNoMoreThanItsSize) {
  // 1,000,000 line breaks under 100,000 columns: rows x features would reserve 10^11 floats
  // (400 GB); a row takes at least a byte per column, so the reservation is ~10^7 at most.
  std::string text;
  for (int c = 0; c < 100000; ++c) text += "c" + std::to_string(c) + ",";
  text += "label\n" + std::string(1000000, '\n');
  const std::string path = write("empty-lines.csv", text);
  EXPECT_EQ(error_of([&] { read_csv(path); }), path + ": a header but no data rows");
}
