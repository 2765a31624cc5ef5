// `backprop serve` over real HTTP: the server runs in-process on a free loopback port and
// httplib::Client sends it good and bad requests. Checks the status codes and JSON errors
// of issue 6's safety list (400, 413, 404, 405), the pages and their headers, the run
// pages, and that the server still answers after every bad request.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "backprop/error.hpp"
#include "backprop/data/preprocess.hpp"
#include "backprop/web/server.hpp"
#include "test_serve_util.hpp"

// After Eigen: httplib.h pulls in <resolv.h>, whose `#define _res` breaks Eigen's headers.
#include <httplib.h>

using namespace backprop;
using nlohmann::json;

namespace {

class ServeHttpTest : public ::testing::Test {
 protected:
  serve_test::TempDir dir;
  std::unique_ptr<web::Server> server;
  std::thread thread;
  int port = 0;

  void start(web::ServerOptions options) {
    server = std::make_unique<web::Server>(options);
    port = server->bind();
    thread = std::thread([this] { server->listen(); });
  }
  void SetUp() override {
    serve_test::small_model(dir.path / "small.model");
    std::filesystem::create_directory(dir.path / "runs");
    std::filesystem::create_directory(dir.path / "no-mnist");
    web::ServerOptions options;
    options.model_path = (dir.path / "small.model").string();
    options.runs_dir = (dir.path / "runs").string();
    options.data_dir = (dir.path / "no-mnist").string();
    options.port = 0;
    options.max_body = 64 * 1024;
    start(options);
  }
  void TearDown() override {
    server->stop();
    thread.join();
  }
  httplib::Client client() {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    return c;
  }
  // POST /api/predict; expects a JSON answer and returns (status, body).
  std::pair<int, json> predict(const std::string& body, const char* type = "application/json") {
    auto c = client();
    const auto res = c.Post("/api/predict", body, type);
    if (!res) return {-1, json()};
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    return {res->status, json::parse(res->body, nullptr, false)};
  }
  void expect_alive() {
    auto c = client();
    const auto res = c.Get("/api/model");
    ASSERT_TRUE(res) << "server did not answer";
    EXPECT_EQ(res->status, 200);
  }
};

std::string zeros_body(int count) { return json{{"pixels", std::vector<double>(count, 0.0)}}.dump(); }

}  // namespace

TEST(ServeDefaults, BindsLoopbackOnly) {
  const web::ServerOptions options;
  EXPECT_EQ(options.host, "127.0.0.1");
  EXPECT_EQ(options.max_body, web::kMaxRequestBytes);
  EXPECT_EQ(options.request_timeout, 10);  // issue 8's values, now flags of serve
  EXPECT_EQ(options.workers, 0u);          // one per core
  EXPECT_EQ(options.max_connections, 10000u);
}

TEST_F(ServeHttpTest, ServesThePagesWithTheirLibrary) {
  auto c = client();
  const auto index = c.Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("<canvas id=\"pad\""), std::string::npos);
  EXPECT_NE(index->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(index->get_header_value("X-Content-Type-Options"), "nosniff");
  const auto chart = c.Get("/vendor/chart.min.js");
  ASSERT_TRUE(chart);
  EXPECT_EQ(chart->status, 200);
  EXPECT_NE(chart->body.find("Chart.js v"), std::string::npos);
  for (const char* page : {"/run.html", "/app.js", "/run.js", "/style.css"}) {
    const auto res = c.Get(page);
    ASSERT_TRUE(res) << page;
    EXPECT_EQ(res->status, 200) << page;
  }
}

TEST_F(ServeHttpTest, PredictsFromJsonAndPng) {
  const auto [status, body] = predict(zeros_body(784));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["probabilities"].size(), 10u);
  std::vector<std::uint8_t> gray(50 * 50, 0);
  for (int y = 5; y < 45; ++y) gray[y * 50 + 25] = 255;
  const auto [png_status, png_body] = predict(encode_png(50, 50, gray), "image/png");
  EXPECT_EQ(png_status, 200) << png_body.dump();
  EXPECT_FALSE(png_body.contains("input"));  // only with ?detail=1
  auto c = client();
  const auto detailed = c.Post("/api/predict?detail=1", encode_png(50, 50, gray), "image/png");
  ASSERT_TRUE(detailed);
  EXPECT_EQ(json::parse(detailed->body)["input"].size(), 784u);
}

TEST_F(ServeHttpTest, BadRequestsGet400WithAJsonError) {
  std::string out_of_range = "{\"pixels\": [2";
  for (int i = 1; i < 784; ++i) out_of_range += ",0";
  out_of_range += "]}";
  const std::vector<std::pair<std::string, const char*>> bad = {
      {"{\"pixels\": [", "application/json"},    // malformed JSON
      {zeros_body(783), "application/json"},     // wrong pixel count
      {zeros_body(1000), "application/json"},    // wrong pixel count
      {out_of_range, "application/json"},        // a value outside 0..1
      {"not a png at all", "image/png"},         // non-PNG body
      {std::string("\x89PNG\r\n\x1a\n", 8) + "garbage", "image/png"},  // damaged PNG
      {"\xff\xd8\xff", "image/jpeg"},             // unsupported type
  };
  for (const auto& [body, type] : bad) {
    const auto [status, answer] = predict(body, type);
    EXPECT_EQ(status, 400) << body.substr(0, 40);
    EXPECT_TRUE(answer.is_object() && answer.contains("error") && answer["error"].is_string())
        << answer.dump();
  }
  expect_alive();
}

