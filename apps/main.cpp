// backprop: train, check and use fully connected networks whose gradients are derived by
// hand. Each subcommand lives in its own cmd_*.cpp and registers itself here.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include "backprop/error.hpp"
#include "backprop/version.hpp"
#include "commands.hpp"
#include "presets.hpp"
#include "usage.hpp"

namespace backprop::cli {
const char* git_revision();  // git_revision.cpp, generated at build time (apps/CMakeLists.txt)
}

namespace {

// "--preset NAME" expands to the preset's flags, placed right after the subcommand so that
// any flag the user gives explicitly comes later and wins (options take the last value).
std::vector<std::string> expand_preset(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  // Only train expands a preset; sweep passes --preset on to each run's train, which does.
  if (argc < 2 || std::string(argv[1]) != "train") return args;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string name;
    if (args[i] == "--preset" && i + 1 < args.size()) name = args[i + 1];
    else if (args[i].rfind("--preset=", 0) == 0) name = args[i].substr(9);
    else continue;
    const auto& preset = backprop::cli::find_preset(name);
    // --layers and --hidden say the same thing: a user's one replaces the preset's other.
    const auto given = [&](const std::string& flag) {
      for (const auto& arg : args)
        if (arg == flag || arg.rfind(flag + "=", 0) == 0) return true;
      return false;
    };
    const bool user_sizes = given("--layers") || given("--hidden");
    std::vector<std::string> flags;
    for (const auto& [flag, value] : preset.flags) {
      if (user_sizes && (std::string(flag) == "--layers" || std::string(flag) == "--hidden")) continue;
      flags.push_back(flag);
      flags.push_back(value);
    }
    args.insert(args.begin() + 2, flags.begin(), flags.end());  // after "backprop train"
    break;
  }
  return args;
}

// OpenMP's threads spin at every barrier by default (libgomp: 300,000 rounds), which on a busy
// machine fights the other processes for the cores: an epoch of the seed took 25 times longer
// at 2 threads than at 1 (bench/busy_machine.sh). Sleeping at every barrier instead (passive)
// costs an idle machine a quarter of the epoch (seed, 2 threads: 0.23-0.26 s against 0.20 s),
// so the wait depends on the machine when the run starts: passive when the load average is at
// least half the cores, else a short spin (10,000 rounds, microseconds) that keeps the idle
// speed and bounds what a spinning thread can take. Only when the user chose neither policy;
// libgomp reads the variables when the program loads, hence the exec of the same binary with
// one set (once: it is set then). A run on one thread has no barrier to wait at, and skips
// the exec: loading the program a second time costs 8 ms (OpenBLAS's 12,000 relocations),
// 5% of training a small table.
void choose_openmp_wait(int argc, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  std::string threads = std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "";
  for (int i = 1; i < argc; ++i) {  // the last --threads wins, as in the parser
    const std::string_view arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) threads = argv[i + 1];
    if (arg.substr(0, 10) == "--threads=") threads = std::string(arg.substr(10));
  }
  if (threads == "1") return;
  double load = 0;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = 0;
    std::fclose(f);
  }
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const bool busy = load >= 0.5 * cores;
  if (::setenv(busy ? "OMP_WAIT_POLICY" : "GOMP_SPINCOUNT", busy ? "passive" : "10000", 1) != 0) return;
  ::execv("/proc/self/exe", argv);  // returns only on failure: go on with the default policy
}

}  // namespace

// Exit status: 0 done, 2 a usage error (the command line), 1 a failure (usage.hpp).
int main(int argc, char** argv) {
  choose_openmp_wait(argc, argv);
  CLI::App app{"backprop: fully connected networks trained by hand-derived backpropagation"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("backprop ") + backprop::library_version() + " (git " +
                                         backprop::cli::git_revision() + ")");
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.footer("Exit status: 0 done, 1 the work failed (a bad file, a write error), 2 a usage error.");
  std::vector<backprop::cli::Command> commands = backprop::cli::all_commands(app);
  std::vector<std::string> args(argv, argv + argc);
  try {
    args = expand_preset(argc, argv);
    std::vector<char*> pointers;
    for (auto& arg : args) pointers.push_back(arg.data());
    app.parse(static_cast<int>(pointers.size()), pointers.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "backprop: error: " << backprop::cli::parse_error_message(app, args, e) << "\n";
    return 2;
  } catch (const backprop::Error& e) {
    std::cerr << "backprop: error: " << e.what() << "\n";
    return 2;
  }
  try {
    for (auto& command : commands)
      if (command.app->parsed()) return command.run();
  } catch (const backprop::cli::UsageError& e) {
    std::fflush(stdout);
    std::cerr << "backprop: error: " << e.what() << "\n";
    return 2;
  } catch (const backprop::Error& e) {
    std::fflush(stdout);
    std::cerr << "backprop: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::cerr << "backprop: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::cerr << "backprop: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
