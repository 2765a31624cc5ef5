// Metrics (metrics.hpp): counting is a relaxed atomic add; the text is assembled on demand.
#include "metrics.hpp"

#include <cstdio>

namespace backprop::web {

void Metrics::record(int status, double seconds) {
  if (status >= 0 && status < static_cast<int>(by_status_.size()))
    by_status_[status].fetch_add(1, std::memory_order_relaxed);
  std::size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::prometheus_text() const {
  std::string out;
  char line[160];
  const auto add = [&](const char* format, auto... values) {
    std::snprintf(line, sizeof line, format, values...);
    out += line;
  };
  out += "# HELP backprop_http_requests_total HTTP requests answered, by status code.\n"
         "# TYPE backprop_http_requests_total counter\n";
  for (std::size_t status = 0; status < by_status_.size(); ++status)
    if (const auto n = by_status_[status].load(std::memory_order_relaxed))
      add("backprop_http_requests_total{code=\"%zu\"} %llu\n", status, static_cast<unsigned long long>(n));
  out += "# HELP backprop_http_request_duration_seconds Time from a request's headers to its answer sent.\n"
         "# TYPE backprop_http_request_duration_seconds histogram\n";
  unsigned long long cumulative = 0;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    cumulative += buckets_[b].load(std::memory_order_relaxed);
    if (b < kBuckets.size()) add("backprop_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", kBuckets[b], cumulative);
    else add("backprop_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cumulative);
  }
  add("backprop_http_request_duration_seconds_sum %.6f\n", micros_.load(std::memory_order_relaxed) / 1e6);
  add("backprop_http_request_duration_seconds_count %llu\n",
      static_cast<unsigned long long>(count_.load(std::memory_order_relaxed)));
  out += "# HELP backprop_http_requests_in_flight Requests received and not yet answered.\n"
         "# TYPE backprop_http_requests_in_flight gauge\n";
  add("backprop_http_requests_in_flight %lld\n", static_cast<long long>(in_flight.load()));
  out += "# HELP backprop_http_connections_open Client connections open now.\n"
         "# TYPE backprop_http_connections_open gauge\n";
  add("backprop_http_connections_open %lld\n", static_cast<long long>(open_connections.load()));
  out += "# HELP backprop_http_connections_refused_total Connections refused with 503 (over --max-connections).\n"
         "# TYPE backprop_http_connections_refused_total counter\n";
  add("backprop_http_connections_refused_total %llu\n", static_cast<unsigned long long>(refused_connections.load()));
  return out;
}

}  // namespace backprop::web
