// The fuzz targets' bodies (see entry_points.hpp). Readers that take a path are given an
// in-memory file (memfd) under /proc/self/fd, so no input touches the disk and each run
// costs a write, not a file creation.
#include "entry_points.hpp"

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>

#include "backprop/io/checkpoint.hpp"
#include "backprop/error.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/data/readers.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/io/npz.hpp"
#include "backprop/io/npz_params.hpp"
#include "backprop/data/predict_input.hpp"
#include "backprop/data/preprocess.hpp"
#include "backprop/web/predict_api.hpp"
#include "../apps/train_options.hpp"

namespace backprop::fuzz {

namespace {

// One memfd, rewritten for every input; path() opens it like a file on disk.
class MemoryFile {
 public:
  MemoryFile() : fd_(::memfd_create("backprop-fuzz", 0)) {
    if (fd_ < 0) throw std::runtime_error("memfd_create failed");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemoryFile() { ::close(fd_); }
  const std::string& write(const void* data, std::size_t size) {
    if (::ftruncate(fd_, 0) != 0) throw std::runtime_error("ftruncate failed");
    const char* bytes = static_cast<const char*>(data);
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = ::pwrite(fd_, bytes + done, size - done, static_cast<off_t>(done));
      if (n <= 0) throw std::runtime_error("pwrite failed");
      done += static_cast<std::size_t>(n);
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

MemoryFile& memory_file() {
  static MemoryFile file;
  return file;
}

// Runs f; a backprop::Error is the expected answer to a bad input.
template <typename F>
void expecting_errors(F f) {
  try {
    f();
  } catch (const Error&) {
  }
}

void read_idx_both(const std::string& path) {
  expecting_errors([&] { read_idx_images(path); });
  expecting_errors([&] { read_idx_images(path, 784); });  // the header's shape against the expected one
  expecting_errors([&] { read_idx_labels(path); });
}

void idx(const std::uint8_t* data, std::size_t size) { read_idx_both(memory_file().write(data, size)); }

void idx_gz(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  if (data[0] % 2 == 1) return read_idx_both(memory_file().write(data + 1, size - 1));
  uLongf length = compressBound(static_cast<uLong>(size));
  std::vector<Bytef> deflated(length + 32);
  // A gzip stream (windowBits 15 + 16) of the rest, at a level the first byte picks.
  z_stream stream{};
  if (deflateInit2(&stream, data[0] / 2 % 10, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return;
  stream.next_in = const_cast<Bytef*>(data + 1);
  stream.avail_in = static_cast<uInt>(size - 1);
  stream.next_out = deflated.data();
  stream.avail_out = static_cast<uInt>(deflated.size());
  const int done = deflate(&stream, Z_FINISH);
  const std::size_t out = stream.total_out;
  deflateEnd(&stream);
  if (done != Z_STREAM_END) throw std::logic_error("deflate did not finish");
  read_idx_both(memory_file().write(deflated.data(), out));
}

template <typename T>
void forward_once(const ModelFile& model) {
  Network<T> network = make_inference_network<T>(model);
  const Matrix<T> x = Matrix<T>::Constant(model.spec.sizes.front(), 1, T(0.5));
  network.predict(x);
}

void model(const std::uint8_t* data, std::size_t size) {
  const std::string& path = memory_file().write(data, size);
  expecting_errors([&] { read_checkpoint(path); });
  expecting_errors([&] {
    const ModelFile m = read_model(path);
    if (m.is_double) forward_once<double>(m);
    else forward_once<float>(m);
  });
}

void npz(const std::uint8_t* data, std::size_t size) {
  const std::string& path = memory_file().write(data, size);
  // As `train --init`: the shapes of a 4-3-2 network checked from the headers first.
  expecting_errors([&] {
    NetworkSpec spec;
    spec.sizes = {4, 3, 2};
    spec.validate(4, 2);
    Network<float> network(spec, nullptr);
    npz_to_params(read_npz(path, expected_shapes(network)), path, network);
  });
  expecting_errors([&] {
    const Npz arrays = read_npz(path);
    const std::vector<int> sizes = layer_sizes_from_npz(arrays, path);
    // As `backprop import`: a network of those sizes (if they make one), then the values.
    NetworkSpec spec;
    spec.sizes = sizes;
    spec.validate(sizes.front(), sizes.back());
    double parameters = 0;  // the arrays exist, but a shape with a 0 can claim any other side
    for (std::size_t l = 1; l < sizes.size(); ++l) parameters += double(sizes[l - 1] + 1) * sizes[l];
    if (parameters > 1e7) return;
    Network<float> network(spec, nullptr);
    npz_to_params(arrays, path, network);
  });
}

void png(const std::uint8_t* data, std::size_t size) {
  expecting_errors([&] {
    const GrayImage image = decode_png(std::string(reinterpret_cast<const char*>(data), size), "input");
    to_mnist_input(image);
  });
}

void csv(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  static const std::size_t widths[] = {784, 4, 1};
  static const char* ranges[] = {"auto", "255", "1"};
  const std::size_t width = widths[data[0] % 3];
  const char* range = ranges[data[0] / 3 % 3];
  std::vector<PredictInput> out;
  expecting_errors([&] {
    parse_csv_inputs("input.csv", std::string(reinterpret_cast<const char*>(data + 1), size - 1), width, range, out);
  });
  for (const PredictInput& input : out) {
    if (input.pixels.size() != width) throw std::logic_error("csv: a row of the wrong width");
    for (float v : input.pixels)
      if (!(v >= 0 && v <= 1)) throw std::logic_error("csv: a value outside 0..1");
  }
}

// What every dataset a reader returns must satisfy: consistent sizes, labels below the class
// count, finite float features (NaN and infinities are refused at read time).
void check_dataset(const Dataset& d, const char* target) {
  d.check(target);
  for (float v : d.values)
    if (!std::isfinite(v)) throw std::logic_error(std::string(target) + ": a non-finite feature was accepted");
  for (float v : d.targets)
    if (!std::isfinite(v)) throw std::logic_error(std::string(target) + ": a non-finite target was accepted");
  if (d.count == 0) throw std::logic_error(std::string(target) + ": an empty dataset was accepted");
}

// First byte: bit 0 regression, bit 1 --label picks the second column, bit 2 label optional
// with 3 features expected, bit 3 labels looked up in the classes {"0", "1", "a"}.
ReadOptions dataset_options(std::uint8_t flags) {
  static const std::vector<std::string> classes = {"0", "1", "a"};
  ReadOptions o;
  o.regression = flags & 1;
  if (flags & 2) o.label = "b";
  if (flags & 4) o.label_optional = true, o.features = 3;
  if (flags & 8) o.classes = &classes;
  return o;
}

void csv_data(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  const ReadOptions o = dataset_options(data[0]);
  const std::string& path = memory_file().write(data + 1, size - 1);
  Dataset d;
  try {
    d = read_csv(path, o);
  } catch (const Error&) {
    return;
  }
  if (o.label_optional && d.labels.empty() && d.targets.empty()) d.labels.assign(d.count, 0), d.classes = {"x"};
  check_dataset(d, "csv_data");
}

void npz_data(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  ReadOptions o = dataset_options(data[0]);
  o.label = "", o.label_optional = false;
  const std::string& path = memory_file().write(data + 1, size - 1);
  DataFiles files;
  try {
    files = read_npz_dataset(path, o);
  } catch (const Error&) {
    return;
  }
  check_dataset(files.train, "npz_data");
  if (files.test) check_dataset(*files.test, "npz_data");
}

// A small random 784-16-10 model, built once.
web::PredictApi& predict_api() {
  static web::PredictApi* api = [] {
    NetworkSpec spec;
    spec.sizes = {784, 16, 10};
    spec.validate(784, 10);
    std::mt19937_64 rng(1);
    Network<float> network(spec, &rng);
    initialize(network, InitScheme::xavier_normal, rng);
    ModelFile model;
    model.spec = spec;
    for (const auto& p : network.params()) model.params.push_back(p.value->cast<double>());
    return new web::PredictApi(model, "fuzz.model");  // lives until exit
  }();
  return *api;
}

void predict(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  static const char* types[] = {"application/json", "image/png", "application/octet-stream", "text/plain",
                                "", "image/jpeg", "Application/JSON; charset=utf-8", "multipart/form-data"};
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const web::ApiReply reply = predict_api().predict(body, types[data[0] % 8]);
  if (reply.status != 200 && reply.status != 400)
    throw std::logic_error("predict answered " + std::to_string(reply.status) + ": " + web::reply_text(reply));
  web::reply_text(reply);  // what the server sends; must not throw (on invalid UTF-8, say)
}

// A checkpoint's run configuration as `train --resume` reads it: parsed with every number
// checked for its type, validated like the flags, and whatever passes must survive its own
// round trip (a configuration the program writes, it must read back).
void run_config(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  cli::TrainOptions options;
  try {
    options = cli::options_from_json(text, "fuzz.ckpt");
    cli::validate_train_options(options);
  } catch (const Error&) {
    return;
  }
  try {
    cli::validate_train_options(cli::options_from_json(cli::options_to_json(options, options.threads), "again"));
  } catch (const Error& e) {
    throw std::logic_error(std::string("an accepted configuration does not read back: ") + e.what());
  }
}

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {{"idx", idx},           {"idx_gz", idx_gz},     {"model", model},
                                          {"npz", npz},           {"png", png},           {"csv", csv},
                                          {"predict", predict},   {"csv_data", csv_data}, {"npz_data", npz_data},
                                          {"run_config", run_config}};
  return all;
}

EntryPoint find_target(const std::string& name) {
  for (const Target& t : targets())
    if (name == t.name) return t.run;
  throw std::invalid_argument("no fuzz target named " + name);
}

}  // namespace backprop::fuzz
