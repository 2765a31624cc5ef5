// The figures behind GET /metrics (private to src/web/): requests answered by status, a
// latency histogram, requests in flight and open connections, as lock-free counters that
// the HTTP layer bumps and prometheus_text() prints in Prometheus' text format (0.0.4).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace backprop::web {

class Metrics {
 public:
  // Upper bounds of the latency buckets, in seconds (the last bucket is +Inf).
  static constexpr std::array<double, 14> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                      0.025,  0.05,    0.1,    0.25,  0.5,    1,     10};

  // A request answered with status after seconds (from its headers' end to the answer sent).
  void record(int status, double seconds);

  std::atomic<std::int64_t> in_flight{0};         // requests past their headers, not yet answered
  std::atomic<std::int64_t> open_connections{0};
  std::atomic<std::uint64_t> refused_connections{0};  // past max_connections (503)

  std::string prometheus_text() const;

 private:
  std::array<std::atomic<std::uint64_t>, 600> by_status_{};    // index: status code
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets_{};  // not cumulative
  std::atomic<std::uint64_t> count_{0}, micros_{0};
};

}  // namespace backprop::web
