// backprop serve: the draw-a-digit page, run pages and the JSON API of src/web/ on
// http://127.0.0.1:8080/ until Ctrl-C. docs/web.md describes the pages, docs/api.md the API.
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include <pthread.h>

#include "backprop/error.hpp"
#include "backprop/web/server.hpp"
#include "commands.hpp"
#include "sweep_grid.hpp"

namespace backprop::cli {

namespace {

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

int run_serve(const web::ServerOptions& options) {
  // SIGINT and SIGTERM go to one thread that stops the server; blocked before any other
  // thread exists so that the server's workers inherit the mask and never take them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  web::Server server(options);
  const int port = server.bind();
  const std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  std::printf("serving http://%s:%d/ (model %s%s%s); Ctrl-C stops\n", host.c_str(), port,
              options.model_path.c_str(), options.runs_dir.empty() ? "" : ", runs in ",
              options.runs_dir.c_str());
  if (!is_loopback(options.host))
    std::printf("warning: listening on %s: anyone who can reach this machine can use the server\n",
                options.host.c_str());
  std::fflush(stdout);

  std::thread([&server, signals] {
    int received = 0;
    sigwait(&signals, &received);
    server.stop();
  }).detach();
  server.listen();
  std::printf("stopped\n");
  return 0;
}

}  // namespace

Command add_serve(CLI::App& app) {
  auto o = std::make_shared<web::ServerOptions>();
  o->log_requests = true;
  CLI::App* sub = app.add_subcommand("serve", "Serve the draw-a-digit page, run pages and a JSON API");
  sub->add_option("--model", o->model_path, "Model file to draw against (default with --runs of a sweep: its best run's)");
  sub->add_option("--runs", o->runs_dir, "Folder of training runs: NAME.jsonl (train --metrics) and NAME.model");
  sub->add_option("--data", o->data_dir,
                  "The runs' training data, for their test-set pages: IDX directory, CSV or .npz (default: $BACKPROP_DATA or ./data/mnist)");
  sub->add_option("--host", o->host, "Address to listen on (a non-loopback address exposes the server)")
      ->capture_default_str();
  sub->add_option("--port", o->port, "Port (0 = any free port, printed at start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  sub->add_option("--max-body", o->max_body, "Largest request body in bytes; larger ones get 413")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1024}, std::size_t{64} << 20));
  sub->add_option("--workers", o->workers,
                  "Threads serving the connections, each any number of them (0 = one per core)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{256}));
  sub->add_option("--max-connections", o->max_connections, "Connections open at once; more get 503")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  sub->add_option("--request-timeout", o->request_timeout,
                  "Seconds a request may take to arrive whole (and a response to be taken); idle keep-alive "
                  "connections close after as long")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  sub->add_flag("!--no-log", o->log_requests, "Do not log requests to stderr");
  return {sub, [o] {
            if (o->model_path.empty() && !o->runs_dir.empty()) o->model_path = best_sweep_model(o->runs_dir);
            if (o->model_path.empty())
              throw Error("serve: --model FILE is required (or --runs DIR of a `backprop sweep`, whose best run it serves)");
            return run_serve(*o);
          }};
}

}  // namespace backprop::cli
