// TileCache behaviour: LRU by bytes, single-flight under real concurrency, failure delivery, ETags.
// Renders run on a real std::thread pool, as they do in the server.
#include "tile_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace reread {
namespace {

using namespace std::chrono_literals;

// Fixed-size pool of std::thread workers over a FIFO queue. Destruction runs what is queued, then joins.
class ThreadPool {
 public:
  explicit ThreadPool(int threads) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& w : workers_) w.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void post(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

  TileCache::Executor executor() {
    return [this](std::function<void()> task) { post(std::move(task)); };
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;  // guards queue_ and stopping_
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

TileResult tile_of(const std::string& key, std::size_t size, char fill = 'x') {
  return make_cached_tile(key, std::string(size, fill), "image/jpeg");
}

// Waits for one get() to be answered.
TileResult get_sync(TileCache& cache, const std::string& key, TileCache::Producer producer) {
  auto promise = std::make_shared<std::promise<TileResult>>();
  auto future = promise->get_future();
  cache.get(key, std::move(producer), [promise](const TileResult& r) { promise->set_value(r); });
  EXPECT_EQ(future.wait_for(10s), std::future_status::ready) << "get(" << key << ") was never answered";
  return future.get();
}

// Caches key with a tile of size bytes.
void put(TileCache& cache, const std::string& key, std::size_t size) {
  ASSERT_TRUE(std::holds_alternative<CachedTile>(get_sync(cache, key, [=] { return tile_of(key, size); })));
}

// Counts answers and lets a test wait for an expected number of them.
class Answers {
 public:
  TileCache::Done callback() {
    return [this](const TileResult& r) {
      std::lock_guard lock(mu_);
      results_.push_back(r);
      changed_.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, 10s, [&] { return results_.size() >= n; });
  }
  std::vector<TileResult> results() {
    std::lock_guard lock(mu_);
    return results_;
  }

 private:
  std::mutex mu_;  // guards results_
  std::condition_variable changed_;
  std::vector<TileResult> results_;
};

TEST(TileCache, miss_renders_on_the_executor_and_a_later_hit_is_served_inline) {
  ThreadPool pool(2);
  TileCache cache(1 << 20, pool.executor());
  const auto caller = std::this_thread::get_id();
  std::thread::id producer_thread;
  auto first = get_sync(cache, "a", [&] {
    producer_thread = std::this_thread::get_id();
    return tile_of("a", 10);
  });
  ASSERT_TRUE(std::holds_alternative<CachedTile>(first));
  EXPECT_NE(producer_thread, caller);

  bool inline_answer = false;
  cache.get(
      "a", [&]() -> TileResult { throw std::logic_error("a hit must not render"); },
      [&](const TileResult& r) {
        inline_answer = true;
        ASSERT_TRUE(std::holds_alternative<CachedTile>(r));
        EXPECT_EQ(std::get<CachedTile>(r).bytes, std::get<CachedTile>(first).bytes);  // same shared buffer
      });
  EXPECT_TRUE(inline_answer);
  const auto s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, 10u);
}

TEST(TileCache, concurrent_requests_for_one_tile_render_it_once) {
  constexpr int kRequesters = 32;
  ThreadPool pool(8);
  TileCache cache(1 << 20, pool.executor());
  std::atomic<int> producer_calls{0};
  std::latch release(1);
  Answers answers;

  std::latch start(kRequesters);
  std::vector<std::thread> requesters;
  for (int i = 0; i < kRequesters; ++i) {
    requesters.emplace_back([&] {
      start.arrive_and_wait();  // all ask at once
      cache.get(
          "slide/12/3_4.jpeg",
          [&] {
            producer_calls.fetch_add(1);
            release.wait();
            return tile_of("slide/12/3_4.jpeg", 100);
          },
          answers.callback());
    });
  }
  // get() returned on every requester while the render is still blocked: I/O threads never wait on it.
  for (auto& t : requesters) t.join();
  EXPECT_TRUE(answers.results().empty());
  auto s = cache.stats();
  EXPECT_EQ(s.misses, static_cast<std::uint64_t>(kRequesters));
  EXPECT_EQ(s.coalesced, static_cast<std::uint64_t>(kRequesters - 1));

  release.count_down();
  ASSERT_TRUE(answers.wait_for(kRequesters));
  EXPECT_EQ(producer_calls.load(), 1);
  const auto results = answers.results();
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kRequesters));
  const auto& shared = std::get<CachedTile>(results.front());
  for (const auto& r : results) {
    ASSERT_TRUE(std::holds_alternative<CachedTile>(r));
    EXPECT_EQ(std::get<CachedTile>(r).bytes, shared.bytes);
    EXPECT_EQ(std::get<CachedTile>(r).etag, shared.etag);
  }
  // And the next request is a plain hit.
  EXPECT_TRUE(cache.peek("slide/12/3_4.jpeg").has_value());
  EXPECT_EQ(producer_calls.load(), 1);
}

