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
#include <climits>
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
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  void sum(float* values, std::size_t count) override { all_sum(values, count, MPI_FLOAT); }
  void sum(double* values, std::size_t count) override { all_sum(values, count, MPI_DOUBLE); }
  void broadcast(double* values, std::size_t count) override {
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

#else

Collective* mpi_world() {
  if (launched_by_mpi())
    throw Error("started by an MPI launcher, but this backprop was built without MPI "
                "(install libopenmpi-dev and rebuild; the build log says \"MPI: on\")");
  return nullptr;
}

#endif

}  // namespace backprop
