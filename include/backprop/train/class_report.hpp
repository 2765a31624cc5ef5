// Per-class scores from a confusion matrix, and the tables `backprop train` and `backprop
// eval` print.
//
//   precision_k = C[k][k] / sum_i C[i][k]   (of the examples predicted k, how many are k)
//   recall_k    = C[k][k] / sum_j C[k][j]   (of the examples that are k, how many were found)
//   f1_k        = 2 precision_k recall_k / (precision_k + recall_k)
// with C[true][predicted]. A ratio whose denominator is 0 is reported as 0 (as scikit-learn
// does by default), and the macro averages are plain means over the classes.
#pragma once

#include <string>
#include <vector>

namespace backprop {

using Confusion = std::vector<std::vector<long>>;  // K x K, [true][predicted]

struct ClassScores {
  int label = 0;        // class index
  std::string name;     // class name
  long support = 0;    // examples of this class
  long predicted = 0;  // examples predicted as this class
  double precision = 0, recall = 0, f1 = 0;
};

struct ClassReport {
  std::vector<ClassScores> classes;
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  long total = 0, correct = 0;
};

// names: the class names (empty: "0", "1", ...).
ClassReport class_report(const Confusion& confusion, const std::vector<std::string>& names = {});

// The K x K matrix with row totals and each row's recall, as fixed-width text.
std::string format_confusion(const Confusion& confusion, const std::vector<std::string>& names = {});
// precision, recall, F1 and support per class, then the macro averages.
std::string format_class_report(const ClassReport& report);

}  // namespace backprop
