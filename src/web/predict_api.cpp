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
  const DataSchema& d = model.data;
  return {{"name", name},
          {"description", spec.describe()},
          {"task", d.classes.empty() ? "regression" : "classification"},
          {"features", d.features},
          {"classes", d.classes},
          {"outputs", spec.sizes.back()},
          {"image", takes_mnist_image(model)},
          {"scaling", scale_kind_name(d.scaling.kind)},
          {"sizes", spec.sizes},
          {"activations", activations},
          {"head", head_name(spec.head)},
          {"dtype", model.is_double ? "f64" : "f32"},
          {"parameters", parameters},
          {"layers", layers}};
}

bool takes_mnist_image(const ModelFile& model) {
  const DataSchema& d = model.data;
  return d.features == kPixels && d.rows == 28 && d.cols == 28;
}

PredictApi::PredictApi(const ModelFile& model, std::string name)
    : model_json_(describe_model(model, name)),
      softmax_head_(model.spec.head == HeadKind::softmax_cross_entropy),
      image_(takes_mnist_image(model)),
      data_(model.data),
      network_(make_inference_network<float>(model)),
      x_(model.spec.sizes.front(), 1) {
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
    if (!image_ && (binary || type == "image/png"))
      return api_error(400, "this model takes " + std::to_string(data_.features) +
                                " features, not an image: send {\"features\": [...]} as application/json");
    if (type == "image/png" || (binary && starts_with(body, "\x89PNG"))) {
      GrayImage image;
      try {
        image = decode_png(body, "body");
      } catch (const Error& e) {
        return api_error(400, e.what());
      }
      const std::array<float, kPixels> input = to_mnist_input(image);
      std::array<float, kPixels> scaled;
      scale_pixels(input.data(), 1, scaled.data());
      return predict_inputs(scaled.data(), 1, detail, false, input.data());
    }
    if (binary) {
      std::array<float, kPixels> input{};
      if (const std::string error = read_binary(body, input.data()); !error.empty()) return api_error(400, error);
      std::array<float, kPixels> scaled;
      scale_pixels(input.data(), 1, scaled.data());
      return predict_inputs(scaled.data(), 1, detail, false, input.data());
    }
    if (!type.empty() && type != "application/json" && type != "text/plain")
      return api_error(400, "unsupported Content-Type '" + type +
                                "': send application/json, image/png or application/octet-stream");

    // {"features": [...]}, any model's row, is read as a document (rows of a table are short);
    // pixels keep the one-pass reader of predict_json.hpp.
    if (!image_ || body.find("\"features\"") != std::string::npos) {
      nlohmann::json request;
      try {
        request = nlohmann::json::parse(body);
      } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
        return api_error(400, std::string("body is not valid JSON (") + e.what() + ")");
      }
      if (!request.is_object())
        return api_error(400, "body must be a JSON object {\"features\": [" + std::to_string(data_.features) + " numbers]}");
      if (const auto flag = request.find("detail"); flag != request.end()) {
        if (!flag->is_boolean()) return api_error(400, "\"detail\" must be true or false");
        detail = detail || flag->get<bool>();
      }
      if (const auto features = request.find("features"); features != request.end())
        return predict_features(*features, detail);
      if (!image_)
        return api_error(400, "missing \"features\" (" + std::to_string(data_.features) +
                                  " numbers, a row as in the training data); \"pixels\" and \"rows\" are for 28x28 image models");
    }
    PredictJson request;
    if (const std::string error = parse_predict_json(body, kPixels, kMaxBatchRows, request); !error.empty())
      return api_error(400, error);
    for (std::size_t r = 0; r < request.rows && request.preprocess; ++r) {
      float* input = request.values.data() + r * kPixels;
      const auto centred = to_mnist_input(GrayImage{28, 28, std::vector<float>(input, input + kPixels)});
      std::copy(centred.begin(), centred.end(), input);
    }
    std::vector<float> scaled(request.rows * kPixels);
    scale_pixels(request.values.data(), request.rows, scaled.data());
    return predict_inputs(scaled.data(), request.rows, detail || request.detail, request.batch, request.values.data());
  } catch (const std::exception& e) {  // e.g. bad_alloc: still an answer, never a crash
    return api_error(500, std::string("internal error: ") + e.what());
  }
}

void PredictApi::scale_pixels(const float* pixels, std::size_t count, float* inputs) const {
  // Pixels in 0..1 are p / 255, a unit-scaled model's inputs as they are; any other scaling
  // is applied to the bytes' values p * 255, as in training.
  if (data_.scaling.kind == ScaleKind::unit) {
    std::copy(pixels, pixels + count * kPixels, inputs);
    return;
  }
  std::array<float, kPixels> raw;
  for (std::size_t r = 0; r < count; ++r) {
    for (int i = 0; i < kPixels; ++i) raw[i] = 255.0f * pixels[r * kPixels + i];
    data_.scaling.apply(raw.data(), raw.size(), inputs + r * kPixels);
  }
}

