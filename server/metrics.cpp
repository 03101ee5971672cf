// Records server metrics in atomics and writes them out in the Prometheus text format 0.0.4
// (HELP and TYPE before each family, a family's samples contiguous, label values escaped).
#include "metrics.h"

#include <charconv>
#include <cmath>
#include <mutex>
#include <string>
#include <system_error>
#include <type_traits>

namespace reread {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;  // counters only; no other data hangs off them

// Label values escape backslash, double quote and line feed, per the format.
void append_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// Shortest text that reads back to the same double; Prometheus spells infinities +Inf/-Inf.
void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc() ? end : buf);
  }
}

void append_family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;  // fixed text below, free of the backslashes and line feeds HELP would need escaped
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// One sample line; labels is the already-escaped text between the braces, or empty.
template <typename Value>
void append_sample(std::string& out, std::string_view name, std::string_view labels, Value value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  if constexpr (std::is_floating_point_v<Value>) {
    append_double(out, value);
  } else {
    out += std::to_string(value);
  }
  out += '\n';
}

std::string route_label(std::string_view route) {
  std::string labels = "route=\"";
  append_label_value(labels, route);
  labels += '"';
  return labels;
}

}  // namespace

Metrics::RouteSeries* Metrics::find_locked(std::string_view route) {
  auto it = routes_.find(route);
  if (it == routes_.end() && routes_.size() >= kMaxRoutes) it = routes_.find(std::string_view("other"));
  return it == routes_.end() ? nullptr : &it->second;
}

void Metrics::observe(std::string_view route, int status, double seconds, std::size_t bytes) {
  if (!(seconds >= 0)) seconds = 0;  // NaN or a clock that stepped back
  std::size_t bucket = 0;
  while (bucket < kDurationBuckets.size() && seconds > kDurationBuckets[bucket]) ++bucket;

  auto record = [&](RouteSeries& series, std::atomic<std::uint64_t>& requests) {
    requests.fetch_add(1, kRelaxed);
    series.buckets[bucket].fetch_add(1, kRelaxed);
    series.seconds_sum.fetch_add(seconds, kRelaxed);
    series.response_bytes.fetch_add(bytes, kRelaxed);
  };

  {
    // Every series but the first of its kind already exists: a shared lock keeps observers concurrent.
    std::shared_lock lock(mu_);
    if (RouteSeries* series = find_locked(route)) {
      auto it = series->requests_by_status.find(status);
      if (it != series->requests_by_status.end()) {
        record(*series, it->second);
        return;
      }
    }
  }
  std::unique_lock lock(mu_);
  RouteSeries* series = find_locked(route);
  if (series == nullptr) {
    const std::string_view name = routes_.size() >= kMaxRoutes ? std::string_view("other") : route;
    series = &routes_.try_emplace(std::string(name)).first->second;
  }
  record(*series, series->requests_by_status.try_emplace(status).first->second);
}

void Metrics::connection_opened() { open_connections_.fetch_add(1, kRelaxed); }

void Metrics::connection_closed() { open_connections_.fetch_sub(1, kRelaxed); }

void Metrics::tile_rendered(bool stored) { (stored ? tiles_stored_ : tiles_transcoded_).fetch_add(1, kRelaxed); }

std::string Metrics::render(const TileCache::Stats& cache) const {
  std::string out;
  out.reserve(8192);
  {
    std::shared_lock lock(mu_);

    append_family(out, "reread_http_requests_total", "counter", "HTTP requests answered, by route and status code.");
    for (const auto& [route, series] : routes_) {
      for (const auto& [status, count] : series.requests_by_status) {
        std::string labels = route_label(route) + ",status=\"" + std::to_string(status) + '"';
        append_sample(out, "reread_http_requests_total", labels, count.load(kRelaxed));
      }
    }

    append_family(out, "reread_http_request_duration_seconds", "histogram",
                  "HTTP request latency in seconds, by route.");
    for (const auto& [route, series] : routes_) {
      const std::string labels = route_label(route);
      // _count is the +Inf bucket, so the two agree even while observers race with this render.
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < series.buckets.size(); ++i) {
        cumulative += series.buckets[i].load(kRelaxed);
        std::string le = labels + ",le=\"";
        if (i < kDurationBuckets.size()) {
          append_double(le, kDurationBuckets[i]);
        } else {
          le += "+Inf";
        }
        le += '"';
        append_sample(out, "reread_http_request_duration_seconds_bucket", le, cumulative);
      }
      append_sample(out, "reread_http_request_duration_seconds_sum", labels, series.seconds_sum.load(kRelaxed));
      append_sample(out, "reread_http_request_duration_seconds_count", labels, cumulative);
    }

    append_family(out, "reread_http_response_bytes_total", "counter", "HTTP response body bytes sent, by route.");
    for (const auto& [route, series] : routes_) {
      append_sample(out, "reread_http_response_bytes_total", route_label(route), series.response_bytes.load(kRelaxed));
    }
  }

  append_family(out, "reread_http_open_connections", "gauge", "HTTP connections currently open.");
  append_sample(out, "reread_http_open_connections", "", open_connections_.load(kRelaxed));

  append_family(out, "reread_tiles_rendered_total", "counter",
                "Tiles produced: transcode = decoded and re-encoded, stored = the slide's own JPEG bytes sent as is.");
  append_sample(out, "reread_tiles_rendered_total", "path=\"transcode\"", tiles_transcoded_.load(kRelaxed));
  append_sample(out, "reread_tiles_rendered_total", "path=\"stored\"", tiles_stored_.load(kRelaxed));

  append_family(out, "reread_tile_cache_hits_total", "counter", "Tile cache lookups served from the cache.");
  append_sample(out, "reread_tile_cache_hits_total", "", cache.hits);
  append_family(out, "reread_tile_cache_misses_total", "counter",
                "Tile cache lookups not in the cache, coalesced ones included.");
  append_sample(out, "reread_tile_cache_misses_total", "", cache.misses);
  append_family(out, "reread_tile_cache_coalesced_total", "counter",
                "Tile cache misses that joined a render already in flight.");
  append_sample(out, "reread_tile_cache_coalesced_total", "", cache.coalesced);
  append_family(out, "reread_tile_cache_evictions_total", "counter",
                "Tiles evicted to keep the cache within capacity.");
  append_sample(out, "reread_tile_cache_evictions_total", "", cache.evictions);
  append_family(out, "reread_tile_cache_entries", "gauge", "Tiles held in the cache.");
  append_sample(out, "reread_tile_cache_entries", "", cache.entries);
  append_family(out, "reread_tile_cache_bytes", "gauge", "Encoded tile bytes held in the cache.");
  append_sample(out, "reread_tile_cache_bytes", "", cache.bytes);
  append_family(out, "reread_tile_cache_capacity_bytes", "gauge", "Capacity of the tile cache in encoded bytes.");
  append_sample(out, "reread_tile_cache_capacity_bytes", "", cache.capacity);
  return out;
}

}  // namespace reread
