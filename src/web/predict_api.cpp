// POST /api/predict and GET /api/model: request in, status and JSON out. The checks run in
// the order a person's mistakes are likely (wrong type, wrong count, wrong range) and the
// error says which value is wrong.
#include "backprop/web/predict_api.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>

#include "backprop/error.hpp"
#include "backprop/nn/layers.hpp"
#include "backprop/data/preprocess.hpp"

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

ApiReply PredictApi::predict(const std::string& body, const std::string& content_type) {
  try {
    const std::string type = media_type(content_type);
    const bool png = type == "image/png" ||
                     (type == "application/octet-stream" && starts_with(body, "\x89PNG"));
    if (png) {
      GrayImage image;
      try {
        image = decode_png(body, "body");
      } catch (const Error& e) {
        return api_error(400, e.what());
      }
      const std::array<float, kPixels> input = to_mnist_input(image);
      return predict_input(input.data());
    }
    if (!type.empty() && type != "application/json" && type != "text/plain")
      return api_error(400, "unsupported Content-Type '" + type + "': send application/json or image/png");

    nlohmann::json request;
    try {
      request = nlohmann::json::parse(body);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
      return api_error(400, std::string("body is not valid JSON (") + e.what() + ")");
    }
    if (!request.is_object()) return api_error(400, "body must be a JSON object {\"pixels\": [784 numbers]}");
    const auto pixels = request.find("pixels");
    if (pixels == request.end()) return api_error(400, "missing \"pixels\" (784 numbers in 0..1, row by row)");
    if (!pixels->is_array()) return api_error(400, "\"pixels\" must be an array of 784 numbers");
    if (pixels->size() != kPixels)
      return api_error(400, "\"pixels\" has " + std::to_string(pixels->size()) + " values; expected 784 (28x28)");
    bool preprocess = false;
    if (const auto flag = request.find("preprocess"); flag != request.end()) {
      if (!flag->is_boolean()) return api_error(400, "\"preprocess\" must be true or false");
      preprocess = flag->get<bool>();
    }
    std::array<float, kPixels> input{};
    for (int i = 0; i < kPixels; ++i) {
      const nlohmann::json& v = (*pixels)[i];
      if (!v.is_number()) return api_error(400, "pixels[" + std::to_string(i) + "] is not a number");
      const double value = v.get<double>();
      if (!std::isfinite(value) || value < 0 || value > 1)
        return api_error(400, "pixels[" + std::to_string(i) + "] = " + v.dump() + " is outside 0..1");
      input[i] = static_cast<float>(value);
    }
    if (preprocess) input = to_mnist_input(GrayImage{28, 28, std::vector<float>(input.begin(), input.end())});
    return predict_input(input.data());
  } catch (const std::exception& e) {  // e.g. bad_alloc: still an answer, never a crash
    return api_error(500, std::string("internal error: ") + e.what());
  }
}

ApiReply PredictApi::predict_input(const float* input) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::copy(input, input + kPixels, x_.data());
  const Matrix<float>& scores = network_.predict(x_);  // (classes, 1)
  const int classes = static_cast<int>(scores.rows());
  std::vector<float> probabilities(scores.data(), scores.data() + classes);
  if (!softmax_head_) {  // mse: raw outputs; clip at 0 and normalise so the bars still sum to 1
    for (float& p : probabilities) p = std::max(p, 0.0f);
    const float sum = std::accumulate(probabilities.begin(), probabilities.end(), 0.0f);
    for (float& p : probabilities) p = sum > 0 ? p / sum : 1.0f / classes;
  }
  const int best = static_cast<int>(std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin());
  nlohmann::json hidden_layers = nlohmann::json::array();
  for (std::size_t i : hidden_) {
    const Matrix<float>& h = network_.layer_output(i);  // (n_hidden, 1)
    hidden_layers.push_back(rounded_array(h.data(), static_cast<std::size_t>(h.rows())));
  }
  nlohmann::json out = {{"class", best},
                        {"probabilities", rounded_array(probabilities.data(), probabilities.size())},
                        {"hidden", hidden_layers.empty() ? nlohmann::json::array() : hidden_layers[0]},
                        {"hidden_layers", hidden_layers},
                        {"input", rounded_array(input, kPixels)}};
  if (!softmax_head_) out["scores"] = rounded_array(scores.data(), static_cast<std::size_t>(classes));
  return {200, std::move(out)};
}

}  // namespace backprop::web
