// The CSV dataset reader: libcsv splits the fields (RFC 4180 quoting, CR, LF or CRLF line
// ends), fast_float parses the numbers. The file is streamed in 1 MiB chunks, never held
// whole: a first pass counts its lines (and refuses a NUL byte: a binary file), so the
// float32 features are reserved once at their final size and the peak memory stays close to
// the size of the numbers themselves (bench/csv_load.sh measures it).
//
// Errors name the file, the line (the record number: a quoted field holding a line break
// counts as one line) and the column, and reading stops at the first one.
#include <csv.h>
#include <fast_float/fast_float.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "backprop/data/readers.hpp"
#include "backprop/error.hpp"
#include "data/labels.hpp"

namespace backprop {

namespace {

constexpr std::size_t kChunk = 1 << 20;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Split "a,b" at commas (the --label list).
std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::size_t start = 0;
  for (std::size_t comma; (comma = text.find(',', start)) != std::string::npos; start = comma + 1)
    names.push_back(text.substr(start, comma - start));
  names.push_back(text.substr(start));
  return names;
}

// The most feature columns a CSV may have when no count is expected (training): 2^20, a header
// of at most ~32 MB of names in memory. Wider data belongs in an .npz.
constexpr std::size_t kMaxCsvFeatures = std::size_t(1) << 20;

// The most columns a header may have: twice the features expected and the label or target
// columns (so a near miss still gets assign_roles' exact count), or kMaxCsvFeatures and those.
// Reading stops at the next one: a one-row file of millions of fields costs no more.
std::size_t max_header_columns(const ReadOptions& options) {
  const std::size_t labels = options.label.empty() ? 1 : split_names(options.label).size();
  return options.features ? 2 * (options.features + labels) : kMaxCsvFeatures + labels;
}

// What one column is for.
struct Role {
  enum Kind { feature, label, target } kind = feature;
  std::size_t index = 0;  // feature or target number
};

// The parser's state between libcsv's callbacks. A callback cannot throw through C code, so
// the first error is kept and every later callback does nothing.
struct CsvState {
  const std::string& path;
  const ReadOptions& options;
  detail::LabelCoder coder;
  std::vector<std::string> header;
  std::vector<Role> roles;
  std::size_t features = 0, outputs = 0;
  bool has_label = false;
  std::size_t record = 0;  // 0 = the header
  std::size_t column = 0;  // in the current record
  std::size_t line_count = 0;
  std::size_t file_bytes = 0;
  std::size_t max_columns = 0;  // the widest header accepted (max_header_columns)
  Dataset data;
  std::string error;
  std::string label_text;  // the current record's label field

  CsvState(const std::string& p, const ReadOptions& o) : path(p), options(o), coder(o.classes) {}

  void fail(const std::string& message) {
    if (error.empty()) error = path + ": " + message;
  }
  std::string where() const {
    return "line " + std::to_string(record + 1) + ", column " + std::to_string(column + 1) + " ('" +
           (column < header.size() ? header[column] : std::string("?")) + "')";
  }

