// Server metrics (requests, latency, bytes, connections, tile rendering, tile cache) rendered in the
// Prometheus text exposition format 0.0.4. Recording is atomic increments; locks only add label series.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "tile_cache.h"

namespace reread {

class Metrics {
 public:
  // The Content-Type a /metrics response must carry.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";
  // Upper bounds (inclusive) of reread_http_request_duration_seconds; +Inf follows implicitly.
  static constexpr std::array<double, 13> kDurationBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                           0.25,  0.5,    1,     2.5,  5,     10};
  // Distinct route labels kept; further routes are counted under "other" so cardinality stays bounded
  // even if a caller passes something request-derived by mistake.
  static constexpr std::size_t kMaxRoutes = 32;

  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One finished request: route is a fixed label such as "deepzoom_tile", seconds its latency
  // (negative or NaN counts as 0), bytes the response body size.
  void observe(std::string_view route, int status, double seconds, std::size_t bytes);
  void connection_opened();
  void connection_closed();
  // stored: served zero-transcode from the slide file's own JPEG bytes; otherwise decoded and re-encoded.
  void tile_rendered(bool stored);

  // The whole exposition, cache figures taken from the given snapshot.
  std::string render(const TileCache::Stats& cache) const;

 private:
  struct RouteSeries {
    std::array<std::atomic<std::uint64_t>, kDurationBuckets.size() + 1> buckets{};  // per bucket, last is +Inf
    std::atomic<double> seconds_sum{0.0};
    std::atomic<std::uint64_t> response_bytes{0};
    std::map<int, std::atomic<std::uint64_t>> requests_by_status;
  };

  // Caller holds mu_ (shared or exclusive). Folds routes beyond kMaxRoutes into "other".
  RouteSeries* find_locked(std::string_view route);

  // guards which entries exist in routes_ and in each requests_by_status; the counts are atomics
  mutable std::shared_mutex mu_;
  std::map<std::string, RouteSeries, std::less<>> routes_;  // ordered, so output is stable
  std::atomic<std::int64_t> open_connections_{0};
  std::atomic<std::uint64_t> tiles_transcoded_{0};
  std::atomic<std::uint64_t> tiles_stored_{0};
};

}  // namespace reread
