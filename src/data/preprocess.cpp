// MNIST-style preprocessing of a person's image, and PNG decoding/encoding through
// libpng's simplified API (png_image_*), which handles every bit depth, colour type,
// palette, interlacing and gamma for us and reports errors without setjmp.
//
// How MNIST was made (LeCun et al.): NIST's binary digits were size-normalised to fit a
// 20x20 box keeping their aspect ratio (anti-aliasing gives the grey levels), then placed
// in a 28x28 image so that their centre of mass sits at the centre. to_mnist_input does
// the same on an arbitrary grayscale image, after making it white ink on black.
//
// Deliberately not done: deskewing, stroke-width normalisation, noise removal beyond
// a background level and a small floor.
#include "backprop/data/preprocess.hpp"

#include <png.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "backprop/data/dataset.hpp"
#include "backprop/error.hpp"

namespace backprop {

namespace {

// Refuse images whose pixel buffers would be unreasonably large: a few kilobytes of
// deflate can claim a gigapixel. 4096 x 4096 still admits a 12-megapixel photo.
constexpr png_uint_32 kMaxSide = 16384;
constexpr std::uint64_t kMaxPixels = 4096ull * 4096ull;

constexpr int kBox = 20;   // the digit is scaled to fit kBox x kBox
constexpr int kSide = 28;  // inside a kSide x kSide image

// Frees the png_image's internal state on every path out.
struct ImageGuard {
  png_image* image;
  ~ImageGuard() { png_image_free(image); }
};

// Resamples one line of n_in values to n_out values. Shrinking averages the area each
// output pixel covers (a box filter with fractional overlaps); enlarging interpolates
// linearly between input pixel centres.
void resample_line(const float* in, int n_in, int stride_in, float* out, int n_out, int stride_out) {
  const double scale = double(n_in) / n_out;  // input pixels per output pixel
  if (n_out <= n_in) {
    for (int o = 0; o < n_out; ++o) {
      const double begin = o * scale, end = (o + 1) * scale;
      double sum = 0;
      for (int i = static_cast<int>(begin); i < n_in && i < end; ++i) {
        const double overlap = std::min<double>(i + 1, end) - std::max<double>(i, begin);
        if (overlap > 0) sum += overlap * in[i * stride_in];
      }
      out[o * stride_out] = static_cast<float>(sum / scale);
    }
  } else {
    for (int o = 0; o < n_out; ++o) {
      const double x = std::clamp((o + 0.5) * scale - 0.5, 0.0, double(n_in - 1));
      const int i0 = static_cast<int>(x);
      const int i1 = std::min(i0 + 1, n_in - 1);
      const double t = x - i0;
      out[o * stride_out] = static_cast<float>((1 - t) * in[i0 * stride_in] + t * in[i1 * stride_in]);
    }
  }
}

// (width x height) -> (new_width x new_height), separably: rows first, then columns.
std::vector<float> resize(const std::vector<float>& in, int width, int height, int new_width, int new_height) {
  std::vector<float> rows(static_cast<std::size_t>(new_width) * height);
  for (int y = 0; y < height; ++y)
    resample_line(&in[std::size_t(y) * width], width, 1, &rows[std::size_t(y) * new_width], new_width, 1);
  std::vector<float> out(static_cast<std::size_t>(new_width) * new_height);
  for (int x = 0; x < new_width; ++x) resample_line(&rows[x], height, new_width, &out[x], new_height, new_width);
  return out;
}

}  // namespace

GrayImage decode_png(const std::string& bytes, const std::string& source) {
  if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) != 0)
    throw file_error(source, "not a PNG file");
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  ImageGuard guard{&image};
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
    throw file_error(source, std::string("damaged PNG (") + image.message + ")");
  if (image.width == 0 || image.height == 0 || image.width > kMaxSide || image.height > kMaxSide ||
      std::uint64_t(image.width) * image.height > kMaxPixels)
    throw file_error(source, "PNG too large (" + std::to_string(image.width) + "x" +
                                 std::to_string(image.height) + "; at most " +
                                 std::to_string(kMaxPixels) + " pixels)");
  image.format = PNG_FORMAT_GRAY;  // 8-bit sRGB gray; alpha is composited on the background
  std::vector<png_byte> gray(PNG_IMAGE_SIZE(image));
  png_color white{255, 255, 255};
  if (!png_image_finish_read(&image, &white, gray.data(), 0, nullptr))
    throw file_error(source, std::string("damaged PNG (") + image.message + ")");
  GrayImage out;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  out.pixels.resize(gray.size());
  Scaling unit;  // gray bytes to [0, 1] as gather_batch scales pixels
  unit.kind = ScaleKind::unit;
  unit.apply(gray.data(), gray.size(), out.pixels.data());
  return out;
}