  // The header is complete: decide what every column is.
  void assign_roles() {
    if (header.empty() || (header.size() == 1 && header[0].empty())) return fail("the header row is empty");
    std::vector<std::string> wanted = options.label.empty() ? std::vector<std::string>{} : split_names(options.label);
    roles.assign(header.size(), Role{});
    std::vector<std::size_t> label_columns;
    if (wanted.empty()) {
      std::size_t at = header.size();
      for (std::size_t c = 0; c < header.size(); ++c)
        if (header[c] == "label") at = c;
      const bool no_label = options.label_optional && at == header.size() && options.features == header.size();
      if (!no_label) label_columns.push_back(at < header.size() ? at : header.size() - 1);
    } else {
      for (const std::string& name : wanted) {
        std::size_t at = header.size();
        for (std::size_t c = 0; c < header.size() && at == header.size(); ++c)
          if (header[c] == name) at = c;
        if (at == header.size()) {
          if (options.label_optional) continue;
          std::string columns;
          for (std::size_t c = 0; c < header.size() && c < 20; ++c) columns += (c ? ", " : "") + header[c];
          if (header.size() > 20) columns += ", ...";
          return fail("no column '" + name + "' for --label (the header has: " + columns + ")");
        }
        label_columns.push_back(at);
      }
    }
    if (!options.regression && label_columns.size() > 1)
      return fail("--label names " + std::to_string(label_columns.size()) + " columns; classification takes one");
    for (std::size_t c : label_columns) {
      roles[c] = options.regression ? Role{Role::target, outputs++} : Role{Role::label, 0};
      has_label = true;
    }
    for (std::size_t c = 0; c < header.size(); ++c)
      if (roles[c].kind == Role::feature) roles[c].index = features++;
    if (features == 0) return fail("no feature columns (only the label column '" + header.back() + "')");
    if (options.features && features != options.features)
      return fail(std::to_string(features) + " feature columns, the model takes " + std::to_string(options.features));
    data.features = features;
    data.outputs = options.regression ? outputs : 0;
    for (std::size_t c = 0; c < header.size(); ++c) {
      if (roles[c].kind == Role::feature) data.feature_names.push_back(header[c]);
      if (roles[c].kind == Role::target) data.target_names.push_back(header[c]);
      if (roles[c].kind == Role::label) data.label_name = header[c];
    }
    // Rows <= lines: one reservation, at the final size unless fields hold line breaks. A row
    // takes at least one byte per column (a comma or its line end), so a file of empty lines
    // under a wide header cannot reserve more than its own size in values.
    const std::size_t rows = std::min(line_count, file_bytes / header.size() + 1);
    data.values.reserve(rows * features);
    if (data.outputs) data.targets.reserve(rows * outputs);
    else if (has_label) data.labels.reserve(rows);
  }

  // A number of a feature or target column.
  bool number(const char* text, std::size_t length, float& v) {
    while (length && (*text == ' ' || *text == '\t')) ++text, --length;
    while (length && (text[length - 1] == ' ' || text[length - 1] == '\t')) --length;
    if (length == 0) return fail(where() + ": missing value"), false;
    const char* first = text + (*text == '+' ? 1 : 0);
    const auto result = fast_float::from_chars(first, text + length, v);
    if (result.ptr != text + length || (result.ec != std::errc() && result.ec != std::errc::result_out_of_range))
      return fail(where() + ": not a number '" + std::string(text, std::min<std::size_t>(length, 40)) + "'"), false;
    if (!std::isfinite(v) || result.ec == std::errc::result_out_of_range)
      return fail(where() + ": '" + std::string(text, std::min<std::size_t>(length, 40)) +
                  "' is not a finite float32 number (NaN and infinities cannot be trained on)"), false;
    return true;
  }

  void field(const char* text, std::size_t length) {
    if (!error.empty()) return;
    if (record == 0) {
      if (header.size() == max_columns)  // stopped here: a header row of millions of names is not read whole
        return fail("the header row has more than " + std::to_string(max_columns) + " columns (" +
                    (options.features ? "the model takes " + std::to_string(options.features) + " features"
                                      : "a CSV holds at most " + std::to_string(kMaxCsvFeatures) + " features") +
                    ")");
      std::string name(text, length);
      if (header.empty() && name.compare(0, 3, "\xEF\xBB\xBF") == 0) name.erase(0, 3);  // a UTF-8 byte order mark
      header.push_back(std::move(name));
      ++column;
      return;
    }
    if (column >= header.size()) {
      ++column;
      return;  // end_record reports the ragged row
    }
    const Role role = roles[column];
    float v = 0;
    if (role.kind == Role::label) label_text.assign(text, length);
    else if (number(text, length, v)) (role.kind == Role::feature ? data.values : data.targets).push_back(v);
    ++column;
  }

