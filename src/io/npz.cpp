// .npz reading and writing (see npz.hpp): libzip does the zip container, this file
// only the .npy member format (numpy.lib.format): "\x93NUMPY", version, header length,
// a Python dict literal {'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }
// padded to a multiple of 64 bytes, then the raw C-order values.
//
// The archive is built in memory and written through AtomicFile, so the on-disk file
// appears complete (and fsynced) or not at all. Parameter files are a few MB at most.
#include "backprop/io/npz.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zip.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "backprop/io/atomic_file.hpp"
#include "backprop/error.hpp"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npz.cpp copies '<f4'/'<f8' values with memcpy, which assumes a little-endian host"
#endif

namespace backprop {
namespace {

// Parser for the header's dict literal: strings, True/False, ints and int tuples are
// all numpy ever writes. Keys other than the three we need are parsed and ignored.
class HeaderParser {
 public:
  explicit HeaderParser(std::string text) : s_(std::move(text)) {}
  std::string descr;
  bool fortran_order = false, has_descr = false, has_shape = false;
  std::vector<std::size_t> shape;

  void parse() {
    expect('{');
    while (!accept('}')) {
      const std::string key = string();
      expect(':');
      if (key == "descr") descr = string(), has_descr = true;
      else if (key == "fortran_order") fortran_order = boolean();
      else if (key == "shape") shape = tuple(), has_shape = true;
      else skip_value();
      if (!accept(',')) { expect('}'); break; }
    }
    if (!has_descr || !has_shape) throw std::runtime_error("header lacks 'descr' or 'shape'");
  }

