// AtomicFile: the final file appears only on commit, and a failure or an abandoned
// write leaves neither the final file nor a temporary one behind.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backprop/io/atomic_file.hpp"
#include "backprop/error.hpp"
#include "error_of.hpp"
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

// ---- Outputs are regular files or new names (issue 18) ----------------------------------------

TEST_F(AtomicFileTest, ASymlinkIsWrittenThroughToItsTargetAndStaysALink) {
  backprop::testing::TempDir other{"atomic-target"};
  const fs::path target = other.path / "model.bin", link = dir / "link.bin";
  std::ofstream(target) << "old";
  fs::create_symlink(target, link);
  backprop::write_file_atomic(link.string(), "new");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(slurp(target), "new");
  EXPECT_EQ(std::distance(fs::directory_iterator(other.path), fs::directory_iterator()), 1);  // no temp file
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFileTest, DevicesFifosSocketsAndDirectoriesAreRefusedAndLeftAlone) {
  using backprop::testing::error_of;
  const fs::path fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  EXPECT_EQ(error_of([&] { backprop::write_file_atomic(fifo.string(), "x"); }),
            fifo.string() + ": is a FIFO (named pipe); outputs are regular files or new names");
  EXPECT_TRUE(fs::is_fifo(fifo));
  // /dev/null itself is only stat'ed: a refusal never touches it.
  EXPECT_CONTAINS(error_of([] { backprop::write_file_atomic("/dev/null", "x"); }), "/dev/null: is a character device");
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  EXPECT_CONTAINS(error_of([&] { AtomicFile out(dir.string()); }), ": is a directory");
  const fs::path socket_path = dir / "sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_CONTAINS(error_of([&] { backprop::check_output_writable(socket_path.string()); }), ": is a socket");
  ::close(fd);
  fs::create_symlink(dir / "missing" / "x", dir / "dangling");
  EXPECT_CONTAINS(error_of([&] { backprop::write_file_atomic((dir / "dangling").string(), "x"); }),
                  "is a symbolic link to a missing file");
  EXPECT_EQ(entries(), 3u);  // fifo, sock, dangling: nothing added
}

TEST_F(AtomicFileTest, CheckOutputWritableProbesTheDirectoryAndLeavesNothing) {
  backprop::check_output_writable((dir / "new.bin").string());
  EXPECT_EQ(entries(), 0u);
  // /proc/self accepts no new files, even from root.
  EXPECT_CONTAINS(backprop::testing::error_of([] { backprop::check_output_writable("/proc/self/new.bin"); }),
                  "/proc/self/new.bin: cannot create (");
}
