// The HTTP side of `backprop serve`: routes onto PredictApi and the run pages, the embedded
// assets, and the safety settings (loopback by default, body limit, JSON errors, no
// exception escaping a handler). Run pages are computed on first request and cached until
// their files change.
#include "backprop/web/server.hpp"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "backprop/error.hpp"
#include "backprop/data/fetch.hpp"
#include "backprop/web/assets.hpp"
#include "backprop/web/run_page.hpp"
#include "guarded_server.hpp"

namespace backprop::web {

namespace fs = std::filesystem;

namespace {

const char* status_text(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 413: return "request body too large";
    case 414: return "request URI too long";
    default: return status >= 500 ? "internal server error" : "request failed";
  }
}

void send_json(httplib::Response& res, const ApiReply& reply) {
  res.status = reply.status;
  res.set_content(reply_text(reply), "application/json");
}

// A file's modification time, or 0 when it is gone; a changed time invalidates the cache.
long long mtime(const std::string& path) {
  std::error_code error;
  const auto time = fs::last_write_time(path, error);
  return error ? 0 : static_cast<long long>(time.time_since_epoch().count());
}

struct CachedRun {
  long long metrics_time = 0, model_time = 0;
  nlohmann::json data;
};

}  // namespace

struct Server::Impl {
  explicit Impl(const ServerOptions& o)
      : options(o),
        http(std::chrono::milliseconds(static_cast<long long>(o.request_timeout * 1000)), o.threads) {}
  ServerOptions options;
  ModelFile model;
  std::unique_ptr<PredictApi> api;
  Mnist mnist;
  bool have_mnist = false;
  std::string data_note;
  GuardedServer http;  // httplib::Server with a deadline per request
  std::atomic<bool> listening{false};  // inside listen()
  std::atomic<bool> stop_requested{false};
  std::mutex cache_mutex;  // guards cache; held while a page is computed (one at a time)
  std::map<std::string, CachedRun> cache;

  // The served model's own metrics: NAME.jsonl next to NAME.model, when there is one.
  std::string served_metrics_path() const {
    fs::path metrics = options.model_path;
    metrics.replace_extension(".jsonl");
    std::error_code error;
    return metrics != fs::path(options.model_path) && fs::is_regular_file(metrics, error) ? metrics.string() : "";
  }

  // GET /api/runs: the runs with their last epoch's numbers.
  ApiReply runs() {
    nlohmann::json list = nlohmann::json::array();
    if (!options.runs_dir.empty()) {
      for (const RunEntry& run : list_runs(options.runs_dir)) {
        nlohmann::json item = {{"name", run.name}, {"has_model", !run.model_path.empty()}, {"epochs", 0}};
        try {
          const nlohmann::json metrics = read_metrics(run.metrics_path);
          item["epochs"] = metrics.size();
          if (!metrics.empty()) item["last"] = metrics.back();
        } catch (const Error& e) {
          item["error"] = e.what();
        }
        list.push_back(std::move(item));
      }
    }
    return {200, {{"runs", list}, {"runs_dir", options.runs_dir}}};
  }

  // GET /api/runs/NAME, or the served model's own page for name "" (no metrics).
  ApiReply run(const std::string& name) {
    RunEntry entry{"", served_metrics_path(), options.model_path};
    if (!name.empty()) {
      if (options.runs_dir.empty()) return api_error(404, "no runs directory (start with --runs DIR)");
      bool found = false;
      for (const RunEntry& run : list_runs(options.runs_dir)) {
        if (run.name != name) continue;
        entry = run;
        found = true;
      }
      if (!found) return api_error(404, "no run named '" + name + "' in " + options.runs_dir);
    }
    const long long metrics_time = entry.metrics_path.empty() ? 0 : mtime(entry.metrics_path);
    const long long model_time = entry.model_path.empty() ? 0 : mtime(entry.model_path);
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto cached = cache.find(name);
    if (cached != cache.end() && cached->second.metrics_time == metrics_time && cached->second.model_time == model_time)
      return {200, cached->second.data};
    ModelFile run_model;
    const ModelFile* model_ptr = nullptr;
    if (name.empty()) model_ptr = &model;
    else if (!entry.model_path.empty()) model_ptr = &(run_model = read_model(entry.model_path));
    RunInputs inputs;
    inputs.name = name.empty() ? fs::path(options.model_path).filename().string() : name;
    inputs.metrics_path = entry.metrics_path;
    inputs.model = model_ptr;
    inputs.mnist = have_mnist ? &mnist : nullptr;
    inputs.data_note = data_note;
    CachedRun fresh{metrics_time, model_time, build_run_data(inputs)};
    cache[name] = fresh;
    return {200, fresh.data};
  }

