// POST /api/predict and GET /api/model: request in, status and JSON out. The checks run in
// the order a person's mistakes are likely (wrong type, wrong count, wrong range) and the
// error says which value is wrong.
#include "backprop/web/predict_api.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>

#include "backprop/error.hpp"
#include "backprop/nn/layers.hpp"
#include "backprop/data/preprocess.hpp"
#include "predict_json.hpp"

namespace backprop::web {

namespace {

constexpr int kPixels = 784;

// Six decimals are plenty for a picture and keep "0.1" from printing as 0.10000000149.
double rounded(double v) { return std::round(v * 1e6) / 1e6; }

nlohmann::json rounded_array(const float* values, std::size_t count) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < count; ++i) out.push_back(rounded(values[i]));
  return out;
}

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

// "image/png; foo" -> "image/png", lower case.
std::string media_type(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  type.erase(std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }), type.end());
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return type;
}

}  // namespace

ApiReply api_error(int status, const std::string& message) { return {status, {{"error", message}}}; }

std::string reply_text(const ApiReply& reply) {
  return reply.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json describe_model(const ModelFile& model, const std::string& name) {
  const NetworkSpec& spec = model.spec;
  long long parameters = 0;
  for (const auto& p : model.params) parameters += p.size();
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t l = 0; l + 1 < spec.sizes.size(); ++l) {
    layers.push_back({{"kind", "dense"}, {"inputs", spec.sizes[l]}, {"outputs", spec.sizes[l + 1]}});
    if (l + 2 < spec.sizes.size())
      layers.push_back({{"kind", "activation"}, {"name", activation_name(spec.activations[l])}, {"size", spec.sizes[l + 1]}});
  }
  layers.push_back({{"kind", "head"}, {"name", head_name(spec.head)}, {"size", spec.sizes.back()}});
  nlohmann::json activations = nlohmann::json::array();
  for (Activation a : spec.activations) activations.push_back(activation_name(a));
  return {{"name", name},
          {"description", spec.describe()},
          {"sizes", spec.sizes},
          {"activations", activations},
          {"head", head_name(spec.head)},
          {"dtype", model.is_double ? "f64" : "f32"},
          {"parameters", parameters},
          {"layers", layers}};
}

PredictApi::PredictApi(const ModelFile& model, std::string name)
    : model_json_(describe_model(model, name)),
      softmax_head_(model.spec.head == HeadKind::softmax_cross_entropy),
      network_(make_inference_network<float>(model)),
      x_(kPixels, 1) {
  if (model.spec.sizes.front() != kPixels)
    throw file_error(name, "the model takes " + std::to_string(model.spec.sizes.front()) +
                               " inputs; drawing needs a 28x28 = 784-input model");
  const auto& layers = network_.layers();
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (dynamic_cast<const ActivationLayer<float>*>(layers[i].get())) hidden_.push_back(i);
}

namespace {

// An application/octet-stream body that is not a PNG: 784 uint8 or 784 float32 values.
std::string read_binary(const std::string& body, float* out) {
  if (body.size() == kPixels) {
    for (int i = 0; i < kPixels; ++i) out[i] = static_cast<unsigned char>(body[i]) / 255.0f;
    return "";
  }
  if (body.size() != kPixels * sizeof(float))
    return "an application/octet-stream body is a PNG, 784 bytes (uint8 pixels) or 3136 bytes (784 float32, "
           "little-endian); got " + std::to_string(body.size()) + " bytes";
  for (int i = 0; i < kPixels; ++i) {
    std::uint32_t bits = 0;  // little-endian whatever the host's order
    for (int b = 3; b >= 0; --b) bits = bits << 8 | static_cast<unsigned char>(body[4 * i + b]);
    float value;
    std::memcpy(&value, &bits, sizeof value);
    if (!std::isfinite(value) || value < 0 || value > 1)
      return "float32 value " + std::to_string(i) + " = " + std::to_string(value) + " is outside 0..1";
    out[i] = value;
  }
  return "";
}

}  // namespace

