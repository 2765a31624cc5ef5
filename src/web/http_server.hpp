// The HTTP/1.1 layer of `backprop serve` on Boost.Beast and Boost.Asio (private to src/web/;
// server.cpp puts the routes on it). docs/web.md says why Beast and not cpp-httplib.
//
// Event-driven: `workers` threads run an event loop each, and a connection costs a socket and a
// small buffer, not a thread, so idle or slow connections starve nobody. What it guarantees:
// - each request arrives whole (line, headers, body) within request_timeout of the server
//   starting to wait for it (idle keep-alive connections too), else the connection is
//   closed; each response must be taken within as long;
// - headers over 64 KiB get 431, bodies over max_body 413 (from the Content-Length before
//   any of it is read, or as a chunked upload passes the limit); malformed framing, a
//   Content-Length beside Transfer-Encoding or two different Content-Lengths get 400;
//   all of these close the connection;
// - every close after a response is lingering: the server stops sending, then reads and
//   discards what the client still sends (at most 16 MiB, at most 2 s) until it closes, so a
//   client still uploading a refused body reads its 4xx instead of a connection reset;
// - Range headers are ignored (every answer is whole: 200, never a multipart 206);
// - at most max_connections are open; a connection past that gets 503 and is closed;
// - one log line per request when asked, with control and non-ASCII bytes escaped;
// - /metrics figures: requests by status, latency histogram, in-flight requests.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "metrics.hpp"

namespace backprop::web {

struct HttpRequest {
  std::string method;        // "GET", "POST", ... ("HEAD" is answered as GET without a body)
  std::string path;          // percent-decoded, without the query
  std::string query;         // after '?', as sent
  std::string content_type;  // the Content-Type header, or ""
  std::string body;
  // Whether the query has name, and its value ("detail=1&x": "1" for detail, "" for x).
  bool has_param(const std::string& name, std::string* value = nullptr) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides the defaults
};

struct HttpLimits {
  std::size_t max_body = 1 << 20;
  double request_timeout = 10;        // seconds
  std::size_t workers = 2;            // threads running the event loop
  std::size_t max_connections = 10000;
};

// Makes the answer for a request; must not throw (server.cpp's routes catch everything).
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// Whether a request's handler may take long (a run page's evaluation): those run on a
// separate small pool, so the event loop keeps serving everyone else meanwhile.
using HttpRunsLong = std::function<bool(const HttpRequest&)>;

class HttpServer {
 public:
  HttpServer(const HttpLimits& limits, std::vector<std::pair<std::string, std::string>> default_headers,
             HttpHandler handler, HttpRunsLong runs_long, bool log_requests);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (0 = any free port) with SO_REUSEADDR (not SO_REUSEPORT: a second
  // server on a busy port fails) and the system's listen backlog; returns the port. Throws Error.
  int bind(const std::string& host, int port);
  // Serves on `workers` threads (this one among them) until stop().
  void run();
  // Makes run() return (at once when called before it). Safe from any thread.
  void stop();

  const Metrics& metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// text with bytes outside printable ASCII (and the backslash) as \xNN: a request's path
// can then neither forge a log line nor send escape sequences to a terminal.
std::string escape_for_log(const std::string& text);

// "/a%20b" -> "/a b"; a malformed escape stays as it is.
std::string percent_decode(const std::string& text);

}  // namespace backprop::web
