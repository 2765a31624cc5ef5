// Per-class precision, recall and F1, and the text tables (formulas in class_report.hpp).
#include "backprop/train/class_report.hpp"

#include <cstdarg>
#include <cstdio>

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

ClassReport class_report(const Confusion& c) {
  ClassReport report;
  for (int k = 0; k < 10; ++k) {
    ClassScores s;
    s.label = k;
    for (int j = 0; j < 10; ++j) s.support += c[k][j];
    for (int i = 0; i < 10; ++i) s.predicted += c[i][k];
    s.precision = ratio(c[k][k], s.predicted);
    s.recall = ratio(c[k][k], s.support);
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
    report.total += s.support;
    report.correct += c[k][k];
    report.macro_precision += s.precision / 10;
    report.macro_recall += s.recall / 10;
    report.macro_f1 += s.f1 / 10;
    report.classes.push_back(s);
  }
  return report;
}

std::string format_confusion(const Confusion& c) {
  std::string text = "confusion matrix (rows: true class, columns: predicted class)\n";
  text += "true\\pred";
  for (int j = 0; j < 10; ++j) text += line("%6d", j);
  text += "   total  recall\n";
  for (int i = 0; i < 10; ++i) {
    long total = 0;
    for (int j = 0; j < 10; ++j) total += c[i][j];
    text += line("%9d", i);
    for (int j = 0; j < 10; ++j) text += line("%6ld", c[i][j]);
    text += line("  %6ld  %6.4f\n", total, ratio(c[i][i], total));
  }
  return text;
}

std::string format_class_report(const ClassReport& r) {
  std::string text = "class  precision  recall      f1  support\n";
  for (const auto& s : r.classes)
    text += line("%5d  %9.4f  %6.4f  %6.4f  %7ld\n", s.label, s.precision, s.recall, s.f1, s.support);
  text += line("macro  %9.4f  %6.4f  %6.4f  %7ld\n", r.macro_precision, r.macro_recall, r.macro_f1, r.total);
  return text;
}

}  // namespace backprop
