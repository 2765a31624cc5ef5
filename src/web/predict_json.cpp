// parse_predict_json (predict_json.hpp) with simdjson's DOM parser (Debian's libsimdjson-dev):
// the whole body is validated first, so a body that is not JSON is reported as such whatever
// it began with, then {"pixels": [...], "rows": [[...], ...], "preprocess": b, "detail": b}
// is walked in document order and the first wrong value named.
#include "predict_json.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

#include <simdjson.h>

namespace backprop::web {

namespace {

namespace dom = simdjson::dom;

constexpr const char* kNotAnObject = "body must be a JSON object {\"pixels\": [784 numbers]}";

// A number as the client wrote it, near enough for a message: integers as integers, other
// values in their shortest round-trip form ("1.5", not "1.500000").
std::string number_text(dom::element value) {
  char text[64];
  std::to_chars_result end{};
  if (value.is_int64()) end = std::to_chars(text, text + sizeof text, int64_t(value));
  else if (value.is_uint64()) end = std::to_chars(text, text + sizeof text, uint64_t(value));
  else end = std::to_chars(text, text + sizeof text, double(value));
  return std::string(text, end.ptr);
}

// One image's values (name: "pixels" or "rows[2]") appended to out, each a number in 0..1.
std::string read_values(dom::array values, const std::string& name, std::size_t pixels, std::vector<float>& out) {
  std::size_t count = 0;
  for (dom::element value : values) {
    double x = 0;
    if (value.get_double().get(x) != simdjson::SUCCESS)  // also takes int64 and uint64
      return name + "[" + std::to_string(count) + "] is not a number";
    if (!std::isfinite(x) || x < 0 || x > 1)
      return name + "[" + std::to_string(count) + "] = " + number_text(value) + " is outside 0..1";
    if (count < pixels) out.push_back(static_cast<float>(x));
    ++count;
  }
  if (count != pixels)
    return "\"" + name + "\" has " + std::to_string(count) + " values; expected " + std::to_string(pixels) + " (28x28)";
  return "";
}

}  // namespace

std::string parse_predict_json(const std::string& body, std::size_t pixels, std::size_t max_rows, PredictJson& out) {
  out = {};
  thread_local dom::parser parser;  // one per server worker: its buffers are reused request after request
  dom::element document;
  if (const auto error = parser.parse(body.data(), body.size()).get(document))
    return std::string("body is not valid JSON (") + simdjson::error_message(error) + ")";
  dom::object request;
  if (document.get_object().get(request)) return kNotAnObject;

  bool saw_pixels = false, saw_rows = false;
  for (const dom::key_value_pair field : request) {
    const std::string_view key = field.key;
    const dom::element value = field.value;
    if (key == "pixels") {
      if (saw_pixels) return "\"pixels\" given twice";
      saw_pixels = true;
      dom::array values;
      if (value.get_array().get(values)) return "\"pixels\" must be an array of 784 numbers";
      out.values.clear();
      out.values.reserve(pixels);
      if (std::string error = read_values(values, "pixels", pixels, out.values); !error.empty()) return error;
    } else if (key == "rows") {
      constexpr const char* kRows = "\"rows\" must be a non-empty array of images of 784 numbers";
      saw_rows = true;
      dom::array rows;
      if (value.get_array().get(rows) || rows.size() == 0) return kRows;
      if (rows.size() > max_rows)
        return "\"rows\" has " + std::to_string(rows.size()) + " images; at most " + std::to_string(max_rows) + " per request";
      out.values.clear();
      out.values.reserve(rows.size() * pixels);
      std::size_t r = 0;
      for (dom::element row : rows) {
        const std::string name = "rows[" + std::to_string(r++) + "]";
        dom::array values;
        if (row.get_array().get(values)) return "\"" + name + "\" must be an array of 784 numbers";
        if (std::string error = read_values(values, name, pixels, out.values); !error.empty()) return error;
      }
      out.rows = rows.size();
    } else if (key == "preprocess" || key == "detail") {
      bool flag = false;
      if (value.get_bool().get(flag)) return "\"" + std::string(key) + "\" must be true or false";
      (key == "preprocess" ? out.preprocess : out.detail) = flag;
    }  // other keys are ignored
  }
  if (saw_pixels && saw_rows) return "send \"pixels\" (one image) or \"rows\" (several), not both";
  if (!saw_pixels && !saw_rows) return "missing \"pixels\" (784 numbers in 0..1, row by row) or \"rows\" (a list of such)";
  out.batch = saw_rows;
  if (!out.batch) out.rows = 1;
  return "";
}

}  // namespace backprop::web
