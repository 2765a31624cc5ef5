// The routes of `backprop serve` on the HTTP layer (http_server.hpp): PredictApi, the run
// pages, the embedded assets, /healthz and /metrics, with JSON errors and no exception
// escaping a handler. Run pages are computed on first request and cached until their files
// change.
#include "backprop/web/server.hpp"

#include <algorithm>
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
#include "http_server.hpp"

namespace backprop::web {

namespace fs = std::filesystem;

namespace {

HttpResponse json_reply(const ApiReply& reply) { return {reply.status, "application/json", reply_text(reply), {}}; }

HttpResponse method_not_allowed(const char* allowed) {
  HttpResponse response = json_reply(api_error(405, std::string("method not allowed: use ") + allowed));
  response.headers.emplace_back("Allow", allowed);
  return response;
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
  explicit Impl(const ServerOptions& o) : options(o) {}
  ServerOptions options;
  ModelFile model;
  std::unique_ptr<PredictApi> api;
  DataOptions data;  // where run pages find their models' test sets (--data)
  std::mutex cache_mutex;  // guards cache; held while a page is computed (one at a time)
  std::map<std::string, CachedRun> cache;
  std::unique_ptr<HttpServer> http;  // last: stopped and joined before the rest goes

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
    Dataset test, samples;  // each model's own: its classes, scaling and held-out rows
    if (model_ptr && load_run_sets(data, model_ptr->data, test, samples, inputs.data_note)) {
      inputs.test = &test;
      inputs.samples = samples.count ? &samples : nullptr;
    }
    CachedRun fresh{metrics_time, model_time, {}};
    try {
      fresh.data = build_run_data(inputs);
    } catch (const Error& e) {  // names the file and line, never quotes its bytes
      return api_error(500, "run '" + inputs.name + "': " + e.what());
    }
    cache[name] = fresh;
    return {200, fresh.data};
  }

  // Every request's answer. Nothing escapes: an exception becomes a 500 JSON error.
  HttpResponse handle(const HttpRequest& req) {
    try {
      return route(req);
    } catch (const std::exception& e) {
      return json_reply(api_error(500, e.what()));
    } catch (...) {
      return json_reply(api_error(500, "internal error"));
    }
  }

  HttpResponse route(const HttpRequest& req) {
    const std::string& path = req.path;
    const bool get = req.method == "GET", post = req.method == "POST";
    if (path == "/api/predict") {
      if (!post) return method_not_allowed("POST");
      std::string detail;
      const bool detailed = req.has_param("detail", &detail) && detail != "0" && detail != "false";
      return json_reply(api->predict(req.body, req.content_type, detailed));
    }
    const bool api_route = path == "/api/model" || path == "/api/model/report" || path == "/api/runs" ||
                           path.rfind("/api/runs/", 0) == 0 || path == "/healthz" || path == "/metrics";
    if (api_route && !get) return method_not_allowed("GET");
    if (path == "/api/model") return json_reply(api->model());
    if (path == "/api/model/report") return json_reply(run(""));
    if (path == "/api/runs") return json_reply(runs());
    if (path.rfind("/api/runs/", 0) == 0) {
      const std::string name = path.substr(10);
      if (name.empty() || name.size() > 255 || name.find('/') != std::string::npos)
        return json_reply(api_error(404, "no such page: " + path));
      return json_reply(run(name));
    }
    if (path == "/healthz") return json_reply({200, {{"status", "ok"}, {"model", api->model().body["name"]}}});
    if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", http->metrics().prometheus_text(), {}};
    if (path.rfind("/api/", 0) == 0) return json_reply(api_error(404, "no such page: " + path));
    if (!get) return method_not_allowed("GET, HEAD");
    const Asset* asset = find_asset(path == "/" ? "/index.html" : path);
    if (!asset) return json_reply(api_error(404, "no such page: " + path));
    return {200, content_type_for(asset->path), std::string(asset->bytes), {}};
  }

  // The run pages may evaluate a model over the test set: off the event loop.
  static bool runs_long(const HttpRequest& req) { return req.path.rfind("/api/runs", 0) == 0 || req.path == "/api/model/report"; }
};

Server::Server(const ServerOptions& options) : impl_(std::make_unique<Impl>(options)) {
  Impl& s = *impl_;
  if (options.model_path.empty()) throw Error("serve: --model FILE is required");
  if (!(options.request_timeout > 0) || options.max_connections == 0)
    throw Error("serve: the request timeout and the connection limit must be positive");
  s.model = read_model(options.model_path);
  s.api = std::make_unique<PredictApi>(s.model, fs::path(options.model_path).filename().string());
  if (!options.runs_dir.empty()) list_runs(options.runs_dir);  // fail now on a bad directory
  s.data.path = resolve_data_dir(options.data_dir);

  HttpLimits limits;
  limits.max_body = options.max_body;
  limits.request_timeout = options.request_timeout;
  // One worker per core: a worker serves any number of connections, so more only contend.
  limits.workers = options.workers ? options.workers : std::max(1u, std::thread::hardware_concurrency());
  limits.max_connections = options.max_connections;
  s.http = std::make_unique<HttpServer>(
      limits,
      std::vector<std::pair<std::string, std::string>>{
          {"X-Content-Type-Options", "nosniff"},
          {"X-Frame-Options", "DENY"},
          {"Referrer-Policy", "no-referrer"},
          {"Cache-Control", "no-store"},
          {"Accept-Ranges", "none"},  // every answer is whole; a Range header is ignored
          // Only this server's own scripts, styles and data: no CDN, no inline script.
          {"Content-Security-Policy",
           "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
           "connect-src 'self'; frame-ancestors 'none'"},
      },
      [&s](const HttpRequest& req) { return s.handle(req); }, &Impl::runs_long, options.log_requests);
}

Server::~Server() { stop(); }

int Server::bind() { return impl_->http->bind(impl_->options.host, impl_->options.port); }

void Server::listen() { impl_->http->run(); }

void Server::stop() { impl_->http->stop(); }

}  // namespace backprop::web
