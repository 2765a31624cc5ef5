// The attacks on `backprop serve` found by trying (issue 16), each kept as a test, on
// 127.0.0.1 only: many ranges in one Range header, a thousand idle connections, symlinks in
// --runs, multipart uploads, request-smuggling framing, a chunked body past the limit,
// control bytes in the log; and the lingering close, the connection limit, /healthz and
// /metrics. Bounded: every wait has a deadline; the file runs in a few seconds.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <thread>

#include "backprop/web/server.hpp"
#include "test_serve_socket.hpp"
#include "test_serve_util.hpp"

using namespace backprop;
using nlohmann::json;
using serve_test::Clock;
using serve_test::Connection;
using serve_test::seconds_since;
using serve_test::status_of;

namespace {

class ServeAttackTest : public ::testing::Test {
 protected:
  serve_test::TempDir dir;
  web::ServerOptions options;
  std::unique_ptr<web::Server> server;
  std::thread thread;
  int port = 0;

  void SetUp() override {
    serve_test::small_model(dir.path / "small.model");
    std::filesystem::create_directory(dir.path / "runs");
    options.model_path = (dir.path / "small.model").string();
    options.runs_dir = (dir.path / "runs").string();
    options.data_dir = dir.path.string();  // no MNIST there
    options.port = 0;
    options.max_body = 64 * 1024;
    options.request_timeout = 1.5;
  }
  void start() {
    server = std::make_unique<web::Server>(options);
    port = server->bind();
    thread = std::thread([this] { server->listen(); });
  }
  void TearDown() override {
    if (!server) return;
    server->stop();
    thread.join();
  }
  // One request on a fresh connection: the whole response, and whether the server then closed.
  std::pair<std::string, bool> exchange(const std::string& request) {
    Connection c(port);
    EXPECT_TRUE(c.connected());
    c.send(request);
    auto [response, whole] = c.receive(2.0, true);
    EXPECT_TRUE(whole) << request.substr(0, 80);
    const bool closed = c.receive(0.5).second;  // EOF soon after, or still open
    return {response, closed};
  }
};

std::string zeros_body() {
  std::string body = "{\"pixels\": [0";
  for (int i = 1; i < 784; ++i) body += ",0";
  return body + "]}";
}

}  // namespace

TEST_F(ServeAttackTest, ManyRangesGetTheWholeAnswerOnce) {
  start();
  std::string ranges = "bytes=0-0";
  for (int i = 1; i < 2700; ++i) ranges += "," + std::to_string(2 * i) + "-" + std::to_string(2 * i);
  for (const char* path : {"/api/model/report", "/api/model", "/app.js"}) {
    const auto [response, closed] =
        exchange(std::string("GET ") + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: " + ranges + "\r\n\r\n");
    EXPECT_EQ(status_of(response), 200) << path;  // not 206: ranges are ignored
    EXPECT_EQ(response.find("multipart/byteranges"), std::string::npos) << path;
    EXPECT_LT(response.size(), 1u << 20) << path;
    EXPECT_FALSE(closed) << path;
  }
}

TEST_F(ServeAttackTest, AThousandIdleConnectionsDoNotDelayANewClient) {
  rlimit files{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_max < 2300) GTEST_SKIP() << "may skip in CI: the hard limit of open files (" << files.rlim_max << ") is below 2300";
  files.rlim_cur = std::max<rlim_t>(files.rlim_cur, 2300);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &files), 0);
  options.request_timeout = 5;  // longer than this test: the idle ones stay open throughout
  start();
  std::vector<std::unique_ptr<Connection>> idle;
  for (int i = 0; i < 1000; ++i) {
    idle.push_back(std::make_unique<Connection>(port));
    ASSERT_TRUE(idle.back()->connected()) << "connection " << i;
    if (i % 2) idle.back()->send("GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n");  // half a request
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // all accepted
  // The 100 ms figure is measured by bench/serve_load.sh (--idle 1000); a loaded test
  // machine gets a second here.
  for (int round = 0; round < 3; ++round) {
    const auto start_time = Clock::now();
    Connection fresh(port);
    fresh.send("GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    const auto [response, whole] = fresh.receive(1.0, true);
    EXPECT_EQ(status_of(response), 200);
    EXPECT_LT(seconds_since(start_time), 1.0);
  }
}

TEST_F(ServeAttackTest, ConnectionsPastTheLimitGet503) {
  options.max_connections = 3;
  start();
  std::vector<std::unique_ptr<Connection>> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<Connection>(port));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Connection extra(port);
  const auto [response, closed] = extra.receive(1.0);
  EXPECT_EQ(status_of(response), 503) << response;
  EXPECT_TRUE(closed);
  held.clear();  // the server notices the closes and takes new ones again
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(status_of(exchange("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").first), 200);
}

