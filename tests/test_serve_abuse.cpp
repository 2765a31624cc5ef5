// `backprop serve` against clients that misbehave, on 127.0.0.1 only (raw sockets, so the
// client can be as slow or as wrong as it likes): a client sending one byte per second, one
// that sends nothing, a body that never arrives, an endless header, a body far over the limit,
// malformed JSON and wrong content types. Each is answered or dropped within the server's
// request timeout, and meanwhile ordinary requests are answered at once. Bounded: every wait
// has a deadline; the whole file runs in a few seconds.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "backprop/web/server.hpp"
#include "test_serve_socket.hpp"
#include "test_serve_util.hpp"

using namespace backprop;
using serve_test::Clock;
using serve_test::Connection;
using serve_test::seconds_since;
using serve_test::status_of;

namespace {

constexpr double kTimeout = 1.5;  // the server's request timeout in these tests, seconds

std::string post(const std::string& body, const std::string& type) {
  return "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

std::string zeros_body() {
  std::string body = "{\"pixels\": [0";
  for (int i = 1; i < 784; ++i) body += ",0";
  return body + "]}";
}

class ServeAbuseTest : public ::testing::Test {
 protected:
  serve_test::TempDir dir;
  std::unique_ptr<web::Server> server;
  std::thread thread;
  int port = 0;

  void SetUp() override {
    serve_test::small_model(dir.path / "small.model");
    web::ServerOptions options;
    options.model_path = (dir.path / "small.model").string();
    options.data_dir = dir.path.string();  // no MNIST there
    options.port = 0;
    options.max_body = 64 * 1024;
    options.request_timeout = kTimeout;
    options.workers = 2;
    server = std::make_unique<web::Server>(options);
    port = server->bind();
    thread = std::thread([this] { server->listen(); });
  }
  void TearDown() override {
    server->stop();
    thread.join();
  }

  // One request on a fresh connection; the response, which must come within `wait` seconds.
  std::string exchange(const std::string& request, double wait = 1.0) {
    Connection c(port);
    EXPECT_TRUE(c.connected());
    c.send(request);
    const auto start = Clock::now();
    auto [response, closed] = c.receive(wait, true);
    EXPECT_TRUE(closed) << "no answer within " << wait << " s to " << request.substr(0, 60);
    EXPECT_LT(seconds_since(start), wait);
    return response;
  }
};

// Sends one byte per second (well, per 0.5 s: the test must stay short) of a valid request,
// until the server closes the connection; returns after how many seconds it did (or 99).
double slow_client(int port, const std::string& request) {
  Connection c(port);
  if (!c.connected()) return 99;
  const auto start = Clock::now();
  for (char byte : request) {
    if (seconds_since(start) > 3 * kTimeout) break;
    if (!c.send(std::string(1, byte))) return seconds_since(start);
    if (c.receive(0.5).second) return seconds_since(start);
  }
  return 99;
}

}  // namespace

TEST_F(ServeAbuseTest, SlowClientsAreDroppedWithoutDelayingOthers) {
  std::vector<std::thread> slow;
  std::vector<double> dropped_after(4, 0);
  for (int i = 0; i < 4; ++i)
    slow.emplace_back([&, i] { dropped_after[i] = slow_client(port, post(zeros_body(), "application/json")); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the slow ones are under way
  // Meanwhile every ordinary request, good or bad, is answered at once.
  const std::string png_header = std::string("\x89PNG\r\n\x1a\n", 8);
  const std::vector<std::pair<std::string, int>> requests = {
      {post(zeros_body(), "application/json"), 200},
      {post("{\"pixels\": [", "application/json"), 400},          // malformed JSON
      {post("{\"pixels\": \"zero\"}", "application/json"), 400},   // wrong shape
      {post(zeros_body(), "image/jpeg"), 400},                     // wrong content type
      {post(zeros_body(), "application/x-www-form-urlencoded"), 400},
      {post(png_header + "garbage", "image/png"), 400},            // damaged PNG
      {post("\xff\xfe{\"\xc3\x28\": 1}", "application/json"), 400},  // invalid UTF-8
      {"GARBAGE\r\n\r\n", 400},                                    // not HTTP
  };
  for (int round = 0; round < 3; ++round)
    for (const auto& [request, status] : requests)
      EXPECT_EQ(status_of(exchange(request)), status) << request.substr(0, 60);
  for (auto& t : slow) t.join();
  for (double seconds : dropped_after) {
    EXPECT_GE(seconds, kTimeout - 0.2);
    EXPECT_LE(seconds, kTimeout + 1.0);
  }
}

TEST_F(ServeAbuseTest, SilentConnectionsAndBodiesThatNeverArriveAreClosed) {
  Connection silent(port), short_body(port);
  ASSERT_TRUE(silent.connected() && short_body.connected());
  short_body.send("POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Content-Length: 5000\r\n\r\n{\"pixels\": [0,");
  const auto start = Clock::now();
  EXPECT_TRUE(silent.receive(kTimeout + 1.0).second);
  EXPECT_TRUE(short_body.receive(kTimeout + 1.0).second);
  EXPECT_LE(seconds_since(start), kTimeout + 1.0);
}

TEST_F(ServeAbuseTest, OversizedBodiesAndEndlessHeadersAreCutOff) {
  // A Content-Length over the limit: 413 before any of the body is read.
  const std::string huge = "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Content-Length: 1000000000\r\n\r\n";
  const std::string answer = exchange(huge);
  EXPECT_EQ(status_of(answer), 413) << answer;
  EXPECT_NE(answer.find("request body larger than 65536 bytes"), std::string::npos);
  // Headers without end, as fast as the socket takes them: dropped long before the timeout,
  // after at most the body limit plus 64 KiB.
  Connection flood(port);
  ASSERT_TRUE(flood.connected());
  flood.send("GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  const std::string header = "X-Flood: " + std::string(90, 'a') + "\r\n";
  const auto start = Clock::now();
  std::size_t sent = 0;
  while (seconds_since(start) < kTimeout && flood.send(header)) sent += header.size();
  EXPECT_LT(sent, 16u << 20);  // 128 KiB read by the server; the rest sat in socket buffers
  EXPECT_TRUE(flood.receive(1.0).second);
  EXPECT_LT(seconds_since(start), kTimeout);
}
