// backprop sweep: every combination of a grid of train flags, each its own `backprop train`
// process, spread over the MPI ranks (under mpirun) and over --jobs local processes each; then
// one table of the runs, best validation accuracy first (docs/distributed.md).
//
// DIR holds, per run NAME (e.g. lr=0.05_hidden=128): NAME.jsonl (--metrics), NAME.model
// (--out, written last, so its presence means the run finished) and NAME.log (its output);
// and summary.csv. That is the layout `backprop serve --runs DIR` reads.
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "backprop/error.hpp"
#include "backprop/io/atomic_file.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "distributed_cli.hpp"
#include "sweep_grid.hpp"

extern char** environ;

namespace backprop::cli {

namespace {

namespace fs = std::filesystem;

struct SweepOptions {
  std::string grid, out;
  int jobs = 1;
  bool resume = false;
};

// What a finished run's metrics say: its last epoch's numbers.
struct Outcome {
  std::string status = "ok";
  double val_accuracy = NAN, val_loss = NAN, test_accuracy = NAN, seconds = 0;
  int epochs = 0;
};

Outcome read_outcome(const std::string& metrics) {
  Outcome o;
  std::ifstream in(metrics);
  if (!in) return {"no metrics (" + metrics + ")"};
  std::string line;
  nlohmann::json last;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      last = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      return {metrics + ": line " + std::to_string(o.epochs + 1) + " is not JSON"};
    }
    ++o.epochs;
    o.seconds += last.value("train_seconds", 0.0);
  }
  o.val_accuracy = last.value("val_accuracy", NAN);
  o.val_loss = last.value("val_loss", NAN);
  o.test_accuracy = last.value("test_accuracy", NAN);
  return o;
}

// A child process `backprop train args...`, its output into log, and the MPI launcher's
// variables removed: it trains alone, not as a rank of this job.
pid_t spawn_train(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid < 0) throw Error(std::string("sweep: fork failed: ") + std::strerror(errno));
  if (pid > 0) return pid;
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(126);
  std::vector<std::string> launcher;
  for (char** e = environ; *e; ++e) {
    const std::string name(*e, std::strcspn(*e, "="));
    for (const char* prefix : {"OMPI_", "PMIX_", "PMI_", "OPAL_"})
      if (name.rfind(prefix, 0) == 0) launcher.push_back(name);
  }
  for (const auto& name : launcher) unsetenv(name.c_str());
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());
  std::fprintf(stderr, "backprop sweep: cannot run /proc/self/exe: %s\n", std::strerror(errno));
  _exit(127);
}

std::string exit_text(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + strsignal(WTERMSIG(status));
  return "stopped";
}

