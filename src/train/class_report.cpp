// Per-class precision, recall and F1, and the text tables (formulas in class_report.hpp).
#include "backprop/train/class_report.hpp"

#include <cstdarg>
#include <cstdio>
#include <algorithm>

namespace backprop {

namespace {
double ratio(long a, long b) { return b > 0 ? double(a) / double(b) : 0.0; }

std::string line(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string line(const char* format, ...) {
  char buffer[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  return buffer;
}
}  // namespace

namespace {
std::string name_of(const std::vector<std::string>& names, std::size_t k, std::size_t width) {
  const std::string name = k < names.size() ? names[k] : std::to_string(k);
  return name.size() <= width ? name : name.substr(0, width);
}
}  // namespace

ClassReport class_report(const Confusion& c, const std::vector<std::string>& names) {
  ClassReport report;
  const std::size_t K = c.size();
  for (std::size_t k = 0; k < K; ++k) {
    ClassScores s;
    s.label = static_cast<int>(k);
    s.name = k < names.size() ? names[k] : std::to_string(k);
    for (std::size_t j = 0; j < K; ++j) s.support += c[k][j];
    for (std::size_t i = 0; i < K; ++i) s.predicted += c[i][k];
    s.precision = ratio(c[k][k], s.predicted);
    s.recall = ratio(c[k][k], s.support);
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
    report.total += s.support;
    report.correct += c[k][k];
    report.macro_precision += s.precision / double(K);
    report.macro_recall += s.recall / double(K);
    report.macro_f1 += s.f1 / double(K);
    report.classes.push_back(s);
  }
  return report;
}

std::string format_confusion(const Confusion& c, const std::vector<std::string>& names) {
  const std::size_t K = c.size();
  std::string text = "confusion matrix (rows: true class, columns: predicted class)\n";
  text += "true\\pred";
  for (std::size_t j = 0; j < K; ++j) text += line("%6s", name_of(names, j, 5).c_str());
  text += "   total  recall\n";
  for (std::size_t i = 0; i < K; ++i) {
    long total = 0;
    for (std::size_t j = 0; j < K; ++j) total += c[i][j];
    text += line("%9s", name_of(names, i, 9).c_str());
    for (std::size_t j = 0; j < K; ++j) text += line("%6ld", c[i][j]);
    text += line("  %6ld  %6.4f\n", total, ratio(c[i][i], total));
  }
  return text;
}

std::string format_class_report(const ClassReport& r) {
  std::size_t width = 5;
  for (const auto& s : r.classes) width = std::max(width, std::min<std::size_t>(s.name.size(), 24));
  const int w = static_cast<int>(width);
  std::string text = line("%*s  precision  recall      f1  support\n", w, "class");
  for (const auto& s : r.classes)
    text += line("%*s  %9.4f  %6.4f  %6.4f  %7ld\n", w, s.name.substr(0, width).c_str(), s.precision, s.recall, s.f1,
                 s.support);
  text += line("%*s  %9.4f  %6.4f  %6.4f  %7ld\n", w, "macro", r.macro_precision, r.macro_recall, r.macro_f1, r.total);
  return text;
}

}  // namespace backprop
