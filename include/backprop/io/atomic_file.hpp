// Writing a file so that readers see either the old file or the complete new one,
// never a half-written one: the bytes go to a unique temporary file in the same
// directory, which commit() flushes, syncs and renames over the final path. If
// commit() is never reached (an exception, a failed write), the destructor deletes the
// temporary file, so nothing is left behind. Used for model files, .npz, metrics.
// Outputs are regular files or new names: a symlink is written through to its target
// (atomically, beside the target); a device, FIFO, socket or directory is refused.
//
// Not thread-safe per object; distinct objects may be used from distinct threads.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace backprop {

namespace detail {
// Where the FILE's bytes go, and the errno of the first failed write: stdio forgets
// why a write failed, and "write failed (No space left on device)" needs the reason.
struct FdSink {
  int fd = -1;
  int error = 0;
};
}  // namespace detail

// The file an output named `path` really is: the target of a symlink, the path itself when
// it is a new name. Throws file_error(path, "is a character device; ...") for anything that
// exists and is not a regular file, and for a symlink to a missing file.
std::string resolve_output_path(const std::string& path);

// Throws the error AtomicFile(path) would (the checks above, then "cannot create (reason)"
// from creating a probe file beside it, removed at once), before any work that produces it.
void check_output_writable(const std::string& path);

class AtomicFile {
 public:
  // Creates "<target>.tmp.XXXXXX" beside resolve_output_path(final_path). Throws file_error(final_path, "cannot create
  // (reason)") when the directory is missing or not writable.
  explicit AtomicFile(std::string final_path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& final_path() const { return final_path_; }
  const std::string& temp_path() const { return temp_path_; }
  // For writers that want stdio (fprintf, fwrite). Errors are sticky and reported by
  // commit(). A cookie stream: fileno() on it is -1.
  std::FILE* file() { return file_; }
  // fwrite that throws at once on a short write ("write failed (reason)").
  void write(const void* data, std::size_t size);

  // Flush, fsync, close, rename over final_path, then fsync the directory (best
  // effort). Throws file_error(final_path, ...) on any failure; the temp file is then
  // removed by the destructor.
  void commit();

 private:
  std::string final_path_, target_path_, temp_path_;
  detail::FdSink sink_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// The whole of a small file in one call: AtomicFile, write, commit.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace backprop
