// PNG decoding/encoding and the MNIST-style preprocessing: round trips, every colour type
// turning into the same gray, refusals of non-PNG, damaged and oversized files, and the
// geometry of to_mnist_input (inversion, crop, 20x20 fit, centre of mass, translation
// invariance), ending with real MNIST digits, which the preprocessing must leave almost as
// they are (they were made this way).
#include <gtest/gtest.h>
#include <png.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>

#include "backprop/error.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/data/preprocess.hpp"
#include "error_of.hpp"

using namespace backprop;

namespace {

// Encodes raw pixels in any simplified-API format (RGBA, 16-bit linear gray, ...).
std::string encode_with_format(int width, int height, png_uint_32 format, const void* pixels) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = width;
  image.height = height;
  image.format = format;
  png_alloc_size_t size = 0;
  EXPECT_TRUE(png_image_write_to_memory(&image, nullptr, &size, 0, pixels, 0, nullptr));
  std::string out(size, '\0');
  EXPECT_TRUE(png_image_write_to_memory(&image, out.data(), &size, 0, pixels, 0, nullptr));
  out.resize(size);
  png_image_free(&image);
  return out;
}

std::uint32_t crc32_of(const std::string& bytes) {  // the PNG chunk CRC (IEEE 802.3)
  std::uint32_t crc = 0xffffffffu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

using backprop::testing::error_of;

// A width x height image, 0 everywhere but a filled rectangle of value ink.
GrayImage rectangle(int width, int height, int x0, int y0, int w, int h, float ink = 1, float paper = 0) {
  GrayImage image{width, height, std::vector<float>(std::size_t(width) * height, paper)};
  for (int y = y0; y < y0 + h; ++y)
    for (int x = x0; x < x0 + w; ++x) image.pixels[std::size_t(y) * width + x] = ink;
  return image;
}

struct Box {
  int x0 = 28, y0 = 28, x1 = -1, y1 = -1;
  int width() const { return x1 - x0 + 1; }
  int height() const { return y1 - y0 + 1; }
};

Box ink_box(const std::array<float, 784>& input, float threshold = 0.01f) {
  Box box;
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x)
      if (input[y * 28 + x] > threshold) {
        box.x0 = std::min(box.x0, x), box.x1 = std::max(box.x1, x);
        box.y0 = std::min(box.y0, y), box.y1 = std::max(box.y1, y);
      }
  return box;
}

// In pixel indices, as MNIST centres its digits at (14, 14).
std::pair<double, double> centre_of_mass(const std::array<float, 784>& input) {
  double mass = 0, mx = 0, my = 0;
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) {
      const double v = input[y * 28 + x];
      mass += v, mx += v * x, my += v * y;
    }
  return {mx / mass, my / mass};
}

}  // namespace

TEST(Png, GrayRoundTripIsExact) {
  std::vector<std::uint8_t> gray(7 * 5);
  std::iota(gray.begin(), gray.end(), 0);
  for (auto& v : gray) v = static_cast<std::uint8_t>(v * 7);
  const std::string png = encode_png(7, 5, gray);
  ASSERT_EQ(png.substr(1, 3), "PNG");
  const GrayImage image = decode_png(png, "test.png");
  ASSERT_EQ(image.width, 7);
  ASSERT_EQ(image.height, 5);
  for (std::size_t i = 0; i < gray.size(); ++i) EXPECT_EQ(std::lround(image.pixels[i] * 255), gray[i]) << i;
}

