// PNG data URIs for the run page's pictures. Gray digits go through encode_png; the
// weight pictures are RGB, written here with libpng's simplified API.
#include "backprop/web/images.hpp"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backprop/error.hpp"
#include "backprop/data/preprocess.hpp"

namespace backprop::web {

std::string base64(const std::string& bytes) {
  static const char* const kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = (unsigned char)bytes[i] << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8;
    for (int shift : {18, 12, 6}) out += kAlphabet[(v >> shift) & 63];
    out += '=';
  }
  return out;
}

std::string png_data_uri(const std::string& png) { return "data:image/png;base64," + base64(png); }

std::string digit_data_uri(const std::uint8_t* pixels) {
  return png_data_uri(encode_png(28, 28, std::vector<std::uint8_t>(pixels, pixels + 784)));
}

std::string digit_data_uri(const float* pixels) {
  std::vector<std::uint8_t> gray(784);
  for (int i = 0; i < 784; ++i) gray[i] = static_cast<std::uint8_t>(std::lround(std::clamp(pixels[i], 0.0f, 1.0f) * 255));
  return png_data_uri(encode_png(28, 28, gray));
}

std::string weights_data_uri(const float* weights, int stride, float scale) {
  std::vector<std::uint8_t> rgb(784 * 3);
  for (int i = 0; i < 784; ++i) {
    const float t = scale > 0 ? std::clamp(weights[std::size_t(i) * stride] / scale, -1.0f, 1.0f) : 0.0f;
    // White at 0, towards red (178, 24, 43) for positive and blue (33, 102, 172) for negative.
    const float r = t >= 0 ? 255 + t * (178 - 255) : 255 + -t * (33 - 255);
    const float g = t >= 0 ? 255 + t * (24 - 255) : 255 + -t * (102 - 255);
    const float b = t >= 0 ? 255 + t * (43 - 255) : 255 + -t * (172 - 255);
    rgb[3 * i] = static_cast<std::uint8_t>(std::lround(r));
    rgb[3 * i + 1] = static_cast<std::uint8_t>(std::lround(g));
    rgb[3 * i + 2] = static_cast<std::uint8_t>(std::lround(b));
  }
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = image.height = 28;
  image.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  std::string png;
  bool ok = png_image_write_to_memory(&image, nullptr, &size, 0, rgb.data(), 0, nullptr);
  if (ok) {
    png.resize(size);
    ok = png_image_write_to_memory(&image, png.data(), &size, 0, rgb.data(), 0, nullptr);
    png.resize(size);
  }
  const std::string message = image.message;
  png_image_free(&image);
  if (!ok) throw Error("weights_data_uri: " + message);
  return png_data_uri(png);
}

}  // namespace backprop::web
