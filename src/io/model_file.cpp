// Model files (layout in docs/model-format.md): the container (header, sections, CRC-32)
// shared with checkpoints, and the two sections every model has, ARCH and PARM.
//
// The reader's order of checks is what makes its errors precise: magic, then length against
// the header, then the header's own CRC, version and kind, then the stated total length,
// then the file's CRC, and only then any size written inside the file.
#include "backprop/io/model_file.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <type_traits>

#include "backprop/io/atomic_file.hpp"
#include "backprop/error.hpp"
#include "backprop/nn/limits.hpp"
#include "io/model_container.hpp"

namespace backprop {

namespace {

constexpr const char* kKnownTags[] = {"ARCH", "PARM", "DATA", "TRNR", "OPTM", "BEST", "HIST", "CONF"};
constexpr ScaleKind kScaleIds[] = {ScaleKind::none, ScaleKind::unit, ScaleKind::standard};
constexpr std::uint32_t kMaxClassName = 1u << 16;

// Stored ids, fixed forever (the enums' order may change; these may not).
constexpr Activation kActivationIds[] = {Activation::sigmoid, Activation::tanh,  Activation::relu,
                                         Activation::leaky_relu, Activation::elu, Activation::gelu,
                                         Activation::softplus};
constexpr HeadKind kHeadIds[] = {HeadKind::softmax_cross_entropy, HeadKind::mse};

template <typename E, std::size_t N>
std::uint32_t id_of(const E (&table)[N], E value) {
  for (std::size_t i = 0; i < N; ++i)
    if (table[i] == value) return static_cast<std::uint32_t>(i);
  throw Error("model file: no stored id for this value");
}

std::uint32_t crc_of(const std::string& bytes, std::size_t begin, std::size_t end) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::size_t pos = begin; pos < end;) {  // zlib takes 32-bit lengths
    const std::size_t n = std::min<std::size_t>(end - pos, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + pos), static_cast<uInt>(n));
    pos += n;
  }
  return static_cast<std::uint32_t>(crc);
}

std::uint32_t u32_at(const std::string& bytes, std::size_t pos) {
  std::uint32_t v;
  std::memcpy(&v, bytes.data() + pos, 4);
  return v;
}

std::string read_whole_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw file_error(path, std::string("cannot open (") + std::strerror(errno) + ")");
  if (S_ISDIR(info.st_mode)) throw file_error(path, "is a directory, not a model file");
  // Not a device or a pipe (/dev/zero would never end), and not read whole before its first
  // bytes say it is a model file: a multi-gigabyte file of something else fails at once.
  if (!S_ISREG(info.st_mode)) throw file_error(path, "not a regular file, so not a model file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error(path, std::string("cannot open (") + std::strerror(errno) + ")");
  std::string bytes(sizeof kModelMagic, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  if (bytes.size() == sizeof kModelMagic && std::memcmp(bytes.data(), kModelMagic, sizeof kModelMagic) == 0)
    bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) throw file_error(path, "read failed");
  return bytes;  // read_container says what is wrong with a short or foreign one
}

std::string shape_text(Eigen::Index rows, Eigen::Index cols) {
  return "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")";
}

}  // namespace