ApiReply PredictApi::predict_features(const nlohmann::json& features, bool detail) {
  const std::size_t n = data_.features;
  const bool batch = features.is_array() && !features.empty() && features[0].is_array();
  if (!features.is_array() || features.empty())
    return api_error(400, "\"features\" must be an array of " + std::to_string(n) + " numbers (or a list of such rows)");
  if (batch && features.size() > kMaxBatchRows)
    return api_error(400, "\"features\" has " + std::to_string(features.size()) + " rows; at most " +
                              std::to_string(kMaxBatchRows) + " per request");
  const std::size_t count = batch ? features.size() : 1;
  std::vector<float> raw(n), inputs(count * n);
  for (std::size_t r = 0; r < count; ++r) {
    const nlohmann::json& row = batch ? features[r] : features;
    const std::string name = batch ? "features[" + std::to_string(r) + "]" : "features";
    if (!row.is_array()) return api_error(400, name + " must be an array of " + std::to_string(n) + " numbers");
    if (row.size() != n)
      return api_error(400, "\"" + name + "\" has " + std::to_string(row.size()) + " values; the model takes " +
                                std::to_string(n));
    for (std::size_t i = 0; i < n; ++i) {
      const nlohmann::json& v = row[i];
      if (!v.is_number()) return api_error(400, name + "[" + std::to_string(i) + "] is not a number");
      const double value = v.get<double>();
      if (!std::isfinite(value) || std::fabs(value) > 3.4e38)
        return api_error(400, name + "[" + std::to_string(i) + "] = " + v.dump() + " is not a finite float32");
      raw[i] = static_cast<float>(value);
    }
    data_.scaling.apply(raw.data(), n, inputs.data() + r * n);  // as in training (dataset.hpp)
  }
  return predict_inputs(inputs.data(), count, detail, batch, nullptr);
}

ApiReply PredictApi::predict_inputs(const float* inputs, std::size_t count, bool detail, bool batch,
                                    const float* pictures) {
  // Under the lock only the forward pass and copies of what the answer needs (the layers
  // cache their outputs); the JSON is built after.
  Matrix<float> scores;
  std::vector<Matrix<float>> hidden;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::size_t width = static_cast<std::size_t>(x_.rows());
    x_.resize(x_.rows(), static_cast<Eigen::Index>(count));
    std::copy(inputs, inputs + count * width, x_.data());
    scores = network_.predict(x_);  // (classes, count)
    if (detail)
      for (std::size_t i : hidden_) hidden.push_back(network_.layer_output(i));  // (n_hidden, count)
  }
  const int classes = static_cast<int>(scores.rows());
  nlohmann::json predictions = nlohmann::json::array();
  for (std::size_t r = 0; r < count; ++r) {
    const float* row = scores.data() + r * classes;
    nlohmann::json out;
    if (data_.classes.empty()) {  // regression: the standardised outputs back in the targets' units
      nlohmann::json prediction = nlohmann::json::array();
      for (int k = 0; k < classes; ++k) {
        const std::size_t u = static_cast<std::size_t>(k);
        const double mean = u < data_.target_mean.size() ? data_.target_mean[u] : 0.0;
        const double dev = u < data_.target_deviation.size() ? data_.target_deviation[u] : 1.0;
        prediction.push_back(double(row[k]) * dev + mean);
      }
      out = {{"prediction", prediction}};
    }
    std::vector<float> probabilities(row, row + classes);
    if (!softmax_head_) {  // mse: raw outputs; clip at 0 and normalise so the bars still sum to 1
      for (float& p : probabilities) p = std::max(p, 0.0f);
      const float sum = std::accumulate(probabilities.begin(), probabilities.end(), 0.0f);
      for (float& p : probabilities) p = sum > 0 ? p / sum : 1.0f / classes;
    }
    const int best =
        static_cast<int>(std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin());
    if (!data_.classes.empty()) {
      out = {{"class", best},
             {"class_name", static_cast<std::size_t>(best) < data_.classes.size() ? data_.classes[best] : std::to_string(best)},
             {"probabilities", rounded_array(probabilities.data(), probabilities.size())}};
      if (!softmax_head_) out["scores"] = rounded_array(row, static_cast<std::size_t>(classes));
    }
    if (detail) {
      nlohmann::json hidden_layers = nlohmann::json::array();
      for (const Matrix<float>& h : hidden)
        hidden_layers.push_back(rounded_array(h.data() + r * h.rows(), static_cast<std::size_t>(h.rows())));
      out["hidden"] = hidden_layers.empty() ? nlohmann::json::array() : hidden_layers[0];
      out["hidden_layers"] = std::move(hidden_layers);
      if (pictures) out["input"] = rounded_array(pictures + r * kPixels, kPixels);
    }
    if (!batch) return {200, std::move(out)};
    predictions.push_back(std::move(out));
  }
  return {200, {{"predictions", std::move(predictions)}}};
}

}  // namespace backprop::web