 private:
  void space() { while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_; }
  bool accept(char c) { space(); return i_ < s_.size() && s_[i_] == c ? (++i_, true) : false; }
  void expect(char c) {
    if (!accept(c)) throw std::runtime_error(std::string("expected '") + c + "' at " + where());
  }
  std::string string() {
    space();
    const char quote = i_ < s_.size() ? s_[i_] : 0;
    if (quote != '\'' && quote != '"') throw std::runtime_error("expected a string at " + where());
    const auto end = s_.find(quote, i_ + 1);
    if (end == std::string::npos) throw std::runtime_error("unterminated string");
    std::string value = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    return value;
  }
  bool boolean() {
    space();
    for (const char* word : {"True", "False"})
      if (s_.compare(i_, std::strlen(word), word) == 0) return i_ += std::strlen(word), word[0] == 'T';
    throw std::runtime_error("expected True or False at " + where());
  }
  std::size_t integer() {
    space();
    std::size_t start = i_, value = 0;
    for (; i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])); ++i_)
      if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, s_[i_] - '0', &value))
        throw std::runtime_error("dimension too large");
    if (i_ == start) throw std::runtime_error("expected a dimension at " + where());
    if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2 longs
    return value;
  }
  std::vector<std::size_t> tuple() {
    std::vector<std::size_t> values;
    expect('(');
    while (!accept(')')) {
      values.push_back(integer());
      if (!accept(',')) { expect(')'); break; }
    }
    return values;
  }
  void skip_value() {
    space();
    if (i_ < s_.size() && (s_[i_] == '\'' || s_[i_] == '"')) string();
    else if (i_ < s_.size() && s_[i_] == '(') tuple();
    else if (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) integer();
    else boolean();
  }
  std::string where() const { return "offset " + std::to_string(i_) + " of the header"; }
  std::string s_;
  std::size_t i_ = 0;
};

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string text = "(";
  for (std::size_t d = 0; d < shape.size(); ++d) text += (d ? ", " : "") + std::to_string(shape[d]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

// One member's bytes: version 1.0 header padded so the data starts 64-byte aligned.
std::string npy_bytes(const NpyArray& array) {
  std::string header = std::string("{'descr': '") + (array.is_double ? "<f8" : "<f4") +
                       "', 'fortran_order': False, 'shape': " + shape_text(array.shape) + ", }";
  const std::size_t preamble = 10, total = preamble + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  out += header;
  for (double v : array.values) {
    if (array.is_double) {
      out.append(reinterpret_cast<const char*>(&v), 8);
    } else {
      const float f = static_cast<float>(v);
      out.append(reinterpret_cast<const char*>(&f), 4);
    }
  }
  return out;
}

// The dtype of a header's descr: '<f4' -> ('f', 4); '|u1', '<i8', '|b1', '=f8' too. Big-endian
// ('>') and anything not a plain number (complex, strings, objects) is refused.
std::pair<char, std::size_t> parse_dtype(const std::string& descr) {
  if (descr.size() >= 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=')) {
    const char kind = descr[1];
    const std::string digits = descr.substr(2);
    const std::size_t item = digits == "1" ? 1 : digits == "2" ? 2 : digits == "4" ? 4 : digits == "8" ? 8 : 0;
    const bool ok = item && ((kind == 'b' && item == 1) || kind == 'i' || kind == 'u' || (kind == 'f' && item >= 4));
    if (ok) return {kind, item};
  }
  throw std::runtime_error("unsupported dtype '" + descr + "' (bool, little-endian int, uint, float32 or float64)");
}

// Reads one member with the size checked against its header before allocating.
NpyRaw read_member_raw(zip_t* zip, zip_uint64_t index, const std::string& path, const std::string& name,
                       const NpzExpect& expect) {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(zip, index, 0, &stat) != 0) throw std::runtime_error(zip_strerror(zip));
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> file(zip_fopen_index(zip, index, 0), zip_fclose);
  if (!file) throw std::runtime_error(zip_strerror(zip));
  auto read = [&](void* out, std::size_t n) {
    const zip_int64_t got = zip_fread(file.get(), out, n);
    if (got < 0) throw std::runtime_error(zip_file_strerror(file.get()));
    if (std::size_t(got) != n) throw std::runtime_error("truncated member");
  };
  unsigned char preamble[12];
  read(preamble, 8);
  if (std::memcmp(preamble, "\x93NUMPY", 6) != 0) throw std::runtime_error("not a .npy array (bad magic)");
  const int major = preamble[6];
  if (major < 1 || major > 3) throw std::runtime_error("unsupported .npy version " + std::to_string(major));
  const std::size_t length_bytes = major == 1 ? 2 : 4;  // versions 2 and 3 use a u32
  read(preamble + 8, length_bytes);
  std::size_t header_length = 0;
  for (std::size_t b = 0; b < length_bytes; ++b) header_length |= std::size_t(preamble[8 + b]) << (8 * b);
  if (header_length > (1u << 20))
    throw std::runtime_error("implausible header of " + std::to_string(header_length) + " bytes");
  std::string header(header_length, '\0');
  read(header.data(), header_length);
  HeaderParser parser(header);
  parser.parse();
  NpyRaw array;
  std::tie(array.kind, array.item) = parse_dtype(parser.descr);
  if (parser.fortran_order) throw std::runtime_error("Fortran order is not supported");
  array.descr = parser.descr;
  array.shape = parser.shape;
  std::size_t count = 1, data_bytes = 0;
  for (std::size_t d : array.shape)
    if (__builtin_mul_overflow(count, d, &count)) throw std::runtime_error("shape overflows");
  if (__builtin_mul_overflow(count, array.item, &data_bytes)) throw std::runtime_error("shape overflows");
  // The header's shape against what the reader expects, before a byte of data is inflated.
  const auto wanted = expect.shapes.find(name);
  if (wanted != expect.shapes.end() && wanted->second != array.shape)
    throw file_error(path, "array '" + name + "' has shape " + shape_text(array.shape) + ", expected " +
                               shape_text(wanted->second) + " for this network");
  const auto per_example = expect.example_values.find(name);
  if (per_example != expect.example_values.end() && !array.shape.empty() && array.shape[0] > 0 &&
      count / array.shape[0] != per_example->second)
    throw file_error(path, "array '" + name + "' has shape " + shape_text(array.shape) + ": " +
                               std::to_string(count / array.shape[0]) + " values per example, expected " +
                               std::to_string(per_example->second));
  if (count > expect.max_values)
    throw std::runtime_error("shape " + shape_text(array.shape) + " holds " + std::to_string(count) +
                             " values, more than the " + std::to_string(expect.max_values) + " an array may have");
  if (stat.valid & ZIP_STAT_COMP_METHOD && stat.comp_method != ZIP_CM_STORE && data_bytes > expect.max_inflated_bytes)
    throw std::runtime_error("shape " + shape_text(array.shape) + " needs " + std::to_string(data_bytes) +
                             " bytes, more than the " + std::to_string(expect.max_inflated_bytes) +
                             " a compressed member may inflate to");
  const std::size_t expected = 8 + length_bytes + header_length + data_bytes;
  if ((stat.valid & ZIP_STAT_SIZE) && stat.size != expected)
    throw std::runtime_error("shape " + shape_text(array.shape) + " needs " + std::to_string(expected) +
                             " bytes, member has " + std::to_string(stat.size));
  // The zip's sizes are claims too (a 1 kB member can say 4 GB): the buffer grows only as
  // bytes actually arrive, never past what the shape needs.
  std::vector<char>& data = array.data;
  for (std::size_t have = 0; have < data_bytes;) {
    data.resize(have + std::min<std::size_t>(data_bytes - have, std::max<std::size_t>(have, 1 << 20)));
    read(data.data() + have, data.size() - have);
    have = data.size();
  }
  // Reading on to the end is what makes libzip compare the CRC.
  char extra;
  if (zip_fread(file.get(), &extra, 1) != 0) throw std::runtime_error(zip_file_strerror(file.get()));
  return array;
}

