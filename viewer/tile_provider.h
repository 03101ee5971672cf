// Where tiles come from: the server over HTTP (keep-alive connections, retries with backoff) or a local
// slide read through the tiler library. A provider takes an ordered wish list, replaced every frame:
// queued requests that are no longer wished for are dropped before they are sent; what arrives is
// handed back, decoded, through a queue the frame drains.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "rgb_image.h"
#include "tile_scheduler.h"

namespace reread::viewer {

class ConnectionPool;

struct ArrivedTile {
  TileId id;
  RgbImage image;                 // decoded, including its overlap
  std::size_t encoded_bytes = 0;  // bytes that came over the wire
  double fetch_ms = 0, decode_ms = 0;
};

struct ProviderStatus {
  std::size_t queued = 0, in_flight = 0;
  std::uint64_t requested = 0, arrived = 0, failed = 0, cancelled = 0;
  std::uint64_t bytes = 0;
  bool reachable = true;
  std::string last_error;  // what went wrong last, for the banner ("" when all is well)
};

class TileProvider {
 public:
  virtual ~TileProvider() = default;
  // Replaces the wish list (most wanted first). Requests already sent complete; queued ones not in
  // `wanted` are dropped. Tiles that failed are retried with backoff while still wanted.
  virtual void want(const std::vector<TileId>& wanted) = 0;
  // Tiles that arrived since the last call.
  virtual std::vector<ArrivedTile> take_arrived() = 0;
  virtual ProviderStatus status() const = 0;
};

struct HttpProviderOptions {
  std::string base_url;  // http://host:port
  std::string token;     // bearer token
  std::string slide_id;  // tiles come from /slides/{slide_id}_files/{level}/{col}_{row}.jpeg
  int connections = 6;   // parallel keep-alive connections
  // Requests each connection keeps on the wire (HTTP/1.1 pipelining): at a distant server, 6 connections
  // x 4 fetch a 1920 x 1080 view's ~50 tiles in about three round trips instead of nine. Requests sent
  // cannot be taken back, so the depth also bounds what a move leaves in flight.
  int pipeline_depth = 4;
  // Connections come from here when given (already open, and handed back when the provider goes).
  std::shared_ptr<ConnectionPool> pool;
  int decoders = 2;      // JPEG decoding threads
  std::chrono::milliseconds retry_initial{250}, retry_max{8000};
  // A server that accepts no connection, or answers nothing, within these is reported unreachable.
  std::chrono::milliseconds connect_timeout{3000}, request_timeout{15000};
};
// Throws std::invalid_argument for a base_url that is not http://host[:port][/prefix].
std::unique_ptr<TileProvider> make_http_provider(const HttpProviderOptions& options);

// Renders tiles of a local slide with the tiler (offline use) on `threads` threads. Throws SlideError
// when the slide cannot be opened.
std::unique_ptr<TileProvider> make_local_provider(const std::string& slide_path, int threads);

// What the viewer needs of a slide before its first tile: the DeepZoom pyramid and the scale.
struct SlideLayout {
  PyramidLayout layout;
  std::optional<double> mpp_x, mpp_y, objective_power;
  // Microns per level-0 pixel (the mean of x and y when both are known).
  std::optional<double> mpp() const {
    if (mpp_x && mpp_y) return (*mpp_x + *mpp_y) / 2;
    return mpp_x ? mpp_x : mpp_y;
  }
};
// The layout of a local slide, as make_local_provider serves it. Throws SlideError.
SlideLayout read_local_layout(const std::string& slide_path);

// The provider side of the wish list, shared by the providers' worker threads: the queue want()
// replaces, the tiles in flight, retries with exponential backoff, arrived tiles and the status.
// Thread-safe; the caller's want/take_arrived/status only ever wait for this lock, never for I/O.
class TileRequestQueue {
 public:
  using Clock = std::chrono::steady_clock;
  TileRequestQueue(std::chrono::milliseconds retry_initial, std::chrono::milliseconds retry_max)
      : retry_initial_(retry_initial), retry_max_(retry_max) {}

  // The TileProvider::want contract: queued tiles not wished for any more are dropped (cancelled), and
  // so are the retries of failed ones.
  void want(const std::vector<TileId>& wanted) {
    std::lock_guard lock(mutex_);
    std::unordered_set<TileId, TileIdHash> next(wanted.begin(), wanted.end());
    for (const TileId& t : queue_) status_.cancelled += next.count(t) == 0 ? 1 : 0;
    queue_.clear();
    std::unordered_set<TileId, TileIdHash> queued;
    for (const TileId& t : wanted) {
      if (in_flight_.count(t) == 0 && queued.insert(t).second) queue_.push_back(t);
    }
    std::erase_if(retries_, [&](const auto& r) { return next.count(r.first) == 0; });
    wanted_ = std::move(next);
    wake_.notify_all();
  }

