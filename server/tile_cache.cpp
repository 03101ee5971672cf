// Byte-bounded LRU tile cache with single-flight rendering: an O(1) list + hash-map LRU and a table of
// renders in flight, each holding the callbacks waiting for it.
#include "tile_cache.h"

#include <exception>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace reread {

namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

std::uint64_t fnv1a(std::uint64_t h, std::string_view data) {
  for (char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return h;
}

// Calls every waiter even if one throws, so no request is left hanging; the first exception is
// rethrown afterwards when the caller can take it, otherwise dropped (there is nowhere to send it).
void deliver(std::vector<TileCache::Done>& waiters, const TileResult& result, bool rethrow) {
  std::exception_ptr first;
  for (auto& done : waiters) {
    try {
      done(result);
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first && rethrow) std::rethrow_exception(first);
}

}  // namespace

std::string make_tile_etag(std::string_view key, std::string_view bytes) {
  // The separator keeps ("ab", "c") and ("a", "bc") apart.
  std::uint64_t h = fnv1a(fnv1a(kFnvOffset, key), std::string_view("\xff", 1));
  h = fnv1a(h, bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string etag(18, '"');
  for (int i = 16; i >= 1; --i) {
    etag[static_cast<std::size_t>(i)] = kHex[h & 0xf];
    h >>= 4;
  }
  return etag;
}

CachedTile make_cached_tile(std::string_view key, std::string bytes, std::string content_type) {
  std::string etag = make_tile_etag(key, bytes);
  return CachedTile{std::make_shared<const std::string>(std::move(bytes)), std::move(content_type), std::move(etag)};
}

struct TileCache::State {
  struct Entry {
    std::string key;
    CachedTile tile;
    std::size_t size = 0;
  };

  State(std::size_t capacity_bytes, Executor exec) : capacity(capacity_bytes), executor(std::move(exec)) {}

  const std::size_t capacity;
  const Executor executor;

  mutable std::mutex mu;  // guards lru, index, inflight and the counters below
  std::list<Entry> lru;   // most recently used first
  // Keys view into the list nodes' own key strings, which stay put until the node is erased.
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index;
  std::unordered_map<std::string, std::vector<Done>> inflight;  // key -> callers waiting for its render
  std::uint64_t bytes = 0, hits = 0, misses = 0, coalesced = 0, evictions = 0;

  // Finds key and marks it most recently used. Caller holds mu.
  std::optional<CachedTile> lookup_locked(const std::string& key) {
    auto it = index.find(key);
    if (it == index.end()) return std::nullopt;
    lru.splice(lru.begin(), lru, it->second);
    return it->second->tile;
  }

  // Caller holds mu.
  void insert_locked(const std::string& key, const CachedTile& tile) {
    const std::size_t size = tile.bytes->size();
    if (size > capacity) return;  // would evict everything and still not fit
    if (auto it = index.find(key); it != index.end()) {
      // Not reachable through get() (a key in flight is never cached), kept so the invariants hold.
      bytes -= it->second->size;
      auto node = it->second;
      index.erase(it);
      lru.erase(node);
    }
    lru.push_front(Entry{key, tile, size});
    index.emplace(lru.front().key, lru.begin());
    bytes += size;
    // The new entry fits on its own, so it is never the one evicted here.
    while (bytes > capacity) {
      Entry& victim = lru.back();
      bytes -= victim.size;
      index.erase(victim.key);
      lru.pop_back();
      ++evictions;
    }
  }

  // Ends the render of key: caches a success and hands the result to every waiter. Taking the
  // waiters and inserting in one critical section means a later get() sees either the render in
  // flight or the cached tile, never a gap that would start a second render.
  void finish(const std::string& key, TileResult result, bool rethrow) {
    if (auto* tile = std::get_if<CachedTile>(&result)) {
      if (!tile->bytes) {
        result = TileFailure{500, "tile producer returned no bytes"};
      } else if (tile->etag.empty()) {
        tile->etag = make_tile_etag(key, *tile->bytes);
      }
    }
    std::vector<Done> waiters;
    {
      std::lock_guard lock(mu);
      auto it = inflight.find(key);
      if (it != inflight.end()) {
        waiters = std::move(it->second);
        inflight.erase(it);
      }
      if (const auto* tile = std::get_if<CachedTile>(&result)) insert_locked(key, *tile);
    }
    deliver(waiters, result, rethrow);
  }

  void render(const std::string& key, const Producer& producer) {
    TileResult result;
    try {
      result = producer();
    } catch (const std::exception& e) {
      result = TileFailure{500, e.what()};
    } catch (...) {
      result = TileFailure{500, "tile producer threw a non-standard exception"};
    }
    finish(key, std::move(result), true);
  }
};

// The unit of work posted to the executor. If the executor throws or drops it without running it,
// the destructor still ends the render with 503, so the key is not stuck in flight forever and no
// waiter hangs.
class TileCache::RenderTask {
 public:
  RenderTask(std::shared_ptr<State> state, std::string key, Producer producer)
      : state_(std::move(state)), key_(std::move(key)), producer_(std::move(producer)) {}
  RenderTask(const RenderTask&) = delete;
  RenderTask& operator=(const RenderTask&) = delete;

  ~RenderTask() {
    if (!ran_) state_->finish(key_, TileFailure{503, "tile render was not run: worker pool unavailable"}, false);
  }

  void run() {
    if (ran_) return;
    ran_ = true;
    state_->render(key_, producer_);
  }

 private:
  std::shared_ptr<State> state_;
  std::string key_;
  Producer producer_;
  bool ran_ = false;  // set by run(); the destructor reads it after the shared_ptr count orders them
};

TileCache::TileCache(std::size_t capacity_bytes, Executor executor)
    : state_(std::make_shared<State>(capacity_bytes, std::move(executor))) {}

TileCache::~TileCache() = default;

void TileCache::get(const std::string& key, Producer producer, Done done) {
  State& s = *state_;
  std::optional<CachedTile> hit;
  {
    std::lock_guard lock(s.mu);
    hit = s.lookup_locked(key);
    if (hit) {
      ++s.hits;
    } else {
      ++s.misses;
      auto [it, first] = s.inflight.try_emplace(key);
      it->second.push_back(std::move(done));
      if (!first) {
        ++s.coalesced;
        return;
      }
    }
  }
  if (hit) {
    done(TileResult{std::move(*hit)});
    return;
  }
  // std::function needs a copyable callable, hence the shared_ptr around the non-copyable task.
  auto task = std::make_shared<RenderTask>(state_, key, std::move(producer));
  try {
    s.executor([task] { task->run(); });
  } catch (...) {
    // Refused: once the last copy of the task goes (ours, at the end of this call, unless the executor
    // kept one), its destructor fails every waiter, this caller included, with 503. Nothing to rethrow.
  }
}

std::optional<CachedTile> TileCache::peek(const std::string& key) {
  State& s = *state_;
  std::lock_guard lock(s.mu);
  auto hit = s.lookup_locked(key);
  if (hit) {
    ++s.hits;
  } else {
    ++s.misses;
  }
  return hit;
}

TileCache::Stats TileCache::stats() const {
  const State& s = *state_;
  std::lock_guard lock(s.mu);
  return Stats{s.hits, s.misses, s.coalesced, s.evictions, s.index.size(), s.bytes, s.capacity};
}

}  // namespace reread