ApiReply PredictApi::predict(const std::string& body, const std::string& content_type, bool detail) {
  try {
    const std::string type = media_type(content_type);
    const bool binary = type == "application/octet-stream";
    if (type == "image/png" || (binary && starts_with(body, "\x89PNG"))) {
      GrayImage image;
      try {
        image = decode_png(body, "body");
      } catch (const Error& e) {
        return api_error(400, e.what());
      }
      const std::array<float, kPixels> input = to_mnist_input(image);
      return predict_inputs(input.data(), 1, detail, false);
    }
    if (binary) {
      std::array<float, kPixels> input{};
      if (const std::string error = read_binary(body, input.data()); !error.empty()) return api_error(400, error);
      return predict_inputs(input.data(), 1, detail, false);
    }
    if (!type.empty() && type != "application/json" && type != "text/plain")
      return api_error(400, "unsupported Content-Type '" + type +
                                "': send application/json, image/png or application/octet-stream");

    PredictJson request;
    if (const std::string error = parse_predict_json(body, kPixels, kMaxBatchRows, request); !error.empty())
      return api_error(400, error);
    for (std::size_t r = 0; r < request.rows && request.preprocess; ++r) {
      float* input = request.values.data() + r * kPixels;
      const auto centred = to_mnist_input(GrayImage{28, 28, std::vector<float>(input, input + kPixels)});
      std::copy(centred.begin(), centred.end(), input);
    }
    return predict_inputs(request.values.data(), request.rows, detail || request.detail, request.batch);
  } catch (const std::exception& e) {  // e.g. bad_alloc: still an answer, never a crash
    return api_error(500, std::string("internal error: ") + e.what());
  }
}

ApiReply PredictApi::predict_inputs(const float* inputs, std::size_t count, bool detail, bool batch) {
  // Under the lock only the forward pass and copies of what the answer needs (the layers
  // cache their outputs); the JSON is built after.
  Matrix<float> scores;
  std::vector<Matrix<float>> hidden;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    x_.resize(kPixels, static_cast<Eigen::Index>(count));
    std::copy(inputs, inputs + count * kPixels, x_.data());
    scores = network_.predict(x_);  // (classes, count)
    if (detail)
      for (std::size_t i : hidden_) hidden.push_back(network_.layer_output(i));  // (n_hidden, count)
  }
  const int classes = static_cast<int>(scores.rows());
  nlohmann::json predictions = nlohmann::json::array();
  for (std::size_t r = 0; r < count; ++r) {
    const float* row = scores.data() + r * classes;
    std::vector<float> probabilities(row, row + classes);
    if (!softmax_head_) {  // mse: raw outputs; clip at 0 and normalise so the bars still sum to 1
      for (float& p : probabilities) p = std::max(p, 0.0f);
      const float sum = std::accumulate(probabilities.begin(), probabilities.end(), 0.0f);
      for (float& p : probabilities) p = sum > 0 ? p / sum : 1.0f / classes;
    }
    const int best =
        static_cast<int>(std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin());
    nlohmann::json out = {{"class", best}, {"probabilities", rounded_array(probabilities.data(), probabilities.size())}};
    if (!softmax_head_) out["scores"] = rounded_array(row, static_cast<std::size_t>(classes));
    if (detail) {
      nlohmann::json hidden_layers = nlohmann::json::array();
      for (const Matrix<float>& h : hidden)
        hidden_layers.push_back(rounded_array(h.data() + r * h.rows(), static_cast<std::size_t>(h.rows())));
      out["hidden"] = hidden_layers.empty() ? nlohmann::json::array() : hidden_layers[0];
      out["hidden_layers"] = std::move(hidden_layers);
      out["input"] = rounded_array(inputs + r * kPixels, kPixels);
    }
    if (!batch) return {200, std::move(out)};
    predictions.push_back(std::move(out));
  }
  return {200, {{"predictions", std::move(predictions)}}};
}

}  // namespace backprop::web
