// The JSON API of `backprop serve` called as plain functions (no socket): a valid request
// answers what the network computes; every kind of bad request is a 400 with a JSON error;
// the run page's data and the self-contained report. test_serve_http.cpp does the same
// over HTTP.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "backprop/error.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/data/preprocess.hpp"
#include "backprop/web/predict_api.hpp"
#include "backprop/web/run_page.hpp"
#include "test_serve_util.hpp"

namespace fs = std::filesystem;
using namespace backprop;
using backprop::web::PredictApi;
using nlohmann::json;

namespace {

std::string pixels_body(const std::vector<double>& pixels) { return json{{"pixels", pixels}}.dump(); }

struct ServeApiTest : ::testing::Test {
  serve_test::TempDir dir;
  ModelFile model = serve_test::small_model(dir.path / "small.model");
  PredictApi api{model, "small.model"};

  void expect_400(const std::string& body, const std::string& content_type, const std::string& fragment) {
    const web::ApiReply reply = api.predict(body, content_type);
    EXPECT_EQ(reply.status, 400) << body.substr(0, 80);
    ASSERT_TRUE(reply.body.contains("error")) << reply.body.dump();
    EXPECT_NE(reply.body["error"].get<std::string>().find(fragment), std::string::npos)
        << "error '" << reply.body["error"] << "' lacks '" << fragment << "'";
  }
};

}  // namespace

