// Evaluation's first layer for mostly-zero images: the nonzeros of a batch listed for groups of
// examples at once, and z = W x + b (then h = g(z)) summed over them.
//
// sparse_affine reads a whole column of W (H floats, from L2) for every nonzero pixel of every
// example; that read, not the arithmetic, is its cost. Neighbouring MNIST images share most of
// their nonzero pixels (the digit sits in the middle): four consecutive test images have 298
// distinct nonzero pixels against 604 in all, so reading W's column once for the four, and
// multiplying it by each one's pixel (0 where that image has none), halves the reads for twice
// the multiply-adds. In evaluate() of the 10,000 test images at one thread the product took
// about 10.4 ms of CPU against 12.5 ms one image at a time (perf; Xeon with AVX-512, 256
// outputs): bound by its multiply-adds now, where one image at a time is bound by the reads.
// (A member's positions apart where it alone is nonzero, 37% of the union, saved 8% of the
// product and cost as much in the listing; groups of two measured 8% slower than four.)
//
// Where the images do not overlap (pixels zero at random, say) the shared list only adds work:
// a batch whose groups' lists hold more than kMaxGroupOverlap of their members' own nonzeros
// is listed one example at a time instead (groups of 1, the same kernel as sparse_affine's).
//
// The results are those of sparse_affine bit for bit (for finite W): each output is b plus the
// same products in the same order, the added 0 * w terms change no sum. Groups are fixed by
// the batch, not by the threads, so the thread count changes nothing either.
#pragma once

#include <cstdint>
#include <vector>

#include "backprop/nn/activation.hpp"
#include "backprop/nn/tensor.hpp"

namespace backprop {

template <typename T>
struct SparseGroups {
  static constexpr int kGroup = 4;                  // examples per group, when grouping pays
  static constexpr double kMaxGroupOverlap = 0.7;  // break-even on uncorrelated zeros

  // The batch: x_ij = table[bytes[j * rows + i]], rows inputs by cols examples. The bytes stay
  // the caller's (a dataset's rows) and must outlive the product; table[0] must be 0.
  const std::uint8_t* bytes = nullptr;
  Eigen::Index rows = 0, cols = 0;
  T table[256] = {};
  int group = kGroup;  // examples per group in the last assign (kGroup, or 1 without AVX-512)
  // Group g holds examples g * group .. (the last group may be short). Its positions are
  // index[g * rows + k] for k < count[g], increasing: the i where any member's x_ij is nonzero.
  std::vector<int> count, index;
  long long nonzeros = 0;  // of x itself

  Eigen::Index groups() const { return (cols + group - 1) / group; }

  // Lists the positions of the batch above; returns the density of x (its nonzero fraction).
  // The buffers only grow.
  double assign_bytes(const std::uint8_t* batch, Eigen::Index rows, Eigen::Index cols, const T (&values)[256]);
};

// h = g(W x + b) for the batch listed in x, or z = W x + b when activation is nullptr:
// h(:, j) = g(b + sum over the group's positions i of x_ij W(:, i)), x_ij read from the bytes. g is applied to each group's
// columns while they are in cache (activation_forward_inplace), inside the threads' own share.
template <typename T>
void sparse_affine_groups(const Matrix<T>& W, const Matrix<T>& b, const SparseGroups<T>& x, const Activation* activation,
                          Matrix<T>& h);

}  // namespace backprop
