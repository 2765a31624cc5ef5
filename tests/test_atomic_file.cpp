// AtomicFile: the final file appears only on commit, and a failure or an abandoned
// write leaves neither the final file nor a temporary one behind.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backprop/io/atomic_file.hpp"
#include "backprop/error.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using backprop::AtomicFile;

namespace {

struct AtomicFileTest : ::testing::Test {
  backprop::testing::TempDir tmp{"atomic"};
  const fs::path dir = tmp.path;
  std::size_t entries() const { return std::distance(fs::directory_iterator(dir), fs::directory_iterator()); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_F(AtomicFileTest, CommitCreatesTheFileAndNoTempRemains) {
  const fs::path target = dir / "model.bin";
  {
    AtomicFile out(target.string());
    EXPECT_EQ(fs::path(out.temp_path()).parent_path(), dir);
    EXPECT_FALSE(fs::exists(target));  // nothing under the final name before commit
    out.write("hello ", 6);
    std::fputs("world", out.file());
    out.commit();
  }
  EXPECT_EQ(slurp(target), "hello world");
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFileTest, CommitReplacesAnExistingFile) {
  const fs::path target = dir / "metrics.json";
  backprop::write_file_atomic(target.string(), "old");
  backprop::write_file_atomic(target.string(), "new contents");
  EXPECT_EQ(slurp(target), "new contents");
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFileTest, DestructionWithoutCommitLeavesNothing) {
  const fs::path target = dir / "model.bin";
  std::string temp;
  {
    AtomicFile out(target.string());
    temp = out.temp_path();
    out.write("partial", 7);
    EXPECT_TRUE(fs::exists(temp));
  }
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_FALSE(fs::exists(target));
  EXPECT_EQ(entries(), 0u);
}

TEST_F(AtomicFileTest, MissingDirectoryIsAFileError) {
  const std::string target = (dir / "no-such-dir" / "model.bin").string();
  try {
    AtomicFile out(target);
    FAIL() << "expected an error";
  } catch (const backprop::Error& e) {
    EXPECT_EQ(std::string(e.what()), target + ": cannot create (No such file or directory)");
  }
  EXPECT_EQ(entries(), 0u);
}

// A write error (here EFBIG from a file-size limit, standing in for ENOSPC) must
// surface as an exception, not as a silently short file.
TEST_F(AtomicFileTest, WriteFailureThrowsAndLeavesNothing) {
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  try {
    AtomicFile out((dir / "big.bin").string());
    const std::string chunk(1 << 16, 'x');
    std::fwrite(chunk.data(), 1, chunk.size(), out.file());
    out.commit();
  } catch (const backprop::Error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find("big.bin: write failed (File too large)"), std::string::npos) << message;
  EXPECT_EQ(entries(), 0u);
}
