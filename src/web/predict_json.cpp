// parse_predict_json (predict_json.hpp): a SAX handler that knows where in
// {"pixels": [...], "rows": [[...], ...], "preprocess": b, "detail": b} each event falls.
// After the first wrong value it only listens for a syntax error, which takes precedence
// (a body that is not JSON is reported as such, whatever it began with).
#include "predict_json.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

namespace backprop::web {

namespace {

using json = nlohmann::json;

constexpr const char* kNotAnObject = "body must be a JSON object {\"pixels\": [784 numbers]}";

class PredictSax {
 public:
  PredictSax(std::size_t pixels, std::size_t max_rows, PredictJson& out) : pixels_(pixels), max_rows_(max_rows), out_(out) {}

  std::string syntax_error, content_error;
  bool saw_pixels = false, saw_rows = false;

  bool null() { return scalar(false, false); }
  bool boolean(bool value) { return scalar(true, value); }
  bool number_integer(json::number_integer_t value) { return number(static_cast<double>(value), nullptr, value); }
  bool number_unsigned(json::number_unsigned_t value) {
    return number(static_cast<double>(value), nullptr, static_cast<long long>(value));
  }
  bool number_float(json::number_float_t value, const json::string_t& text) { return number(value, &text, 0); }
  bool string(json::string_t&) { return scalar(false, false); }
  bool binary(json::binary_t&) { return scalar(false, false); }

  bool start_object(std::size_t) {
    if (!open()) return true;
    if (depth_ == 1) return true;  // the request itself
    return container_value();
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) {
    if (!open()) return true;
    if (depth_ == 1) return fail(kNotAnObject), true;
    if (depth_ == 2 && key_ == "pixels") return begin_values(Mode::pixels, false);
    if (depth_ == 2 && key_ == "rows") {
      saw_rows = true;
      mode_ = Mode::rows;
      out_.rows = 0;
      return true;
    }
    if (depth_ == 3 && mode_ == Mode::rows) return begin_values(Mode::row, true);
    return container_value();
  }
  bool end_array() {
    if (!failed() && skip_ == 0) {
      if (mode_ == Mode::pixels && depth_ == 2) end_values("\"pixels\"");
      else if (mode_ == Mode::row && depth_ == 3) end_values("\"rows[" + std::to_string(row_) + "]\"");
      else if (mode_ == Mode::rows && depth_ == 2) end_rows();
    }
    return close();
  }
  bool key(json::string_t& name) {
    if (depth_ == 1 && skip_ == 0) key_ = name;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    syntax_error = std::string("body is not valid JSON (") + e.what() + ")";
    return false;
  }

 private:
  enum class Mode { top, pixels, rows, row };

  bool failed() const { return !content_error.empty(); }
  void fail(const std::string& message) {
    if (!failed()) content_error = message;
  }

  // Entering a container; false when its content is to be ignored.
  bool open() {
    ++depth_;
    if (depth_ == 1) return true;  // checked below
    if (failed() || skip_) {
      if (skip_) ++skip_;
      return false;
    }
    return true;
  }
  bool close() {
    if (skip_) --skip_;
    --depth_;
    if (depth_ == 1) mode_ = Mode::top;
    if (depth_ == 2 && mode_ == Mode::row) mode_ = Mode::rows;
    return true;
  }

  // An object or array where a scalar or nothing was expected: an error in our keys' places,
  // skipped under other keys.
  bool container_value() {
    if (depth_ == 2) {
      if (key_ == "pixels") fail("\"pixels\" must be an array of 784 numbers");
      else if (key_ == "rows") fail("\"rows\" must be a non-empty array of images of 784 numbers");
      else if (key_ == "preprocess" || key_ == "detail") fail("\"" + key_ + "\" must be true or false");
      else skip_ = 1;  // another key's value, ignored with everything inside it
      return true;
    }
    if (mode_ == Mode::pixels) fail(value_name() + " is not a number");
    else if (mode_ == Mode::rows) fail("\"rows[" + std::to_string(row_count_) + "]\" must be an array of 784 numbers");
    else if (mode_ == Mode::row) fail(value_name() + " is not a number");
    return true;
  }

