// AtomicFile: temp file in the final directory + fsync + rename (see atomic_file.hpp).
// The temp file must live in the same directory because rename() is only atomic
// within one filesystem. An output is a regular file or a new name: a symlink is written
// through to its target (the temporary file goes beside the target, so the link stays a
// link), and a device, FIFO, socket or directory is refused before anything is created:
// renaming over /dev/stdout would replace the link, over a FIFO or a device the special
// file itself. The FILE handed to writers is a glibc fopencookie stream over
// the descriptor, so the errno of a failed write is kept for the error message.
#include "backprop/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "backprop/error.hpp"

namespace backprop {
namespace {

std::string reason(int err) { return std::string("(") + std::strerror(err) + ")"; }

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A rename is durable only once the directory entry is on disk. Failure here cannot
// undo the rename, and some filesystems refuse to fsync directories, so best effort.
void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

ssize_t sink_write(void* cookie, const char* data, std::size_t size) {
  auto* sink = static_cast<detail::FdSink*>(cookie);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(sink->fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!sink->error) sink->error = n < 0 ? errno : EIO;
      return 0;  // fopencookie: 0 reports an error
    }
    done += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

int sink_close(void* cookie) {
  auto* sink = static_cast<detail::FdSink*>(cookie);
  const int rc = ::close(std::exchange(sink->fd, -1));
  if (rc != 0 && !sink->error) sink->error = errno;
  return rc;
}

}  // namespace

std::string resolve_output_path(const std::string& path) {
  if (path.empty()) throw Error("an output file needs a name");
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {  // follows links, /proc's magic ones included
    if (!S_ISREG(info.st_mode))
      throw file_error(path, std::string("is ") + kind_of(info.st_mode) + "; outputs are regular files or new names");
    char* real = ::realpath(path.c_str(), nullptr);
    if (!real) throw file_error(path, "cannot resolve " + reason(errno));
    std::string target = real;
    std::free(real);
    return target;
  }
  if (errno != ENOENT) throw file_error(path, "cannot create " + reason(errno));
  if (::lstat(path.c_str(), &info) == 0 && S_ISLNK(info.st_mode))
    throw file_error(path, "is a symbolic link to a missing file; give the target's name instead");
  return path;  // a new name: its directory is checked by whoever creates it
}

void check_output_writable(const std::string& path) {
  const std::string target = resolve_output_path(path);
  std::string name = target + ".tmp.XXXXXX";
  std::vector<char> buffer(name.begin(), name.end());
  buffer.push_back('\0');
  const int fd = ::mkstemp(buffer.data());
  if (fd < 0) throw file_error(path, "cannot create " + reason(errno));
  ::close(fd);
  ::unlink(buffer.data());
}

AtomicFile::AtomicFile(std::string final_path)
    : final_path_(std::move(final_path)), target_path_(resolve_output_path(final_path_)) {
  std::string name = target_path_ + ".tmp.XXXXXX";
  std::vector<char> buffer(name.begin(), name.end());
  buffer.push_back('\0');
  const int fd = ::mkstemp(buffer.data());
  if (fd < 0) throw file_error(final_path_, "cannot create " + reason(errno));
  temp_path_ = buffer.data();
  // mkstemp makes the file 0600; a model or data file should be readable like one
  // written by fopen under the usual umask.
  ::fchmod(fd, 0644);
  sink_.fd = fd;
  file_ = ::fopencookie(&sink_, "wb", cookie_io_functions_t{nullptr, sink_write, nullptr, sink_close});
  if (!file_) {
    const int err = errno;
    ::close(std::exchange(sink_.fd, -1));
    ::unlink(temp_path_.c_str());
    throw file_error(final_path_, "cannot create " + reason(err));
  }
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (!file_) throw file_error(final_path_, "write after commit");
  if (size > 0 && std::fwrite(data, 1, size, file_) != size)
    throw file_error(final_path_, "write failed " + reason(sink_.error ? sink_.error : EIO));
}

void AtomicFile::commit() {
  if (!file_) throw file_error(final_path_, "commit called twice");
  // ferror also catches writes through file() that failed long before this flush.
  if (std::fflush(file_) != 0 || std::ferror(file_))
    throw file_error(final_path_, "write failed " + reason(sink_.error ? sink_.error : EIO));
  if (::fsync(sink_.fd) != 0) throw file_error(final_path_, "fsync failed " + reason(errno));
  std::FILE* file = std::exchange(file_, nullptr);
  if (std::fclose(file) != 0)
    throw file_error(final_path_, "close failed " + reason(sink_.error ? sink_.error : EIO));
  if (std::rename(temp_path_.c_str(), target_path_.c_str()) != 0)
    throw file_error(final_path_, "cannot rename " + temp_path_ + " into place " + reason(errno));
  committed_ = true;
  sync_directory(directory_of(target_path_));
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  AtomicFile out(path);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

}  // namespace backprop