namespace detail {

const Section* Container::find(const char* tag, bool required) const {
  for (const auto& s : sections)
    if (s.tag == tag) return &s;
  if (required) throw file_error(path, std::string("malformed: no ") + tag + " section");
  return nullptr;
}

void write_container(const std::string& path, ModelKind kind,
                     const std::vector<std::pair<std::string, std::string>>& sections) {
  ByteWriter out;
  out.bytes(std::string(kModelMagic, sizeof kModelMagic));
  out.u32(kModelVersion);
  out.u32(static_cast<std::uint32_t>(kind));
  std::size_t total = kModelHeaderSize + 4;
  for (const auto& [tag, payload] : sections) total += 4 + 8 + payload.size();
  out.u64(total);
  out.u32(0);  // flags
  out.u32(crc_of(out.str(), 0, 28));
  for (const auto& [tag, payload] : sections) {
    out.bytes(tag);
    out.u64(payload.size());
    out.bytes(payload);
  }
  out.u32(crc_of(out.str(), 0, out.str().size()));
  write_file_atomic(path, out.str());
}

Container read_container(const std::string& path) {
  Container c;
  c.path = path;
  c.bytes = read_whole_file(path);
  const std::string& b = c.bytes;
  const std::size_t size = b.size();
  if (size == 0) throw file_error(path, "truncated to 0 bytes (empty file)");
  const std::size_t m = std::min(size, sizeof kModelMagic);
  if (std::memcmp(b.data(), kModelMagic, m) != 0)
    throw file_error(path, "not a backprop model file (it does not start with BPROPMDL)");
  if (size < kModelHeaderSize)
    throw file_error(path, "truncated: " + std::to_string(size) + " bytes, shorter than the " +
                               std::to_string(kModelHeaderSize) + "-byte header");
  if (u32_at(b, 28) != crc_of(b, 0, 28)) throw file_error(path, "damaged header (checksum mismatch)");
  const std::uint32_t version = u32_at(b, 8);
  if (version == 0) throw file_error(path, "invalid format version 0");
  if (version > kModelVersion)
    throw file_error(path, "format version " + std::to_string(version) + " is newer than this program reads (up to " +
                               std::to_string(kModelVersion) + "); upgrade backprop");
  const std::uint32_t kind = u32_at(b, 12);
  if (kind != std::uint32_t(ModelKind::model) && kind != std::uint32_t(ModelKind::checkpoint))
    throw file_error(path, "unknown file kind " + std::to_string(kind));
  c.kind = static_cast<ModelKind>(kind);
  c.version = version;
  if (u32_at(b, 24) != 0) throw file_error(path, "unknown flags " + std::to_string(u32_at(b, 24)));
  std::uint64_t stated;
  std::memcpy(&stated, b.data() + 16, 8);
  if (size < stated)
    throw file_error(path, "truncated: " + std::to_string(size) + " of " + std::to_string(stated) + " bytes");
  if (size > stated)
    throw file_error(path, "has " + std::to_string(size - stated) + " bytes more than its header says (" +
                               std::to_string(stated) + "): damaged, or something was appended");
  if (size < kModelHeaderSize + 4) throw file_error(path, "malformed: no room for the checksum");
  if (u32_at(b, size - 4) != crc_of(b, 0, size - 4))
    throw file_error(path, "checksum mismatch (the file is damaged)");

  ByteReader in(b, kModelHeaderSize, size - 4, path);
  while (in.remaining() > 0) {
    Section s;
    s.tag = in.bytes(4, "a section tag");
    const std::uint64_t length = in.u64("a section length");
    if (length > in.remaining()) in.fail("malformed: section " + s.tag + " is longer than the file");
    bool known = false;
    for (const char* tag : kKnownTags) known = known || s.tag == tag;
    if (!known) in.fail("malformed: unknown section '" + s.tag + "'");
    if (c.find(s.tag.c_str(), false)) in.fail("malformed: two " + s.tag + " sections");
    s.begin = in.pos();
    s.end = s.begin + static_cast<std::size_t>(length);
    in.bytes(static_cast<std::size_t>(length), "a section");
    c.sections.push_back(s);
  }
  return c;
}

template <typename T>
std::string arch_payload(const NetworkSpec& spec) {
  ByteWriter out;
  out.u32(sizeof(T));
  out.u32(id_of(kHeadIds, spec.head));
  out.u32(static_cast<std::uint32_t>(spec.sizes.size()));
  for (int s : spec.sizes) out.u32(static_cast<std::uint32_t>(s));
  for (Activation a : spec.activations) out.u32(id_of(kActivationIds, a));
  for (int l = 0; l < spec.hidden_layers(); ++l) out.f64(spec.dropout.empty() ? 0.0 : spec.dropout[l]);
  return out.str();
}

template <typename T>
std::string params_payload(const std::vector<Param<T>>& params) {
  std::vector<Matrix<T>> values;  // a copy keeps put_matrices simple; models are small
  for (const auto& p : params) values.push_back(*p.value);
  ByteWriter out;
  put_matrices<T>(out, values);
  return out.str();
}

std::string data_payload(const DataSchema& d, const NetworkSpec& spec) {
  const std::size_t outputs = static_cast<std::size_t>(spec.sizes.back());
  if (d.features != static_cast<std::size_t>(spec.sizes.front()))
    throw Error("model file: the data has " + std::to_string(d.features) + " features, the network takes " +
                std::to_string(spec.sizes.front()));
  if (d.classes.empty() ? d.target_mean.size() != outputs : d.classes.size() != outputs)
    throw Error("model file: the data has " + std::to_string(d.classes.empty() ? d.target_mean.size() : d.classes.size()) +
                (d.classes.empty() ? " targets" : " classes") + ", the network has " + std::to_string(outputs) + " outputs");
  if (d.scaling.kind == ScaleKind::standard &&
      (d.scaling.mean.size() != d.features || d.scaling.deviation.size() != d.features))
    throw Error("model file: the standard scaling has " + std::to_string(d.scaling.mean.size()) + " means for " +
                std::to_string(d.features) + " features");
  if (!d.feature_names.empty() && d.feature_names.size() != d.features)
    throw Error("model file: " + std::to_string(d.feature_names.size()) + " feature names for " +
                std::to_string(d.features) + " features");
  if (!d.target_names.empty() && d.target_names.size() != d.target_mean.size())
    throw Error("model file: " + std::to_string(d.target_names.size()) + " target names for " +
                std::to_string(d.target_mean.size()) + " targets");
  ByteWriter out;
  out.u32(static_cast<std::uint32_t>(d.features));
  out.u32(static_cast<std::uint32_t>(d.rows));
  out.u32(static_cast<std::uint32_t>(d.cols));
  out.u32(id_of(kScaleIds, d.scaling.kind));
  if (d.scaling.kind == ScaleKind::standard) {
    out.values<float>(d.scaling.mean.data(), d.scaling.mean.size());
    out.values<float>(d.scaling.deviation.data(), d.scaling.deviation.size());
  }
  out.u32(static_cast<std::uint32_t>(d.classes.size()));
  for (const std::string& name : d.classes) out.text(name);
  out.u32(static_cast<std::uint32_t>(d.feature_names.size()));
  for (const std::string& name : d.feature_names) out.text(name);
  out.u32(static_cast<std::uint32_t>(d.target_mean.size()));
  out.values<double>(d.target_mean.data(), d.target_mean.size());
  out.values<double>(d.target_deviation.data(), d.target_deviation.size());
  out.u32(static_cast<std::uint32_t>(d.target_names.size()));
  for (const std::string& name : d.target_names) out.text(name);
  out.f64(d.test_split);
  out.u64(d.split_seed);
  out.text(d.label_name);  // last: files written before it end at the split seed
  return out.str();
}

namespace {

DataSchema parse_data(ByteReader in, const NetworkSpec& spec) {
  DataSchema d;
  d.features = in.u32("features");
  if (d.features != static_cast<std::size_t>(spec.sizes.front()))
    in.fail("malformed: " + std::to_string(d.features) + " features for a network of " +
            std::to_string(spec.sizes.front()) + " inputs");
  d.rows = in.u32("image shape");
  d.cols = in.u32("image shape");
  if (d.rows * d.cols != 0 && d.rows * d.cols != d.features) in.fail("malformed: image shape does not fit the features");
  const std::uint32_t scale = in.u32("scaling");
  if (scale >= std::size(kScaleIds)) in.fail("unknown scaling id " + std::to_string(scale));
  d.scaling.kind = kScaleIds[scale];
  if (d.scaling.kind == ScaleKind::standard) {
    for (auto* v : {&d.scaling.mean, &d.scaling.deviation}) {
      for (double x : in.values(d.features, 4, "scaling")) v->push_back(static_cast<float>(x));
    }
    for (std::size_t i = 0; i < d.features; ++i)
      if (!std::isfinite(d.scaling.mean[i]) || !(d.scaling.deviation[i] > 0) || !std::isfinite(d.scaling.deviation[i]))
        in.fail("malformed: scaling of feature " + std::to_string(i) + " is not a finite mean and positive deviation");
  }
  const auto names = [&](const char* what, std::size_t expected) {
    const std::uint32_t n = in.u32(what);
    if (n > in.remaining() / 8 || (n != 0 && expected != 0 && n != expected))
      in.fail(std::string("malformed: ") + std::to_string(n) + " " + what);
    std::vector<std::string> out;
    for (std::uint32_t k = 0; k < n; ++k) {
      out.push_back(in.text(what));
      if (out.back().size() > kMaxClassName) in.fail(std::string("malformed: ") + what + " of " + std::to_string(out.back().size()) + " bytes");
    }
    return out;
  };
  d.classes = names("class names", 0);
  const std::uint32_t classes = static_cast<std::uint32_t>(d.classes.size());
  d.feature_names = names("feature names", d.features);
  const std::uint32_t targets = in.u32("target count");
  if (targets > in.remaining() / 16) in.fail("malformed: target count " + std::to_string(targets));
  d.target_mean = in.values(targets, 8, "target scaling");
  d.target_deviation = in.values(targets, 8, "target scaling");
  for (std::size_t t = 0; t < targets; ++t)
    if (!std::isfinite(d.target_mean[t]) || !(d.target_deviation[t] > 0) || !std::isfinite(d.target_deviation[t]))
      in.fail("malformed: scaling of target " + std::to_string(t) + " is not a finite mean and positive deviation");
  d.target_names = names("target names", targets);
  const std::size_t outputs = static_cast<std::size_t>(spec.sizes.back());
  if (classes ? classes != outputs || targets != 0 : targets != outputs)
    in.fail("malformed: " + std::to_string(classes) + " classes and " + std::to_string(targets) +
            " targets for a network of " + std::to_string(outputs) + " outputs");
  d.test_split = in.f64("test split");
  if (!(d.test_split >= 0 && d.test_split < 1)) in.fail("malformed: test split " + std::to_string(d.test_split));
  d.split_seed = in.u64("split seed");
  if (in.remaining() > 0) {
    d.label_name = in.text("label column");
    if (d.label_name.size() > kMaxClassName) in.fail("malformed: label column name of " + std::to_string(d.label_name.size()) + " bytes");
  }
  in.expect_end();
  return d;
}

}  // namespace

std::vector<Matrix<double>> get_matrices(ByteReader& in, std::uint32_t dtype, const char* what) {
  const std::uint32_t count = in.u32(what);
  if (count > in.remaining() / 8) in.fail(std::string("malformed: too many ") + what);
  std::vector<Matrix<double>> out;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t rows = in.u32(what), cols = in.u32(what);
    const std::vector<double> values = in.values(std::size_t(rows) * cols, dtype, what);
    out.push_back(Eigen::Map<const Matrix<double>>(values.data(), rows, cols));
  }
  return out;
}