std::string number(double v, int digits = 4) {
  if (std::isnan(v)) return "";
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

int run_sweep(const SweepOptions& o, const std::vector<std::string>& train_flags) {
  Collective* world = mpi_world();
  set_mpi_timeout(0);  // the ranks wait for each other's whole runs, for as long as they take
  const int rank = world ? world->rank() : 0, ranks = world ? world->size() : 1;
  check_thread_count("--jobs", o.jobs, 1);  // processes at once, each at least one thread: the same cap
  if (o.out.empty()) throw Error("sweep: --out DIR is required");
  const std::vector<GridAxis> axes = parse_grid(o.grid);
  const std::vector<GridRun> runs = grid_runs(axes);
  check_sweep_flags(train_flags);
  const fs::path dir(o.out);
  const auto file = [&](const GridRun& r, const char* ext) { return (dir / (r.name + ext)).string(); };
  const auto finished = [&](const GridRun& r) { return fs::exists(file(r, ".model")) && fs::exists(file(r, ".jsonl")); };

  // Every rank looks before any starts writing (the sum is the barrier).
  std::error_code error;
  fs::create_directories(dir, error);
  if (!fs::is_directory(dir)) throw Error(o.out + ": cannot create the sweep's folder (" + error.message() + ")");
  double taken = 0;
  if (!o.resume)
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string ext = entry.path().extension().string();
      taken += ext == ".model" || ext == ".jsonl" || entry.path().filename() == "summary.csv";
    }
  if (world) world->sum(&taken, 1);
  if (taken > 0)
    throw Error(o.out + " already holds a sweep's runs: add --resume to skip the finished ones, or give another --out");

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int local = world ? world->local_size() : 1;
  const std::string threads = std::to_string(std::max(1, cores / (o.jobs * local)));
  if (rank == 0)
    std::printf("sweep %s: %zu runs over %d rank%s x %d local process%s, %s thread%s each\n", o.out.c_str(),
                runs.size(), ranks, ranks == 1 ? "" : "s", o.jobs, o.jobs == 1 ? "" : "es", threads.c_str(),
                threads == "1" ? "" : "s");
  std::fflush(stdout);

  // This rank's runs: every ranks-th one. Up to --jobs at a time.
  std::vector<double> status(runs.size(), 0);  // 0 ok or not ours; else 1 + index into failure
  std::vector<std::string> failure_text;
  std::map<pid_t, std::size_t> running;
  std::size_t next = static_cast<std::size_t>(rank);
  const auto reap_one = [&] {
    int s = 0;
    const pid_t pid = waitpid(-1, &s, 0);
    if (pid < 0) throw Error(std::string("sweep: waitpid failed: ") + std::strerror(errno));
    const auto found = running.find(pid);
    if (found == running.end()) return;  // not one of ours
    const GridRun& r = runs[found->second];
    running.erase(found);
    const bool ok = WIFEXITED(s) && WEXITSTATUS(s) == 0 && finished(r);
    std::printf("%s %s\n", ok ? "done" : "FAILED", r.name.c_str());
    if (!ok) {
      status[&r - runs.data()] = 1;
      std::printf("  %s, see %s\n", exit_text(s).c_str(), file(r, ".log").c_str());
    }
    std::fflush(stdout);
  };
  for (; next < runs.size() || !running.empty();) {
    if (next < runs.size() && static_cast<int>(running.size()) < o.jobs) {
      const GridRun& r = runs[next];
      const std::size_t index = next;
      next += static_cast<std::size_t>(ranks);
      if (o.resume && finished(r)) {
        std::printf("%s finished before: skipped\n", r.name.c_str());
        continue;
      }
      std::vector<std::string> args = {"backprop", "train", "--threads", threads};
      args.insert(args.end(), train_flags.begin(), train_flags.end());
      args.insert(args.end(), r.flags.begin(), r.flags.end());
      // After the user's flags: these win.
      args.insert(args.end(), {"--metrics", file(r, ".jsonl"), "--out", file(r, ".model"), "--quiet"});
      fs::remove(file(r, ".model"), error);  // an unfinished earlier try's leftovers
      fs::remove(file(r, ".jsonl"), error);
      running[spawn_train(args, file(r, ".log"))] = index;
      continue;
    }
    reap_one();
  }
  if (world) world->sum(status.data(), status.size());  // every rank's failures, on every rank
  if (rank != 0) return 0;

  // The table: finished runs by validation accuracy (best first), then the failed ones.
  std::vector<std::pair<const GridRun*, Outcome>> rows;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    Outcome outcome = status[i] > 0 ? Outcome{"failed (see " + file(runs[i], ".log") + ")"}
                                    : read_outcome(file(runs[i], ".jsonl"));
    rows.emplace_back(&runs[i], outcome);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    const bool a_ok = a.second.status == "ok", b_ok = b.second.status == "ok";
    if (a_ok != b_ok) return a_ok;
    const double va = std::isnan(a.second.val_accuracy) ? -1 : a.second.val_accuracy;
    const double vb = std::isnan(b.second.val_accuracy) ? -1 : b.second.val_accuracy;
    return va > vb;
  });
  std::ostringstream csv;
  csv << "place,run";
  for (const auto& axis : axes) csv << "," << axis.key;
  csv << ",val_accuracy,val_loss,test_accuracy,epochs,train_seconds,status\n";
  std::printf("place  run%*s  val_accuracy  val_loss  test_accuracy  epochs\n", 30 - 3, "");
  int failed = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const GridRun& r = *rows[i].first;
    const Outcome& m = rows[i].second;
    failed += m.status != "ok";
    csv << i + 1 << "," << r.name;
    for (const auto& value : r.values) csv << "," << value;
    csv << "," << number(m.val_accuracy) << "," << number(m.val_loss) << "," << number(m.test_accuracy) << ","
        << m.epochs << "," << number(m.seconds, 2) << "," << m.status << "\n";
    std::printf("%5zu  %-30s  %12s  %8s  %13s  %6d%s%s\n", i + 1, r.name.c_str(), number(m.val_accuracy).c_str(),
                number(m.val_loss).c_str(), number(m.test_accuracy).c_str(), m.epochs,
                m.status == "ok" ? "" : "  ", m.status == "ok" ? "" : m.status.c_str());
  }
  write_file_atomic((dir / "summary.csv").string(), csv.str());
  std::printf("wrote %s\n", (dir / "summary.csv").string().c_str());
  if (failed) std::fprintf(stderr, "backprop: error: %d of %zu runs failed\n", failed, runs.size());
  return failed ? 1 : 0;
}

}  // namespace

Command add_sweep(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* sub = app.add_subcommand(
      "sweep", "Train every combination of a grid of train flags (over MPI ranks or local processes) and rank them");
  sub->add_option("--grid", o->grid, "Flags and their values, e.g. \"lr=0.01,0.05,0.1 hidden=128,256\"")->required();
  sub->add_option("--out", o->out, "Folder for the runs (NAME.jsonl, NAME.model, NAME.log) and summary.csv")->required();
  sub->add_option("--jobs", o->jobs, "Runs at once per process (per MPI rank under mpirun; at most " + std::to_string(max_threads()) + ", 4 x the cores)")->capture_default_str();
  sub->add_flag("--resume", o->resume, "Skip the runs that finished (their model file exists)");
  sub->allow_extras();  // every other flag goes to each `backprop train`
  sub->footer("Any other flag is passed to every run's `backprop train` (give --val-split N: runs are ranked "
              "by validation accuracy). Under mpirun the runs are shared out among the ranks.");
  return {sub, [o, sub] {
            const std::vector<std::string> extras = sub->remaining();
            return run_collectively(mpi_world(), [&] { return run_sweep(*o, extras); });
          }};
}

}  // namespace backprop::cli