  // For a worker: blocks until the most wanted tile whose backoff has passed, which is then in flight;
  // nullopt once stopped.
  std::optional<TileId> next() {
    std::unique_lock lock(mutex_);
    while (!stopped_) {
      std::optional<Clock::time_point> earliest;
      if (auto t = take_ready(earliest)) return t;
      if (earliest) {
        wake_.wait_until(lock, *earliest);
      } else {
        wake_.wait(lock);
      }
    }
    return std::nullopt;
  }

  // The same without waiting: nullopt when no tile is ready now (or once stopped). For a connection
  // that pipelines: it sends more while answers are on their way.
  std::optional<TileId> try_next() {
    std::lock_guard lock(mutex_);
    if (stopped_) return std::nullopt;
    std::optional<Clock::time_point> earliest;
    return take_ready(earliest);
  }

  // A tile a worker got: it stays in flight until take_arrived hands it over, so it is not asked again.
  void deliver(ArrivedTile tile) {
    std::lock_guard lock(mutex_);
    retries_.erase(tile.id);
    ++status_.arrived;
    status_.bytes += tile.encoded_bytes;
    status_.reachable = true;
    status_.last_error.clear();
    arrived_.push_back(std::move(tile));
  }

  // A tile a worker could not get: back to the front of the queue, due after a backoff that doubles with
  // each attempt, while it is still wanted. `reachable`: whether the source itself answered.
  void fail(const TileId& id, const std::string& error, bool reachable) {
    std::lock_guard lock(mutex_);
    in_flight_.erase(id);
    ++status_.failed;
    status_.reachable = reachable;
    status_.last_error = error;
    if (wanted_.count(id) == 0) return;
    Retry& r = retries_[id];
    const auto delay =
        std::min<std::chrono::milliseconds>(retry_initial_ * (std::int64_t{1} << std::min(r.attempts, 20)), retry_max_);
    ++r.attempts;
    r.not_before = Clock::now() + delay;
    if (std::find(queue_.begin(), queue_.end(), id) == queue_.end()) queue_.insert(queue_.begin(), id);
    wake_.notify_all();
  }

  std::vector<ArrivedTile> take_arrived() {
    std::lock_guard lock(mutex_);
    for (const ArrivedTile& t : arrived_) in_flight_.erase(t.id);
    std::vector<ArrivedTile> out;
    out.swap(arrived_);
    return out;
  }

  ProviderStatus status() const {
    std::lock_guard lock(mutex_);
    ProviderStatus s = status_;
    s.queued = queue_.size();
    s.in_flight = in_flight_.size() - arrived_.size();
    return s;
  }

  // Wakes every worker for good: next() answers nullopt and pause() false from now on.
  void stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    wake_.notify_all();
  }
  bool stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
  }
  // Waits `d` (a worker's own backoff) or until stop(); false when stopped.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, d, [&] { return stopped_; });
    return !stopped_;
  }

 private:
  // Under the lock: the most wanted ready tile, now in flight; else when the next backoff ends.
  std::optional<TileId> take_ready(std::optional<Clock::time_point>& earliest) {
    const auto now = Clock::now();
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      const auto retry = retries_.find(*it);
      if (retry == retries_.end() || retry->second.not_before <= now) {
        const TileId t = *it;
        queue_.erase(it);
        in_flight_.insert(t);
        ++status_.requested;
        return t;
      }
      if (!earliest || retry->second.not_before < *earliest) earliest = retry->second.not_before;
    }
    return std::nullopt;
  }

  struct Retry {
    int attempts = 0;
    Clock::time_point not_before;
  };
  const std::chrono::milliseconds retry_initial_, retry_max_;
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::vector<TileId> queue_;                         // wanted and not in flight, most wanted first
  std::unordered_set<TileId, TileIdHash> wanted_;     // the last wish list
  std::unordered_set<TileId, TileIdHash> in_flight_;  // with a worker, or arrived and not yet taken
  std::unordered_map<TileId, Retry, TileIdHash> retries_;
  std::vector<ArrivedTile> arrived_;
  ProviderStatus status_;
  bool stopped_ = false;
};

}  // namespace reread::viewer
