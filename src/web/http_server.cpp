// HttpServer (http_server.hpp): an accept loop and one Session per connection, each a chain
// of asynchronous steps on its own strand: read the headers, answer `Expect: 100-continue`,
// read the body, run the handler, write the answer, then read the next request or close
// lingering. Beast's parser does the framing (and refuses Content-Length beside
// Transfer-Encoding and conflicting Content-Lengths); beast::tcp_stream's timer the deadlines.
#include "http_server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include "backprop/error.hpp"
#include "backprop/web/predict_api.hpp"

namespace backprop::web {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// What a request may hold besides its body: request line, headers, chunk framing.
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;
// A lingering close reads and drops at most this much, for at most this long: a refused
// upload (413) may still be on its way; after anything else only stray bytes are expected
// (and a header flood must not be read on for long).
constexpr std::size_t kLingerBytes = 16 << 20, kLingerStrayBytes = 64 << 10;
constexpr double kLingerSeconds = 2;

std::chrono::milliseconds milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == beast::error_code(http::error::bad_target).category();
}

std::string json_error(int status, const std::string& message) { return reply_text(api_error(status, message)); }

}  // namespace

bool HttpRequest::has_param(const std::string& name, std::string* value) const {
  for (std::size_t at = 0; at <= query.size();) {
    std::size_t end = query.find('&', at);
    if (end == std::string::npos) end = query.size();
    const std::string item = query.substr(at, end - at);
    const std::size_t equals = item.find('=');
    if (percent_decode(item.substr(0, equals)) == name) {
      if (value) *value = equals == std::string::npos ? "" : percent_decode(item.substr(equals + 1));
      return true;
    }
    at = end + 1;
  }
  return false;
}

