// Model files (layout in docs/model-format.md): header, architecture, parameters, CRC-32.
#include "backprop/model_file.hpp"

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <type_traits>

#include "backprop/atomic_file.hpp"
#include "backprop/error.hpp"

namespace backprop {

namespace {

constexpr std::uint32_t kMaxLayers = 1024;
constexpr std::uint32_t kMaxWidth = 1u << 24;

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

template <typename T>
void put_value(std::string& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
  out.append(bytes, sizeof(T));
}

// Reads little-endian fields from a byte buffer, failing with the file's name.
class Reader {
 public:
  Reader(const std::string& bytes, const std::string& path) : bytes_(bytes), path_(path) {}
  void need(std::size_t n, const char* what) const {
    if (bytes_.size() - pos_ < n) throw file_error(path_, std::string("truncated (in ") + what + ")");
  }
  std::uint32_t u32(const char* what) {
    need(4, what);
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return v;
  }
  template <typename T>
  T value() {
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::size_t pos() const { return pos_; }

 private:
  const std::string& bytes_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

}  // namespace

template <typename T>
void save_model(const std::string& path, const Network<T>& network) {
  const NetworkSpec& spec = network.spec();
  std::string out(kModelMagic, sizeof kModelMagic);
  put_u32(out, kModelVersion);
  put_u32(out, sizeof(T));
  put_u32(out, static_cast<std::uint32_t>(spec.head));
  put_u32(out, static_cast<std::uint32_t>(spec.sizes.size()));
  for (int s : spec.sizes) put_u32(out, static_cast<std::uint32_t>(s));
  for (Activation a : spec.activations) put_u32(out, static_cast<std::uint32_t>(a));
  for (const auto& p : network.params())
    for (Eigen::Index i = 0; i < p.value->size(); ++i) put_value<T>(out, p.value->data()[i]);
  put_u32(out, static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(out.data()),
                                                static_cast<uInt>(out.size()))));
  write_file_atomic(path, out);
}

ModelFile read_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error(path, std::string("cannot open (") + std::strerror(errno) + ")");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < sizeof kModelMagic || std::memcmp(bytes.data(), kModelMagic, sizeof kModelMagic) != 0)
    throw file_error(path, "not a backprop model file (bad magic)");
  Reader r(bytes, path);
  r.need(sizeof kModelMagic, "magic");
  for (std::size_t i = 0; i < sizeof kModelMagic; ++i) r.value<char>();
  const std::uint32_t version = r.u32("version");
  if (version > kModelVersion)
    throw file_error(path, "format version " + std::to_string(version) + " is newer than this program (" +
                               std::to_string(kModelVersion) + "); upgrade backprop");
  if (version == 0) throw file_error(path, "format version 0 is invalid");
  // Check the CRC before trusting any size in the header.
  if (bytes.size() < sizeof kModelMagic + 8) throw file_error(path, "truncated (header)");
  const std::size_t body = bytes.size() - 4;
  std::uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) stored |= std::uint32_t(static_cast<unsigned char>(bytes[body + i])) << (8 * i);
  const auto computed = static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(body)));
  if (stored != computed) throw file_error(path, "checksum mismatch (the file is damaged or truncated)");

  ModelFile model;
  const std::uint32_t dtype = r.u32("dtype");
  if (dtype != 4 && dtype != 8) throw file_error(path, "unknown dtype size " + std::to_string(dtype));
  model.is_double = dtype == 8;
  const std::uint32_t head = r.u32("head");
  if (head > static_cast<std::uint32_t>(HeadKind::mse)) throw file_error(path, "unknown head " + std::to_string(head));
  model.spec.head = static_cast<HeadKind>(head);
  const std::uint32_t count = r.u32("layer count");
  if (count < 2 || count > kMaxLayers) throw file_error(path, "bad layer count " + std::to_string(count));
  model.spec.sizes.clear();
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t s = r.u32("layer sizes");
    if (s == 0 || s > kMaxWidth) throw file_error(path, "bad layer size " + std::to_string(s));
    model.spec.sizes.push_back(static_cast<int>(s));
  }
  model.spec.activations.clear();
  for (std::uint32_t i = 0; i + 2 < count; ++i) {
    const std::uint32_t a = r.u32("activations");
    if (a > static_cast<std::uint32_t>(Activation::softplus))
      throw file_error(path, "unknown activation id " + std::to_string(a));
    model.spec.activations.push_back(static_cast<Activation>(a));
  }
  std::size_t expected = 0;
  for (std::uint32_t l = 1; l < count; ++l)
    expected += (std::size_t(model.spec.sizes[l - 1]) + 1) * std::size_t(model.spec.sizes[l]);
  if (body - r.pos() != expected * dtype)
    throw file_error(path, "parameter data is " + std::to_string(body - r.pos()) + " bytes, the architecture needs " +
                               std::to_string(expected * dtype));
  for (std::uint32_t l = 1; l < count; ++l) {
    const std::size_t n_in = model.spec.sizes[l - 1], n_out = model.spec.sizes[l];
    for (std::size_t size : {n_in * n_out, n_out}) {  // W then b, as Network::params orders them
      std::vector<double> values(size);
      for (auto& v : values) v = model.is_double ? r.value<double>() : double(r.value<float>());
      model.params.push_back(std::move(values));
    }
  }
  return model;
}

template <typename T>
void load_params(const ModelFile& model, Network<T>& network) {
  const auto& params = network.params();
  if (params.size() != model.params.size()) throw Error("model: parameter count does not match the network");
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (static_cast<std::size_t>(params[i].value->size()) != model.params[i].size())
      throw Error("model: parameter " + params[i].name() + " does not match the network's shape");
    for (std::size_t j = 0; j < model.params[i].size(); ++j) params[i].value->data()[j] = static_cast<T>(model.params[i][j]);
  }
}

template void save_model<float>(const std::string&, const Network<float>&);
template void save_model<double>(const std::string&, const Network<double>&);
template void load_params<float>(const ModelFile&, Network<float>&);
template void load_params<double>(const ModelFile&, Network<double>&);

}  // namespace backprop
