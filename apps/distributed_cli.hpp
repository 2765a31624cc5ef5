// What the commands do differently when mpirun started them (train/distributed.hpp): errors
// end the whole job, threads are shared out among the processes of a machine, and rank 0
// reports where the steps' time went.
#pragma once

#include <functional>

#include "backprop/train/distributed.hpp"

namespace backprop {

// Whether an MPI launcher (mpirun, srun) started this process: its environment says so.
bool launched_by_mpi();

// The processes of this job when an MPI launcher started it, else nullptr (a plain process
// trains alone, exactly as without MPI). The first call initialises MPI and arranges its
// finalisation at exit. Throws Error when launched by mpirun but built without MPI.
Collective* mpi_world();

// A rank that waits longer than this in one collective call (a sum, a broadcast, finalising)
// prints an error and exits 1, and mpirun ends the others: a peer that stopped answering
// cannot hang the job. Default 600 s, or $BACKPROP_MPI_TIMEOUT; 0 turns it off (sweep does:
// its ranks wait for each other's whole runs).
void set_mpi_timeout(double seconds);

}  // namespace backprop

namespace backprop::cli {

// body(), alone or under MPI. Under MPI an error on this process is printed (with its rank)
// and ends every process of the job (MPI_Abort): the others would otherwise wait forever in
// a sum this one never joins.
int run_collectively(Collective* world, const std::function<int()>& body);

// --threads 0 under MPI: the machine's cores shared among its processes (at least 1 each).
int default_threads(const Collective* world, int requested);

// Rank 0 prints the steps' compute and sum times (means over the processes) and the bytes
// each step reduced. Every process must call it.
void print_step_timings(Collective& world, const StepTimings& timings);

}  // namespace backprop::cli
