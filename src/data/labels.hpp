// Labels as read (text) to class indices, for every reader (private to src/data/).
//
// The classes are the distinct training labels sorted: as numbers when every one is a number
// ("2" < "10"), else as text. A label is first made canonical, so "3", "3.0" and " 3" are one
// class named "3"; text labels keep their exact bytes, surrounding spaces trimmed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace backprop::detail {

// The canonical text of a label; numeric says whether it is a finite number.
std::string canonical_label(std::string_view raw, bool& numeric);

class LabelCoder {
 public:
  // classes: look labels up in these (a training set's); nullptr: learn them from the labels.
  explicit LabelCoder(const std::vector<std::string>* classes);

  // The label's code: its class index when the classes were given (-1 when it is not one of
  // them), else a provisional code (order of first appearance).
  std::int32_t code(std::string_view raw);

  // Learning: sorts the classes and rewrites labels from provisional codes to class indices.
  // Given classes: returns them, labels unchanged.
  std::vector<std::string> finish(std::vector<std::int32_t>& labels);

 private:
  const std::vector<std::string>* given_;
  bool learning_;
  bool all_numeric_ = true;
  std::unordered_map<std::string, std::int32_t> index_;
  std::vector<std::string> names_;  // by code
  std::vector<double> numbers_;     // by code, when numeric
};

}  // namespace backprop::detail
