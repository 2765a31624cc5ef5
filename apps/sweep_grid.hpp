// A sweep's grid: "lr=0.01,0.05,0.1 hidden=128,256" is two axes, and their product six runs.
#pragma once

#include <string>
#include <vector>

namespace backprop::cli {

struct GridAxis {
  std::string key;                  // a train flag without its dashes: lr, hidden, optimizer
  std::vector<std::string> values;  // as written
};

struct GridRun {
  std::string name;                 // key=value joined by _, e.g. lr=0.05_hidden=128 (a file name)
  std::vector<std::string> values;  // one per axis
  std::vector<std::string> flags;   // --lr 0.05 --hidden 128
};

// Space-separated KEY=V1,V2,... items. Throws Error naming the item: no '=', no values, a
// key twice, a key the sweep sets itself (out, metrics, resume, ...), characters that do not
// belong in a file name.
std::vector<GridAxis> parse_grid(const std::string& text);

// Every combination, the first axis varying slowest.
std::vector<GridRun> grid_runs(const std::vector<GridAxis>& axes);

// The flags passed on to every run: --val-split is needed (the ranking is on validation
// accuracy, never on the test set) and the per-run outputs are the sweep's own.
void check_sweep_flags(const std::vector<std::string>& flags);

// DIR/NAME.model of the best run in DIR/summary.csv (a sweep's folder), or "" when DIR holds
// no summary or its best run has no model.
std::string best_sweep_model(const std::string& dir);

}  // namespace backprop::cli
