// The sparse-input kernels (sparse.hpp). Threads split the forward pass by example (each
// writes its own columns of z) and the weight update by input unit (each writes its own
// columns of W): no two threads write the same memory, and each reads what it wrote itself
// (the nonzeros of its examples, then of its input units). Splitting by output rows instead,
// so that each core keeps its band of W, measured 7% slower on the 2-core machine.
#include "backprop/nn/sparse.hpp"

//
// The kernels are compiled twice: for the build's baseline (x86-64-v3 in packages) and for
// AVX-512, chosen at run time in one place, use_avx512(). The tile functions are always inlined,
// so each copy gets the instruction set of the function it is inlined into.
#include "sparse_simd.hpp"

#include <algorithm>
#include <type_traits>

namespace backprop {

namespace {

using namespace simd;

// The tiles of four vectors (64 floats, 32 doubles; four AVX-512 registers, or eight AVX2
// ones where the compiler splits them). Tiles of 32 bytes per vector measured 5% slower, of
// 128 floats no faster (AMD EPYC). The forward pass takes tiles of eight vectors
// (kAffineVecs): each nonzero reads a whole column of W from L2, and eight independent sums
// hide the multiply-add latency behind those reads (evaluate() 7-9% less CPU than four on the
// Xeon, interleaved; sixteen no better). The order of each sum is the same with any tile, so
// the results are too.
constexpr int kVecs = 4;
constexpr int kAffineVecs = 8;
template <typename T>
constexpr int kTile = kVecs * kLanes<T>;

// z(r .. r + kTile, j) = b + sum_k value[k] W(r .., index[k]) for one column j of x
// (W, b and z already point at row r).
// V vectors: kAffineVecs for whole tiles, 1 for the rows after them.
template <typename T, int V>
[[gnu::always_inline]] inline void affine_tile(const T* W, Index ldw, const T* b, const int* index, const T* value, int nnz, T* z) {
  Vec<T> acc[V];
  for (int v = 0; v < V; ++v) acc[v] = load(b + v * kLanes<T>);
  for (int k = 0; k < nnz; ++k) {
    const Vec<T> x = Vec<T>{} + value[k];  // broadcast
    const T* w = W + index[k] * ldw;
    for (int v = 0; v < V; ++v) acc[v] += x * load(w + v * kLanes<T>);
  }
  for (int v = 0; v < V; ++v) store(z + v * kLanes<T>, acc[v]);
}

// A(r .. r + kTile, i) += alpha sum_k value[k] dz(r .., col[k]) for one row i of x: the
// sum builds in registers over the examples where x_i is nonzero, then A's column is read
// and written once per step (writing it once per nonzero instead measured 45% slower).
template <typename T, int V>
[[gnu::always_inline]] inline void outer_tile(const T* dz, Index ldz, T alpha, const int* col, const T* value, int nnz, T* a) {
  Vec<T> acc[V] = {};
  for (int k = 0; k < nnz; ++k) {
    const Vec<T> x = Vec<T>{} + value[k];
    const T* d = dz + col[k] * ldz;
    for (int v = 0; v < V; ++v) acc[v] += x * load(d + v * kLanes<T>);
  }
  for (int v = 0; v < V; ++v) store(a + v * kLanes<T>, load(a + v * kLanes<T>) + alpha * acc[v]);
}

// g(r .. r + kTile) = sum_k value[k] dz(r .., col[k]): outer_tile's sum, stored.
template <typename T, int V>
[[gnu::always_inline]] inline void column_tile(const T* dz, Index ldz, const int* col, const T* value, int nnz, T* g) {
  Vec<T> acc[V] = {};
  for (int k = 0; k < nnz; ++k) {
    const Vec<T> x = Vec<T>{} + value[k];
    const T* d = dz + col[k] * ldz;
    for (int v = 0; v < V; ++v) acc[v] += x * load(d + v * kLanes<T>);
  }
  for (int v = 0; v < V; ++v) store(g + v * kLanes<T>, acc[v]);
}

#ifdef BACKPROP_X86
// The first whole blocks of 16 of a float column, 16 at a time: compare, then compress.
// Returns where it stopped; n counts the nonzeros written.
BACKPROP_AVX512 Index compact_nonzeros16(const float* column, Index rows, int* index, float* value, int& n) {
  Index i = 0;
  const __m512i step = _mm512_set1_epi32(16);
  __m512i positions = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (; i + 16 <= rows; i += 16, positions = _mm512_add_epi32(positions, step)) {
    const __m512 v = _mm512_loadu_ps(column + i);
    const __mmask16 nonzero = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
    if (!nonzero) continue;
    // Compress in registers, then store all 16 lanes: n <= i, so they stay inside the column,
    // and the lanes past the nonzeros are overwritten next. (Zen 4 runs a compressing
    // store to memory in microcode, tens of times slower.)
    _mm512_storeu_ps(value + n, _mm512_maskz_compress_ps(nonzero, v));
    _mm512_storeu_si512(index + n, _mm512_maskz_compress_epi32(nonzero, positions));
    n += __builtin_popcount(nonzero);
  }
  return i;
}
#endif

// Writes the positions and values of column[0 .. rows)'s nonzeros; returns their count.
template <typename T>
int compact_nonzeros(const T* column, Index rows, int* index, T* value, bool avx512) {
  int n = 0;
  Index i = 0;
#ifdef BACKPROP_X86
  if constexpr (std::is_same_v<T, float>) {
    if (avx512) i = compact_nonzeros16(column, rows, index, value, n);
  }
#endif
  (void)avx512;
  for (; i + 8 <= rows; i += 8) {
    T chunk[8];
    std::memcpy(chunk, column + i, sizeof chunk);
    bool any = false;
    for (T c : chunk) any |= c != T(0);
    if (!any) continue;  // images have long runs of zeros: skip them 8 at a time
    for (int r = 0; r < 8; ++r) {  // branch-free: always write, advance on a nonzero
      index[n] = static_cast<int>(i + r);
      value[n] = chunk[r];
      n += chunk[r] != T(0);
    }
  }
  for (; i < rows; ++i) {
    index[n] = static_cast<int>(i);
    value[n] = column[i];
    n += column[i] != T(0);
  }
  return n;
}

// Column j of z = W x + b (n rows): whole tiles, then single vectors, then the last rows.
template <typename T>
[[gnu::always_inline]] inline void affine_column(const T* W, Index n, const T* b, const int* index, const T* value,
                                                 int count, T* zj) {
  constexpr int N = kAffineVecs * kLanes<T>;
  Index r = 0;
  for (; r + N <= n; r += N) affine_tile<T, kAffineVecs>(W + r, n, b + r, index, value, count, zj + r);
  for (; r + kLanes<T> <= n; r += kLanes<T>) affine_tile<T, 1>(W + r, n, b + r, index, value, count, zj + r);
  for (; r < n; ++r) {  // the last rows, fewer than a vector
    T acc = b[r];
    for (int k = 0; k < count; ++k) acc += value[k] * W[r + index[k] * n];
    zj[r] = acc;
  }
}
template <typename T>
void affine_column_baseline(const T* W, Index n, const T* b, const int* index, const T* value, int count, T* zj) {
  affine_column(W, n, b, index, value, count, zj);
}
template <typename T>
BACKPROP_AVX512 void affine_column_avx512(const T* W, Index n, const T* b, const int* index, const T* value,
                                          int count, T* zj) {
  affine_column(W, n, b, index, value, count, zj);
}

// Column i of A += alpha dz x^T (n rows), in the same three parts.
template <typename T>
[[gnu::always_inline]] inline void outer_column(const T* dz, Index n, Index ldz, T alpha, const int* col,
                                                const T* value, int count, T* a) {
  constexpr int N = kTile<T>;
  Index r = 0;
  for (; r + N <= n; r += N) outer_tile<T, kVecs>(dz + r, ldz, alpha, col, value, count, a + r);
  for (; r + kLanes<T> <= n; r += kLanes<T>) outer_tile<T, 1>(dz + r, ldz, alpha, col, value, count, a + r);
  for (; r < n; ++r) {
    T acc = 0;
    for (int k = 0; k < count; ++k) acc += value[k] * dz[r + col[k] * ldz];
    a[r] += alpha * acc;
  }
}
template <typename T>
void outer_column_baseline(const T* dz, Index n, Index ldz, T alpha, const int* col, const T* value, int count,
                           T* a) {
  outer_column(dz, n, ldz, alpha, col, value, count, a);
}
template <typename T>
BACKPROP_AVX512 void outer_column_avx512(const T* dz, Index n, Index ldz, T alpha, const int* col, const T* value,
                                         int count, T* a) {
  outer_column(dz, n, ldz, alpha, col, value, count, a);
}

}  // namespace

template <typename T>
double SparseColumns<T>::assign(const Matrix<T>& x, double max_density, bool by_rows) {
  rows = x.rows();
  cols = x.cols();
  by_row = false;
  const int threads = threads_for(double(rows) * double(cols) * 4);  // a scan costs a few operations an entry
  if (max_density < 1 && last_density > max_density && rows * cols > 0) {
    // The last batch was dense (standardised table features, say): count first, so that a
    // dense batch costs one vectorised read instead of compacting every entry it has, and
    // only until it has more nonzeros than max_density allows. (Only the cost depends on the
    // last batch; whether lists are built does not.)
    const T* p = x.data();
    const Index size = rows * cols;
    const auto allowed = static_cast<long long>(max_density * double(size));
    long long nonzero = 0;
    constexpr Index kBlock = 1024;
    for (Index at = 0; at < size && nonzero <= allowed; at += kBlock) {
      const Index end = std::min(size, at + kBlock);
#pragma omp simd reduction(+ : nonzero)
      for (Index i = at; i < end; ++i) nonzero += p[i] != T(0);
    }
    last_density = double(nonzero) / double(size);  // all of them, or a share already above max_density
    if (nonzero > allowed) return last_density;  // no lists: the caller takes the dense product
  }
  const auto grow = [](auto& v, Index n) {  // no shrinking, no zero-filling what is overwritten
    if (v.size() < std::size_t(n)) v.resize(std::size_t(n));
  };
  grow(col_count, cols);
  grow(col_index, rows * cols);
  grow(col_value, rows * cols);
  const bool avx512 = use_avx512();
  long long total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
    Index begin, end;
    share(cols, begin, end);  // the examples this thread's forward pass will take
    for (Index j = begin; j < end; ++j) {
      const T* column = x.col(j).data();
      int* index = col_index.data() + j * rows;
      T* value = col_value.data() + j * rows;
      const int n = compact_nonzeros(column, rows, index, value, avx512);
      col_count[static_cast<std::size_t>(j)] = n;
      total += n;
    }
  }
  const double density = rows > 0 && cols > 0 ? double(total) / double(rows * cols) : 0.0;
  last_density = density;
  if (density > max_density || !by_rows) return density;
  // The same entries by row, each row's at a fixed stride too (no prefix sum), examples in
  // increasing order; each thread fills the rows its share of the weight update will take.
  by_row = true;
  grow(row_count, rows);
  grow(row_col, rows * cols);
  grow(row_value, rows * cols);
#pragma omp parallel num_threads(threads)
  {
    Index begin, end;
    share(rows, begin, end);
    std::fill(row_count.begin() + begin, row_count.begin() + end, 0);
    for (Index j = 0; j < cols; ++j) {
      const int* index = col_index.data() + j * rows;
      const T* value = col_value.data() + j * rows;
      for (int k = 0; k < col_count[static_cast<std::size_t>(j)]; ++k) {
        const Index i = index[k];
        if (i < begin || i >= end) continue;
        const Index at = i * cols + row_count[i]++;
        row_col[at] = static_cast<int>(j);
        row_value[at] = value[k];
      }
    }
  }
  return density;
}