  bool begin_values(Mode mode, bool in_rows) {
    if (!in_rows) {
      if (saw_pixels) fail("\"pixels\" given twice");
      saw_pixels = true;
      pixel_values_.clear();
      pixel_values_.reserve(pixels_);
    } else {
      row_ = row_count_++;
    }
    mode_ = mode;
    count_ = 0;
    return true;
  }
  void end_values(const std::string& name) {
    if (count_ != pixels_)
      fail(name + " has " + std::to_string(count_) + " values; expected " + std::to_string(pixels_) + " (28x28)");
  }
  void end_rows() {
    if (row_count_ == 0) fail("\"rows\" must be a non-empty array of images of 784 numbers");
    else if (row_count_ > max_rows_)
      fail("\"rows\" has " + std::to_string(row_count_) + " images; at most " + std::to_string(max_rows_) + " per request");
  }

  std::string value_name() const {
    return mode_ == Mode::pixels ? "pixels[" + std::to_string(count_) + "]"
                                 : "rows[" + std::to_string(row_) + "][" + std::to_string(count_) + "]";
  }

  // A scalar: a top-level non-object, a flag, or a value of pixels / a row.
  bool scalar(bool is_bool, bool value) {
    if (depth_ == 0) return fail(kNotAnObject), true;
    if (failed() || skip_) return true;
    if (depth_ == 1) {
      if (key_ == "preprocess" || key_ == "detail") {
        if (!is_bool) return fail("\"" + key_ + "\" must be true or false"), true;
        (key_ == "preprocess" ? out_.preprocess : out_.detail) = value;
      } else if (key_ == "pixels") {
        fail("\"pixels\" must be an array of 784 numbers");
      } else if (key_ == "rows") {
        fail("\"rows\" must be a non-empty array of images of 784 numbers");
      }
      return true;
    }
    if (mode_ == Mode::pixels || mode_ == Mode::row) fail(value_name() + " is not a number");
    else if (mode_ == Mode::rows) fail("\"rows[" + std::to_string(row_count_) + "]\" must be an array of 784 numbers");
    return true;
  }

  bool number(double value, const json::string_t* text, long long integer) {
    if (depth_ == 0 || failed() || skip_ || !(mode_ == Mode::pixels || mode_ == Mode::row)) {
      if (depth_ == 1 && !failed() && !skip_) return scalar(false, false);
      if (depth_ == 0) fail(kNotAnObject);
      if (depth_ > 1 && mode_ == Mode::rows && !failed() && !skip_)
        fail("\"rows[" + std::to_string(row_count_) + "]\" must be an array of 784 numbers");
      return true;
    }
    if (!std::isfinite(value) || value < 0 || value > 1) {
      fail(value_name() + " = " + (text ? *text : std::to_string(integer)) + " is outside 0..1");
      return true;
    }
    if (count_ < pixels_) {
      if (mode_ == Mode::pixels) pixel_values_.push_back(static_cast<float>(value));
      else if (row_ < max_rows_) out_.values.push_back(static_cast<float>(value));
    }
    ++count_;
    return true;
  }

 public:
  std::vector<float> pixel_values_;
  std::size_t row_count_ = 0;

 private:
  std::size_t pixels_, max_rows_;
  PredictJson& out_;
  int depth_ = 0;
  std::size_t skip_ = 0;  // > 0: inside a value that is ignored, that many levels deep
  Mode mode_ = Mode::top;
  std::string key_;
  std::size_t count_ = 0, row_ = 0;
};

}  // namespace

std::string parse_predict_json(const std::string& body, std::size_t pixels, std::size_t max_rows, PredictJson& out) {
  out = {};
  PredictSax sax(pixels, max_rows, out);
  try {
    json::sax_parse(body, &sax);
  } catch (const json::exception& e) {  // the lexer's own errors, to be safe
    return std::string("body is not valid JSON (") + e.what() + ")";
  }
  if (!sax.syntax_error.empty()) return sax.syntax_error;
  if (!sax.content_error.empty()) return sax.content_error;
  if (sax.saw_pixels && sax.saw_rows) return "send \"pixels\" (one image) or \"rows\" (several), not both";
  if (!sax.saw_pixels && !sax.saw_rows)
    return "missing \"pixels\" (784 numbers in 0..1, row by row) or \"rows\" (a list of such)";
  out.batch = sax.saw_rows;
  if (out.batch) {
    out.rows = sax.row_count_;
  } else {
    out.values = std::move(sax.pixel_values_);
    out.rows = 1;
  }
  return "";
}

}  // namespace backprop::web
