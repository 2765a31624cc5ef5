// httplib::Server with a deadline on every request, so that slow or silent clients cannot
// hold the server's threads (private to src/web/, used by server.cpp).
//
// httplib 0.11 bounds each recv() by its read timeout, but not a whole request: a client that
// sends one byte every second keeps a worker thread forever, and a handful of them stop the
// server. Here a connection must deliver each request whole (line, headers, body) within
// request_timeout of starting to wait for it, and must take each response within
// request_timeout of its first byte; otherwise the connection is closed. A request may also
// not exceed the body limit plus 64 KiB (httplib 0.11 does not limit the header count). The keep-alive loop
// is httplib's own (at most keep_alive_max_count requests per connection), and it notices a
// stop() within 100 ms instead of after the keep-alive timeout.
//
// Include after Eigen: httplib.h brings <resolv.h>, whose `#define _res` breaks Eigen.
#pragma once

#include <httplib.h>

#include <chrono>

namespace backprop::web {

class GuardedServer : public httplib::Server {
 public:
  // threads: the worker pool (each serves one connection at a time).
  GuardedServer(std::chrono::milliseconds request_timeout, std::size_t threads);

 private:
  bool process_and_close_socket(socket_t sock) override;

  std::chrono::milliseconds request_timeout_;
};

}  // namespace backprop::web