TEST_F(ServeHttpTest, BodiesOverTheLimitGet413) {
  const auto [status, answer] = predict(std::string(65 * 1024, ' '));
  EXPECT_EQ(status, 413);
  EXPECT_EQ(answer["error"], "request body larger than 65536 bytes");
  // The same without a Content-Length: a chunked upload that never ends is cut off too.
  auto c = client();
  std::size_t sent = 0;
  const auto res = c.Post(
      "/api/predict",
      [&](std::size_t, httplib::DataSink& sink) {
        const std::string chunk(8192, '0');
        if (sent > (1u << 20)) {  // the server should have stopped reading long before
          sink.done();
          return true;
        }
        sent += chunk.size();
        return sink.write(chunk.data(), chunk.size());
      },
      "application/json");
  // Either a 413, or the connection closed on us before the client's 1 MiB was all sent
  // (a server reading the whole upload first fails both).
  if (res) {
    EXPECT_EQ(res->status, 413);
  } else {
    EXPECT_LE(sent, 1u << 20) << "the connection was closed only after the whole upload";
  }
  expect_alive();
}

TEST_F(ServeHttpTest, UnknownRoutesAndMethods) {
  auto c = client();
  const auto missing = c.Get("/api/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body)["error"], "no such page: /api/nothing");
  const auto page = c.Get("/etc/passwd");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 404);
  const auto traversal = c.Get("/api/runs/..%2F..%2Fsmall");
  ASSERT_TRUE(traversal);
  EXPECT_EQ(traversal->status, 404);
  const auto get_predict = c.Get("/api/predict");
  ASSERT_TRUE(get_predict);
  EXPECT_EQ(get_predict->status, 405);
  EXPECT_EQ(get_predict->get_header_value("Allow"), "POST");
  const auto post_model = c.Post("/api/model", "{}", "application/json");
  ASSERT_TRUE(post_model);
  EXPECT_EQ(post_model->status, 405);
  expect_alive();
}

TEST_F(ServeHttpTest, RunPages) {
  std::ofstream(dir.path / "runs" / "first.jsonl") << "{\"epoch\":0,\"train_loss\":0.5,\"test_accuracy\":0.9}\n";
  serve_test::small_model(dir.path / "runs" / "first.model");
  std::ofstream(dir.path / "runs" / "broken.jsonl") << "{\"epoch\":0}\nnot json\n";
  auto c = client();
  const auto list = c.Get("/api/runs");
  ASSERT_TRUE(list);
  const json runs = json::parse(list->body)["runs"];
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["name"], "broken");
  EXPECT_TRUE(runs[0].contains("error"));
  EXPECT_EQ(runs[1]["name"], "first");
  EXPECT_EQ(runs[1]["epochs"], 1);
  EXPECT_EQ(runs[1]["has_model"], true);

  const auto first = c.Get("/api/runs/first");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  const json data = json::parse(first->body);
  EXPECT_EQ(data["metrics"].size(), 1u);
  EXPECT_EQ(data["weights"]["units"], 16);
  EXPECT_TRUE(data["evaluation"].is_null());  // no MNIST in data_dir, and the page says so
  EXPECT_NE(data["notes"].dump().find("no-mnist: "), std::string::npos) << data["notes"].dump();
  EXPECT_NE(data["notes"].dump().find("fetch-mnist --dir"), std::string::npos) << data["notes"].dump();

  const auto broken = c.Get("/api/runs/broken");
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->status, 500);
  EXPECT_NE(json::parse(broken->body)["error"].get<std::string>().find("broken.jsonl:2"), std::string::npos);

  const auto unknown = c.Get("/api/runs/second");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);

  std::ofstream(dir.path / "small.jsonl") << "{\"epoch\":0,\"train_loss\":0.5}\n{\"epoch\":1,\"train_loss\":0.4}\n";
  const auto served = c.Get("/api/model/report");  // the served model, with its sibling metrics
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
  const json served_data = json::parse(served->body);
  EXPECT_EQ(served_data["model"]["name"], "small.model");
  EXPECT_EQ(served_data["metrics"].size(), 2u);
}

TEST_F(ServeHttpTest, ManyConcurrentRequests) {
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t)
    clients.emplace_back([&] {
      for (int i = 0; i < 10; ++i)
        if (predict(zeros_body(784)).first == 200) ++ok;
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok, 80);
}

TEST(ServeErrors, RefusesABusyPortAndABadModel) {
  serve_test::TempDir dir;
  serve_test::small_model(dir.path / "m.model");
  web::ServerOptions options;
  options.model_path = (dir.path / "m.model").string();
  options.data_dir = dir.path.string();
  options.port = 0;
  web::Server first(options);
  options.port = first.bind();
  web::Server second(options);
  EXPECT_THROW(second.bind(), Error);

  std::ofstream(dir.path / "junk.model") << "not a model";
  options.model_path = (dir.path / "junk.model").string();
  EXPECT_THROW(web::Server{options}, Error);
  options.model_path = (dir.path / "m.model").string();
  options.runs_dir = (dir.path / "missing").string();
  EXPECT_THROW(web::Server{options}, Error);
}
