// The JSON API of `backprop serve` as plain functions of a request's body and content type,
// so that tests (and a fuzzer) call them without a socket. docs/api.md specifies it.
//
// Every answer is a status and a JSON body; every client mistake (malformed JSON, a wrong
// pixel count, values outside 0..1, a body that is not a PNG) is 400 {"error": "..."}.
// Nothing a request contains can throw out of these functions.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "backprop/io/model_file.hpp"
#include "backprop/nn/network.hpp"

namespace backprop::web {

struct ApiReply {
  int status = 200;
  nlohmann::json body;
};

ApiReply api_error(int status, const std::string& message);  // {"error": message}

// The reply's body as the server sends it. An error message may quote the request's bytes
// (JSON parse errors do), which need not be UTF-8: they become U+FFFD, where a plain dump()
// would throw.
std::string reply_text(const ApiReply& reply);

// Bodies larger than this get 413 before any handler sees them (a drawing's PNG is ~10 kB,
// a JSON of 784 numbers ~20 kB).
constexpr std::size_t kMaxRequestBytes = 1 << 20;

// The most rows one batch request {"rows": [...]} may hold (one forward pass for all).
constexpr std::size_t kMaxBatchRows = 1000;

// The model description of GET /api/model: sizes, activations, head, parameter count, and its
// data: "task" (classification | regression), "features", "classes" (names), "outputs",
// "image" (whether it takes a 28x28 picture: pixels, PNG and the draw page), "scaling".
nlohmann::json describe_model(const ModelFile& model, const std::string& name);

// Whether the model takes a 28x28 image (MNIST's shape).
bool takes_mnist_image(const ModelFile& model);

class PredictApi {
 public:
  // Any model; pixels, PNG and octet-stream bodies only for a 28x28 image model.
  PredictApi(const ModelFile& model, std::string name);

  // POST /api/predict. body is {"pixels": [784 numbers in 0..1], "preprocess": false} or
  // {"rows": [[784 numbers], ...]} (at most kMaxBatchRows, one forward pass) with Content-Type
  // application/json; PNG bytes with image/png (always preprocessed as MNIST was made); or
  // application/octet-stream: a PNG, 784 bytes (uint8 0..255) or 3136 bytes (784 float32,
  // little-endian, 0..1). Answers {"class", "probabilities"} ({"predictions": [...]} of those
  // for rows); with detail (the query's ?detail=1, or "detail": true in the JSON) also
  // "hidden", "hidden_layers" and "input". Any model also takes {"features": [n numbers]} (a
  // row as in the training file, scaled here by the model's scaling) or {"features": [[...],
  // ...]} (a batch). Every class answer also has "class_name"; a regression model answers
  // {"prediction": [values in the targets' units]} instead of class and probabilities.
  // Thread-safe (one forward pass at a time).
  ApiReply predict(const std::string& body, const std::string& content_type, bool detail = false);

  // GET /api/model.
  ApiReply model() const { return {200, model_json_}; }

 private:
  // Answers for count network inputs of width features each, laid out one after another;
  // pictures (784 values in 0..1 per input, or nullptr) are echoed back with detail.
  ApiReply predict_inputs(const float* inputs, std::size_t count, bool detail, bool batch, const float* pictures);
  // 784 pixels in 0..1 per image -> network inputs (the model's scaling of p * 255).
  void scale_pixels(const float* pixels, std::size_t count, float* inputs) const;
  ApiReply predict_features(const nlohmann::json& features, bool detail);

  nlohmann::json model_json_;
  bool softmax_head_, image_;
  DataSchema data_;
  std::mutex mutex_;  // guards network_ and x_: a forward pass caches into the layers
  Network<float> network_;
  Matrix<float> x_;                    // (features, count)
  std::vector<std::size_t> hidden_;    // indices into network_.layers() of activation layers
};

}  // namespace backprop::web