TEST_F(ServeApiTest, PredictAnswersWhatTheNetworkComputes) {
  std::vector<double> pixels(784);
  for (int i = 0; i < 784; ++i) pixels[i] = (i % 29) / 28.0;
  const web::ApiReply reply = api.predict(pixels_body(pixels), "application/json", true);
  ASSERT_EQ(reply.status, 200) << reply.body.dump();

  Network<float> network = make_inference_network<float>(model);
  Matrix<float> x(784, 1);
  for (int i = 0; i < 784; ++i) x(i, 0) = static_cast<float>(pixels[i]);
  const Matrix<float> expected = network.predict(x);
  Eigen::Index best = 0;
  expected.col(0).maxCoeff(&best);
  EXPECT_EQ(reply.body["class"], best);
  ASSERT_EQ(reply.body["probabilities"].size(), 10u);
  double sum = 0;
  for (int k = 0; k < 10; ++k) {
    EXPECT_NEAR(reply.body["probabilities"][k].get<double>(), expected(k, 0), 1e-6);
    sum += reply.body["probabilities"][k].get<double>();
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
  ASSERT_EQ(reply.body["hidden"].size(), 16u);  // the first hidden layer's h = sigmoid(z)
  for (const auto& h : reply.body["hidden"]) EXPECT_TRUE(h.get<double>() > 0 && h.get<double>() < 1);
  ASSERT_EQ(reply.body["hidden_layers"].size(), 1u);
  ASSERT_EQ(reply.body["input"].size(), 784u);
  for (int i = 0; i < 784; ++i) EXPECT_NEAR(reply.body["input"][i].get<double>(), pixels[i], 1e-6);
}

TEST_F(ServeApiTest, DetailIsOnlySentWhenAskedFor) {
  const std::string body = pixels_body(std::vector<double>(784, 0.5));
  const json plain = api.predict(body, "application/json").body;
  EXPECT_EQ(plain.size(), 3u) << plain.dump();  // class, class_name and probabilities
  EXPECT_TRUE(plain.contains("class") && plain.contains("probabilities"));
  const json asked = api.predict(json{{"pixels", std::vector<double>(784, 0.5)}, {"detail", true}}.dump(), "").body;
  EXPECT_EQ(asked["hidden"].size(), 16u);
  EXPECT_EQ(asked["input"].size(), 784u);
  EXPECT_EQ(asked["probabilities"], plain["probabilities"]);
  EXPECT_EQ(api.predict(body, "application/json", true).body, asked);  // ?detail=1
}

TEST_F(ServeApiTest, BinaryBodiesAreUint8OrFloat32) {
  std::vector<double> pixels(784);
  std::string bytes(784, '\0'), floats(784 * 4, '\0');
  for (int i = 0; i < 784; ++i) {
    bytes[i] = static_cast<char>(i % 256);
    pixels[i] = (i % 256) / 255.0;
    const float value = static_cast<float>(pixels[i]);
    std::uint32_t bits;
    std::memcpy(&bits, &value, 4);
    for (int b = 0; b < 4; ++b) floats[4 * i + b] = static_cast<char>(bits >> (8 * b));  // little-endian
  }
  const json expected = api.predict(pixels_body(pixels), "application/json", true).body;
  for (const std::string& body : {bytes, floats}) {
    const web::ApiReply reply = api.predict(body, "application/octet-stream", true);
    ASSERT_EQ(reply.status, 200) << reply.body.dump();
    EXPECT_EQ(reply.body["class"], expected["class"]);
    for (int k = 0; k < 10; ++k)
      EXPECT_NEAR(reply.body["probabilities"][k].get<double>(), expected["probabilities"][k].get<double>(), 2e-6);
    EXPECT_NEAR(reply.body["input"][300].get<double>(), pixels[300], 1e-6);
  }
  expect_400(bytes.substr(1), "application/octet-stream", "got 783 bytes");
  std::string nan = floats;
  const std::uint32_t nan_bits = 0x7fc00000;
  for (int b = 0; b < 4; ++b) nan[4 * 7 + b] = static_cast<char>(nan_bits >> (8 * b));
  expect_400(nan, "application/octet-stream", "float32 value 7");
}

TEST_F(ServeApiTest, RowsAreAnsweredInOneBatch) {
  std::vector<std::vector<double>> rows;
  for (int r = 0; r < 5; ++r) {
    std::vector<double> row(784);
    for (int i = 0; i < 784; ++i) row[i] = ((i * (r + 3)) % 17) / 16.0;
    rows.push_back(row);
  }
  const web::ApiReply reply = api.predict(json{{"rows", rows}}.dump(), "application/json");
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  ASSERT_EQ(reply.body["predictions"].size(), 5u);
  for (int r = 0; r < 5; ++r) {  // each row as if it had been sent alone
    const json alone = api.predict(pixels_body(rows[r]), "application/json").body;
    EXPECT_EQ(reply.body["predictions"][r]["class"], alone["class"]);
    for (int k = 0; k < 10; ++k)
      EXPECT_NEAR(reply.body["predictions"][r]["probabilities"][k].get<double>(),
                  alone["probabilities"][k].get<double>(), 2e-6);
  }
  const json detailed = api.predict(json{{"rows", rows}, {"detail", true}}.dump(), "").body;
  EXPECT_EQ(detailed["predictions"][4]["input"][5], rows[4][5]);
  EXPECT_EQ(detailed["predictions"][4]["hidden"].size(), 16u);
  rows[3][9] = 1.5;
  expect_400(json{{"rows", rows}}.dump(), "application/json", "rows[3][9] = 1.5 is outside 0..1");
  expect_400(json{{"rows", json::array()}}.dump(), "application/json", "non-empty array");
  expect_400(json{{"rows", std::vector<std::vector<double>>(web::kMaxBatchRows + 1, std::vector<double>(784))}}.dump(),
             "application/json", "\"rows\" has 1001 images; at most 1000 per request");
  expect_400(json{{"rows", {std::vector<double>(3)}}}.dump(), "application/json", "\"rows[0]\" has 3 values");
  expect_400(json{{"rows", {7}}}.dump(), "application/json", "\"rows[0]\" must be an array of 784 numbers");
  expect_400(json{{"rows", {rows[0]}}, {"pixels", rows[0]}}.dump(), "application/json", "not both");
  expect_400(json{{"rows", {rows[0], {{"a", 1}}}}}.dump(), "application/json", "\"rows[1]\" must be an array");
}

TEST_F(ServeApiTest, PreprocessFlagCentresTheDigit) {
  std::vector<double> pixels(784, 0.0);
  for (int y = 0; y < 10; ++y) pixels[y * 28 + 2] = 1.0;  // a short bar in the top-left corner
  const web::ApiReply reply =
      api.predict(json{{"pixels", pixels}, {"preprocess", true}, {"detail", true}}.dump(), "application/json");
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  int rows_with_ink = 0;
  for (int y = 0; y < 28; ++y) {
    bool ink = false;
    for (int x = 0; x < 28; ++x) ink |= reply.body["input"][y * 28 + x].get<double>() > 0.01;
    rows_with_ink += ink;
  }
  EXPECT_EQ(rows_with_ink, 20);  // scaled to fit 20x20
  EXPECT_EQ(reply.body["input"][2 * 28 + 2], 0.0);  // moved away from the corner
}

TEST_F(ServeApiTest, PngBodiesArePreprocessed) {
  std::vector<std::uint8_t> gray(100 * 100, 255);  // black ink on white paper
  for (int y = 10; y < 90; ++y)
    for (int x = 70; x < 78; ++x) gray[y * 100 + x] = 0;
  const std::string png = encode_png(100, 100, gray);
  for (const char* type : {"image/png", "IMAGE/PNG; charset=binary", "application/octet-stream"}) {
    const web::ApiReply reply = api.predict(png, type, true);
    ASSERT_EQ(reply.status, 200) << type << ": " << reply.body.dump();
    double peak = 0;
    for (const auto& v : reply.body["input"]) peak = std::max(peak, v.get<double>());
    EXPECT_DOUBLE_EQ(peak, 1.0);
    EXPECT_EQ(reply.body["input"][0], 0.0);  // inverted: the paper is black
  }
}

TEST_F(ServeApiTest, MalformedJsonIs400) {
  expect_400("{\"pixels\": [0, 0,", "application/json", "not valid JSON");
  expect_400("", "application/json", "not valid JSON");
  expect_400("pixels=1", "", "not valid JSON");
  expect_400(std::string(100000, '['), "application/json", "not valid JSON");  // deep nesting
  expect_400("[0, 1]", "application/json", "must be a JSON object");
  expect_400("7", "application/json", "must be a JSON object");
  // Other keys are ignored, whatever they hold.
  std::string zeros = "0";
  for (int i = 1; i < 784; ++i) zeros += ",0";
  EXPECT_EQ(api.predict("{\"x\": {\"pixels\": [1, [2]], \"y\": [[3]]}, \"pixels\": [" + zeros + "]}", "").status, 200);
  expect_400("{\"pixels\": [" + zeros + "], \"pixels\": [" + zeros + "]}", "", "\"pixels\" given twice");
  expect_400("{\"image\": []}", "application/json", "missing \"pixels\"");
  expect_400(json{{"pixels", std::vector<double>(784)}, {"detail", 1}}.dump(), "application/json",
             "\"detail\" must be true or false");
  expect_400("{\"pixels\": \"0,1\"}", "application/json", "must be an array");
  expect_400(json{{"pixels", std::vector<double>(784)}, {"preprocess", "yes"}}.dump(), "application/json",
             "\"preprocess\" must be true or false");
}

TEST_F(ServeApiTest, WrongPixelCountsAre400) {
  expect_400(pixels_body({}), "application/json", "has 0 values; expected 784");
  expect_400(pixels_body(std::vector<double>(783)), "application/json", "has 783 values; expected 784");
  expect_400(pixels_body(std::vector<double>(785)), "application/json", "has 785 values");
  expect_400(pixels_body(std::vector<double>(28 * 28 * 3)), "application/json", "has 2352 values");
}

TEST_F(ServeApiTest, OutOfRangeAndNonNumericPixelsAre400) {
  for (const auto& [value, where] : std::vector<std::pair<std::string, std::string>>{
           {"-0.001", "pixels[5] = -0.001"}, {"1.5", "pixels[5] = 1.5"}, {"255", "pixels[5] = 255"},
           {"\"0.5\"", "pixels[5] is not a number"}, {"true", "pixels[5] is not a number"},
           {"null", "pixels[5] is not a number"}, {"[0]", "pixels[5] is not a number"}}) {
    std::string body = "{\"pixels\": [0,0,0,0,0," + value;
    for (int i = 6; i < 784; ++i) body += ",0";
    body += "]}";
    expect_400(body, "application/json", where);
  }
  // 1e400 does not fit a double: either the parser or the range check refuses it.
  std::string huge = "{\"pixels\": [1e400";
  for (int i = 1; i < 784; ++i) huge += ",0";
  EXPECT_EQ(api.predict(huge + "]}", "application/json").status, 400);
}

TEST_F(ServeApiTest, NonPngBodiesAre400) {
  expect_400("GIF89a\x01\x00\x01\x00", "image/png", "body: not a PNG file");
  expect_400(pixels_body(std::vector<double>(784)), "image/png", "not a PNG file");
  const std::string png = encode_png(20, 20, std::vector<std::uint8_t>(400, 0));
  expect_400(png.substr(0, png.size() - 20), "image/png", "damaged PNG");
  expect_400(png.substr(0, 8), "image/png", "damaged PNG");
  expect_400("\xff\xd8\xff\xe0 JFIF", "image/jpeg", "unsupported Content-Type 'image/jpeg'");
  expect_400("a=1", "application/x-www-form-urlencoded", "unsupported Content-Type");
  expect_400("--x\r\n\r\n--x--", "multipart/form-data; boundary=x", "unsupported Content-Type 'multipart/form-data'");
}

TEST_F(ServeApiTest, ModelDescribesTheArchitecture) {
  const json model_json = api.model().body;
  EXPECT_EQ(model_json["sizes"], json({784, 16, 10}));
  EXPECT_EQ(model_json["activations"], json({"sigmoid"}));
  EXPECT_EQ(model_json["head"], "softmax");
  EXPECT_EQ(model_json["parameters"], 784 * 16 + 16 + 16 * 10 + 10);
  EXPECT_EQ(model_json["description"], "784-16-10 sigmoid softmax");
  EXPECT_EQ(model_json["layers"].size(), 4u);  // dense, sigmoid, dense, head
}

// Models of other inputs (a table's): tests/test_predict_any_model.cpp.

TEST_F(ServeApiTest, MseHeadGivesNormalisedScores) {
  const ModelFile mse = serve_test::small_model(dir.path / "mse.model", {784, 8, 10}, HeadKind::mse);
  PredictApi mse_api(mse, "mse.model");
  const web::ApiReply reply = mse_api.predict(pixels_body(std::vector<double>(784, 0.3)), "application/json");
  ASSERT_EQ(reply.status, 200);
  double sum = 0;
  for (const auto& p : reply.body["probabilities"]) {
    EXPECT_GE(p.get<double>(), 0.0);
    sum += p.get<double>();
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_EQ(reply.body["scores"].size(), 10u);
}

TEST_F(ServeApiTest, RunDataHasEverySection) {
  const std::string metrics = (dir.path / "run.jsonl").string();
  std::ofstream(metrics) << "{\"epoch\":0,\"train_loss\":0.9,\"test_accuracy\":0.8,\"test_loss\":0.6}\n\n"
                         << "{\"epoch\":1,\"train_loss\":0.5,\"test_accuracy\":0.9,\"test_loss\":0.4}\n";
  const Mnist mnist = serve_test::tiny_mnist(30);
  web::RunInputs inputs;
  inputs.name = "run";
  inputs.metrics_path = metrics;
  inputs.model = &model;
  inputs.test = &mnist.test;
  inputs.samples = &mnist.train;
  const json data = web::build_run_data(inputs);
  ASSERT_EQ(data["metrics"].size(), 2u);
  EXPECT_EQ(data["metrics"][1]["test_accuracy"], 0.9);
  EXPECT_EQ(data["model"]["sizes"], json({784, 16, 10}));
  const json& evaluation = data["evaluation"];
  ASSERT_TRUE(evaluation.is_object());
  long total = 0, diagonal = 0;
  for (int t = 0; t < 10; ++t)
    for (int p = 0; p < 10; ++p) {
      total += evaluation["confusion"][t][p].get<long>();
      if (t == p) diagonal += evaluation["confusion"][t][p].get<long>();
    }
  EXPECT_EQ(total, 30);
  EXPECT_NEAR(evaluation["accuracy"].get<double>(), diagonal / 30.0, 1e-12);
  EXPECT_EQ(data["misclassified"].size(), static_cast<std::size_t>(30 - diagonal));
  for (const auto& m : data["misclassified"]) {
    EXPECT_NE(m["label"], m["predicted"]);
    EXPECT_EQ(m["image"].get<std::string>().rfind("data:image/png;base64,iVBORw0KGgo", 0), 0u);
  }
  EXPECT_EQ(data["weights"]["units"], 16);
  EXPECT_EQ(data["weights"]["images"].size(), 16u);
  EXPECT_EQ(data["samples"].size(), 30u);  // all of a 30-image training set
  EXPECT_TRUE(data["notes"].empty()) << data["notes"].dump();
}

TEST_F(ServeApiTest, RunDataSaysWhatIsMissing) {
  web::RunInputs inputs;
  inputs.name = "bare";
  inputs.data_note = "MNIST not found in /nowhere";
  const json data = web::build_run_data(inputs);
  EXPECT_TRUE(data["model"].is_null());
  EXPECT_TRUE(data["evaluation"].is_null());
  EXPECT_EQ(data["notes"].size(), 3u);  // no metrics, no model, no data
}

TEST_F(ServeApiTest, MetricsErrorsNameFileAndLine) {
  const std::string metrics = (dir.path / "bad.jsonl").string();
  std::ofstream(metrics) << "{\"epoch\":0}\n{\"epoch\":1,\n";
  try {
    web::read_metrics(metrics);
    FAIL() << "read a broken metrics file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2: not a JSON line"), std::string::npos) << e.what();
  }
  EXPECT_THROW(web::read_metrics((dir.path / "missing.jsonl").string()), Error);
}

