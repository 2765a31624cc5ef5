// .npz: exact round trips in both dtypes and odd shapes, interchange with NumPy itself
// (skipped when /usr/bin/python3 has no numpy), and the errors and atomicity promises.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "backprop/error.hpp"
#include "backprop/io/npz.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace backprop;

namespace {

struct NpzTest : ::testing::Test {
  backprop::testing::TempDir tmp{"npz"};
  const fs::path dir = tmp.path;
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

NpyArray make(std::vector<std::size_t> shape, bool is_double, double start) {
  NpyArray a;
  a.shape = std::move(shape);
  a.is_double = is_double;
  for (std::size_t i = 0; i < a.size(); ++i) a.values.push_back(start + 0.25 * double(i) - 1.0 / 3.0);
  if (!is_double)  // values a float can hold, so the round trip is exact
    for (double& v : a.values) v = float(v);
  return a;
}

bool have_numpy() { return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

// Runs a Python snippet in dir (so it can name files relatively) and returns its status.
int python(const fs::path& dir, const std::string& code) {
  std::ofstream(dir / "script.py") << "import os\n"
                                      "os.chdir(os.path.dirname(os.path.abspath(__file__)))\n"
                                   << code;
  return std::system(("/usr/bin/python3 '" + (dir / "script.py").string() + "'").c_str());
}

using backprop::testing::error_of;

}  // namespace

TEST(NpyArray, SizeIsTheProductOfTheShape) {
  NpyArray a;
  a.shape = {3, 2};
  EXPECT_EQ(a.size(), 6u);
  a.shape = {};  // a scalar
  EXPECT_EQ(a.size(), 1u);
  a.shape = {4, 0};
  EXPECT_EQ(a.size(), 0u);
}

TEST_F(NpzTest, RoundTripIsExact) {
  Npz out;
  out["w1"] = make({3, 2}, false, 1.0);
  out["b1"] = make({1, 5}, true, -2.0);
  out["lr"] = make({}, true, 0.1);
  out["s"] = make({}, false, 7.0);
  out["v"] = make({4}, false, 3.0);
  write_npz(path("p.npz"), out);
  const Npz in = read_npz(path("p.npz"));
  ASSERT_EQ(in.size(), out.size());
  for (const auto& [name, a] : out) {
    const NpyArray& b = in.at(name);
    EXPECT_EQ(b.shape, a.shape) << name;
    EXPECT_EQ(b.is_double, a.is_double) << name;
    EXPECT_EQ(b.values, a.values) << name;
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST_F(NpzTest, NumpyLoadsWhatWeWrite) {
  if (!have_numpy()) GTEST_SKIP() << "/usr/bin/python3 cannot import numpy";
  Npz out;
  out["w"] = make({3, 2}, false, 1.0);
  out["b"] = make({1, 5}, true, -2.0);
  out["t"] = make({}, true, 4.0);
  write_npz(path("ours.npz"), out);
  const int rc = python(dir, "import numpy as np\n"
                             "d = np.load('ours.npz')\n"
                             "assert sorted(d.files) == ['b', 't', 'w'], d.files\n"
                             "w = np.arange(6, dtype=np.float64).reshape(3, 2) * 0.25 + 1 - 1/3\n"
                             "assert d['w'].dtype == np.float32 and d['w'].shape == (3, 2)\n"
                             "assert (d['w'] == w.astype(np.float32)).all()\n"
                             "assert d['b'].dtype == np.float64 and d['b'].shape == (1, 5)\n"
                             "assert (d['b'] == np.arange(5).reshape(1, 5) * 0.25 - 2 - 1/3).all()\n"
                             "assert d['t'].shape == () and d['t'] == 4 - 1/3\n");
  EXPECT_EQ(rc, 0);
}

TEST_F(NpzTest, ReadsNumpySavezAndSavezCompressed) {
  if (!have_numpy()) GTEST_SKIP() << "/usr/bin/python3 cannot import numpy";
  ASSERT_EQ(python(dir, "import numpy as np\n"
                        "a = np.arange(12, dtype=np.float32).reshape(3, 4) / 8\n"
                        "b = np.linspace(0, 1, 7)\n"
                        "np.savez('plain.npz', a=a, b=b, c=np.float64(2.5))\n"
                        "np.savez_compressed('deflated.npz', a=a, b=b, c=np.float64(2.5))\n"),
            0);
  for (const char* name : {"plain.npz", "deflated.npz"}) {
    const Npz in = read_npz(path(name));
    ASSERT_EQ(in.size(), 3u) << name;
    const NpyArray& a = in.at("a");
    EXPECT_EQ(a.shape, (std::vector<std::size_t>{3, 4}));
    EXPECT_FALSE(a.is_double);
    for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(a.values[i], double(i) / 8);
    const NpyArray& b = in.at("b");
    EXPECT_EQ(b.shape, std::vector<std::size_t>{7});
    EXPECT_TRUE(b.is_double);
    EXPECT_EQ(b.values[3], 0.5);
    EXPECT_EQ(in.at("c").shape.size(), 0u);
    EXPECT_EQ(in.at("c").values, std::vector<double>{2.5});
  }
}

TEST_F(NpzTest, RefusesUnsupportedDtypeNamingTheMember) {
  if (!have_numpy()) GTEST_SKIP() << "/usr/bin/python3 cannot import numpy";
  ASSERT_EQ(python(dir, "import numpy as np\n"
                        "np.savez('ints.npz', w=np.zeros(3), labels=np.arange(4, dtype=np.uint8))\n"),
            0);
  EXPECT_EQ(error_of([&] { read_npz(path("ints.npz")); }),
            path("ints.npz") + ": member labels.npy: unsupported dtype '|u1' (only <f4 and <f8)");
}

TEST_F(NpzTest, RefusesNonZipAndMissingFiles) {
  std::ofstream(path("text.npz")) << "this is not a zip archive\n";
  const std::string not_zip = error_of([&] { read_npz(path("text.npz")); });
  EXPECT_EQ(not_zip.rfind(path("text.npz") + ": not a readable .npz (zip) archive", 0), 0u) << not_zip;
  EXPECT_EQ(error_of([&] { read_npz(path("missing.npz")); }),
            path("missing.npz") + ": cannot open (No such file or directory)");
}

TEST_F(NpzTest, FailedWriteLeavesNothing) {
  Npz out;
  out["w"] = make({2}, true, 0.0);
  const std::string target = (dir / "no-such-dir" / "p.npz").string();
  EXPECT_EQ(error_of([&] { write_npz(target, out); }),
            target + ": cannot create (No such file or directory)");
  out["bad"].shape = {3};  // shape says 3 values, has 1
  out["bad"].values = {1.0};
  EXPECT_EQ(error_of([&] { write_npz(path("p.npz"), out); }),
            path("p.npz") + ": array bad has 1 values but shape (3,)");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 0);
}

// Headers numpy never writes but the format allows (other key order, double quotes,
// version 2.0), and members whose header and data disagree.
TEST_F(NpzTest, ParsesHeadersRobustlyAndChecksSizes) {
  if (!have_numpy()) GTEST_SKIP() << "/usr/bin/python3 cannot import numpy";
  ASSERT_EQ(python(dir, R"(import struct, zipfile
import numpy as np
def npy(header, data, version=1):
    header = header + ' ' * (63 - (len(header) + 10) % 64) + '\n'
    size = struct.pack('<H' if version == 1 else '<I', len(header))
    return b'\x93NUMPY' + bytes([version, 0]) + size + header.encode() + data
with zipfile.ZipFile('odd.npz', 'w') as z:
    z.writestr('x.npy', npy('{"shape": (2,), "fortran_order": False, "descr": "<f8"}', np.array([1.5, -2.0]).tobytes()))
    z.writestr('y.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", np.float32(3).tobytes(), 2))
with zipfile.ZipFile('short.npz', 'w') as z:
    z.writestr('w.npy', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", b'\0' * 16))
with zipfile.ZipFile('fortran.npz', 'w') as z:
    z.writestr('w.npy', npy("{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }", b'\0' * 8))
with zipfile.ZipFile('garbled.npz', 'w') as z:
    z.writestr('w.npy', npy("{'descr': '<f8', 'shape': [1], }", b'\0' * 8))
with zipfile.ZipFile('other.npz', 'w') as z:
    z.writestr('notes.txt', 'hello')
)"),
            0);
  const Npz odd = read_npz(path("odd.npz"));
  EXPECT_EQ(odd.at("x").values, (std::vector<double>{1.5, -2.0}));
  EXPECT_EQ(odd.at("y").values, std::vector<double>{3.0});
  EXPECT_EQ(odd.at("y").shape.size(), 0u);
  EXPECT_EQ(error_of([&] { read_npz(path("short.npz")); }),
            path("short.npz") + ": member w.npy: shape (4,) needs 160 bytes, member has 144");
  EXPECT_EQ(error_of([&] { read_npz(path("fortran.npz")); }),
            path("fortran.npz") + ": member w.npy: Fortran order is not supported");
  EXPECT_EQ(error_of([&] { read_npz(path("garbled.npz")); }),
            path("garbled.npz") + ": member w.npy: expected '(' at offset 26 of the header");
  EXPECT_EQ(error_of([&] { read_npz(path("other.npz")); }),
            path("other.npz") + ": member notes.txt is not a .npy array");
}
