// backprop export: a model file's parameters as the seed's .npz (w1, b1, ...) and/or the
// network as an ONNX graph (docs/export.md).
#include <cstdio>
#include <memory>

#include "backprop/error.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/io/npz_params.hpp"
#include "backprop/io/onnx_export.hpp"
#include "commands.hpp"
#include "output_path.hpp"

namespace backprop::cli {

namespace {

struct ExportOptions {
  std::string model, npz, onnx;
};

// A (1, n) row in the model's dtype, as b1 is.
NpyArray row(const std::vector<double>& values, bool is_double) {
  NpyArray array;
  array.shape = {1, values.size()};
  array.is_double = is_double;
  array.values = values;
  return array;
}

// The model's scaling as the arrays a NumPy user applies before w1, x = (v - input_mean) /
// input_deviation (unit scaling: mean 0, deviation 255; none: 0 and 1), and for regression
// the targets' y = scores * target_deviation + target_mean.
void add_scaling(Npz& arrays, const ModelFile& model) {
  const DataSchema& d = model.data;
  std::vector<double> mean(d.features, 0.0), deviation(d.features, 1.0);
  if (d.scaling.kind == ScaleKind::unit) deviation.assign(d.features, 255.0);
  if (d.scaling.kind == ScaleKind::standard) {
    mean.assign(d.scaling.mean.begin(), d.scaling.mean.end());
    deviation.assign(d.scaling.deviation.begin(), d.scaling.deviation.end());
  }
  arrays["input_mean"] = row(mean, model.is_double);
  arrays["input_deviation"] = row(deviation, model.is_double);
  if (d.classes.empty() && !d.target_mean.empty()) {
    arrays["target_mean"] = row(d.target_mean, model.is_double);
    arrays["target_deviation"] = row(d.target_deviation, model.is_double);
  }
}

int run_export(const ExportOptions& o) {
  if (o.npz.empty() && o.onnx.empty()) throw Error("give --npz OUT.npz, --onnx OUT.onnx, or both");
  check_output_path(o.npz);  // both checked before either is written
  check_output_path(o.onnx);
  const ModelFile model = read_model(o.model);
  if (!o.npz.empty()) {
    Npz arrays = model.is_double ? params_to_npz(make_inference_network<double>(model))
                                 : params_to_npz(make_inference_network<float>(model));
    add_scaling(arrays, model);
    write_npz(o.npz, arrays);
    std::printf("wrote %s: %s parameters w1, b1, ... of %s, and the scaling input_mean, input_deviation%s\n",
                o.npz.c_str(), model.is_double ? "float64" : "float32", model.spec.describe().c_str(),
                arrays.count("target_mean") ? ", target_mean, target_deviation" : "");
  }
  if (!o.onnx.empty()) {
    write_onnx(o.onnx, model);
    const bool regression = model.data.classes.empty() && !model.data.target_mean.empty();
    std::printf("wrote %s: ONNX opset %d, input \"input\" (batch, %d) of raw features (the graph scales them: %s), "
                "output \"%s\"\n", o.onnx.c_str(), kOnnxOpset, model.spec.sizes.front(),
                scale_kind_name(model.data.scaling.kind),
                model.spec.head == HeadKind::softmax_cross_entropy ? "probabilities" : regression ? "prediction" : "scores");
  }
  return 0;
}

}  // namespace

Command add_export(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* sub = app.add_subcommand("export", "Write a model's parameters as .npz or the network as ONNX");
  sub->add_option("--model", o->model, "Model or checkpoint file")->required();
  sub->add_option("--npz", o->npz, "Write w1, b1, ... as NumPy's .npz (the seed's layout)");
  sub->add_option("--onnx", o->onnx, "Write an ONNX model (opset " + std::to_string(kOnnxOpset) + ")");
  return {sub, [o] { return run_export(*o); }};
}

}  // namespace backprop::cli