GrayImage read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error(path, std::string("cannot open (") + std::strerror(errno) + ")");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw file_error(path, "read failed");
  return decode_png(bytes, path);
}

std::string encode_png(int width, int height, const std::vector<std::uint8_t>& gray) {
  if (width <= 0 || height <= 0 || gray.size() != std::size_t(width) * std::size_t(height))
    throw Error("encode_png: " + std::to_string(gray.size()) + " pixels for a " + std::to_string(width) +
                "x" + std::to_string(height) + " image");
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = PNG_FORMAT_GRAY;
  ImageGuard guard{&image};
  png_alloc_size_t size = 0;  // first call: ask for the size
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, gray.data(), 0, nullptr))
    throw Error(std::string("encode_png: ") + image.message);
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&image, out.data(), &size, 0, gray.data(), 0, nullptr))
    throw Error(std::string("encode_png: ") + image.message);
  out.resize(size);
  return out;
}

std::array<float, 784> to_mnist_input(const GrayImage& image) {
  std::array<float, 784> result{};
  const int width = image.width, height = image.height;
  if (width <= 0 || height <= 0 || image.pixels.size() != std::size_t(width) * std::size_t(height))
    return result;

  // 1. White ink on black: invert a mostly light image (dark ink on paper).
  std::vector<float> ink(image.pixels);
  double mean = 0;
  for (float v : ink) mean += v;
  mean /= double(ink.size());
  if (mean > 0.5)
    for (float& v : ink) v = 1.0f - v;

  // 2. Background to 0, strongest ink to 1 (MNIST digits span the full range). The
  //    background level is the 10th percentile (a digit never covers 90% of its image),
  //    read off a 1024-bin histogram rather than a sorted copy of a photo's pixels.
  std::vector<std::size_t> histogram(1024, 0);
  for (float v : ink) ++histogram[static_cast<std::size_t>(std::clamp(v, 0.0f, 1.0f) * 1023.0f)];
  std::size_t below = 0, bin = 0;
  while (bin + 1 < histogram.size() && (below += histogram[bin]) <= ink.size() / 10) ++bin;
  const float background = bin / 1023.0f;
  const float peak = *std::max_element(ink.begin(), ink.end());
  if (peak - background < 0.05f) return result;  // blank
  for (float& v : ink) {
    v = (v - background) / (peak - background);
    v = v < 0.05f ? 0.0f : std::min(v, 1.0f);  // a floor so faint noise does not widen the box
  }

  // 3. Crop to the bounding box of the ink.
  int x0 = width, x1 = -1, y0 = height, y1 = -1;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      if (ink[std::size_t(y) * width + x] > 0) {
        x0 = std::min(x0, x), x1 = std::max(x1, x);
        y0 = std::min(y0, y), y1 = std::max(y1, y);
      }
  const int box_w = x1 - x0 + 1, box_h = y1 - y0 + 1;
  std::vector<float> crop(std::size_t(box_w) * box_h);
  for (int y = 0; y < box_h; ++y)
    std::copy_n(&ink[std::size_t(y + y0) * width + x0], box_w, &crop[std::size_t(y) * box_w]);

  // 4. Scale so the longer side is 20, keeping the aspect ratio.
  const double scale = double(kBox) / std::max(box_w, box_h);
  const int new_w = std::clamp(static_cast<int>(std::lround(box_w * scale)), 1, kBox);
  const int new_h = std::clamp(static_cast<int>(std::lround(box_h * scale)), 1, kBox);
  const std::vector<float> digit = resize(crop, box_w, box_h, new_w, new_h);

  // 5. Paste into 28x28 with the centre of mass at pixel (14, 14), counting pixels from 0
  //    (where MNIST's digits have it: the mean over its test set is (14.01, 13.99)), by a
  //    whole-pixel shift so the strokes are not blurred again.
  double mass = 0, mass_x = 0, mass_y = 0;
  for (int y = 0; y < new_h; ++y)
    for (int x = 0; x < new_w; ++x) {
      const double v = digit[std::size_t(y) * new_w + x];
      mass += v, mass_x += v * x, mass_y += v * y;
    }
  if (mass <= 0) return result;
  const int shift_x = static_cast<int>(std::lround(kSide / 2 - mass_x / mass));
  const int shift_y = static_cast<int>(std::lround(kSide / 2 - mass_y / mass));
  for (int y = 0; y < new_h; ++y)
    for (int x = 0; x < new_w; ++x) {
      const int tx = x + shift_x, ty = y + shift_y;
      if (tx >= 0 && tx < kSide && ty >= 0 && ty < kSide)
        result[std::size_t(ty) * kSide + tx] = std::clamp(digit[std::size_t(y) * new_w + x], 0.0f, 1.0f);
    }
  return result;
}

}  // namespace backprop
