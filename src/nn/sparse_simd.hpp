// What the sparse-input kernels (sparse.cpp, sparse_groups.cpp) share: 64-byte vectors in
// GCC's vector extension, the run-time choice of AVX-512, and the split of a loop between
// threads. Internal to the library (not installed): the 64-byte vectors stay inside these files.
#pragma once

#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

#include <Eigen/Core>

#if defined(__x86_64__)
#include <immintrin.h>
#define BACKPROP_X86 1
#define BACKPROP_AVX512 __attribute__((target("avx512f")))
#else
#define BACKPROP_AVX512
#endif

namespace backprop::simd {

using Index = Eigen::Index;

// Rows are processed in tiles of 64-byte vectors (16 floats, 8 doubles): a tile's sums stay in
// registers while the nonzeros of a column stream past. GCC's vector extension states that
// layout directly (left to itself, the vectoriser gathers across the nonzeros instead).
typedef float VecFloat __attribute__((vector_size(64)));
typedef double VecDouble __attribute__((vector_size(64)));
template <typename T>
struct VecOf;
template <>
struct VecOf<float> {
  using type = VecFloat;
};
template <>
struct VecOf<double> {
  using type = VecDouble;
};
template <typename T>
using Vec = typename VecOf<T>::type;
template <typename T>
constexpr int kLanes = 64 / sizeof(T);

template <typename T>
[[gnu::always_inline]] inline Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);  // an unaligned load
  return v;
}
template <typename T>
[[gnu::always_inline]] inline void store(T* p, const Vec<T>& v) {
  std::memcpy(p, &v, sizeof v);
}

// Every lane = s, as one broadcast from memory. (Vec<T>{} + s adds 0 to s first, a scalar add
// and a register shuffle for each broadcast, since 0 + -0 is +0; s - Vec<T>{} built the vector
// lane by lane, 16 masked broadcasts, once inlined from a function compiled for the baseline.)
[[gnu::always_inline]] inline VecFloat broadcast(float s) {
  const VecFloat v = {s};
  return __builtin_shufflevector(v, v, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}
[[gnu::always_inline]] inline VecDouble broadcast(double s) {
  const VecDouble v = {s};
  return __builtin_shufflevector(v, v, 0, 0, 0, 0, 0, 0, 0, 0);
}

// Below this many multiply-adds a parallel region costs more than it saves.
constexpr double kParallelWork = 1 << 16;

inline int threads_for(double work) { return work < kParallelWork ? 1 : omp_get_max_threads(); }

// Thread t's share [begin, end) of n items.
inline void share(Index n, Index& begin, Index& end) {
  const int t = omp_get_thread_num(), threads = omp_get_num_threads();
  begin = n * t / threads;
  end = n * (t + 1) / threads;
}

// AVX-512 where the CPU has it (and BACKPROP_ISA is not "baseline"): decided once.
inline bool use_avx512() {
#ifdef BACKPROP_X86
  static const bool yes = [] {
    const char* isa = std::getenv("BACKPROP_ISA");
    return !(isa && std::string_view(isa) == "baseline") && __builtin_cpu_supports("avx512f");
  }();
  return yes;
#else
  return false;
#endif
}

}  // namespace backprop::simd
