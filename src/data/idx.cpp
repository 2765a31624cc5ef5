// Reading MNIST's IDX files, plain or gzipped (format in idx.hpp).
//
// A header is never trusted with memory: for a plain file the data size is compared
// with the file size before anything is allocated; a gzip stream has no trustworthy
// size, so it is inflated chunk by chunk, the buffer never grows past what the header
// implies, and reading stops as soon as the stream yields more than that.
#include "backprop/data/idx.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "backprop/error.hpp"

namespace backprop {
namespace {

constexpr std::uint32_t kLabelsMagic = 0x00000801;  // type 0x08 (ubyte), 1 dimension
constexpr std::uint32_t kImagesMagic = 0x00000803;  // type 0x08 (ubyte), 3 dimensions

std::string hex32(std::uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", v);
  return text;
}

// One IDX file opened for reading: header bytes first, then the payload.
class IdxReader {
 public:
  explicit IdxReader(const std::string& path) : path_(path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) throw file_error(path, std::string("cannot open (") + std::strerror(errno) + ")");
    plain_.reset(file);
    unsigned char magic[2] = {0, 0};
    const bool gzip = std::fread(magic, 1, 2, file) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (!gzip) {
      struct stat info {};
      if (::fstat(::fileno(file), &info) != 0 || !S_ISREG(info.st_mode))
        throw file_error(path, "not a regular file");
      file_size_ = static_cast<std::uint64_t>(info.st_size);
      std::rewind(file);
      return;
    }
    plain_.reset();
    gz_ = ::gzopen(path.c_str(), "rb");
    if (!gz_) throw file_error(path, std::string("cannot open (") + std::strerror(errno) + ")");
    ::gzbuffer(gz_, 1 << 17);
  }
  ~IdxReader() {
    if (gz_) ::gzclose(gz_);
  }
  IdxReader(const IdxReader&) = delete;
  IdxReader& operator=(const IdxReader&) = delete;

  bool compressed() const { return gz_ != nullptr; }

  // The magic number and ndims big-endian u32 dimensions (header_ bytes in all).
  std::vector<std::uint32_t> header(std::uint32_t expected_magic, const char* kind, int ndims) {
    header_bytes_ = 4u * (1 + ndims);
    unsigned char bytes[16];
    const std::size_t got = read_some(bytes, header_bytes_);
    if (got < 4) throw file_error(path_, "truncated: file ends inside the IDX header");
    std::vector<std::uint32_t> words;
    for (std::size_t i = 0; i + 4 <= got; i += 4)
      words.push_back(std::uint32_t(bytes[i]) << 24 | std::uint32_t(bytes[i + 1]) << 16 |
                      std::uint32_t(bytes[i + 2]) << 8 | bytes[i + 3]);
    if (words[0] != expected_magic)
      throw file_error(path_, std::string("not an IDX ") + kind + " file (magic " + hex32(words[0]) +
                                  ", expected " + hex32(expected_magic) + ")");
    if (got < header_bytes_) throw file_error(path_, "truncated: file ends inside the IDX header");
    return {words.begin() + 1, words.end()};
  }

  // Exactly `expected` payload bytes, or an error that says how many there were.
  std::vector<std::uint8_t> payload(std::uint64_t expected, const char* what) {
    const std::string says = "header says " + std::to_string(expected) + " bytes of " + what;
    if (plain_) {
      const std::uint64_t have = file_size_ - header_bytes_;
      if (have < expected)
        throw file_error(path_, "truncated: " + says + ", file has " + std::to_string(have));
      if (have > expected)
        throw file_error(path_, "trailing data: " + says + ", file has " + std::to_string(have));
      std::vector<std::uint8_t> data(expected);
      if (read_some(data.data(), expected) != expected)
        throw file_error(path_, std::string("read failed (") + std::strerror(errno) + ")");
      return data;
    }
    std::vector<std::uint8_t> data;
    std::uint64_t have = 0;
    for (;;) {
      if (have == data.size()) {
        if (have == expected) break;
        // Grow geometrically, but never past what the header implies.
        data.resize(std::min<std::uint64_t>(expected, std::max<std::uint64_t>(2 * have, 1 << 20)));
      }
      const std::size_t got = read_some(data.data() + have, data.size() - have);
      if (got == 0) throw file_error(path_, "truncated: " + says + ", file has " + std::to_string(have));
      have += got;
    }
    unsigned char extra;
    if (read_some(&extra, 1) != 0)
      throw file_error(path_, "trailing data: " + says + ", file inflates to more");
    return data;
  }

 private:
  // Up to n bytes; fewer only at the end of the data. gzip errors throw.
  std::size_t read_some(void* out, std::size_t n) {
    if (plain_) return std::fread(out, 1, n, plain_.get());
    std::size_t total = 0;
    while (total < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - total, 1u << 30));
      const int got = ::gzread(gz_, static_cast<char*>(out) + total, chunk);
      int code = Z_OK;
      const char* message = ::gzerror(gz_, &code);
      if (got < 0 || (code != Z_OK && code != Z_STREAM_END))
        throw file_error(path_, std::string("corrupt gzip data (") + message + ")");
      if (got == 0) break;
      total += static_cast<std::size_t>(got);
    }
    return total;
  }

  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::string path_;
  std::unique_ptr<std::FILE, FileCloser> plain_;
  gzFile gz_ = nullptr;
  std::uint64_t file_size_ = 0;
  std::size_t header_bytes_ = 0;
};

}  // namespace