TEST_F(ServeAttackTest, RunsAreRegularFilesInsideTheDirectoryAndErrorsQuoteNoBytes) {
  const auto runs = dir.path / "runs";
  std::ofstream(dir.path / "secret.txt") << "{\"epoch\": 0, \"token\": \"SECRET-BYTES\"}\n";
  std::filesystem::create_symlink(dir.path / "secret.txt", runs / "outside.jsonl");
  std::filesystem::create_symlink(runs / "loop.jsonl", runs / "loop.jsonl");
  std::ofstream(runs / "bad.jsonl") << "{\"epoch\": 0}\nSECRET-BYTES are not JSON\n";
  std::ofstream(runs / "good.jsonl") << "{\"epoch\": 0}\n";
  start();  // the loop does not stop it
  const auto [list, closed] = exchange("GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(list), 200) << list;
  EXPECT_NE(list.find("\"good\""), std::string::npos);
  EXPECT_EQ(list.find("outside"), std::string::npos);
  EXPECT_EQ(list.find("loop"), std::string::npos);
  EXPECT_EQ(list.find("SECRET"), std::string::npos);
  EXPECT_EQ(status_of(exchange("GET /api/runs/outside HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").first), 404);
  EXPECT_EQ(status_of(exchange("GET /api/runs/loop HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").first), 404);
  const std::string bad = exchange("GET /api/runs/bad HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").first;
  EXPECT_EQ(status_of(bad), 500);
  EXPECT_NE(bad.find("run 'bad': "), std::string::npos) << bad;
  EXPECT_NE(bad.find("bad.jsonl:2: not a JSON line"), std::string::npos) << bad;
  EXPECT_EQ(bad.find("SECRET"), std::string::npos) << bad;
  EXPECT_EQ(status_of(exchange("GET /api/runs/good HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").first), 200);
}

TEST_F(ServeAttackTest, MultipartUploadsAre400) {
  start();
  const std::string body = "--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\n\r\nabc\r\n--x--\r\n";
  const auto [response, closed] =
      exchange("POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(status_of(response), 400) << response;
  EXPECT_NE(response.find("unsupported Content-Type 'multipart/form-data'"), std::string::npos) << response;
}

TEST_F(ServeAttackTest, SmugglingShapesGet400AndTheConnectionCloses) {
  start();
  const std::string body = zeros_body();
  const std::string both = "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/model HTTP/1.1\r\n\r\n";
  const std::string both_reversed = "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                                    "Content-Length: 5\r\n\r\n0\r\n\r\n";
  const std::string two_lengths = "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                  "Content-Length: " + std::to_string(body.size()) + "\r\nContent-Length: 4\r\n\r\n" + body;
  const std::string list_of_lengths = "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4, 7\r\n\r\n1234567";
  for (const std::string& request : {both, both_reversed, two_lengths, list_of_lengths}) {
    const auto [response, closed] = exchange(request);
    EXPECT_EQ(status_of(response), 400) << request.substr(0, 120) << "\n" << response;
    EXPECT_NE(response.find("Connection: close"), std::string::npos) << response;
    EXPECT_TRUE(closed) << request.substr(0, 120);
    EXPECT_EQ(response.find("HTTP/1.1 200"), std::string::npos) << "a smuggled request was answered";
  }
}

TEST_F(ServeAttackTest, AChunkedBodyPastTheLimitGets413) {
  start();
  Connection c(port);
  ASSERT_TRUE(c.connected());
  c.send("POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
         "Transfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = "2000\r\n" + std::string(0x2000, ' ') + "\r\n";
  for (int i = 0; i < 12 && c.send(chunk); ++i) {  // 96 KiB, over the 64 KiB limit
  }
  const auto [response, whole] = c.receive(2.0, true);
  EXPECT_EQ(status_of(response), 413) << response;
  EXPECT_NE(response.find("request body larger than 65536 bytes"), std::string::npos);
  EXPECT_TRUE(c.receive(2.0).second);  // then closed
}

TEST_F(ServeAttackTest, ARefusedUploadIsReadOnSoTheClientSeesThe413) {
  start();
  // Headers and the whole oversized body in one go, before reading, as Python's http.client
  // does: without the lingering close the unread bytes turn into a reset and the 413 is lost.
  Connection c(port);
  ASSERT_TRUE(c.connected());
  const std::string body(512 * 1024, ' ');
  const bool sent = c.send("POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_TRUE(sent) << "the server reset the connection during the upload";
  const auto [response, whole] = c.receive(2.0, true);
  EXPECT_EQ(status_of(response), 413) << response.substr(0, 200);
}

TEST_F(ServeAttackTest, TheLogEscapesControlBytes) {
  options.log_requests = true;
  start();
  ::testing::internal::CaptureStderr();
  exchange("GET /x%0aFORGED%201%1b[31m HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("GET /x\\x0aFORGED 1\\x1b[31m 404"), std::string::npos) << log;
  EXPECT_EQ(log.find('\x1b'), std::string::npos);
  EXPECT_EQ(log.find("\nFORGED"), std::string::npos);
}

TEST_F(ServeAttackTest, HealthAndPrometheusMetrics) {
  start();
  const auto [health, closed] = exchange("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(health), 200);
  EXPECT_NE(health.find("\"status\":\"ok\""), std::string::npos) << health;
  const std::string body = zeros_body();
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(status_of(exchange("POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n" + body).first), 200);
  EXPECT_EQ(status_of(exchange("GET /nothing HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").first), 404);
  const std::string metrics = exchange("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").first;
  EXPECT_EQ(status_of(metrics), 200);
  EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("backprop_http_requests_total{code=\"200\"} 4\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("backprop_http_requests_total{code=\"404\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("backprop_http_requests_in_flight 1\n"), std::string::npos) << metrics;  // itself
  EXPECT_NE(metrics.find("# TYPE backprop_http_request_duration_seconds histogram"), std::string::npos);
  // Buckets are cumulative and end at +Inf = count.
  std::smatch match;
  std::string rest = metrics;
  long long previous = -1, last = -1;
  const std::regex bucket(R"re(duration_seconds_bucket\{le="([^"]+)"\} (\d+))re");
  while (std::regex_search(rest, match, bucket)) {
    last = std::stoll(match[2]);
    EXPECT_GE(last, previous);
    previous = last;
    rest = match.suffix();
  }
  EXPECT_EQ(last, 5);
  EXPECT_NE(metrics.find("backprop_http_request_duration_seconds_count 5\n"), std::string::npos);
}
