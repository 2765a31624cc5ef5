// backprop import: parameters from a NumPy .npz (the seed's layout: w1 (n_0, n_1), b1 (1, n_1),
// ...) plus the architecture the arrays cannot say (activations, head) -> a model file.
#include <cmath>
#include <cstdio>
#include <memory>

#include "backprop/error.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/io/npz_params.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "output_path.hpp"

namespace backprop::cli {

namespace {

struct ImportOptions {
  NetworkOptions network;
  std::string npz, out;
};

std::string sizes_text(const std::vector<int>& sizes) {
  std::string text;
  for (int s : sizes) text += (text.empty() ? "" : ",") + std::to_string(s);
  return text;
}

template <typename T>
int run_import(const ImportOptions& o, const Npz& arrays, NetworkSpec spec) {
  std::mt19937_64 unused(0);  // dropout masks are never drawn here
  Network<T> network(spec, &unused);
  npz_to_params(arrays, o.npz, network);  // names the array whose shape does not fit
  for (const auto& p : network.params())
    if (!p.value->allFinite()) throw file_error(o.npz, "array '" + p.name() + "' holds NaN or infinity");
  save_model(o.out, network);
  std::printf("wrote %s: %s, %s\n", o.out.c_str(), spec.describe().c_str(), sizeof(T) == 8 ? "f64" : "f32");
  return 0;
}

}  // namespace

Command add_import(CLI::App& app) {
  auto o = std::make_shared<ImportOptions>();
  CLI::App* sub = app.add_subcommand("import", "Make a model file from .npz parameters (w1, b1, ...)");
  sub->add_option("--npz", o->npz, "Parameters: w1 (n_0, n_1), b1 (1, n_1), ...")->required();
  o->network.add_to(*sub, {/*init_scheme=*/false, /*dropout=*/false, /*dtype=*/true});
  sub->add_option("--out", o->out, "Model file to write")->required();
  return {sub, [o, sub] {
            check_output_path(o->out);
            const Npz arrays = read_npz(o->npz);
            const std::vector<int> in_file = layer_sizes_from_npz(arrays, o->npz);
            ImportOptions options = *o;
            if (options.network.layers.empty() && options.network.hidden.empty()) options.network.layers = sizes_text(in_file);
            NetworkSpec spec;
            options.network.apply(spec, in_file.front(), in_file.back());
            if (spec.sizes != in_file)
              throw file_error(o->npz, "shape mismatch: the arrays make a " + sizes_text(in_file) +
                                           " network, --layers says " + sizes_text(spec.sizes));
            // The dtype: --dtype if given, else the arrays' own.
            const bool f64 = sub->get_option("--dtype")->count() > 0 ? options.network.is_f64()
                                                                     : arrays.at("w1").is_double;
            return f64 ? run_import<double>(options, arrays, spec) : run_import<float>(options, arrays, spec);
          }};
}

}  // namespace backprop::cli