// The parameter files' members: float32 or float64 only, widened to double.
NpyArray read_member(zip_t* zip, zip_uint64_t index, const std::string& path, const std::string& name,
                     const NpzExpect& expect) {
  NpyRaw raw = read_member_raw(zip, index, path, name, expect);
  if (raw.kind != 'f') throw std::runtime_error("unsupported dtype '" + raw.descr + "' (only <f4 and <f8)");
  NpyArray array;
  array.shape = raw.shape;
  array.is_double = raw.item == 8;
  const std::size_t count = raw.size();
  array.values.resize(count);
  for (std::size_t k = 0; k < count; ++k) {
    if (array.is_double) {
      std::memcpy(&array.values[k], &raw.data[8 * k], 8);
    } else {
      float f;
      std::memcpy(&f, &raw.data[4 * k], 4);
      array.values[k] = f;
    }
  }
  return array;
}

// Every member of the archive at path, read by read(zip, index, path, name, expect); errors
// name the file and the member.
template <typename Array, typename Read>
std::map<std::string, Array> read_members(const std::string& path, const NpzExpect& expect, Read read) {
  // libzip's "Can't open file" hides the reason; open() first gives errno's words.
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw file_error(path, std::string("cannot open (") + std::strerror(errno) + ")");
  ::close(fd);
  int code = 0;
  std::unique_ptr<zip_t, void (*)(zip_t*)> zip(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code),
                                               zip_discard);
  if (!zip) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    const std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw file_error(path, "not a readable .npz (zip) archive (" + message + ")");
  }
  std::map<std::string, Array> arrays;
  const zip_int64_t entries = zip_get_num_entries(zip.get(), 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    const std::string member = zip_get_name(zip.get(), zip_uint64_t(i), 0);
    if (member.size() < 5 || member.compare(member.size() - 4, 4, ".npy") != 0)
      throw file_error(path, "member " + member + " is not a .npy array");
    try {
      const std::string name = member.substr(0, member.size() - 4);
      arrays[name] = read(zip.get(), zip_uint64_t(i), path, name, expect);
    } catch (const Error&) {
      throw;  // already says the file and the array
    } catch (const std::runtime_error& e) {
      throw file_error(path, "member " + member + ": " + e.what());
    }
  }
  return arrays;
}

}  // namespace

std::size_t NpyArray::size() const {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

std::size_t NpyRaw::size() const {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

Npz read_npz(const std::string& path, const NpzExpect& expect) {
  return read_members<NpyArray>(path, expect, read_member);
}

std::map<std::string, NpyRaw> read_npz_raw(const std::string& path, const NpzExpect& expect) {
  return read_members<NpyRaw>(path, expect, read_member_raw);
}

void write_npz(const std::string& path, const Npz& arrays) {
  if (arrays.empty()) throw file_error(path, "no arrays to write");
  std::deque<std::string> members;  // libzip reads them at zip_close; deque never moves them
  for (const auto& [name, array] : arrays) {
    if (array.values.size() != array.size())
      throw file_error(path, "array " + name + " has " + std::to_string(array.values.size()) +
                                 " values but shape " + shape_text(array.shape));
    members.push_back(npy_bytes(array));
  }
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_t* zip = buffer ? zip_open_from_source(buffer, ZIP_TRUNCATE, &error) : nullptr;
  if (!zip) {
    const std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    if (buffer) zip_source_free(buffer);
    throw file_error(path, "cannot build zip archive (" + message + ")");
  }
  zip_source_keep(buffer);  // still needed after zip_close to read the archive back
  std::unique_ptr<zip_source_t, void (*)(zip_source_t*)> buffer_owner(buffer, zip_source_free);
  auto fail = [&](const std::string& what) {
    const std::string message = what + " (" + zip_strerror(zip) + ")";
    zip_discard(zip);
    throw file_error(path, message);
  };
  auto member = members.begin();
  for (const auto& entry : arrays) {
    const std::string& bytes = *member++;
    zip_source_t* source = zip_source_buffer(zip, bytes.data(), bytes.size(), 0);
    const zip_int64_t index =
        source ? zip_file_add(zip, (entry.first + ".npy").c_str(), source, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      if (source) zip_source_free(source);
      fail("cannot add " + entry.first + ".npy");
    }
    zip_set_file_compression(zip, zip_uint64_t(index), ZIP_CM_STORE, 0);  // as numpy.savez
  }
  if (zip_close(zip) != 0) fail("cannot build zip archive");

  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_source_stat(buffer, &stat) != 0 || zip_source_open(buffer) != 0)
    throw file_error(path, "cannot read back the zip archive");
  std::string archive(stat.size, '\0');
  const zip_int64_t got = zip_source_read(buffer, archive.data(), stat.size);
  zip_source_close(buffer);
  if (got != zip_int64_t(stat.size)) throw file_error(path, "cannot read back the zip archive");
  write_file_atomic(path, archive);
}

}  // namespace backprop