TEST(TileCache, different_tiles_render_in_parallel) {
  ThreadPool pool(2);
  TileCache cache(1 << 20, pool.executor());
  std::latch release(1);
  Answers slow;
  cache.get(
      "slow",
      [&] {
        release.wait();
        return tile_of("slow", 1);
      },
      slow.callback());
  // A render blocked on one key holds up neither the cache nor other keys.
  EXPECT_TRUE(std::holds_alternative<CachedTile>(get_sync(cache, "fast", [] { return tile_of("fast", 1); })));
  EXPECT_TRUE(slow.results().empty());
  release.count_down();
  EXPECT_TRUE(slow.wait_for(1));
}

TEST(TileCache, evicts_least_recently_used_to_stay_within_bytes) {
  ThreadPool pool(2);
  TileCache cache(300, pool.executor());
  put(cache, "a", 100);
  put(cache, "b", 100);
  put(cache, "c", 100);
  EXPECT_EQ(cache.stats().bytes, 300u);

  put(cache, "d", 150);  // must drop a and b (oldest) to fit
  auto s = cache.stats();
  EXPECT_LE(s.bytes, 300u);
  EXPECT_EQ(s.bytes, 250u);
  EXPECT_EQ(s.evictions, 2u);
  EXPECT_EQ(s.entries, 2u);
  EXPECT_FALSE(cache.peek("a"));
  EXPECT_FALSE(cache.peek("b"));
  EXPECT_TRUE(cache.peek("c"));
  EXPECT_TRUE(cache.peek("d"));
}

TEST(TileCache, a_hit_makes_an_entry_most_recently_used) {
  ThreadPool pool(2);
  TileCache cache(200, pool.executor());
  put(cache, "a", 100);
  put(cache, "b", 100);
  ASSERT_TRUE(cache.peek("a"));  // a is now newer than b
  put(cache, "c", 100);
  EXPECT_TRUE(cache.peek("a"));
  EXPECT_FALSE(cache.peek("b"));
  EXPECT_TRUE(cache.peek("c"));
}

TEST(TileCache, failures_reach_every_waiter_and_are_not_cached) {
  constexpr int kWaiters = 10;
  ThreadPool pool(4);
  TileCache cache(1 << 20, pool.executor());
  std::atomic<int> producer_calls{0};
  std::latch release(1);
  Answers answers;
  auto failing = [&]() -> TileResult {
    producer_calls.fetch_add(1);
    release.wait();
    return TileFailure{500, "slide x: read region (0, 0): Bogus marker length"};
  };
  for (int i = 0; i < kWaiters; ++i) cache.get("t", failing, answers.callback());
  release.count_down();
  ASSERT_TRUE(answers.wait_for(kWaiters));
  EXPECT_EQ(producer_calls.load(), 1);
  for (const auto& r : answers.results()) {
    ASSERT_TRUE(std::holds_alternative<TileFailure>(r));
    EXPECT_EQ(std::get<TileFailure>(r).status, 500);
    EXPECT_EQ(std::get<TileFailure>(r).message, "slide x: read region (0, 0): Bogus marker length");
  }
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_FALSE(cache.peek("t"));

  // Not cached: the next request renders again, and can succeed.
  auto retry = get_sync(cache, "t", [&] {
    producer_calls.fetch_add(1);
    return tile_of("t", 5);
  });
  EXPECT_TRUE(std::holds_alternative<CachedTile>(retry));
  EXPECT_EQ(producer_calls.load(), 2);
}

