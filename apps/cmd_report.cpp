// backprop report: a training run's page (learning curves, confusion matrix, mistakes,
// weights, samples, layers) as one self-contained HTML file that opens from disk.
#include <cstdio>
#include <cstring>
#include <memory>

#include "backprop/io/atomic_file.hpp"
#include "backprop/error.hpp"
#include "backprop/data/fetch.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/web/run_page.hpp"
#include "commands.hpp"
#include "output_path.hpp"

namespace backprop::cli {

namespace {

struct ReportOptions {
  std::string metrics, model, out, data_dir, test_path, label, title;
};

std::string file_stem(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  for (const char* suffix : {".jsonl", ".metrics", ".model"})
    if (name.size() > std::strlen(suffix) && name.compare(name.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
      name.resize(name.size() - std::strlen(suffix));
  return name;
}

int run_report(const ReportOptions& o) {
  if (o.metrics.empty() && o.model.empty()) throw Error("report: give --metrics RUN.jsonl, --model FILE, or both");
  check_output_path(o.out);
  ModelFile model;
  if (!o.model.empty()) model = read_model(o.model);
  web::RunInputs inputs;
  inputs.name = !o.title.empty() ? o.title : file_stem(o.metrics.empty() ? o.model : o.metrics);
  inputs.metrics_path = o.metrics;
  inputs.model = o.model.empty() ? nullptr : &model;
  // The model's test set as `eval` scores it: the data's own, --test, or the rows held out.
  DataOptions data;
  data.path = resolve_data_dir(o.data_dir);
  data.test_path = o.test_path;
  data.read.label = o.label;
  Dataset test, samples;
  if (!o.model.empty() && web::load_run_sets(data, model.data, test, samples, inputs.data_note)) {
    inputs.test = &test;
    inputs.samples = samples.count ? &samples : nullptr;
  }
  const std::string html = web::render_report_html(web::build_run_data(inputs));
  write_file_atomic(o.out, html);
  std::printf("wrote %s (%.1f kB)\n", o.out.c_str(), html.size() / 1024.0);
  return 0;
}

}  // namespace

Command add_report(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App* sub = app.add_subcommand("report", "Write a training run's page as one self-contained HTML file");
  sub->add_option("--metrics", o->metrics, "The run's metrics (train --metrics RUN.jsonl)");
  sub->add_option("--model", o->model, "The run's model (train --out FILE): weights, confusion matrix, mistakes");
  sub->add_option("--out", o->out, "HTML file to write")->required();
  sub->add_option("--data", o->data_dir,
                  "The model's training data: IDX directory, CSV or .npz (default: $BACKPROP_DATA or ./data/mnist)");
  sub->add_option("--test", o->test_path, "A separate test set (as given to train --test)");
  sub->add_option("--label", o->label, "CSV label column (as given to train --label)");
  sub->add_option("--title", o->title, "Page title (default: the metrics file's name)");
  return {sub, [o] { return run_report(*o); }};
}

}  // namespace backprop::cli