TEST(Png, ColourTypesDecodeToTheSameGray) {
  // Black, white, mid gray; and in RGBA a transparent pixel, composited on white.
  const std::uint8_t rgba[] = {0, 0, 0, 255, 255, 255, 255, 255, 128, 128, 128, 255, 0, 0, 0, 0};
  const GrayImage from_rgba = decode_png(encode_with_format(4, 1, PNG_FORMAT_RGBA, rgba), "rgba.png");
  ASSERT_EQ(from_rgba.pixels.size(), 4u);
  EXPECT_FLOAT_EQ(from_rgba.pixels[0], 0.0f);
  EXPECT_FLOAT_EQ(from_rgba.pixels[1], 1.0f);
  EXPECT_NEAR(from_rgba.pixels[2], 128 / 255.0, 1.5 / 255);
  EXPECT_FLOAT_EQ(from_rgba.pixels[3], 1.0f);  // transparent -> the white background

  const std::uint8_t rgb[] = {0, 0, 0, 255, 255, 255};
  const GrayImage from_rgb = decode_png(encode_with_format(2, 1, PNG_FORMAT_RGB, rgb), "rgb.png");
  EXPECT_FLOAT_EQ(from_rgb.pixels[0], 0.0f);
  EXPECT_FLOAT_EQ(from_rgb.pixels[1], 1.0f);

  const std::uint16_t deep[] = {0, 65535};  // 16-bit linear gray
  const GrayImage from_16 = decode_png(encode_with_format(2, 1, PNG_FORMAT_LINEAR_Y, deep), "16.png");
  EXPECT_FLOAT_EQ(from_16.pixels[0], 0.0f);
  EXPECT_FLOAT_EQ(from_16.pixels[1], 1.0f);
}

TEST(Png, RefusesWhatIsNotAPng) {
  EXPECT_EQ(error_of([] { decode_png("", "empty.png"); }), "empty.png: not a PNG file");
  EXPECT_EQ(error_of([] { decode_png("GIF89a....", "x.gif"); }), "x.gif: not a PNG file");
  EXPECT_EQ(error_of([] { decode_png("{\"pixels\": [1, 2]}", "body"); }), "body: not a PNG file");
}

TEST(Png, RefusesDamagedPngs) {
  const std::string png = encode_png(8, 8, std::vector<std::uint8_t>(64, 200));
  const std::string truncated = png.substr(0, png.size() / 2);
  EXPECT_NE(error_of([&] { decode_png(truncated, "cut.png"); }).find("cut.png: damaged PNG ("), std::string::npos);
  std::string flipped = png;
  flipped[20] ^= 0x40;  // inside IHDR: its CRC no longer matches
  EXPECT_NE(error_of([&] { decode_png(flipped, "crc.png"); }).find("crc.png: damaged PNG ("), std::string::npos);
  EXPECT_NE(error_of([&] { decode_png(png.substr(0, 8), "sig.png"); }).find("damaged PNG"), std::string::npos);
}

TEST(Png, RefusesHugeDimensionsBeforeAllocating) {
  // A valid header claiming 60000 x 60000 pixels (a decompression bomb's first chunk).
  std::string png = encode_png(1, 1, {0});
  std::string ihdr = png.substr(12, 17);  // "IHDR" + 13 data bytes
  for (int offset : {4, 8}) {
    const std::uint32_t side = 60000;
    for (int i = 0; i < 4; ++i) ihdr[offset + i] = char((side >> (24 - 8 * i)) & 0xff);
  }
  const std::uint32_t crc = crc32_of(ihdr);
  png.replace(12, 17, ihdr);
  for (int i = 0; i < 4; ++i) png[29 + i] = char((crc >> (24 - 8 * i)) & 0xff);
  EXPECT_NE(error_of([&] { decode_png(png, "bomb.png"); }).find("bomb.png: PNG too large (60000x60000"),
            std::string::npos);
}

TEST(Png, ReadPngNamesAMissingFile) {
  EXPECT_NE(error_of([] { read_png("/nonexistent/digit.png"); }).find("/nonexistent/digit.png: cannot open"),
            std::string::npos);
}

TEST(Png, EncodeChecksThePixelCount) {
  EXPECT_NE(error_of([] { encode_png(3, 3, std::vector<std::uint8_t>(8)); }).find("8 pixels for a 3x3"),
            std::string::npos);
}

TEST(MnistInput, BlankImagesGiveZeros) {
  for (float level : {0.0f, 1.0f, 0.4f}) {
    const auto input = to_mnist_input(GrayImage{50, 40, std::vector<float>(2000, level)});
    EXPECT_EQ(*std::max_element(input.begin(), input.end()), 0.0f) << level;
  }
  const auto empty = to_mnist_input(GrayImage{});
  EXPECT_EQ(*std::max_element(empty.begin(), empty.end()), 0.0f);
}

