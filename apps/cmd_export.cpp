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

int run_export(const ExportOptions& o) {
  if (o.npz.empty() && o.onnx.empty()) throw Error("give --npz OUT.npz, --onnx OUT.onnx, or both");
  check_output_path(o.npz);  // both checked before either is written
  check_output_path(o.onnx);
  const ModelFile model = read_model(o.model);
  if (!o.npz.empty()) {
    const Npz arrays = model.is_double ? params_to_npz(make_inference_network<double>(model))
                                       : params_to_npz(make_inference_network<float>(model));
    write_npz(o.npz, arrays);
    std::printf("wrote %s: %s parameters w1, b1, ... of %s\n", o.npz.c_str(), model.is_double ? "float64" : "float32",
                model.spec.describe().c_str());
  }
  if (!o.onnx.empty()) {
    write_onnx(o.onnx, model);
    std::printf("wrote %s: ONNX opset %d, input \"input\" (batch, %d), output \"%s\"\n", o.onnx.c_str(), kOnnxOpset,
                model.spec.sizes.front(),
                model.spec.head == HeadKind::softmax_cross_entropy ? "probabilities" : "scores");
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
