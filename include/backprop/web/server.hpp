// `backprop serve`: the draw-a-digit page, the run pages and the JSON API over HTTP, on
// Boost.Beast (src/web/http_server.hpp). Safe by default: it binds 127.0.0.1, answers bodies
// over kMaxRequestBytes with 413, and every route answers JSON errors instead of throwing.
//
// Routes: GET / (draw page), GET /run.html?run=NAME (run page), static assets,
// GET /api/model, POST /api/predict, GET /api/runs, GET /api/runs/NAME, GET /api/model/report
// (the served model's page, with NAME.jsonl's curves when it lies next to NAME.model),
// GET /healthz, GET /metrics (Prometheus text format).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "backprop/web/predict_api.hpp"

namespace backprop::web {

struct ServerOptions {
  std::string model_path;        // required
  std::string runs_dir;          // "" = no run pages but the served model's
  std::string data_dir;          // MNIST, for the run pages' evaluation and samples
  std::string host = "127.0.0.1";
  int port = 8080;               // 0 = any free port
  std::size_t max_body = kMaxRequestBytes;
  bool log_requests = false;     // one line per request on stderr
  // A connection must deliver each request whole within this many seconds (idle keep-alive
  // connections too), and take each response within as many; otherwise it is closed. A slow
  // or silent client holds a socket, never a worker.
  double request_timeout = 10;
  std::size_t workers = 0;                // threads running the event loop; 0 = one per core
  std::size_t max_connections = 10000;    // open at once; more get 503
};

class Server {
 public:
  // Loads the model (and MNIST when present). Throws Error on a bad model or runs dir.
  explicit Server(const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port and returns the port (the chosen one for port 0). Throws Error.
  int bind();
  // Serves until stop() (from another thread or a signal-waiting thread).
  void listen();
  // Makes listen() return; safe to call before listen() has started accepting.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backprop::web