TEST(MnistInput, TallBarFillsTwentyRowsKeepsAspectAndIsCentred) {
  // A 10 x 40 bar far off-centre in a 200 x 100 image.
  const auto input = to_mnist_input(rectangle(200, 100, 150, 5, 10, 40));
  const Box box = ink_box(input);
  EXPECT_EQ(box.height(), 20);
  EXPECT_EQ(box.width(), 5);  // 10 x 40 scaled by 1/2
  const auto [cx, cy] = centre_of_mass(input);
  EXPECT_NEAR(cx, 14.0, 0.5);
  EXPECT_NEAR(cy, 14.0, 0.5);
  EXPECT_FLOAT_EQ(*std::max_element(input.begin(), input.end()), 1.0f);
}

TEST(MnistInput, WideBarFillsTwentyColumns) {
  const auto input = to_mnist_input(rectangle(100, 100, 10, 10, 80, 16));
  const Box box = ink_box(input);
  EXPECT_EQ(box.width(), 20);
  EXPECT_EQ(box.height(), 4);
}

TEST(MnistInput, DarkInkOnPaperIsInverted) {
  const auto light_on_dark = to_mnist_input(rectangle(120, 90, 30, 20, 12, 50, 1.0f, 0.0f));
  const auto dark_on_light = to_mnist_input(rectangle(120, 90, 30, 20, 12, 50, 0.0f, 1.0f));
  for (int i = 0; i < 784; ++i) EXPECT_FLOAT_EQ(light_on_dark[i], dark_on_light[i]) << i;
}

TEST(MnistInput, GreyPaperAndFaintInkAreStretched) {
  // Photographed paper is not white and pencil is not black: the result still spans 0..1.
  const auto input = to_mnist_input(rectangle(60, 60, 20, 10, 8, 40, 0.35f, 0.8f));
  EXPECT_FLOAT_EQ(*std::max_element(input.begin(), input.end()), 1.0f);
  EXPECT_EQ(input[0], 0.0f);
  EXPECT_EQ(ink_box(input).height(), 20);
}

TEST(MnistInput, TranslationAndScaleDoNotMatter) {
  const auto a = to_mnist_input(rectangle(100, 100, 5, 5, 10, 30));
  const auto b = to_mnist_input(rectangle(100, 100, 70, 60, 10, 30));
  const auto c = to_mnist_input(rectangle(400, 400, 100, 100, 40, 120));
  for (int i = 0; i < 784; ++i) {
    EXPECT_FLOAT_EQ(a[i], b[i]) << i;
    EXPECT_NEAR(a[i], c[i], 1e-5) << i;
  }
}

TEST(MnistInput, TinyImagesAreEnlarged) {
  const auto input = to_mnist_input(rectangle(5, 5, 1, 1, 2, 3));
  EXPECT_EQ(ink_box(input).height(), 20);
  const auto [cx, cy] = centre_of_mass(input);
  EXPECT_NEAR(cx, 14.0, 0.5);
  EXPECT_NEAR(cy, 14.0, 0.5);
}

TEST(MnistInput, RealMnistDigitsComeBackAlmostUnchanged) {
  const char* env = std::getenv("BACKPROP_DATA");
  const std::string dir = env ? env : "data/mnist";
  std::string path = dir + "/t10k-images-idx3-ubyte";
  if (!std::filesystem::exists(path)) path += ".gz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no MNIST test images in " << dir;
  const IdxImages images = read_idx_images(path);
  double total_diff = 0;
  int shifted = 0;
  const int count = 200;
  for (int n = 0; n < count; ++n) {
    GrayImage image{28, 28, std::vector<float>(784)};
    for (int i = 0; i < 784; ++i) image.pixels[i] = images.pixels[std::size_t(n) * 784 + i] / 255.0f;
    const auto input = to_mnist_input(image);
    double diff = 0, norm = 0;
    for (int i = 0; i < 784; ++i) {
      diff += std::abs(input[i] - image.pixels[i]);
      norm += image.pixels[i];
    }
    // A one-pixel shift (a centre of mass at x.5 rounding the other way) costs about 0.8.
    if (diff / norm > 0.5) ++shifted;
    total_diff += diff / norm;
  }
  EXPECT_LE(shifted, count / 50);
  EXPECT_LT(total_diff / count, 0.1);
}
