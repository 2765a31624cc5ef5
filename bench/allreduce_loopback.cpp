// The sum of one gradient buffer over the ranks of this machine, alone: MPI_Allreduce of
// COUNT floats, timed after warm-up calls, each call after a barrier so that no rank's
// lateness is counted. Prints the median and the quartiles in microseconds (rank 0).
// bench/distributed.sh builds it with mpicxx and runs it on 2 ranks (shared memory, then TCP
// over loopback).
//   mpirun -np 2 allreduce_loopback COUNT [REPEATS]
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const long count = argc > 1 ? std::atol(argv[1]) : 203532;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 200;
  std::vector<float> buffer(static_cast<std::size_t>(count), 1.0f / float(rank + 1));
  std::vector<double> micros;
  for (int i = 0; i < repeats + 20; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    const double t = (MPI_Wtime() - t0) * 1e6;
    if (i >= 20) micros.push_back(t);  // the first calls set up the connections
  }
  std::sort(micros.begin(), micros.end());
  if (rank == 0)
    std::printf("allreduce ranks %d floats %ld bytes %ld median_us %.1f q1_us %.1f q3_us %.1f\n", size, count,
                count * 4, micros[micros.size() / 2], micros[micros.size() / 4], micros[micros.size() * 3 / 4]);
  MPI_Finalize();
  return 0;
}
