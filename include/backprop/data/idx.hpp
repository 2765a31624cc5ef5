// The IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/ describes it):
// a big-endian header (magic 0x00000801 for labels, 0x00000803 for images, then one
// u32 per dimension) followed by unsigned bytes. Files may be plain or gzip-compressed
// (".gz"). Every check that can fail throws backprop::Error naming the file.
//
// The dataset keeps the pixels as bytes (60,000 x 784 = 47 MB); trainers scale a batch
// at a time to [0,1] as the seed's ToTensor does (p / 255).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace backprop {

struct IdxImages {
  std::size_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count * rows * cols, image after image, row-major
};

// Reads an idx3-ubyte file. Checks the magic number, that no dimension is zero, and
// that the data size equals count * rows * cols exactly (before allocating it).
IdxImages read_idx_images(const std::string& path);

// Reads an idx1-ubyte file. Checks the magic number, the size, and that every label
// is below num_classes.
std::vector<std::uint8_t> read_idx_labels(const std::string& path, int num_classes = 10);

// Images and their labels, as a trainer sees them.
struct Dataset {
  std::size_t count = 0;     // number of examples
  std::size_t features = 0;  // pixels per image (784 for MNIST)
  std::vector<std::uint8_t> pixels;  // count * features bytes
  std::vector<std::uint8_t> labels;  // count labels in 0..9

  const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * features; }
  // The first n examples (or all, when n >= count) as a new dataset.
  Dataset head(std::size_t n) const;
  // Splits off the last n examples: returns them and keeps the first count - n.
  Dataset split_tail(std::size_t n);
};

// Reads an images file and a labels file and checks that their counts agree.
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path);

struct Mnist {
  Dataset train, test;
};

// Loads the four MNIST files from dir, each either plain (train-images-idx3-ubyte)
// or gzipped (train-images-idx3-ubyte.gz).
Mnist load_mnist(const std::string& dir);

}  // namespace backprop
