// Parsing a sweep's grid (sweep_grid.hpp).
#include "sweep_grid.hpp"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backprop/error.hpp"

namespace backprop::cli {

namespace {

// Flags each run gets from the sweep (its own files, its own progress), or that make no run.
const char* const kSweepOwned[] = {"out", "metrics", "checkpoint", "checkpoint-every", "resume", "save-npz",
                                   "quiet", "grid", "jobs"};

bool owned(const std::string& key) {
  for (const char* k : kSweepOwned)
    if (key == k) return true;
  return false;
}

bool plain(const std::string& text, const char* extra) {
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr(extra, c)) return false;
  return !text.empty();
}

}  // namespace

std::vector<GridAxis> parse_grid(const std::string& text) {
  std::vector<GridAxis> axes;
  std::istringstream items(text);
  std::string item;
  while (items >> item) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) throw Error("--grid: '" + item + "' is not KEY=V1,V2,... (e.g. lr=0.01,0.1)");
    GridAxis axis{item.substr(0, eq), {}};
    if (axis.key.rfind("--", 0) == 0) axis.key = axis.key.substr(2);
    if (!plain(axis.key, "-")) throw Error("--grid: '" + item + "': the key must be a train flag such as lr or hidden");
    if (owned(axis.key)) throw Error("--grid: --" + axis.key + " is set by the sweep itself, not per run");
    for (const auto& a : axes)
      if (a.key == axis.key) throw Error("--grid: " + axis.key + " is given twice");
    std::istringstream values(item.substr(eq + 1));
    std::string value;
    while (std::getline(values, value, ','))
      if (!value.empty()) {
        if (!plain(value, ".+-"))
          throw Error("--grid: " + axis.key + " value '" + value + "': only letters, digits and . + - (it names files)");
        axis.values.push_back(value);
      }
    if (axis.values.empty()) throw Error("--grid: " + axis.key + " has no values");
    axes.push_back(axis);
  }
  if (axes.empty()) throw Error("--grid is empty (e.g. --grid \"lr=0.01,0.1 hidden=128,256\")");
  std::size_t runs = 1;
  for (const auto& a : axes)
    if ((runs *= a.values.size()) > 10000) throw Error("--grid: more than 10000 combinations");
  return axes;
}

std::vector<GridRun> grid_runs(const std::vector<GridAxis>& axes) {
  std::vector<GridRun> runs(1);
  for (const auto& axis : axes) {
    std::vector<GridRun> longer;
    for (const auto& run : runs)
      for (const auto& value : axis.values) {
        GridRun r = run;
        r.name += (r.name.empty() ? "" : "_") + axis.key + "=" + value;
        r.values.push_back(value);
        r.flags.insert(r.flags.end(), {"--" + axis.key, value});
        longer.push_back(r);
      }
    runs = longer;
  }
  return runs;
}

void check_sweep_flags(const std::vector<std::string>& flags) {
  bool val_split = false;
  for (const auto& flag : flags) {
    if (flag.rfind("--", 0) != 0) continue;
    const std::string key = flag.substr(2, flag.find('=') == std::string::npos ? std::string::npos : flag.find('=') - 2);
    val_split = val_split || key == "val-split";
    if (owned(key)) throw Error("sweep: --" + key + " is set by the sweep for each run; it cannot be given");
  }
  if (!val_split) throw Error("sweep: give --val-split N: the runs are ranked by validation accuracy, never by the test set");
}

std::string best_sweep_model(const std::string& dir) {
  std::ifstream summary(std::filesystem::path(dir) / "summary.csv");
  std::string header, best;
  if (!std::getline(summary, header) || !std::getline(summary, best)) return "";
  std::istringstream fields(best);
  std::string place, name;  // place,run,...
  if (!std::getline(fields, place, ',') || !std::getline(fields, name, ',')) return "";
  const auto model = std::filesystem::path(dir) / (name + ".model");
  return std::filesystem::is_regular_file(model) ? model.string() : "";
}

}  // namespace backprop::cli