IdxImages read_idx_images(const std::string& path, std::size_t expected_pixels) {
  IdxReader reader(path);
  const auto dims = reader.header(kImagesMagic, "images", 3);
  if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0)
    throw file_error(path, "zero dimension in header (count " + std::to_string(dims[0]) + ", rows " +
                               std::to_string(dims[1]) + ", cols " + std::to_string(dims[2]) + ")");
  // Three u32s multiply to at most 2^96; check that the size fits in 64 bits.
  std::uint64_t bytes = 0;
  if (__builtin_mul_overflow(std::uint64_t(dims[0]) * dims[1], std::uint64_t(dims[2]), &bytes))
    throw file_error(path, "header dimensions overflow 64 bits");
  // What the header says is checked before a byte of the payload is read or inflated.
  const std::uint64_t pixels = std::uint64_t(dims[1]) * dims[2];
  if (expected_pixels != 0 && pixels != expected_pixels)
    throw file_error(path, "the images have " + std::to_string(pixels) + " pixels (" + std::to_string(dims[1]) +
                               " x " + std::to_string(dims[2]) + "), expected " + std::to_string(expected_pixels));
  if (reader.compressed() && bytes > kMaxIdxBytes)  // a plain file's size is checked against the header
    throw file_error(path, "header says " + std::to_string(bytes) + " bytes of pixels, more than the " +
                               std::to_string(kMaxIdxBytes) + " an IDX file may hold");
  IdxImages images;
  images.count = dims[0];
  images.rows = dims[1];
  images.cols = dims[2];
  images.pixels = reader.payload(bytes, "pixels");
  return images;
}

std::vector<std::uint8_t> read_idx_labels(const std::string& path, int num_classes) {
  IdxReader reader(path);
  const auto dims = reader.header(kLabelsMagic, "labels", 1);
  if (dims[0] == 0) throw file_error(path, "zero dimension in header (count 0)");
  auto labels = reader.payload(dims[0], "labels");
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= num_classes)
      throw file_error(path, "label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                                 " is out of range 0.." + std::to_string(num_classes - 1));
  return labels;
}

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      const std::vector<std::string>* classes, std::size_t expected_pixels) {
  IdxImages images = read_idx_images(images_path, expected_pixels);
  const std::vector<std::uint8_t> raw = read_idx_labels(labels_path);
  if (raw.size() != images.count)
    throw file_error(images_path, std::to_string(images.count) + " images but " + labels_path + " has " +
                                      std::to_string(raw.size()) + " labels");
  // Byte label v -> class index: the distinct values sorted (0..9 -> 0..9 for MNIST), or a
  // training set's class names.
  std::array<std::int32_t, 256> index;
  index.fill(-1);
  Dataset data;
  if (classes) {
    data.classes = *classes;
    for (std::size_t k = 0; k < classes->size(); ++k) {
      const std::string& name = (*classes)[k];
      char* end = nullptr;
      const long v = std::strtol(name.c_str(), &end, 10);
      if (!name.empty() && *end == '\0' && v >= 0 && v < 256) index[std::size_t(v)] = std::int32_t(k);
    }
  } else {
    std::array<bool, 256> seen{};
    for (std::uint8_t v : raw) seen[v] = true;
    for (int v = 0; v < 256; ++v)
      if (seen[v]) {
        index[std::size_t(v)] = std::int32_t(data.classes.size());
        data.classes.push_back(std::to_string(v));
      }
  }
  data.labels.resize(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    data.labels[i] = index[raw[i]];
    if (data.labels[i] < 0)
      throw file_error(labels_path, "label " + std::to_string(raw[i]) + " at index " + std::to_string(i) +
                                        " is not a class of the training set");
  }
  data.count = images.count;
  data.rows = images.rows;
  data.cols = images.cols;
  data.features = images.rows * images.cols;
  data.bytes = std::move(images.pixels);
  data.scaling.kind = ScaleKind::unit;
  return data;
}

Mnist load_mnist(const std::string& dir, std::size_t expected_pixels) {
  // Plain first (what fetch-mnist installs), then the .gz the original site serves.
  auto find = [&](const std::string& name) {
    for (const std::string& candidate : {dir + "/" + name, dir + "/" + name + ".gz"}) {
      struct stat info {};
      if (::stat(candidate.c_str(), &info) == 0) return candidate;
    }
    throw file_error(dir, "MNIST file " + name + " not found (run `backprop fetch-mnist --dir " + dir + "`)");
  };
  Mnist mnist;
  mnist.train = load_idx_pair(find("train-images-idx3-ubyte"), find("train-labels-idx1-ubyte"), nullptr, expected_pixels);
  mnist.test = load_idx_pair(find("t10k-images-idx3-ubyte"), find("t10k-labels-idx1-ubyte"), &mnist.train.classes,
                             expected_pixels);
  return mnist;
}

}  // namespace backprop
