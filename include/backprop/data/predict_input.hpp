// The inputs of `backprop predict`, turned into model inputs in [0, 1]. Recognised by content
// (then by extension):
//   PNG   any size, colour type or bit depth; made MNIST-like by preprocess.hpp (grayscale,
//         white on black, cropped, scaled into 20x20, centred by centre of mass in 28x28)
//   IDX   an idx3-ubyte images file (plain or .gz), every image in it; pixels / 255
//   CSV   one image per line, as many values as the model has inputs. A line with one value
//         more starts with its label (the Kaggle / mnist_train.csv layout), which is kept.
//         A first line that is not numeric is a header and skipped. Values are 0..255 pixels,
//         or 0..1 intensities; csv_range "auto" takes 0..1 when no value exceeds 1.
// Every failure is an Error naming the file (and the CSV line). Lives in the library, not in
// the command, so that the fuzzers (fuzz/) reach exactly the code the command runs.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace backprop {

struct PredictInput {
  std::string name;           // "digit.png", "t10k-images[17]", "digits.csv:3"
  int label = -1;             // from a labelled CSV row
  std::vector<float> pixels;  // model inputs in [0, 1]
};

// CSV text (bytes of the file `source`) as inputs of the given width. csv_range: "auto",
// "255" or "1".
void parse_csv_inputs(const std::string& source, const std::string& bytes, std::size_t width,
                      const std::string& csv_range, std::vector<PredictInput>& out);

// Every input image in the file at path, as model inputs of the given width.
void read_predict_inputs(const std::string& path, std::size_t width, const std::string& csv_range,
                         std::vector<PredictInput>& out);

}  // namespace backprop
