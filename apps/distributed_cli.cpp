// The commands under MPI (distributed_cli.hpp).
#include "distributed_cli.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <thread>

namespace backprop::cli {

int run_collectively(Collective* world, const std::function<int()>& body) {
  if (!world) return body();
  try {
    return body();
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fprintf(stderr, "backprop: error: rank %d of %d: out of memory\n", world->rank(), world->size());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "backprop: error: rank %d of %d: %s\n", world->rank(), world->size(), e.what());
  }
  std::fflush(stderr);
  world->abort(1);
  return 1;  // not reached
}

int default_threads(const Collective* world, int requested) {
  if (!world || requested != 0) return requested;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, world->local_size()));
}

void print_step_timings(Collective& world, const StepTimings& timings) {
  double seconds[2] = {timings.compute_seconds, timings.reduce_seconds};
  world.sum(seconds, 2);
  if (world.rank() != 0 || timings.steps == 0) return;
  const double per_step = 1e3 / double(timings.steps) / double(world.size());  // ms, mean over ranks
  std::printf("distributed: %d ranks, %lld steps: compute %.3f ms/step/rank, allreduce %.3f ms/step, "
              "%zu bytes reduced per step\n",
              world.size(), timings.steps, seconds[0] * per_step, seconds[1] * per_step, timings.bytes_per_step);
  std::fflush(stdout);
}

}  // namespace backprop::cli
