// Label coding (labels.hpp).
#include "data/labels.hpp"

#include <fast_float/fast_float.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace backprop::detail {

std::string canonical_label(std::string_view raw, bool& numeric) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!raw.empty() && space(raw.front())) raw.remove_prefix(1);
  while (!raw.empty() && space(raw.back())) raw.remove_suffix(1);
  double v = 0;
  const char* first = raw.data();
  if (!raw.empty() && raw.front() == '+') ++first;  // from_chars takes no '+'
  const auto result = fast_float::from_chars(first, raw.data() + raw.size(), v);
  numeric = !raw.empty() && result.ec == std::errc() && result.ptr == raw.data() + raw.size() && std::isfinite(v);
  if (!numeric) return std::string(raw);
  char text[32];
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0)  // an integer exactly: no ".0"
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(v));
  else
    std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

LabelCoder::LabelCoder(const std::vector<std::string>* classes) : given_(classes), learning_(classes == nullptr) {
  if (classes)
    for (std::size_t k = 0; k < classes->size(); ++k) {
      bool numeric = false;
      index_.emplace(canonical_label((*classes)[k], numeric), static_cast<std::int32_t>(k));
    }
}

std::int32_t LabelCoder::code(std::string_view raw) {
  bool numeric = false;
  std::string key = canonical_label(raw, numeric);
  const auto found = index_.find(key);
  if (found != index_.end()) return found->second;
  if (!learning_) return -1;
  const auto code = static_cast<std::int32_t>(names_.size());
  all_numeric_ = all_numeric_ && numeric;
  numbers_.push_back(numeric ? std::strtod(key.c_str(), nullptr) : 0.0);
  index_.emplace(key, code);
  names_.push_back(std::move(key));
  return code;
}

std::vector<std::string> LabelCoder::finish(std::vector<std::int32_t>& labels) {
  if (!learning_) return *given_;
  std::vector<std::int32_t> order(names_.size());  // order[k] = provisional code of class k
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
    return all_numeric_ ? numbers_[a] < numbers_[b] : names_[a] < names_[b];
  });
  std::vector<std::int32_t> rank(order.size());
  std::vector<std::string> classes(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    rank[std::size_t(order[k])] = static_cast<std::int32_t>(k);
    classes[k] = names_[std::size_t(order[k])];
  }
  for (auto& label : labels) label = rank[std::size_t(label)];
  return classes;
}

}  // namespace backprop::detail