  void routes() {
    http.Get("/api/model", [this](const httplib::Request&, httplib::Response& res) { send_json(res, api->model()); });
    // The body is read here, under our own limit: httplib 0.11 applies its payload limit to
    // a Content-Length but not to a chunked upload, which could otherwise grow without end.
    http.Post("/api/predict", [this](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& read) {
      std::string body;
      bool too_large = false;
      const bool complete = read([&](const char* data, std::size_t size) {
        if (body.size() + size > options.max_body) {
          too_large = true;
          return false;  // stop reading; the connection is closed after the answer
        }
        body.append(data, size);
        return true;
      });
      // httplib refuses a Content-Length over the limit itself (status 413, reader fails).
      if (too_large || res.status == 413) {
        res.set_header("Connection", "close");
        send_json(res, api_error(413, "request body larger than " + std::to_string(options.max_body) + " bytes"));
        return;
      }
      if (!complete) {
        res.set_header("Connection", "close");
        send_json(res, api_error(400, "incomplete request body"));
        return;
      }
      send_json(res, api->predict(body, req.get_header_value("Content-Type"), req.get_param_value("detail") == "1"));
    });
    http.Get("/api/model/report", [this](const httplib::Request&, httplib::Response& res) { send_json(res, run("")); });
    http.Get("/api/runs", [this](const httplib::Request&, httplib::Response& res) { send_json(res, runs()); });
    http.Get(R"(/api/runs/([^/]{1,255}))", [this](const httplib::Request& req, httplib::Response& res) {
      send_json(res, run(req.matches[1]));
    });
    // Everything else under /api/ is a JSON 404 (error handler); the rest are the assets.
    http.Get(R"(/(?!api/).*)", [](const httplib::Request& req, httplib::Response& res) {
      const Asset* asset = find_asset(req.path == "/" ? "/index.html" : req.path);
      if (!asset) {
        res.status = 404;  // the body comes from the error handler
        return;
      }
      res.set_content(std::string(asset->bytes), content_type_for(asset->path).c_str());
    });
    // The API's routes answer other methods with 405, not a misleading 404.
    const auto not_allowed = [](const char* allowed) {
      return [allowed](const httplib::Request&, httplib::Response& res) {
        res.set_header("Allow", allowed);
        send_json(res, api_error(405, std::string("method not allowed: use ") + allowed));
      };
    };
    http.Get("/api/predict", not_allowed("POST"));
    http.Post(R"(/api/(model|model/report|runs|runs/.*))", not_allowed("GET"));
    // A body announced over the limit is refused before any of it is read (httplib would
    // first read and drop all of it), and the connection closed.
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const std::string length = req.get_header_value("Content-Length");
      if (length.empty() || std::strtoull(length.c_str(), nullptr, 10) <= options.max_body)
        return httplib::Server::HandlerResponse::Unhandled;
      res.set_header("Connection", "close");
      send_json(res, api_error(413, "request body larger than " + std::to_string(options.max_body) + " bytes"));
      return httplib::Server::HandlerResponse::Handled;
    });
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;  // a handler's own JSON error
      std::string message = status_text(res.status);
      if (res.status == 404) message = "no such page: " + req.path;
      if (res.status == 413) message = "request body larger than " + std::to_string(options.max_body) + " bytes";
      send_json(res, api_error(res.status, message));
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
      std::string message = "internal error";
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        message = e.what();
      } catch (...) {
      }
      send_json(res, api_error(500, message));
    });
    if (options.log_requests)
      http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
        std::fprintf(stderr, "%s %s %d\n", req.method.c_str(), req.path.c_str(), res.status);
      });
  }
};

Server::Server(const ServerOptions& options) : impl_(std::make_unique<Impl>(options)) {
  Impl& s = *impl_;
  if (options.model_path.empty()) throw Error("serve: --model FILE is required");
  if (!(options.request_timeout > 0) || options.threads == 0)
    throw Error("serve: the request timeout and the thread count must be positive");
  s.model = read_model(options.model_path);
  s.api = std::make_unique<PredictApi>(s.model, fs::path(options.model_path).filename().string());
  if (!options.runs_dir.empty()) list_runs(options.runs_dir);  // fail now on a bad directory
  const std::string data_dir = resolve_data_dir(options.data_dir);
  s.have_mnist = load_mnist_if_present(data_dir, s.mnist, s.data_note);

  s.http.set_payload_max_length(options.max_body);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second server on a
  // busy port would start silently and share its connections.
  s.http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const char*>(&yes), sizeof yes);
  });
  s.http.set_default_headers({
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cache-Control", "no-store"},
      // Only this server's own scripts, styles and data: no CDN, no inline script.
      {"Content-Security-Policy",
       "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'"},
  });
  s.routes();
}

Server::~Server() { stop(); }

int Server::bind() {
  Impl& s = *impl_;
  int port = s.options.port;
  if (port == 0) port = s.http.bind_to_any_port(s.options.host);
  else if (!s.http.bind_to_port(s.options.host, port)) port = -1;
  if (port < 0)
    throw Error(s.options.host + ":" + std::to_string(s.options.port) +
                ": cannot listen (port in use, or not an address of this machine?)");
  return port;
}

void Server::listen() {
  impl_->listening = true;
  if (!impl_->stop_requested) impl_->http.listen_after_bind();
  impl_->listening = false;
}

void Server::stop() {
  // A stop() just before listen() makes listen() return at once; one just after must wait
  // for the accept loop to start, or it would find nothing running and listen() would then
  // run forever. (Both flags are sequentially consistent atomics.)
  impl_->stop_requested = true;
  for (int i = 0; i < 1000 && impl_->listening && !impl_->http.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (impl_->http.is_running()) impl_->http.stop();
}

}  // namespace backprop::web