TEST_F(ServeApiTest, ListRunsPairsMetricsWithModels) {
  std::ofstream(dir.path / "b.jsonl") << "{}\n";
  std::ofstream(dir.path / "a.metrics.jsonl") << "{}\n";
  std::ofstream(dir.path / "a.model") << "x";
  std::ofstream(dir.path / "notes.txt") << "x";
  const auto runs = web::list_runs(dir.path.string());
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].name, "a.metrics");
  EXPECT_EQ(fs::path(runs[0].model_path).filename(), "a.model");
  EXPECT_EQ(runs[1].name, "b");
  EXPECT_EQ(runs[1].model_path, "");
  EXPECT_THROW(web::list_runs((dir.path / "nope").string()), Error);
}

TEST_F(ServeApiTest, ReportIsSelfContainedAndEscapesItsData) {
  web::RunInputs inputs;
  inputs.name = "</script><script>alert(1)</script><!--";
  inputs.model = &model;
  const std::string html = web::render_report_html(web::build_run_data(inputs));
  EXPECT_EQ(html.find("alert(1)</script>"), std::string::npos);
  EXPECT_EQ(html.find("<!--"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);  // nothing loaded from elsewhere
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_NE(html.find("Chart.js v"), std::string::npos);  // the library is inline
  EXPECT_NE(html.find("id=\"run-data\""), std::string::npos);
  // The embedded JSON parses back to the same name.
  const auto begin = html.find('>', html.find("id=\"run-data\"")) + 1;
  const json data = json::parse(html.substr(begin, html.find("</script>", begin) - begin));
  EXPECT_EQ(data["name"], inputs.name);
}