  void end_record() {
    if (!error.empty()) return;
    if (record == 0) {
      assign_roles();
    } else {
      if (column != header.size())
        return fail("line " + std::to_string(record + 1) + ": " + std::to_string(column) + " fields, the header has " +
                    std::to_string(header.size()) + " (a ragged row)");
      if (has_label && !options.regression) {
        column = 0;
        while (roles[column].kind != Role::label) ++column;
        bool numeric = false;
        if (detail::canonical_label(label_text, numeric).empty()) return fail(where() + ": missing label");
        const std::int32_t code = coder.code(label_text);
        if (code < 0) return fail(where() + ": label '" + label_text + "' is not a class of the training set");
        data.labels.push_back(code);
      }
      ++data.count;
    }
    ++record;
    column = 0;
  }
};

extern "C" void on_field(void* text, std::size_t length, void* state) {
  static_cast<CsvState*>(state)->field(static_cast<const char*>(text), length);
}
extern "C" void on_record(int, void* state) { static_cast<CsvState*>(state)->end_record(); }

}  // namespace

Dataset read_csv(const std::string& path, const ReadOptions& options) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw file_error(path, std::string("cannot open (") + std::strerror(errno) + ")");
  struct stat info {};
  if (::fstat(::fileno(file.get()), &info) != 0 || !S_ISREG(info.st_mode)) throw file_error(path, "not a regular file");
  if (info.st_size == 0) throw file_error(path, "empty file (a CSV needs a header row and data rows)");
  std::vector<char> chunk(kChunk);

  // Pass 1: lines, and no NUL bytes.
  CsvState state(path, options);
  state.file_bytes = static_cast<std::size_t>(info.st_size);
  state.max_columns = max_header_columns(options);
  std::size_t offset = 0;
  for (std::size_t got; (got = std::fread(chunk.data(), 1, chunk.size(), file.get())) > 0; offset += got) {
    if (const void* nul = std::memchr(chunk.data(), '\0', got))
      throw file_error(path, "binary data (a NUL byte at offset " +
                                 std::to_string(offset + std::size_t(static_cast<const char*>(nul) - chunk.data())) +
                                 "), not a CSV file");
    for (const char* p = chunk.data(); (p = static_cast<const char*>(std::memchr(p, '\n', std::size_t(chunk.data() + got - p))));
         ++p)
      ++state.line_count;
  }
  if (std::ferror(file.get())) throw file_error(path, std::string("read failed (") + std::strerror(errno) + ")");
  ++state.line_count;  // a last line without a line break
  std::rewind(file.get());

  // Pass 2: the fields.
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) throw Error("csv: cannot initialise libcsv");
  std::unique_ptr<csv_parser, void (*)(csv_parser*)> owner(&parser, csv_free);
  for (std::size_t got; state.error.empty() && (got = std::fread(chunk.data(), 1, chunk.size(), file.get())) > 0;)
    if (csv_parse(&parser, chunk.data(), got, on_field, on_record, &state) != got && state.error.empty())
      state.fail("line " + std::to_string(state.record + 1) + ": malformed CSV (" + csv_strerror(csv_error(&parser)) +
                 ": a quote inside an unquoted field, or text after a closing quote)");
  if (state.error.empty() && csv_fini(&parser, on_field, on_record, &state) != 0 && state.error.empty())
    state.fail("line " + std::to_string(state.record + 1) + ": malformed CSV (a quoted field never closes)");
  if (!state.error.empty()) throw Error(state.error);
  if (std::ferror(file.get())) throw file_error(path, std::string("read failed (") + std::strerror(errno) + ")");
  if (state.record == 0) throw file_error(path, "no header row");
  if (state.data.count == 0) throw file_error(path, "a header but no data rows");

  Dataset data = std::move(state.data);
  if (data.values.capacity() > data.values.size() + data.values.size() / 8) data.values.shrink_to_fit();
  if (state.has_label && !options.regression) {
    data.classes = state.coder.finish(data.labels);
  } else if (!state.has_label) {
    data.labels.clear();  // no label column: a predict input
  }
  data.scaling.kind = ScaleKind::none;
  return data;
}

}  // namespace backprop
