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

// Reads an idx3-ubyte file. Checks the magic number, that no dimension is zero, and
// that the data size equals count * rows * cols exactly (before allocating it).
IdxImages read_idx_images(const std::string& path);

// Reads an idx1-ubyte file. Checks the magic number, the size, and that every label
// is below num_classes (any byte by default).
std::vector<std::uint8_t> read_idx_labels(const std::string& path, int num_classes = 256);

// Reads an images file and a labels file and checks that their counts agree. The classes
// are the distinct label values, sorted; given `classes` (a training set's), the labels are
// looked up in them instead, and a value not among them is an error.
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      const std::vector<std::string>* classes = nullptr);

struct Mnist {
  Dataset train, test;
};

// Loads the four MNIST files from dir, each either plain (train-images-idx3-ubyte)
// or gzipped (train-images-idx3-ubyte.gz).
Mnist load_mnist(const std::string& dir);

}  // namespace backprop