template <typename T>
void sparse_affine(const Matrix<T>& W, const Matrix<T>& b, const SparseColumns<T>& x, Matrix<T>& z) {
  const Index n = W.rows(), batch = x.cols;
  z.resize(n, batch);
  long long nnz = 0;
  for (Index j = 0; j < x.cols; ++j) nnz += x.col_count[std::size_t(j)];
  const auto column = use_avx512() ? affine_column_avx512<T> : affine_column_baseline<T>;
#pragma omp parallel num_threads(threads_for(double(nnz) * double(n)))
  {
    Index begin, end;
    share(batch, begin, end);
    for (Index j = begin; j < end; ++j)
      column(W.data(), n, b.data(), x.col_index.data() + j * x.rows, x.col_value.data() + j * x.rows,
             x.col_count[static_cast<std::size_t>(j)], z.col(j).data());
  }
}

template <typename T>
void sparse_add_outer(T alpha, const Matrix<T>& dz, const SparseColumns<T>& x, Matrix<T>& A) {
  const Index n = A.rows(), ldz = dz.rows();
  long long nnz = 0;
  for (Index j = 0; j < x.cols; ++j) nnz += x.col_count[std::size_t(j)];
  const auto column = use_avx512() ? outer_column_avx512<T> : outer_column_baseline<T>;
#pragma omp parallel num_threads(threads_for(double(nnz) * double(n)))
  {
    Index begin, end;
    share(x.rows, begin, end);
    for (Index i = begin; i < end; ++i) {
      const int count = x.row_count[i];
      if (count == 0) continue;  // x_i is zero in every example: column i of A is unchanged
      column(dz.data(), n, ldz, alpha, x.row_col.data() + i * x.cols, x.row_value.data() + i * x.cols, count,
             A.col(i).data());
    }
  }
}