ModelFile parse_model(const Container& c) {
  ModelFile model;
  model.kind = c.kind;
  ByteReader arch = c.reader(*c.find("ARCH", true));
  const std::uint32_t dtype = arch.u32("dtype");
  if (dtype != 4 && dtype != 8) arch.fail("unknown dtype size " + std::to_string(dtype) + " (4 or 8)");
  model.is_double = dtype == 8;
  const std::uint32_t head = arch.u32("head");
  if (head >= std::size(kHeadIds)) arch.fail("unknown head id " + std::to_string(head));
  model.spec.head = kHeadIds[head];
  const std::uint32_t count = arch.u32("layer count");
  if (count < 2 || count > std::uint32_t(kMaxLayers)) arch.fail("bad layer count " + std::to_string(count));
  model.spec.sizes.clear();
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t s = arch.u32("layer sizes");
    if (s == 0 || s > std::uint32_t(kMaxWidth)) arch.fail("bad layer size " + std::to_string(s));
    model.spec.sizes.push_back(static_cast<int>(s));
  }
  model.spec.activations.clear();
  for (std::uint32_t i = 0; i + 2 < count; ++i) {
    const std::uint32_t a = arch.u32("activations");
    if (a >= std::size(kActivationIds)) arch.fail("unknown activation id " + std::to_string(a));
    model.spec.activations.push_back(kActivationIds[a]);
  }
  bool any_dropout = false;
  std::vector<double> dropout;
  for (std::uint32_t i = 0; i + 2 < count; ++i) {
    const double rate = arch.f64("dropout rates");
    if (!(rate >= 0 && rate < 1)) arch.fail("bad dropout rate " + std::to_string(rate));
    dropout.push_back(rate);
    any_dropout = any_dropout || rate > 0;
  }
  if (any_dropout) model.spec.dropout = dropout;
  arch.expect_end();

  ByteReader parm = c.reader(*c.find("PARM", true));
  model.params = get_matrices(parm, dtype, "parameters");
  parm.expect_end();
  const std::size_t layers = count - 1;
  if (model.params.size() != 2 * layers)
    throw file_error(c.path, "shape mismatch: " + std::to_string(model.params.size()) + " parameter tensors, the " +
                                 model.spec.describe() + " architecture has " + std::to_string(2 * layers));
  for (std::size_t l = 1; l <= layers; ++l) {
    const Eigen::Index n_in = model.spec.sizes[l - 1], n_out = model.spec.sizes[l];
    const Matrix<double>& W = model.params[2 * (l - 1)];
    const Matrix<double>& b = model.params[2 * (l - 1) + 1];
    if (W.rows() != n_out || W.cols() != n_in || b.rows() != n_out || b.cols() != 1)
      throw file_error(c.path, "shape mismatch: layer " + std::to_string(l) + " has w " + shape_text(W.rows(), W.cols()) +
                                   " and b " + shape_text(b.rows(), b.cols()) + ", the architecture needs " +
                                   shape_text(n_out, n_in) + " and " + shape_text(n_out, 1));
  }
  model.version = c.version;
  const Section* data = c.find("DATA", false);
  model.data = data ? parse_data(c.reader(*data), model.spec) : legacy_schema(model.spec);
  return model;
}

}  // namespace detail

