// ONNX export (graph described in onnx_export.hpp and docs/export.md). Compiled against
// libonnx-dev's generated protobuf classes when BACKPROP_HAVE_ONNX is defined; otherwise
// write_onnx only explains how to get it.
#include "backprop/io/onnx_export.hpp"

#include <cmath>
#include <type_traits>

#include "backprop/io/atomic_file.hpp"
#include "backprop/error.hpp"

#ifdef BACKPROP_HAVE_ONNX
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#endif

namespace backprop {

#ifndef BACKPROP_HAVE_ONNX

bool onnx_supported() { return false; }

void write_onnx(const std::string& path, const ModelFile&) {
  throw file_error(path, "this backprop was built without ONNX support (install libonnx-dev and "
                         "libprotobuf-dev, then configure with -DBACKPROP_ONNX=ON)");
}

#else

namespace {

// The constants of activation.cpp, which ONNX must repeat (tests compare the two).
constexpr double kLeakySlope = 0.01;
constexpr double kEluAlpha = 1.0;
constexpr double kGeluCubic = 0.044715;

class GraphBuilder {
 public:
  GraphBuilder(onnx::GraphProto& graph, int elem_type) : graph_(graph), elem_type_(elem_type) {}

  // An initializer from column-major values with the given ONNX dims.
  void tensor(const std::string& name, const std::vector<std::int64_t>& dims, const double* values, std::size_t n) {
    onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(name);
    t->set_data_type(elem_type_);
    for (auto d : dims) t->add_dims(d);
    std::string raw;  // little-endian, as ONNX's raw_data is (binary_io.hpp checks the host)
    for (std::size_t i = 0; i < n; ++i) {
      if (elem_type_ == onnx::TensorProto::DOUBLE) {
        raw.append(reinterpret_cast<const char*>(&values[i]), sizeof(double));
      } else {
        const float f = static_cast<float>(values[i]);
        raw.append(reinterpret_cast<const char*>(&f), sizeof(float));
      }
    }
    t->set_raw_data(raw);
  }
  std::string scalar(const std::string& name, double value) {
    tensor(name, {}, &value, 1);
    return name;
  }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output) {
    onnx::NodeProto* n = graph_.add_node();
    n->set_op_type(op);
    n->set_name(output);
    for (const auto& input : inputs) n->add_input(input);
    n->add_output(output);
    return n;
  }
  static void float_attribute(onnx::NodeProto* n, const std::string& name, double value) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(static_cast<float>(value));
  }
  static void int_attribute(onnx::NodeProto* n, const std::string& name, std::int64_t value) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  void value_info(onnx::ValueInfoProto* v, const std::string& name, std::int64_t width) {
    v->set_name(name);
    onnx::TypeProto_Tensor* type = v->mutable_type()->mutable_tensor_type();
    type->set_elem_type(elem_type_);
    type->mutable_shape()->add_dim()->set_dim_param("batch");
    type->mutable_shape()->add_dim()->set_dim_value(width);
  }

 private:
  onnx::GraphProto& graph_;
  int elem_type_;
};

// h = g(z) as ONNX nodes; returns the output's name.
std::string activation_nodes(GraphBuilder& g, Activation a, const std::string& z, int layer) {
  const std::string h = "h" + std::to_string(layer), p = "gelu" + std::to_string(layer) + "_";
  switch (a) {
    case Activation::sigmoid: g.node("Sigmoid", {z}, h); break;
    case Activation::tanh: g.node("Tanh", {z}, h); break;
    case Activation::relu: g.node("Relu", {z}, h); break;
    case Activation::leaky_relu: GraphBuilder::float_attribute(g.node("LeakyRelu", {z}, h), "alpha", kLeakySlope); break;
    case Activation::elu: GraphBuilder::float_attribute(g.node("Elu", {z}, h), "alpha", kEluAlpha); break;
    case Activation::softplus: g.node("Softplus", {z}, h); break;
    case Activation::gelu:  // z/2 (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))
      g.node("Mul", {z, z}, p + "z2");
      g.node("Mul", {p + "z2", z}, p + "z3");
      g.node("Mul", {p + "z3", "gelu_k"}, p + "kz3");
      g.node("Add", {z, p + "kz3"}, p + "inner");
      g.node("Mul", {p + "inner", "gelu_c"}, p + "u");
      g.node("Tanh", {p + "u"}, p + "t");
      g.node("Add", {p + "t", "gelu_one"}, p + "one_plus_t");
      g.node("Mul", {z, "gelu_half"}, p + "half_z");
      g.node("Mul", {p + "half_z", p + "one_plus_t"}, h);
      break;
  }
  return h;
}

