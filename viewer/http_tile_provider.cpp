// Tiles from reread-server: N keep-alive connections, each on its own thread, take the most wanted tile
// from the shared wish list; JPEG bodies go to a decoder pool; failures come back with backoff.
#include <atomic>
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
      auto link = std::make_unique<Link>();
      link->connection = options.pool ? options.pool->take()
                                      : std::make_unique<HttpConnection>(address_, options.connect_timeout,
                                                                         options.request_timeout);
      links_.push_back(std::move(link));
    }
    for (auto& l : links_) threads_.emplace_back([this, link = l.get()] { run(*link); });
  }

  ~HttpTileProvider() override {
    queue_.stop();
    // Connections waiting for answers are cut; idle ones go back to the pool for the next view.
    for (auto& l : links_) {
      if (l->outstanding.load() > 0) l->connection->interrupt();
    }
    for (auto& t : threads_) t.join();
    if (options_.pool) {
      for (auto& l : links_) {
        if (l->outstanding.load() == 0) options_.pool->give_back(std::move(l->connection));
      }
    }
  }

  void want(const std::vector<TileId>& wanted) override { queue_.want(wanted); }
  std::vector<ArrivedTile> take_arrived() override { return queue_.take_arrived(); }
  ProviderStatus status() const override { return queue_.status(); }

 private:
  struct Sent {
    TileId id;
    Clock::time_point at;
  };

  std::string target(const TileId& id) const {
    return "/slides/" + options_.slide_id + "_files/" + tile_name(id) + ".jpeg";
  }

  // One connection's worker: keeps up to pipeline_depth requests on the wire, the most wanted tiles first,
  // and reads their answers in order.
  struct Link {
    std::unique_ptr<HttpConnection> connection;
    std::atomic<std::size_t> outstanding{0};  // requests sent and not answered
  };

  void run(Link& link) {
    HttpConnection& connection = *link.connection;
    const std::size_t depth = static_cast<std::size_t>(std::max(1, options_.pipeline_depth));
    std::deque<Sent> sent;
    // A connection that cannot reach the server waits before its next try, doubling each time, so a
    // server that is down is not hammered by every connection with every wanted tile.
    auto backoff = options_.retry_initial;
    // A keep-alive connection the server closed while idle fails on first use: its requests are sent
    // once more on a fresh connection before they count as failed.
    bool resent = false;
    while (true) {
      try {
        // Fill the pipe: wait for a first tile when nothing is on the wire, then add what is ready.
        while (sent.size() < depth) {
          const auto id = sent.empty() ? queue_.next() : queue_.try_next();
          if (!id) break;
          if (sent.empty()) resent = !connection.is_open();  // a fresh connection gets no second try
          sent.push_back({*id, Clock::now()});
          link.outstanding.store(sent.size());
          connection.send(target(*id), options_.token);
        }
        if (sent.empty()) return;  // stopped
        HttpReply reply = connection.receive();
        const Sent done = sent.front();
        sent.pop_front();
        link.outstanding.store(sent.size());
        resent = false;
        backoff = options_.retry_initial;
        if (reply.status != 200) {
          queue_.fail(done.id, "tile " + tile_name(done.id) + ": " + describe_http_error(reply.status, reply.body),
                      true);
        } else {
          decoders_.post(done.id, std::move(reply.body), ms_since(done.at));
        }
        if (!connection.is_open() && !sent.empty()) resend(connection, sent);  // the server closed it
      } catch (const TransportError& e) {
        if (queue_.stopped()) return;
        if (!resent && !sent.empty()) {
          resent = true;
          try {
            connection.close();
            resend(connection, sent);
            continue;
          } catch (const TransportError&) {
          }
        }
        connection.close();
        for (const Sent& s : sent) queue_.fail(s.id, std::string("server unreachable: ") + e.what(), false);
        sent.clear();
        link.outstanding.store(0);
        if (!queue_.pause(backoff)) return;
        backoff = std::min(backoff * 2, options_.retry_max);
      }
    }
  }

  // Sends again, on a fresh connection, every request whose answer has not come.
  void resend(HttpConnection& connection, const std::deque<Sent>& sent) {
    for (const Sent& s : sent) connection.send(target(s.id), options_.token);
  }

  const HttpProviderOptions options_;
  const ServerAddress address_;
  TileRequestQueue queue_;
  DecoderPool decoders_;  // after queue_: it delivers into it, so it is destroyed (joined) first
  std::vector<std::unique_ptr<Link>> links_;
  std::vector<std::thread> threads_;
};

}  // namespace

std::unique_ptr<TileProvider> make_http_provider(const HttpProviderOptions& options) {
  return std::make_unique<HttpTileProvider>(options);
}

}  // namespace reread::viewer
