// The JSON body of POST /api/predict (private to src/web/), parsed with simdjson: under load
// the JSON was the server's largest cost (nlohmann's tree, then its SAX lexer, over half of
// the server's CPU at 64 connections; docs/web.md). The checks and messages are docs/api.md's.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace backprop::web {

struct PredictJson {
  std::vector<float> values;  // rows x 784, row by row
  std::size_t rows = 0;
  bool batch = false;         // {"rows": [...]} rather than {"pixels": [...]}
  bool preprocess = false;
  bool detail = false;
};

// Fills out from body; returns "" or the 400's message (a syntax error comes first, then the
// first value that is wrong, as "pixels[5] = 1.5 is outside 0..1" or "rows[2][7] is not a number").
// Keys other than pixels, rows, preprocess and detail are ignored.
std::string parse_predict_json(const std::string& body, std::size_t pixels, std::size_t max_rows, PredictJson& out);

}  // namespace backprop::web
