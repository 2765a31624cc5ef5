// A model as an ONNX graph, for any ONNX runtime. Built with the protobuf classes of the ONNX
// project (onnx/onnx_pb.h, Debian's libonnx-dev), checked with its C++ checker before it is
// written, and written atomically. docs/export.md lists the nodes.
//
//   input          "input"  (batch, n_0), float32 or float64 as the model file: raw features
//   scaling        the model's (DATA section): Div(input, 255), or Sub(input, input_mean) then
//                  Div(., input_deviation), or none: Scaling::apply's float operations
//   per layer l    Gemm(h_{l-1}, w<l>, b<l>) with w<l> stored (n_{l-1}, n_l): the seed's
//                  NumPy view, the same bytes as our column-major W, so no transpose
//                  then Sigmoid | Tanh | Relu | LeakyRelu(0.01) | Elu(1) | Softplus, or GELU's
//                  tanh form spelled out in Mul/Add/Tanh (opset 13 has no Gelu)
//   outputs        softmax head: "probabilities" = Softmax(axis 1) and "logits"; mse: "scores"
//                  regression also "prediction" = scores * target_deviation + target_mean, first
#pragma once

#include <string>

#include "backprop/io/model_file.hpp"

namespace backprop {

constexpr int kOnnxOpset = 13;       // the default ("ai.onnx") domain's version
constexpr int kOnnxIrVersion = 7;    // the IR version that goes with opset 13

// Throws Error when this build has no ONNX support (BACKPROP_ONNX=OFF) or the path is unwritable.
void write_onnx(const std::string& path, const ModelFile& model);

// Whether this build can write ONNX.
bool onnx_supported();

}  // namespace backprop
