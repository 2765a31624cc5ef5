// Turning a person's image into what the network saw in training, as MNIST was made:
// grayscale, white digit on black, cropped to the digit's bounding box, scaled (keeping the
// aspect ratio) to fit a 20x20 box, and placed in a 28x28 image so that its centre of mass
// is at the centre. PNG decoding and encoding are libpng's.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace backprop {

struct GrayImage {
  int width = 0, height = 0;
  std::vector<float> pixels;  // row-major, 0 = black, 1 = white
};

// Decodes PNG bytes (any bit depth or colour type; alpha composited on white) to grayscale.
// Throws Error("<source>: not a PNG file" / "...: damaged PNG (...)").
GrayImage decode_png(const std::string& bytes, const std::string& source);
GrayImage read_png(const std::string& path);

// Encodes an 8-bit grayscale image (row-major) as PNG bytes.
std::string encode_png(int width, int height, const std::vector<std::uint8_t>& gray);

// MNIST-style 28x28 input in [0,1], row-major, white on black. A mostly light image (dark
// ink on paper) is inverted first. An empty (blank) image gives all zeros.
std::array<float, 784> to_mnist_input(const GrayImage& image);

}  // namespace backprop
