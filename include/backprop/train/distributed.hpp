// Data-parallel training: N processes train one network. Every global batch is split into N
// contiguous shares, each process computes the gradient of its share, one sum over all the
// processes (MPI_Allreduce over one contiguous buffer) gives every process the gradient of the
// whole batch, and every process applies the same update to the same parameters.
//
// With shares of n_r examples out of a batch of B, the gradient of the batch's mean loss is
//   g = (1 / B) sum_j g_j = sum_r (n_r / B) g_r,   g_r the gradient of share r's mean loss,
// so each process scales its gradient by n_r / B before the sum. Nothing random depends on the
// rank: the order comes from the one generator every process holds (seeded alike), dropout
// masks are drawn for the whole batch on every process (each keeps its share's columns), and
// augmentation is keyed by (seed, epoch, example) already. Only the order of the sums differs.
//
// Collective says what the trainer needs of the processes and nothing of MPI: the library does
// not link MPI; the command's MPI world (apps/mpi_world.cpp) is one.
#pragma once

#include <cstddef>
#include <utility>

namespace backprop {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_size() const = 0;  // processes on this machine (for the thread count)
  // Sums values over every process, in place; every process ends with the same bits.
  virtual void sum(float* values, std::size_t count) = 0;
  virtual void sum(double* values, std::size_t count) = 0;
  // Rank 0's values, on every process.
  virtual void broadcast(double* values, std::size_t count) = 0;
  // Ends every process of the job at once (after an error on this one).
  [[noreturn]] virtual void abort(int code) = 0;
};

// Examples [first, second) of a batch of `count` that process `rank` of `size` computes:
// contiguous shares whose sizes differ by at most one (some are empty when count < size).
inline std::pair<std::size_t, std::size_t> batch_share(std::size_t count, int rank, int size) {
  const auto r = static_cast<std::size_t>(rank), n = static_cast<std::size_t>(size);
  return {count * r / n, count * (r + 1) / n};
}

// Where a distributed run's time went, summed over its steps on this process.
struct StepTimings {
  long long steps = 0;
  double compute_seconds = 0;  // forward, backward, packing, update
  double reduce_seconds = 0;   // inside the sum (waiting for the slowest process included)
  std::size_t bytes_per_step = 0;  // what each step's sum reduces
};

}  // namespace backprop
