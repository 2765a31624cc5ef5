// PNG, IDX and CSV files as model inputs for `backprop predict` (formats in predict_input.hpp).
#include "backprop/data/predict_input.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backprop/error.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/data/preprocess.hpp"

namespace backprop {

namespace {

std::string read_bytes(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw file_error(path, "is a directory, not an image file");
  std::error_code error;  // a missing file is ifstream's error below
  if (std::filesystem::exists(path, error) && !std::filesystem::is_regular_file(path, error))
    throw file_error(path, "not a regular file (a device or a pipe would never end)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error(path, "cannot open (" + std::string(std::strerror(errno)) + ")");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void parse_csv_inputs(const std::string& path, const std::string& bytes, std::size_t width,
                      const std::string& range, std::vector<PredictInput>& out) {
  std::istringstream in(bytes);
  std::string line;
  std::vector<PredictInput> rows;
  std::vector<std::vector<double>> values;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::vector<double> row;
    std::stringstream cells(line);
    std::string cell;
    bool numeric = true;
    while (std::getline(cells, cell, ',')) {
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(cell, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || cell.find_first_not_of(" \t", used) != std::string::npos || !std::isfinite(v)) {
        numeric = false;
        break;
      }
      row.push_back(v);
      if (row.size() > width + 1) break;  // too wide already: stop before reading the rest
    }
    const std::string where = path + ":" + std::to_string(number);
    if (numeric && row.size() > width + 1)  // counted, not parsed
      throw Error(where + ": " + std::to_string(std::count(line.begin(), line.end(), ',') + 1) +
                  " values, the model takes " + std::to_string(width));
    if (!numeric) {
      if (number == 1) continue;  // a header
      throw Error(where + ": not a number in '" + cell + "'");
    }
    PredictInput input;
    input.name = where;
    if (row.size() == width + 1) {
      if (row[0] < 0 || row[0] > 9 || row[0] != std::floor(row[0]))
        throw Error(where + ": " + std::to_string(row.size()) + " values, and the first is not a label 0-9");
      input.label = static_cast<int>(row[0]);
      row.erase(row.begin());
    } else if (row.size() != width) {
      throw Error(where + ": " + std::to_string(row.size()) + " values, the model takes " + std::to_string(width));
    }
    for (double v : row)
      if (v < 0 || v > 255) throw Error(where + ": value " + std::to_string(v) + " is outside 0..255");
    rows.push_back(input);
    values.push_back(std::move(row));
  }
  if (rows.empty()) throw file_error(path, "no rows of pixel values");
  double max = 0;
  for (const auto& row : values)
    for (double v : row) max = std::max(max, v);
  const bool unit = range == "1" || (range == "auto" && max <= 1);
  if (unit && max > 1) throw file_error(path, "--csv-range 1, but a value is above 1");
  Scaling scaling;  // 0..255 pixels -> [0, 1] as gather_batch scales them; 0..1 as they are
  scaling.kind = unit ? ScaleKind::none : ScaleKind::unit;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].pixels.resize(values[i].size());
    scaling.apply(values[i].data(), values[i].size(), rows[i].pixels.data());
    out.push_back(std::move(rows[i]));
  }
}

void read_predict_inputs(const std::string& path, std::size_t width, const std::string& csv_range,
                         std::vector<PredictInput>& out) {
  const std::string bytes = read_bytes(path);
  const bool png_signature = bytes.size() >= 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
  const bool idx_signature = bytes.size() >= 4 && bytes.compare(0, 4, std::string("\0\0\x08\x03", 4)) == 0;
  if (png_signature || ends_with(path, ".png") || ends_with(path, ".PNG")) {
    const GrayImage image = decode_png(bytes, path);  // "not a PNG file" for a .png that is not
    if (width != 784) throw file_error(path, "the model takes " + std::to_string(width) + " inputs, not 28x28 images");
    const auto pixels = to_mnist_input(image);
    out.push_back({path, -1, std::vector<float>(pixels.begin(), pixels.end())});
  } else if (idx_signature || ends_with(path, ".gz")) {
    const IdxImages images = read_idx_images(path, width);  // the shape checked before inflating
    if (images.rows * images.cols != width)
      throw file_error(path, "shape mismatch: " + std::to_string(images.rows) + "x" + std::to_string(images.cols) +
                                 " images, the model takes " + std::to_string(width) + " inputs");
    Scaling scaling;  // p / 255, as gather_batch
    scaling.kind = ScaleKind::unit;
    for (std::size_t i = 0; i < images.count; ++i) {
      PredictInput input{path + "[" + std::to_string(i) + "]", -1, std::vector<float>(width)};
      scaling.apply(images.pixels.data() + i * width, width, input.pixels.data());
      out.push_back(std::move(input));
    }
  } else if (ends_with(path, ".csv") || ends_with(path, ".txt") || bytes.find('\0') == std::string::npos) {
    parse_csv_inputs(path, bytes, width, csv_range, out);
  } else {
    throw file_error(path, "not a PNG, IDX images or CSV file");
  }
}

}  // namespace backprop
