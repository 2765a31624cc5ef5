// Little-endian byte writing and bounds-checked reading for the model and checkpoint files
// (private to src/). Every read checks that the bytes exist first, so a damaged or hostile
// file can make the reader throw backprop::Error but never read past the end.
//
// Values are copied with memcpy, which is their little-endian encoding on the hosts this
// project supports (x86-64, aarch64); a big-endian build stops at the #error below.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backprop/error.hpp"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "binary_io.hpp writes numbers with memcpy, which assumes a little-endian host"
#endif

namespace backprop::detail {

class ByteWriter {
 public:
  template <typename V>
  void put(V v) {
    static_assert(std::is_arithmetic_v<V>);
    char bytes[sizeof(V)];
    std::memcpy(bytes, &v, sizeof(V));
    out_.append(bytes, sizeof(V));
  }
  void u32(std::uint32_t v) { put(v); }
  void u64(std::uint64_t v) { put(v); }
  void f64(double v) { put(v); }
  void bytes(const std::string& s) { out_ += s; }
  // u64 length, then the bytes.
  void text(const std::string& s) {
    u64(s.size());
    out_ += s;
  }
  // n values, each stored as V (float or double).
  template <typename V, typename Src>
  void values(const Src* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) put(static_cast<V>(data[i]));
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

// Reads from bytes [begin, end) of a buffer; `where` names the file (and section) in errors.
class ByteReader {
 public:
  ByteReader(const std::string& buffer, std::size_t begin, std::size_t end, std::string where)
      : data_(buffer.data()), pos_(begin), end_(end), where_(std::move(where)) {}

  std::size_t remaining() const { return end_ - pos_; }
  std::size_t pos() const { return pos_; }
  [[noreturn]] void fail(const std::string& message) const { throw Error(where_ + ": " + message); }
  void need(std::size_t n, const char* what) const {
    if (remaining() < n) fail(std::string("malformed: ends inside ") + what);
  }
  template <typename V>
  V get(const char* what) {
    need(sizeof(V), what);
    V v;
    std::memcpy(&v, data_ + pos_, sizeof(V));
    pos_ += sizeof(V);
    return v;
  }
  std::uint32_t u32(const char* what) { return get<std::uint32_t>(what); }
  std::uint64_t u64(const char* what) { return get<std::uint64_t>(what); }
  double f64(const char* what) { return get<double>(what); }
  std::string bytes(std::size_t n, const char* what) {
    need(n, what);
    std::string s(data_ + pos_, n);
    pos_ += n;
    return s;
  }
  std::string text(const char* what) {
    const std::uint64_t n = u64(what);
    if (n > remaining()) fail(std::string("malformed: ") + what + " is longer than the data left");
    return bytes(static_cast<std::size_t>(n), what);
  }
  // n values stored as float32 (dtype 4) or float64 (dtype 8), widened to double.
  std::vector<double> values(std::size_t n, std::uint32_t dtype, const char* what) {
    if (n > remaining() / dtype) fail(std::string("malformed: ") + what + " is longer than the data left");
    std::vector<double> out(n);
    for (auto& v : out) v = dtype == 8 ? get<double>(what) : double(get<float>(what));
    return out;
  }
  void expect_end() const {
    if (remaining() != 0) fail("malformed: " + std::to_string(remaining()) + " unexpected bytes at the end");
  }

 private:
  const char* data_;
  std::size_t pos_, end_;
  std::string where_;
};

}  // namespace backprop::detail
