// The IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/ describes it):
// a big-endian header (magic 0x00000801 for labels, 0x00000803 for images, then one
// u32 per dimension) followed by unsigned bytes. Files may be plain or gzip-compressed
// (".gz"). Every check that can fail throws backprop::Error naming the file.
//
// A pair of files becomes a Dataset (dataset.hpp) of bytes, scaled p / 255 by default.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backprop/data/dataset.hpp"

namespace backprop {

struct IdxImages {
  std::size_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count * rows * cols, image after image, row-major
};

// The most pixel bytes a gzipped IDX images file may inflate to (MNIST's training set has 47 MB,
// EMNIST's largest 547 MB): a header claiming more is refused before anything is inflated. (A
// plain file's header is compared with the file's size instead.)
constexpr std::uint64_t kMaxIdxBytes = std::uint64_t(1) << 30;

// Reads an idx3-ubyte file. Checks the magic number, that no dimension is zero, that the
// header's size is at most kMaxIdxBytes (gzip) and, when expected_pixels > 0, that rows * cols is
// that, all before reading the payload; then that the data size equals count * rows * cols
// exactly (before allocating it).
IdxImages read_idx_images(const std::string& path, std::size_t expected_pixels = 0);

// Reads an idx1-ubyte file. Checks the magic number, the size, and that every label
// is below num_classes (any byte by default).
std::vector<std::uint8_t> read_idx_labels(const std::string& path, int num_classes = 256);

// Reads an images file and a labels file and checks that their counts agree. The classes
// are the distinct label values, sorted; given `classes` (a training set's), the labels are
// looked up in them instead, and a value not among them is an error. expected_pixels as for
// read_idx_images.
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      const std::vector<std::string>* classes = nullptr, std::size_t expected_pixels = 0);

struct Mnist {
  Dataset train, test;
};

// Loads the four MNIST files from dir, each either plain (train-images-idx3-ubyte)
// or gzipped (train-images-idx3-ubyte.gz); expected_pixels as for read_idx_images.
Mnist load_mnist(const std::string& dir, std::size_t expected_pixels = 0);

}  // namespace backprop