TEST(TileCache, producer_exceptions_become_500_failures) {
  ThreadPool pool(1);
  TileCache cache(1 << 20, pool.executor());
  auto r = get_sync(cache, "k", []() -> TileResult { throw std::runtime_error("decode failed: bad huffman code"); });
  ASSERT_TRUE(std::holds_alternative<TileFailure>(r));
  EXPECT_EQ(std::get<TileFailure>(r).status, 500);
  EXPECT_EQ(std::get<TileFailure>(r).message, "decode failed: bad huffman code");

  auto odd = get_sync(cache, "k", []() -> TileResult { throw 42; });
  ASSERT_TRUE(std::holds_alternative<TileFailure>(odd));
  EXPECT_EQ(std::get<TileFailure>(odd).status, 500);

  auto empty = get_sync(cache, "k", [] { return TileResult{CachedTile{}}; });
  ASSERT_TRUE(std::holds_alternative<TileFailure>(empty));
  EXPECT_EQ(std::get<TileFailure>(empty).status, 500);
  EXPECT_EQ(cache.stats().entries, 0u);
}

TEST(TileCache, oversized_entry_is_served_but_not_kept) {
  ThreadPool pool(1);
  TileCache cache(100, pool.executor());
  put(cache, "small", 60);
  auto big = get_sync(cache, "big", [] { return tile_of("big", 101); });
  ASSERT_TRUE(std::holds_alternative<CachedTile>(big));
  EXPECT_EQ(std::get<CachedTile>(big).bytes->size(), 101u);
  auto s = cache.stats();
  EXPECT_EQ(s.entries, 1u);  // the small one is not sacrificed for a tile that cannot fit anyway
  EXPECT_EQ(s.bytes, 60u);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_FALSE(cache.peek("big"));
  EXPECT_TRUE(cache.peek("small"));
}

TEST(TileCache, entry_exactly_at_capacity_is_kept) {
  ThreadPool pool(1);
  TileCache cache(100, pool.executor());
  put(cache, "a", 100);
  EXPECT_TRUE(cache.peek("a"));
  EXPECT_EQ(cache.stats().bytes, 100u);
}

TEST(TileCache, zero_capacity_still_coalesces_but_keeps_nothing) {
  ThreadPool pool(2);
  TileCache cache(0, pool.executor());
  std::atomic<int> calls{0};
  std::latch release(1);
  Answers answers;
  auto producer = [&] {
    calls.fetch_add(1);
    release.wait();
    return tile_of("z", 1);
  };
  cache.get("z", producer, answers.callback());
  cache.get("z", producer, answers.callback());
  release.count_down();
  ASSERT_TRUE(answers.wait_for(2));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(cache.stats().entries, 0u);
}

TEST(TileCache, peek_counts_hits_and_misses_without_producing) {
  ThreadPool pool(1);
  TileCache cache(1000, pool.executor());
  EXPECT_FALSE(cache.peek("a"));
  put(cache, "a", 10);
  auto hit = cache.peek("a");
  ASSERT_TRUE(hit);
  EXPECT_EQ(*hit->bytes, std::string(10, 'x'));
  EXPECT_EQ(hit->content_type, "image/jpeg");
  auto s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);  // the peek and the get that filled it
  EXPECT_EQ(s.capacity, 1000u);
}

TEST(TileCache, etag_is_quoted_and_depends_on_key_and_content) {
  const std::string etag = make_tile_etag("s/1/0_0.jpeg", "abc");
  ASSERT_EQ(etag.size(), 18u);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
  EXPECT_EQ(etag.find_first_not_of("0123456789abcdef", 1), 17u);
  EXPECT_EQ(etag, make_tile_etag("s/1/0_0.jpeg", "abc"));
  EXPECT_NE(etag, make_tile_etag("s/1/0_0.jpeg", "abd"));
  EXPECT_NE(etag, make_tile_etag("s/1/0_1.jpeg", "abc"));
  EXPECT_NE(make_tile_etag("ab", "c"), make_tile_etag("a", "bc"));
}

TEST(TileCache, fills_in_a_missing_etag) {
  ThreadPool pool(1);
  TileCache cache(1000, pool.executor());
  auto r = get_sync(cache, "k", [] {
    return TileResult{CachedTile{std::make_shared<const std::string>("png bytes"), "image/png", ""}};
  });
  ASSERT_TRUE(std::holds_alternative<CachedTile>(r));
  EXPECT_EQ(std::get<CachedTile>(r).etag, make_tile_etag("k", "png bytes"));
  EXPECT_EQ(cache.peek("k")->etag, make_tile_etag("k", "png bytes"));
}