std::string escape_for_log(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

std::string percent_decode(const std::string& text) {
  const auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// What every session shares: settings, the handler, the counters, the pool for long handlers.
struct Shared {
  HttpLimits limits;
  std::vector<std::pair<std::string, std::string>> default_headers;
  HttpHandler handler;
  HttpRunsLong runs_long;
  bool log_requests;
  Metrics metrics;
  net::thread_pool long_pool{2};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) {
    ++shared_.metrics.open_connections;
  }
  ~Session() { --shared_.metrics.open_connections; }

  void start() { read_request(); }
  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  void read_request() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(shared_.limits.max_body);
    // One deadline for the whole request, headers and body, from now (so also the idle
    // wait of a keep-alive connection).
    stream_.expires_after(milliseconds(shared_.limits.request_timeout));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    started_ = Clock::now();
    ++shared_.metrics.in_flight;
    counted_ = true;
    if (parser_->is_done()) return on_body({});
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue, sizeof kContinue - 1),
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return self->close_now();
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  // The request could not be read: answer what the client can act on, drop the rest.
  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == http::error::partial_message ||
        !is_http_error(ec))
      return close_now();  // closed, silent or gone: nobody to answer
    if (!counted_) {
      started_ = Clock::now();
      ++shared_.metrics.in_flight;
      counted_ = true;
    }
    if (ec == http::error::body_limit)
      return answer_error(413, "request body larger than " + std::to_string(shared_.limits.max_body) + " bytes");
    if (ec == http::error::header_limit)
      return answer_error(431, "request headers larger than " + std::to_string(kMaxHeaderBytes) + " bytes");
    if (ec == http::error::bad_content_length || ec == http::error::bad_transfer_encoding)
      return answer_error(400, "bad request framing (" + ec.message() +
                                   "): one Content-Length, or Transfer-Encoding: chunked alone");
    answer_error(400, "malformed request (" + ec.message() + ")");
  }

  void on_body(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    auto& message = parser_->get();
    request_ = {};
    request_.method = std::string(message.method_string());
    const std::string target(message.target());
    const std::size_t question = target.find('?');
    request_.path = percent_decode(target.substr(0, question));
    if (question != std::string::npos) request_.query = target.substr(question + 1);
    request_.content_type = std::string(message[http::field::content_type]);
    request_.body = std::move(message.body());
    keep_alive_ = message.keep_alive();
    head_ = message.method() == http::verb::head;
    if (head_) request_.method = "GET";
    if (shared_.runs_long && shared_.runs_long(request_)) {
      net::post(shared_.long_pool, [self = shared_from_this()] {
        HttpResponse response = self->shared_.handler(self->request_);
        net::post(self->stream_.get_executor(),
                  [self, response = std::move(response)]() mutable { self->answer(std::move(response)); });
      });
      return;
    }
    answer(shared_.handler(request_));
  }

  void answer_error(int status, const std::string& message) {
    keep_alive_ = false;
    linger_left_ = status == 413 ? kLingerBytes : kLingerStrayBytes;
    head_ = false;
    if (parser_ && parser_->is_header_done()) {
      request_.method = std::string(parser_->get().method_string());
      request_.path = percent_decode(std::string(parser_->get().target()));
    } else {
      request_.method = "-";
      request_.path = "-";
    }
    answer({status, "application/json", json_error(status, message), {}});
  }

  void answer(HttpResponse response) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(response.status));
    for (const auto& [name, value] : shared_.default_headers) response_.set(name, value);
    for (const auto& [name, value] : response.headers) response_.set(name, value);
    response_.set(http::field::content_type, response.content_type);
    response_.keep_alive(keep_alive_);
    if (head_) {
      response_.content_length(response.body.size());
    } else {
      response_.body() = std::move(response.body);
      response_.prepare_payload();
    }
    status_ = response.status;
    stream_.expires_after(milliseconds(shared_.limits.request_timeout));
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_written(ec); });
  }

  void on_written(beast::error_code ec) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    shared_.metrics.record(status_, seconds);
    --shared_.metrics.in_flight;
    counted_ = false;
    if (shared_.log_requests)
      std::fprintf(stderr, "%s %s %d %.1f ms\n", escape_for_log(request_.method).c_str(),
                   escape_for_log(request_.path).c_str(), status_, seconds * 1e3);
    if (ec) return close_now();
    if (!keep_alive_) return close_lingering();
    linger_left_ = kLingerStrayBytes;
    read_request();
  }

  // Stop sending, then read and drop what the client still sends until it closes (bounded),
  // so that the kernel does not answer its unread bytes with a reset that would destroy the
  // answer before the client reads it.
  void close_lingering() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(milliseconds(std::min(kLingerSeconds, shared_.limits.request_timeout)));
    buffer_.consume(buffer_.size());
    drain();
  }
  void drain() {
    stream_.async_read_some(buffer_.prepare(16384), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec || n >= self->linger_left_) return self->close_now();
      self->linger_left_ -= n;
      self->drain();
    });
  }

  void close_now() {
    if (counted_) {
      --shared_.metrics.in_flight;
      counted_ = false;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  Shared& shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  http::response<http::string_body> response_;
  Clock::time_point started_;
  int status_ = 0;
  bool keep_alive_ = false, head_ = false, counted_ = false;
  std::size_t linger_left_ = kLingerStrayBytes;  // what a lingering close still reads
};

// One io_context per worker thread, connections dealt out in turn: a connection's steps all
// run on its worker, so they need no strand and wake no other thread (against one shared
// io_context with strands: docs/web.md).
struct HttpServer::Impl {
  explicit Impl(std::size_t workers) : loops(make_loops(workers)), acceptor(*loops[0]), retry(*loops[0]) {
    for (auto& loop : loops) busy.push_back(net::make_work_guard(*loop));  // run() waits for connections
  }
  static std::vector<std::unique_ptr<net::io_context>> make_loops(std::size_t workers) {
    std::vector<std::unique_ptr<net::io_context>> loops;
    for (std::size_t i = 0; i < std::max<std::size_t>(workers, 1); ++i) loops.push_back(std::make_unique<net::io_context>(1));
    return loops;
  }
  Shared shared;  // before the loops: sessions destroyed with them use it
  std::vector<std::unique_ptr<net::io_context>> loops;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> busy;
  tcp::acceptor acceptor;
  net::steady_timer retry;
  std::size_t next = 0;  // the loop of the next connection (used by the accept loop only)
  std::atomic<bool> stopped{false};

  void accept() {
    net::io_context& loop = *loops[next++ % loops.size()];
    acceptor.async_accept(loop, [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
        // Out of file descriptors, say: try again shortly instead of spinning.
        retry.expires_after(std::chrono::milliseconds(50));
        retry.async_wait([this](beast::error_code) { accept(); });
        return;
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (shared.metrics.open_connections.load() >= static_cast<std::int64_t>(shared.limits.max_connections)) {
        ++shared.metrics.refused_connections;
        static const std::string kBusy = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                         "Content-Length: 47\r\nConnection: close\r\n\r\n"
                                         "{\"error\":\"too many connections; try again soon\"}";
        socket.non_blocking(true, ignored);
        socket.write_some(net::buffer(kBusy), ignored);  // best effort, never blocks
        socket.shutdown(tcp::socket::shutdown_both, ignored);
      } else {
        auto session = std::make_shared<Session>(std::move(socket), shared);
        net::post(session->executor(), [session] { session->start(); });  // on its own loop's thread
      }
      accept();
    });
  }
};

HttpServer::HttpServer(const HttpLimits& limits, std::vector<std::pair<std::string, std::string>> default_headers,
                       HttpHandler handler, HttpRunsLong runs_long, bool log_requests)
    : impl_(std::make_unique<Impl>(limits.workers)) {
  Shared& s = impl_->shared;
  s.limits = limits;
  s.default_headers = std::move(default_headers);
  s.handler = std::move(handler);
  s.runs_long = std::move(runs_long);
  s.log_requests = log_requests;
}

HttpServer::~HttpServer() {
  stop();
  impl_->shared.long_pool.join();
}

int HttpServer::bind(const std::string& host, int port) {
  const auto fail = [&](const std::string& why) {
    return Error(host + ":" + std::to_string(port) + ": cannot listen (" + why + ")");
  };
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) throw fail("not an IP address of this machine: " + ec.message());
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  tcp::acceptor& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  // The kernel caps the backlog at net.core.somaxconn: the system's value, not a small constant.
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw fail(ec.message());
  // Every connection is a file descriptor: allow as many as the hard limit permits.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  return acceptor.local_endpoint().port();
}

void HttpServer::run() {
  if (impl_->stopped) return;
  impl_->accept();
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl_->loops.size(); ++i) threads.emplace_back([this, i] { impl_->loops[i]->run(); });
  impl_->loops[0]->run();
  for (auto& thread : threads) thread.join();
}

void HttpServer::stop() {
  impl_->stopped = true;
  for (auto& loop : impl_->loops) loop->stop();
}

const Metrics& HttpServer::metrics() const { return impl_->shared.metrics; }

}  // namespace backprop::web