// g = column i of dz x^T (n rows): whole tiles, single vectors, the last rows.
template <typename T>
[[gnu::always_inline]] inline void gradient_column(const T* dz, Index n, Index ldz, const int* col, const T* value,
                                                   int count, T* g) {
  constexpr int N = kTile<T>;
  Index r = 0;
  for (; r + N <= n; r += N) column_tile<T, kVecs>(dz + r, ldz, col, value, count, g + r);
  for (; r + kLanes<T> <= n; r += kLanes<T>) column_tile<T, 1>(dz + r, ldz, col, value, count, g + r);
  for (; r < n; ++r) {
    T acc = 0;
    for (int k = 0; k < count; ++k) acc += value[k] * dz[r + col[k] * ldz];
    g[r] = acc;
  }
}
template <typename T>
void gradient_column_baseline(const T* dz, Index n, Index ldz, const int* col, const T* value, int count, T* g) {
  gradient_column(dz, n, ldz, col, value, count, g);
}
template <typename T>
BACKPROP_AVX512 void gradient_column_avx512(const T* dz, Index n, Index ldz, const int* col, const T* value,
                                            int count, T* g) {
  gradient_column(dz, n, ldz, col, value, count, g);
}

template <typename T>
void sparse_outer_column(const Matrix<T>& dz, const SparseColumns<T>& x, Index i, T* g) {
  const Index n = dz.rows(), ldz = dz.rows();
  const int count = x.row_count[i];
  if (count == 0) {  // x_i is zero in every example
    std::fill(g, g + n, T(0));
    return;
  }
  const auto column = use_avx512() ? gradient_column_avx512<T> : gradient_column_baseline<T>;
  column(dz.data(), n, ldz, x.row_col.data() + i * x.cols, x.row_value.data() + i * x.cols, count, g);
}

const char* sparse_kernels() { return use_avx512() ? "avx512" : "baseline"; }

template struct SparseColumns<float>;
template struct SparseColumns<double>;
template void sparse_affine<float>(const Matrix<float>&, const Matrix<float>&, const SparseColumns<float>&, Matrix<float>&);
template void sparse_affine<double>(const Matrix<double>&, const Matrix<double>&, const SparseColumns<double>&,
                                    Matrix<double>&);
template void sparse_add_outer<float>(float, const Matrix<float>&, const SparseColumns<float>&, Matrix<float>&);
template void sparse_add_outer<double>(double, const Matrix<double>&, const SparseColumns<double>&, Matrix<double>&);
template void sparse_outer_column<float>(const Matrix<float>&, const SparseColumns<float>&, Index, float*);
template void sparse_outer_column<double>(const Matrix<double>&, const SparseColumns<double>&, Index, double*);

}  // namespace backprop