TEST(TileCache, a_refusing_executor_fails_the_request_with_503) {
  TileCache cache(1000, [](std::function<void()>) { throw std::runtime_error("pool stopped"); });
  int answered = 0;
  cache.get(
      "k", [] { return tile_of("k", 1); },
      [&](const TileResult& r) {
        ++answered;
        ASSERT_TRUE(std::holds_alternative<TileFailure>(r));
        EXPECT_EQ(std::get<TileFailure>(r).status, 503);
      });
  EXPECT_EQ(answered, 1);
  // The key is not left stuck in flight: a later request gets its own answer.
  cache.get(
      "k", [] { return tile_of("k", 1); }, [&](const TileResult&) { ++answered; });
  EXPECT_EQ(answered, 2);
}

TEST(TileCache, a_task_dropped_unrun_still_answers_every_waiter) {
  std::vector<std::function<void()>> held;
  TileCache cache(1000, [&](std::function<void()> task) { held.push_back(std::move(task)); });
  int failures = 0;
  auto count = [&](const TileResult& r) { failures += std::holds_alternative<TileFailure>(r) ? 1 : 0; };
  cache.get(
      "k", [] { return tile_of("k", 1); }, count);
  cache.get(
      "k", [] { return tile_of("k", 1); }, count);
  EXPECT_EQ(failures, 0);
  held.clear();  // as a pool that discards its queue on shutdown would
  EXPECT_EQ(failures, 2);
}

TEST(TileCache, an_inline_executor_works) {
  TileCache cache(1000, [](std::function<void()> task) { task(); });
  int answered = 0;
  cache.get(
      "k", [] { return tile_of("k", 3); },
      [&](const TileResult& r) { answered += std::holds_alternative<CachedTile>(r) ? 1 : 0; });
  EXPECT_EQ(answered, 1);
  EXPECT_TRUE(cache.peek("k"));
}

TEST(TileCache, cache_may_be_destroyed_while_a_render_is_in_flight) {
  ThreadPool pool(1);
  std::latch release(1);
  Answers answers;
  {
    TileCache cache(1000, pool.executor());
    cache.get(
        "k",
        [&] {
          release.wait();
          return tile_of("k", 1);
        },
        answers.callback());
  }
  release.count_down();
  ASSERT_TRUE(answers.wait_for(1));
  EXPECT_TRUE(std::holds_alternative<CachedTile>(answers.results().front()));
}

TEST(TileCache, every_get_is_answered_exactly_once_under_load_and_bytes_stay_bounded) {
  constexpr int kThreads = 8;
  constexpr int kRequestsPerThread = 2000;
  constexpr std::size_t kCapacity = 2000;
  ThreadPool pool(4);
  TileCache cache(kCapacity, pool.executor());
  std::atomic<int> answered{0};
  std::atomic<int> wrong{0};
  std::atomic<bool> over_capacity{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequestsPerThread; ++i) {
        const int k = (i * 7 + t * 13) % 64;
        const std::string key = "tile/" + std::to_string(k);
        const auto size = static_cast<std::size_t>(50 + k * 3);
        cache.get(
            key,
            [key, size, k]() -> TileResult {
              if (k % 9 == 0) throw std::runtime_error("flaky");
              return tile_of(key, size, static_cast<char>('a' + k % 26));
            },
            [&, key, size, k](const TileResult& r) {
              if (const auto* tile = std::get_if<CachedTile>(&r)) {
                if (tile->bytes->size() != size || tile->etag != make_tile_etag(key, *tile->bytes)) ++wrong;
              } else if (k % 9 != 0) {
                ++wrong;
              }
              ++answered;
            });
        if (cache.stats().bytes > kCapacity) over_capacity = true;
      }
    });
  }
  for (auto& th : threads) th.join();
  const int expected = kThreads * kRequestsPerThread;
  for (int spins = 0; answered.load() < expected && spins < 1000; ++spins) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(answered.load(), expected);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_FALSE(over_capacity.load());
  const auto s = cache.stats();
  EXPECT_EQ(s.hits + s.misses, static_cast<std::uint64_t>(expected));
  EXPECT_LE(s.bytes, kCapacity);
  EXPECT_GT(s.evictions, 0u);
}

}  // namespace
}  // namespace reread
