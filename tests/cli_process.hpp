// Running the backprop binary from tests: start it in a directory with its stdout and stderr
// in files, wait for it, or signal it while it runs. BACKPROP_CLI is the binary's path
// (tests/CMakeLists.txt defines it); the environment, BACKPROP_DATA included, is inherited.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace backprop::testing {

struct CliResult {
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it
  std::string out, err;
};

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class CliProcess {
 public:
  CliProcess(const std::vector<std::string>& args, const std::filesystem::path& dir) : dir_(dir) {
    static int counter = 0;
    const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(counter++);
    out_ = std::filesystem::temp_directory_path() / ("backprop-cli-out-" + tag);
    err_ = std::filesystem::temp_directory_path() / ("backprop-cli-err-" + tag);
    std::vector<std::string> argv = {BACKPROP_CLI};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> pointers;
      for (auto& a : argv) pointers.push_back(a.data());
      pointers.push_back(nullptr);
      const int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0 || ::chdir(dir_.c_str()) != 0) ::_exit(126);
      ::execv(pointers[0], pointers.data());
      ::_exit(127);
    }
  }
  ~CliProcess() {
    if (pid_ > 0 && !waited_) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }
  CliResult wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    waited_ = true;
    CliResult r;
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    r.out = read_text(out_);
    r.err = read_text(err_);
    std::filesystem::remove(out_);
    std::filesystem::remove(err_);
    return r;
  }
  // Whether the process has exited (without reaping it).
  bool running() const {
    siginfo_t info{};
    return ::waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
  }

 private:
  std::filesystem::path dir_, out_, err_;
  pid_t pid_ = -1;
  bool waited_ = false;
};

inline CliResult run_cli(const std::vector<std::string>& args, const std::filesystem::path& dir) {
  return CliProcess(args, dir).wait();
}

// Polls (every millisecond) until path exists or the process ends; true if it exists.
inline bool wait_for_file(const CliProcess& process, const std::filesystem::path& path, double seconds = 60) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (std::filesystem::exists(path)) return true;
    if (!process.running()) return std::filesystem::exists(path);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

}  // namespace backprop::testing
