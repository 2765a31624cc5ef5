// The inputs of `backprop predict` as network inputs, whatever the model: rows of a CSV or
// .npz table (the readers of dataset.hpp, the label column optional) scaled as the model's
// training set was, or, for a 28x28 image model, PNG / IDX / pixel-CSV images
// (predict_input.hpp). Every failure is an Error naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backprop/io/model_file.hpp"

namespace backprop::cli {

struct PredictRows {
  std::vector<std::string> names;   // "digit.png", "t10k-images[17]", "table.csv[3]"
  std::vector<float> inputs;        // names.size() x features, scaled: the network's inputs
  std::vector<std::int32_t> labels; // class index per row, -1 when unknown; empty when none is known
  std::vector<float> targets;       // regression: names.size() x outputs when every row has them, else empty
};

// Appends the rows of the file at path. label: the CSV's label column(s), "" for the default.
void read_predict_rows(const std::string& path, const ModelFile& model, const std::string& csv_range,
                       const std::string& label, PredictRows& rows);

}  // namespace backprop::cli
