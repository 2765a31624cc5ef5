// Evaluation's grouped sparse first layer (sparse_groups.hpp). Threads split the batch by
// group, in the listing and in the product alike, so each reads the lists it wrote itself and
// writes its own columns of h.
//
// Groups of kGroup need the AVX-512 kernels: with AVX2's sixteen registers the sums of four
// examples do not fit beside the column of W (in a standalone loop compiled for x86-64-v3,
// groups of four with one vector each ran 10% slower than one example at a time). There the
// lists hold one example each and the product is sparse_affine's loop.
#include "backprop/nn/sparse_groups.hpp"

#include <algorithm>
#include <type_traits>

#include "sparse_simd.hpp"

namespace backprop {

namespace {

using namespace simd;

// Tiles: one example's sums take eight vectors (as in sparse_affine: eight independent sums
// hide the multiply-add latency behind the reads of W); a group's take four vectors for each
// of its four members, 16 registers, beside the four of W's column. Eight vectors for four
// members would spill; four for one example ran 15% slower than eight (a standalone loop over
// the test images).
constexpr int kVecsOne = 8;
constexpr int kVecsGroup = 4;

// h(r .. r + V lanes, members) = b + sum_k table[member[m][i_k]] W(r .., i_k), i_k = index[k],
// for each member m of one group (W, b and h already point at row r; ldh: h's column stride).
// Each pixel is read from the image itself: the list holds only the shared positions. A short
// last group's missing members point at member 0; their sums are formed and not stored.
template <typename T, int G, int V>
[[gnu::always_inline]] inline void group_tile(const T* W, Index ldw, const T* b, const int* index,
                                              const std::uint8_t* const* member, const T* table, int count,
                                              int members, T* h, Index ldh) {
  Vec<T> acc[G][V];
  for (int m = 0; m < G; ++m)
    for (int v = 0; v < V; ++v) acc[m][v] = load(b + v * kLanes<T>);
  for (int k = 0; k < count; ++k) {
    const int i = index[k];
    const T* w = W + i * ldw;
    Vec<T> column[V];
    for (int v = 0; v < V; ++v) column[v] = load(w + v * kLanes<T>);
    for (int m = 0; m < G; ++m) {
      const Vec<T> x = broadcast(table[member[m][i]]);
      for (int v = 0; v < V; ++v) acc[m][v] += x * column[v];
    }
  }
  for (int m = 0; m < members; ++m)
    for (int v = 0; v < V; ++v) store(h + m * ldh + v * kLanes<T>, acc[m][v]);
}

// The columns of one group (n rows): whole tiles, single vectors, then the last rows.
template <typename T, int G, int V>
[[gnu::always_inline]] inline void group_columns(const T* W, Index n, const T* b, const int* index,
                                                 const std::uint8_t* const* member, const T* table, int count,
                                                 int members, T* h) {
  constexpr int N = V * kLanes<T>;
  Index r = 0;
  for (; r + N <= n; r += N) group_tile<T, G, V>(W + r, n, b + r, index, member, table, count, members, h + r, n);
  for (; r + kLanes<T> <= n; r += kLanes<T>)
    group_tile<T, G, 1>(W + r, n, b + r, index, member, table, count, members, h + r, n);
  for (; r < n; ++r)  // the last rows, fewer than a vector
    for (int m = 0; m < members; ++m) {
      T acc = b[r];
      for (int k = 0; k < count; ++k) acc += table[member[m][index[k]]] * W[r + index[k] * n];
      h[m * n + r] = acc;
    }
}

template <typename T>
void one_columns_baseline(const T* W, Index n, const T* b, const int* index, const std::uint8_t* const* member,
                          const T* table, int count, int members, T* h) {
  group_columns<T, 1, kVecsOne>(W, n, b, index, member, table, count, members, h);
}
template <typename T>
BACKPROP_AVX512 void one_columns_avx512(const T* W, Index n, const T* b, const int* index,
                                        const std::uint8_t* const* member, const T* table, int count, int members,
                                        T* h) {
  group_columns<T, 1, kVecsOne>(W, n, b, index, member, table, count, members, h);
}
template <typename T>
BACKPROP_AVX512 void group_columns_avx512(const T* W, Index n, const T* b, const int* index,
                                          const std::uint8_t* const* member, const T* table, int count, int members,
                                          T* h) {
  group_columns<T, SparseGroups<T>::kGroup, kVecsGroup>(W, n, b, index, member, table, count, members, h);
}

// The positions [from, rows) where any of the G members' bytes is nonzero, appended to
// index from n: 8 bytes at a time past the runs of zeros, then branch-free (always write,
// advance where any is nonzero). Adds the nonzero bytes of the first `members` to nnz (the
// others repeat member 0). Returns the new n.
template <int G>
int list_tail(const std::uint8_t* const* member, int members, Index from, Index rows, int* index, int n,
              long long& nnz) {
  const auto position = [&](Index i) {
    bool any = false;
    for (int m = 0; m < G; ++m) {
      const bool nonzero = member[m][i] != 0;
      any |= nonzero;
      nnz += m < members && nonzero;
    }
    index[n] = static_cast<int>(i);
    n += any;
  };
  Index i = from;
  for (; i + 8 <= rows; i += 8) {
    std::uint64_t any = 0;
    for (int m = 0; m < G; ++m) {
      std::uint64_t word;
      std::memcpy(&word, member[m] + i, sizeof word);
      any |= word;
    }
    if (any == 0) continue;
    for (Index r = i; r < i + 8; ++r) position(r);
  }
  for (; i < rows; ++i) position(i);
  return n;
}

#ifdef BACKPROP_X86
// The whole blocks of 16 positions: compare the G members' bytes with 0 (SSE2), then compress
// the positions where any is nonzero. Stores all 16 lanes (n <= i, so they stay inside the
// list; the lanes past the positions are overwritten next), as compact_nonzeros16 in
// sparse.cpp does. Counts as list_tail does; returns where it stopped.
template <int G>
BACKPROP_AVX512 Index list_blocks16(const std::uint8_t* const* member, int members, Index rows, int* index, int& n,
                                    long long& nnz) {
  Index i = 0;
  const __m512i step = _mm512_set1_epi32(16);
  __m512i positions = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (; i + 16 <= rows; i += 16, positions = _mm512_add_epi32(positions, step)) {
    unsigned any = 0;
    for (int m = 0; m < G; ++m) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(member[m] + i));
      const unsigned nonzero = ~unsigned(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_setzero_si128()))) & 0xFFFFu;
      any |= nonzero;
      if (m < members) nnz += __builtin_popcount(nonzero);
    }
    if (!any) continue;
    _mm512_storeu_si512(index + n, _mm512_maskz_compress_epi32(static_cast<__mmask16>(any), positions));
    n += __builtin_popcount(any);
  }
  return i;
}
#endif

