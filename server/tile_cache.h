// Byte-bounded LRU cache of encoded tiles with single-flight rendering: HTTP I/O threads ask without
// blocking, the worker pool renders each missing tile once, and every concurrent asker gets that result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace reread {

struct CachedTile {
  std::shared_ptr<const std::string> bytes;  // encoded image; shared so responses need not copy it
  std::string content_type;                  // "image/jpeg" / "image/png"
  std::string etag;                          // strong ETag, quoted; filled in by the cache when left empty
};

struct TileFailure {
  int status = 500;
  std::string message;  // e.g. "slide x: read region ...: Bogus marker length"
};

using TileResult = std::variant<CachedTile, TileFailure>;

// Strong ETag of a tile: FNV-1a 64 over the key and the bytes, as 16 hex digits in double quotes.
// Cheap next to encoding (one pass over the bytes) and stable across restarts.
std::string make_tile_etag(std::string_view key, std::string_view bytes);

// A successful tile with its ETag computed, for producers.
CachedTile make_cached_tile(std::string_view key, std::string bytes, std::string content_type);

class TileCache {
 public:
  // Renders the tile; runs on the executor. May throw: the exception becomes TileFailure{500, what()}.
  using Producer = std::function<TileResult()>;
  // Called exactly once per get(): inline on a hit, otherwise on the thread that ran the producer
  // (or inline in get() when the executor refuses the work). Must not block; should not throw.
  using Done = std::function<void(const TileResult&)>;
  // Posts work to the worker pool. It must either run each task it accepts, destroy it unrun (the
  // waiters then get 503), or throw (same). Calling it never happens under the cache's lock.
  using Executor = std::function<void(std::function<void()>)>;

  struct Stats {
    std::uint64_t hits = 0;       // get()/peek() served from the cache
    std::uint64_t misses = 0;     // get()/peek() not in the cache, coalesced ones included
    std::uint64_t coalesced = 0;  // misses that joined a render already in flight
    std::uint64_t evictions = 0;  // entries dropped to stay within capacity
    std::uint64_t entries = 0;
    std::uint64_t bytes = 0;  // encoded bytes held (sum of bytes->size(); bookkeeping not counted)
    std::uint64_t capacity = 0;
  };

  TileCache(std::size_t capacity_bytes, Executor executor);
  ~TileCache();
  TileCache(const TileCache&) = delete;
  TileCache& operator=(const TileCache&) = delete;

  // Hit: calls done inline. Miss: the first caller for a key has producer run once on the executor;
  // concurrent callers for the same key are queued and all receive the same result. Successes are kept
  // (least-recently-used entries evicted until bytes <= capacity; an entry larger than the capacity is
  // delivered but not kept). Failures reach every waiter and are not cached. Never blocks on rendering.
  void get(const std::string& key, Producer producer, Done done);

  // Lookup without producing; counts as a hit or a miss and refreshes recency on a hit.
  std::optional<CachedTile> peek(const std::string& key);

  Stats stats() const;

 private:
  struct State;
  class RenderTask;
  // Shared with tasks in flight, so destroying the cache while renders are queued is safe.
  std::shared_ptr<State> state_;
};

}  // namespace reread
