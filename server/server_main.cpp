// reread-server: streams slides over HTTP (DeepZoom, IIIF Image API 3) from a catalogue of slide folders.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "http_server.h"
#include "metrics.h"
#include "slide_catalog.h"
#include "tile_cache.h"
#include "tile_service.h"

namespace {

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::vector<std::string> slides;
  std::string data = "data";
  std::size_t cache_mb = 512;
  int workers = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  int io_threads = 2;
  std::string log_level = "info";
  int jpeg_quality = 80;
  int request_timeout_s = 10;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reread-server: whole-slide images over HTTP (DeepZoom, IIIF Image API 3)"};
  Config c;
  app.set_config("--config", "", "read options from a TOML/INI file (same names as the flags)");
  app.add_option("--listen", c.listen, "HOST:PORT to listen on (port 0 picks a free one)")->capture_default_str();
  app.add_option("--slides", c.slides, "slide folder, scanned recursively (repeatable)")->required();
  app.add_option("--data", c.data, "data directory")->capture_default_str();
  app.add_option("--cache-mb", c.cache_mb, "encoded tile cache size in MiB")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  app.add_option("--workers", c.workers, "threads that read, decode and encode tiles")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--io-threads", c.io_threads, "threads that run the network")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--jpeg-quality", c.jpeg_quality, "quality of transcoded JPEG tiles")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--request-timeout", c.request_timeout_s, "seconds a client has to send a whole request")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Structured logs: one JSON object per line on stderr.
  auto logger = spdlog::stderr_logger_mt("reread");
  logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":%v})");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(c.log_level));
  auto quoted = [](const std::string& s) { return nlohmann::json(s).dump(); };

  const auto colon = c.listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "reread-server: --listen must be HOST:PORT, got '" << c.listen << "'\n";
    return 2;
  }
  const std::string host = c.listen.substr(0, colon);
  int port = -1;
  try {
    port = std::stoi(c.listen.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) {
    std::cerr << "reread-server: --listen port must be 0..65535, got '" << c.listen << "'\n";
    return 2;
  }
  std::vector<std::filesystem::path> roots;
  for (const auto& s : c.slides) {
    if (!std::filesystem::is_directory(s)) {
      std::cerr << "reread-server: --slides " << s << ": not a directory\n";
      return 2;
    }
    roots.emplace_back(s);
  }

  try {
    boost::asio::io_context io(c.io_threads);
    boost::asio::thread_pool workers(static_cast<std::size_t>(c.workers));
    reread::SlideCatalog catalog(roots);
    std::size_t readable = 0;
    for (const auto& e : catalog.entries()) {
      if (e->error.empty())
        ++readable;
      else
        spdlog::warn(quoted("slide " + e->id + " (" + e->name + ") unreadable: " + e->error));
    }
    reread::TileCache cache(c.cache_mb << 20,
                            [&workers](std::function<void()> task) { boost::asio::post(workers, std::move(task)); });
    reread::Metrics metrics;
    reread::TileServiceOptions options;
    options.jpeg_quality = c.jpeg_quality;
    reread::TileService service(catalog, cache, metrics, workers, options);
    reread::HttpLimits limits;
    limits.request_timeout = std::chrono::seconds(c.request_timeout_s);
    reread::HttpServer server(
        io, host, static_cast<std::uint16_t>(port), limits,
        [&service](reread::HttpRequest&& req, const reread::RequestContext& ctx, reread::Respond respond) {
          service.handle(std::move(req), ctx, std::move(respond));
        },
        {[&metrics] { metrics.connection_opened(); }, [&metrics] { metrics.connection_closed(); }});
    server.start();
    spdlog::info(quoted("listening on http://" + host + ":" + std::to_string(server.port()) + " with " +
                        std::to_string(readable) + " readable slides of " + std::to_string(catalog.entries().size())));
    // Tests and scripts read the port from this line on stdout.
    std::cout << "listening on http://" << host << ":" << server.port() << std::endl;

    // Requests in hand are answered from worker threads, which the io_context cannot see: keep it
    // running until every connection has finished, then let it return.
    auto guard = boost::asio::make_work_guard(io);
    boost::asio::steady_timer drain(io);
    std::function<void()> wait_for_drain = [&] {
      if (server.open_connections() == 0) return guard.reset();
      drain.expires_after(std::chrono::milliseconds(20));
      drain.async_wait([&](const boost::system::error_code&) { wait_for_drain(); });
    };
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int sig) {
      spdlog::info(quoted("signal " + std::to_string(sig) + ": draining " + std::to_string(server.open_connections()) +
                          " connections and stopping"));
      server.stop();
      wait_for_drain();
    });
    std::vector<std::thread> threads;
    for (int i = 1; i < c.io_threads; ++i) threads.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : threads) t.join();
    workers.join();
    spdlog::info(quoted("stopped"));
  } catch (const std::exception& e) {
    std::cerr << "reread-server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
