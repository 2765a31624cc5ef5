// The run page's data: a training run's metrics (the JSON Lines of `train --metrics`), its
// model (architecture, first-layer weights) and what the model does on its test set (the K x K
// confusion matrix and, for digit images, the misclassified ones; for regression predicted
// against true), plus sample training images. The same JSON feeds the served page
// (GET /api/runs/NAME) and the self-contained report file.
//
// Pictures are PNG data URIs, so the report needs no other file.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/data/readers.hpp"
#include "backprop/io/model_file.hpp"

namespace backprop::web {

// Reads a metrics file: one JSON object per line (blank lines skipped). Throws
// Error("<path>:<line>: ...") on a line that is not a JSON object.
nlohmann::json read_metrics(const std::string& path);

struct RunInputs {
  std::string name;                 // shown as the page title
  std::string metrics_path;         // "" = no learning curves
  const ModelFile* model = nullptr; // nullptr = no architecture, weights or evaluation
  const Dataset* test = nullptr;    // the model's test set (load_run_sets); nullptr = no evaluation
  const Dataset* samples = nullptr; // training images to show (28x28 only); nullptr = none
  std::string data_note;            // why the data is missing, shown on the page
};

// Limits on what the page shows.
constexpr int kMaxMistakesShown = 100;
constexpr int kMaxWeightImages = 256;
constexpr int kSampleImages = 40;

// {"name", "metrics": [...], "model": {...}|null, "evaluation": {...}|null,
//  "misclassified": [...], "weights": {...}|null, "samples": [...], "notes": [...]}
// (docs/api.md). Throws Error when the metrics file cannot be read.
nlohmann::json build_run_data(const RunInputs& inputs);

// One entry per metrics file in dir: NAME.jsonl (or NAME.metrics.jsonl), paired with the
// model NAME.model when it exists. Sorted by name.
struct RunEntry {
  std::string name, metrics_path, model_path;  // model_path "" when there is none
};
std::vector<RunEntry> list_runs(const std::string& dir);

// The run page with everything inline (style, scripts, Chart.js, data): one HTML file
// that opens from disk without a server or a network.
std::string render_report_html(const nlohmann::json& run_data);

// The sets a model's page shows, from the data it was trained on (any dataset the readers
// take: an IDX directory, a CSV or .npz file): the test set load_test_for gives (the file's
// own, --test, or the rows the run held out) and, for 28x28 images, the training set for the
// samples. On any error (no such data, other features or classes) returns false and says why
// in note. Never downloads.
bool load_run_sets(const DataOptions& data, const DataSchema& schema, Dataset& test, Dataset& samples,
                   std::string& note);

}  // namespace backprop::web