DataSchema legacy_schema(const NetworkSpec& spec) {
  DataSchema d;
  d.features = static_cast<std::size_t>(spec.sizes.front());
  if (d.features == 784) d.rows = d.cols = 28;
  d.classes = numbered_classes(static_cast<std::size_t>(spec.sizes.back()));
  d.scaling.kind = ScaleKind::unit;
  return d;
}

template <typename T>
void save_model(const std::string& path, const Network<T>& network, const DataSchema* data) {
  const DataSchema schema = data ? *data : legacy_schema(network.spec());
  detail::write_container(path, ModelKind::model,
                          {{"ARCH", detail::arch_payload<T>(network.spec())},
                           {"PARM", detail::params_payload(network.params())},
                           {"DATA", detail::data_payload(schema, network.spec())}});
}

ModelFile read_model(const std::string& path) { return detail::parse_model(detail::read_container(path)); }

template <typename T>
void load_params(const ModelFile& model, Network<T>& network, const std::string& source) {
  const auto& params = network.params();
  if (params.size() != model.params.size())
    throw file_error(source, "shape mismatch: the file has " + std::to_string(model.params.size()) +
                                 " parameter tensors, the network " + std::to_string(params.size()));
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Matrix<T>& value = *params[i].value;
    if (value.rows() != model.params[i].rows() || value.cols() != model.params[i].cols())
      throw file_error(source, "shape mismatch: " + params[i].name() + " is " +
                                   shape_text(model.params[i].rows(), model.params[i].cols()) +
                                   " in the file, the network needs " + shape_text(value.rows(), value.cols()));
  }
  for (std::size_t i = 0; i < params.size(); ++i) *params[i].value = model.params[i].template cast<T>();
}

template <typename T>
Network<T> make_inference_network(const ModelFile& model) {
  NetworkSpec spec = model.spec;
  spec.dropout.clear();  // training only
  Network<T> network(spec, nullptr);
  load_params(model, network);
  return network;
}

template std::string detail::arch_payload<float>(const NetworkSpec&);
template std::string detail::arch_payload<double>(const NetworkSpec&);
template std::string detail::params_payload<float>(const std::vector<Param<float>>&);
template std::string detail::params_payload<double>(const std::vector<Param<double>>&);
template void save_model<float>(const std::string&, const Network<float>&, const DataSchema*);
template void save_model<double>(const std::string&, const Network<double>&, const DataSchema*);
template void load_params<float>(const ModelFile&, Network<float>&, const std::string&);
template void load_params<double>(const ModelFile&, Network<double>&, const std::string&);
template Network<float> make_inference_network<float>(const ModelFile&);
template Network<double> make_inference_network<double>(const ModelFile&);

}  // namespace backprop
