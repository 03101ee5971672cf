// Tiles from reread-server: N keep-alive connections, each on its own thread, take the most wanted tile
// from the shared wish list; JPEG bodies go to a decoder pool; failures come back with backoff.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <span>
#include <thread>

#include "api_client.h"
#include "image_codec.h"
#include "tile_provider.h"

namespace reread::viewer {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string tile_name(const TileId& t) {
  return std::to_string(t.level) + "/" + std::to_string(t.col) + "_" + std::to_string(t.row);
}

// Decodes fetched JPEG bodies on its own threads, so a connection is free for its next request at once.
class DecoderPool {
 public:
  DecoderPool(int threads, TileRequestQueue& queue) : queue_(queue) {
    for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { run(); });
  }
  ~DecoderPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void post(TileId id, std::string body, double fetch_ms) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back({id, std::move(body), fetch_ms});
    }
    wake_.notify_one();
  }

 private:
  struct Job {
    TileId id;
    std::string body;
    double fetch_ms = 0;
  };
  void run() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      const auto t0 = Clock::now();
      try {
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(job.body.data());
        ArrivedTile tile{job.id, decode_jpeg(std::span(bytes, job.body.size())), job.body.size(), job.fetch_ms, 0};
        tile.decode_ms = ms_since(t0);
        queue_.deliver(std::move(tile));
      } catch (const std::exception& e) {
        queue_.fail(job.id, "tile " + tile_name(job.id) + ": the server's JPEG does not decode: " + e.what(), true);
      }
    }
  }

  TileRequestQueue& queue_;
  std::mutex mutex_;  // guards jobs_ and stopping_
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class HttpTileProvider final : public TileProvider {
 public:
  explicit HttpTileProvider(const HttpProviderOptions& options)
      : options_(options),
        address_(parse_base_url(options.base_url)),
        queue_(options.retry_initial, options.retry_max),
        decoders_(options.decoders, queue_) {
    const int n = std::max(1, options.connections);
    for (int i = 0; i < n; ++i) {
      connections_.push_back(
          std::make_unique<HttpConnection>(address_, options.connect_timeout, options.request_timeout));
    }
    for (auto& c : connections_) threads_.emplace_back([this, conn = c.get()] { run(*conn); });
  }

  ~HttpTileProvider() override {
    queue_.stop();
    for (auto& c : connections_) c->interrupt();
    for (auto& t : threads_) t.join();
  }

  void want(const std::vector<TileId>& wanted) override { queue_.want(wanted); }
  std::vector<ArrivedTile> take_arrived() override { return queue_.take_arrived(); }
  ProviderStatus status() const override { return queue_.status(); }

 private:
  void run(HttpConnection& connection) {
    // A connection that cannot reach the server waits before its next try, doubling each time, so a
    // server that is down is not hammered by every connection with every wanted tile.
    auto backoff = options_.retry_initial;
    while (const auto id = queue_.next()) {
      const std::string target = "/slides/" + options_.slide_id + "_files/" + tile_name(*id) + ".jpeg";
      const auto t0 = Clock::now();
      HttpReply reply;
      try {
        reply = connection.get(target, options_.token);
      } catch (const TransportError& e) {
        queue_.fail(*id, std::string("server unreachable: ") + e.what(), false);
        if (!queue_.pause(backoff)) return;
        backoff = std::min(backoff * 2, options_.retry_max);
        continue;
      }
      backoff = options_.retry_initial;
      if (reply.status != 200) {
        queue_.fail(*id, "tile " + tile_name(*id) + ": " + describe_http_error(reply.status, reply.body), true);
        continue;
      }
      decoders_.post(*id, std::move(reply.body), ms_since(t0));
    }
  }

  const HttpProviderOptions options_;
  const ServerAddress address_;
  TileRequestQueue queue_;
  DecoderPool decoders_;  // after queue_: it delivers into it, so it is destroyed (joined) first
  std::vector<std::unique_ptr<HttpConnection>> connections_;
  std::vector<std::thread> threads_;
};

}  // namespace

std::unique_ptr<TileProvider> make_http_provider(const HttpProviderOptions& options) {
  return std::make_unique<HttpTileProvider>(options);
}

}  // namespace reread::viewer
