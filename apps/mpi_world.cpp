// The MPI world as a Collective (backprop/train/distributed.hpp). Built with MPI when CMake found it
// (BACKPROP_HAVE_MPI); without, a process started by mpirun is told so instead of training
// alone N times over.
#include "distributed_cli.hpp"

#include <cstdlib>
#include <memory>
#include <string>

#include "backprop/error.hpp"

#ifdef BACKPROP_HAVE_MPI
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <thread>
#endif

namespace backprop {

bool launched_by_mpi() {
  // Open MPI's mpirun, any PMIx launcher (srun --mpi=pmix, prterun), MPICH's hydra / PMI-2.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

#ifdef BACKPROP_HAVE_MPI

namespace {

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string(what) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

// The watchdog: a rank that waits in one collective call longer than the limit ends itself
// with an error, so a peer that stopped answering (stopped, stuck, or dead under a launcher
// that does not end the job) cannot hang the others; mpirun then ends the rest at this exit.
// Plain atomics at namespace scope (never destroyed): the detached thread reads them up to
// the process's end. No MPI call from the thread (the world is MPI_THREAD_FUNNELED).
std::atomic<long long> g_waiting_since{0};  // steady-clock ns when the current call began; 0 = none
std::atomic<double> g_limit{600};           // seconds; 0 = off
int g_rank = 0, g_size = 1;

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Waiting {  // marks the span of one collective call
  Waiting() { g_waiting_since.store(now_ns()); }
  ~Waiting() { g_waiting_since.store(0); }
};

void start_watchdog() {
  if (const char* text = std::getenv("BACKPROP_MPI_TIMEOUT")) g_limit.store(std::atof(text));
  std::thread([] {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const long long since = g_waiting_since.load();
      const double limit = g_limit.load();
      if (since == 0 || limit <= 0 || double(now_ns() - since) * 1e-9 < limit) continue;
      std::fprintf(stderr,
                   "backprop: error: rank %d of %d: no answer from the other ranks for %g s in a collective "
                   "call (has one stopped or died?); ending this rank (BACKPROP_MPI_TIMEOUT sets the limit)\n",
                   g_rank, g_size, limit);
      std::fflush(stderr);
      std::_Exit(1);
    }
  }).detach();
}

class MpiWorld final : public Collective {
 public:
  MpiWorld() {
    int provided = 0;  // only the main thread calls MPI; OpenMP's workers never do
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    // Errors come back as codes (and become Error) instead of ending the process silently.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    g_rank = rank_, g_size = size_;
    start_watchdog();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  void sum(float* values, std::size_t count) override { all_sum(values, count, MPI_FLOAT); }
  void sum(double* values, std::size_t count) override { all_sum(values, count, MPI_DOUBLE); }
  void broadcast(double* values, std::size_t count) override {
    const Waiting waiting;
    check(MPI_Bcast(values, static_cast<int>(count), MPI_DOUBLE, 0, MPI_COMM_WORLD), "MPI_Bcast");
  }
  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);  // MPI_Abort does not return; this says so to the compiler
  }

 private:
  template <typename T>
  void all_sum(T* values, std::size_t count, MPI_Datatype type) {
    // One call for any buffer a network has (counts are ints: above 2^31 values, pieces).
    const Waiting waiting;
    for (std::size_t done = 0; done < count;) {
      const int n = static_cast<int>(std::min<std::size_t>(count - done, INT_MAX));
      check(MPI_Allreduce(MPI_IN_PLACE, values + done, n, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
      done += static_cast<std::size_t>(n);
    }
  }

  int rank_ = 0, size_ = 1, local_size_ = 1;
};

std::unique_ptr<MpiWorld> g_world;

extern "C" void finalize_world() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  const Waiting waiting;  // finalising waits for every rank too
  if (!finalized) MPI_Finalize();
}

}  // namespace

Collective* mpi_world() {
  if (!g_world && launched_by_mpi()) {
    g_world = std::make_unique<MpiWorld>();
    std::atexit(finalize_world);
  }
  return g_world.get();
}

void set_mpi_timeout(double seconds) { g_limit.store(seconds); }

#else

Collective* mpi_world() {
  if (launched_by_mpi())
    throw Error("started by an MPI launcher, but this backprop was built without MPI "
                "(install libopenmpi-dev and rebuild; the build log says \"MPI: on\")");
  return nullptr;
}

void set_mpi_timeout(double) {}

#endif

}  // namespace backprop