// Lists one group of G members; returns its count.
template <int G>
int list_group(const std::uint8_t* const* member, int members, Index rows, int* index, bool avx512, long long& nnz) {
  int n = 0;
  Index i = 0;
#ifdef BACKPROP_X86
  if (avx512) i = list_blocks16<G>(member, members, rows, index, n, nnz);
#endif
  (void)avx512;
  return list_tail<G>(member, members, i, rows, index, n, nnz);
}

}  // namespace

template <typename T>
double SparseGroups<T>::assign_bytes(const std::uint8_t* batch, Index rows_, Index cols_, const T (&values)[256]) {
  bytes = batch;
  rows = rows_;
  cols = cols_;
  std::copy(values, values + 256, table);
  if (count.size() < std::size_t(cols)) count.resize(std::size_t(cols));  // grow only; no zero-filling
  if (index.size() < std::size_t(rows * cols)) index.resize(std::size_t(rows * cols));
  const bool avx512 = use_avx512();
  const int threads = threads_for(double(rows) * double(cols) * 4);  // a scan costs a few operations an entry
  const auto list = [&](int size) {
    group = size;
    long long total = 0, nnz = 0;
    const Index n_groups = groups();
#pragma omp parallel num_threads(threads) reduction(+ : total, nnz)
    {
      Index begin, end;
      share(n_groups, begin, end);  // the groups this thread's product will take
      for (Index g = begin; g < end; ++g) {
        const Index first = g * group;
        const int members = static_cast<int>(std::min<Index>(group, cols - first));
        const std::uint8_t* member[kGroup];
        for (int m = 0; m < kGroup; ++m) member[m] = bytes + (first + (m < members ? m : 0)) * rows;
        int* positions = index.data() + g * rows;
        const int n = group > 1 ? list_group<kGroup>(member, members, rows, positions, avx512, nnz)
                                : list_group<1>(member, members, rows, positions, avx512, nnz);
        count[std::size_t(g)] = n;
        total += n;
      }
    }
    nonzeros = nnz;
    return total;
  };
  const long long listed = list(avx512 ? kGroup : 1);
  if (group > 1 && double(listed) > kMaxGroupOverlap * double(nonzeros)) list(1);  // little overlap to share
  return rows > 0 && cols > 0 ? double(nonzeros) / double(rows * cols) : 0.0;
}

template <typename T>
void sparse_affine_groups(const Matrix<T>& W, const Matrix<T>& b, const SparseGroups<T>& x, const Activation* activation,
                          Matrix<T>& h) {
  const Index n = W.rows(), n_groups = x.groups();
  h.resize(n, x.cols);
  long long listed = 0;
  for (Index g = 0; g < n_groups; ++g) listed += x.count[std::size_t(g)];
  const auto columns = x.group > 1  ? group_columns_avx512<T>
                       : use_avx512() ? one_columns_avx512<T>
                                      : one_columns_baseline<T>;
#pragma omp parallel num_threads(threads_for(double(listed) * double(n) * x.group))
  {
    Index begin, end;
    share(n_groups, begin, end);
    for (Index g = begin; g < end; ++g) {
      const Index first = g * x.group;
      const int members = static_cast<int>(std::min<Index>(x.group, x.cols - first));
      const std::uint8_t* member[SparseGroups<T>::kGroup];
      for (int m = 0; m < SparseGroups<T>::kGroup; ++m) member[m] = x.bytes + (first + (m < members ? m : 0)) * x.rows;
      T* out = h.col(first).data();
      columns(W.data(), n, b.data(), x.index.data() + g * x.rows, member, x.table, x.count[std::size_t(g)], members, out);
      // g(z) while the group's columns are in L1: one pass less over h, and in parallel
      if (activation) activation_forward_inplace(*activation, out, n * members);
    }
  }
}

template struct SparseGroups<float>;
template struct SparseGroups<double>;
template void sparse_affine_groups<float>(const Matrix<float>&, const Matrix<float>&, const SparseGroups<float>&,
                                          const Activation*, Matrix<float>&);
template void sparse_affine_groups<double>(const Matrix<double>&, const Matrix<double>&, const SparseGroups<double>&,
                                           const Activation*, Matrix<double>&);

}  // namespace backprop