// The model's input scaling (its DATA section, dataset.hpp) as nodes from the raw features
// "input" to the first layer's input; returns that input's name. The same float operations as
// Scaling::apply, so a float32 graph sees the values `predict` gives the network.
std::string scaling_nodes(GraphBuilder& g, const Scaling& s, std::size_t features) {
  switch (s.kind) {
    case ScaleKind::none: return "input";
    case ScaleKind::unit:  // x = v / 255
      g.node("Div", {"input", g.scalar("scale_255", 255.0)}, "scaled_input");
      return "scaled_input";
    case ScaleKind::standard: {  // x = (v - mean) / deviation, per feature
      const std::vector<double> mean(s.mean.begin(), s.mean.end()), dev(s.deviation.begin(), s.deviation.end());
      const auto n = static_cast<std::int64_t>(features);
      g.tensor("input_mean", {n}, mean.data(), mean.size());
      g.tensor("input_deviation", {n}, dev.data(), dev.size());
      g.node("Sub", {"input", "input_mean"}, "centred_input");
      g.node("Div", {"centred_input", "input_deviation"}, "scaled_input");
      return "scaled_input";
    }
  }
  return "input";
}

}  // namespace

bool onnx_supported() { return true; }

void write_onnx(const std::string& path, const ModelFile& model) {
  const NetworkSpec& spec = model.spec;
  onnx::ModelProto proto;
  proto.set_ir_version(kOnnxIrVersion);
  proto.set_producer_name("backprop");
  proto.set_producer_version("0.1.0");
  proto.set_doc_string("fully connected network " + spec.describe());
  onnx::OperatorSetIdProto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  onnx::StringStringEntryProto* meta = proto.add_metadata_props();
  meta->set_key("architecture");
  meta->set_value(spec.describe());

  onnx::GraphProto& graph = *proto.mutable_graph();
  graph.set_name("backprop_mlp");
  GraphBuilder g(graph, model.is_double ? onnx::TensorProto::DOUBLE : onnx::TensorProto::FLOAT);
  g.value_info(graph.add_input(), "input", spec.sizes.front());
  bool gelu = false;
  for (Activation a : spec.activations) gelu = gelu || a == Activation::gelu;
  if (gelu) {
    g.scalar("gelu_half", 0.5);
    g.scalar("gelu_one", 1.0);
    g.scalar("gelu_c", std::sqrt(2.0 / M_PI));
    g.scalar("gelu_k", kGeluCubic);
  }
  const int L = static_cast<int>(spec.sizes.size()) - 1;
  const bool softmax = spec.head == HeadKind::softmax_cross_entropy;
  std::string h = scaling_nodes(g, model.data.scaling, static_cast<std::size_t>(spec.sizes.front()));
  for (int l = 1; l <= L; ++l) {
    const Matrix<double>& W = model.params[2 * (l - 1)];  // (n_out, n_in) column-major
    const Matrix<double>& b = model.params[2 * (l - 1) + 1];
    const std::string w_name = "w" + std::to_string(l), b_name = "b" + std::to_string(l);
    g.tensor(w_name, {W.cols(), W.rows()}, W.data(), static_cast<std::size_t>(W.size()));  // (n_in, n_out)
    g.tensor(b_name, {b.rows()}, b.data(), static_cast<std::size_t>(b.size()));
    const std::string z = l < L ? "z" + std::to_string(l) : (softmax ? "logits" : "scores");
    g.node("Gemm", {h, w_name, b_name}, z);  // z = h w + b, one row per example
    h = l < L ? activation_nodes(g, spec.activations[l - 1], z, l) : z;
  }
  if (softmax) {
    GraphBuilder::int_attribute(g.node("Softmax", {"logits"}, "probabilities"), "axis", 1);
    g.value_info(graph.add_output(), "probabilities", spec.sizes.back());
  }
  // Regression: the network predicts standardised targets; "prediction" = scores * deviation
  // + mean is in the targets' own units, what `predict` prints.
  const std::vector<double>& t_mean = model.data.target_mean;
  if (!softmax && !t_mean.empty()) {
    const auto n = static_cast<std::int64_t>(t_mean.size());
    g.tensor("target_mean", {n}, t_mean.data(), t_mean.size());
    g.tensor("target_deviation", {n}, model.data.target_deviation.data(), model.data.target_deviation.size());
    g.node("Mul", {"scores", "target_deviation"}, "scaled_scores");
    g.node("Add", {"scaled_scores", "target_mean"}, "prediction");
    g.value_info(graph.add_output(), "prediction", spec.sizes.back());
  }
  g.value_info(graph.add_output(), softmax ? "logits" : "scores", spec.sizes.back());

  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    throw file_error(path, std::string("internal error: the ONNX checker refused the graph: ") + e.what());
  }
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) throw file_error(path, "cannot serialise the ONNX model");
  write_file_atomic(path, bytes);
}

#endif

}  // namespace backprop
