// reread-server: streams slides over HTTP (DeepZoom, IIIF Image API 3) from a catalogue of slide folders
// and keeps the re-read record (cases, reports, annotations, users, audit) in SQLite. Subcommands
// bootstrap users and tokens, import cases and back the record up.
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
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "access_gate.h"
#include "api_tokens.h"
#include "http_server.h"
#include "metrics.h"
#include "openapi_document.h"
#include "record_routes.h"
#include "slide_catalog.h"
#include "sqlite_record_store.h"
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
  int record_threads = 2;
};

std::filesystem::path record_path(const std::string& data) { return std::filesystem::path(data) / "reread.db"; }

// Opens the record in DATA (created with its folder when new).
std::unique_ptr<reread::SqliteRecordStore> open_record(const std::string& data) {
  std::filesystem::create_directories(data);
  return std::make_unique<reread::SqliteRecordStore>(record_path(data).string());
}

const reread::Actor kCommandLine{"", "command line"};

int run_user_add(const std::string& data, const std::string& name, const std::string& role_name,
                 const std::string& display_name, const std::vector<std::string>& boards) {
  const auto role = reread::parse_role(role_name);
  if (!role) {
    std::cerr << "reread-server user add: --role must be consultant, referrer, board or admin\n";
    return 2;
  }
  const auto user = open_record(data)->create_user(name, display_name, *role, boards, kCommandLine);
  std::cerr << "user " << user.name << " (" << reread::to_string(user.role) << ") added\n";
  return 0;
}

int run_token_create(const std::string& data, const std::string& name, const std::string& label) {
  auto store = open_record(data);
  const std::string token = reread::new_api_token();
  store->add_token(name, label, reread::api_token_hash(token), kCommandLine);
  std::cout << token << std::endl;  // alone on stdout: shown once, kept only as a hash
  return 0;
}

int run_case_import(const std::string& data, const std::string& file, const std::vector<std::string>& slide_roots) {
  std::ifstream in(file);
  if (!in) {
    std::cerr << "reread-server case import: cannot read " << file << "\n";
    return 2;
  }
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) {
    std::cerr << "reread-server case import: " << file << " is not valid JSON\n";
    return 2;
  }
  // Slides may be named by file name (without extension) when their folders are given.
  if (!slide_roots.empty() && j.is_object() && j.contains("slides") && j["slides"].is_array()) {
    std::vector<std::filesystem::path> roots(slide_roots.begin(), slide_roots.end());
    const reread::SlideCatalog catalog(roots);
    for (auto& s : j["slides"]) {
      if (!s.is_object()) continue;
      if (!s.contains("slide_id") && s.contains("name") && s["name"].is_string()) {
        for (const auto& e : catalog.entries()) {
          if (e->name == s["name"].get<std::string>()) s["slide_id"] = e->id;
        }
        if (!s.contains("slide_id")) {
          std::cerr << "reread-server case import: no slide named '" << s["name"].get<std::string>() << "' under "
                    << slide_roots.front() << "\n";
          return 2;
        }
      }
      if (s.contains("slide_id") && s["slide_id"].is_string() && !catalog.find(s["slide_id"].get<std::string>())) {
        std::cerr << "reread-server case import: no slide has ID " << s["slide_id"].get<std::string>() << "\n";
        return 2;
      }
    }
  }
  const reread::CaseRecord rec = reread::case_from_json(j);
  const auto created = open_record(data)->create_case(rec, kCommandLine);
  std::cout << created.id << std::endl;
  std::cerr << "case " << created.accession << " imported as case " << created.id << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reread-server: whole-slide images over HTTP (DeepZoom, IIIF Image API 3)"};
  Config c;
  app.set_config("--config", "", "read options from a TOML/INI file (same names as the flags)");
  app.add_option("--listen", c.listen, "HOST:PORT to listen on (port 0 picks a free one)")->capture_default_str();
  app.add_option("--slides", c.slides, "slide folder, scanned recursively (repeatable)");
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
  app.add_option("--record-threads", c.record_threads, "threads that answer the record's API (SQLite)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();

  // Subcommands: bootstrap and maintenance on the record in --data (the program's own flags, such as
  // --data and --slides, may follow them).
  app.fallthrough();
  std::string name, role, display_name, label, file, out;
  std::vector<std::string> boards;
  auto* user = app.add_subcommand("user", "manage users")->require_subcommand(1);
  auto* user_add = user->add_subcommand("add", "add a user");
  user_add->add_option("NAME", name, "user name")->required();
  user_add->add_option("--role", role, "consultant, referrer, board or admin")->required();
  user_add->add_option("--display-name", display_name, "name shown in reports");
  user_add->add_option("--board", boards, "tumour board the user sits on (repeatable)");
  auto* token = app.add_subcommand("token", "manage API tokens")->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "create a token and print it, alone, on stdout");
  token_create->add_option("NAME", name, "user name")->required();
  token_create->add_option("--label", label, "what the token is for");
  auto* kase = app.add_subcommand("case", "manage cases")->require_subcommand(1);
  auto* case_import = kase->add_subcommand("import", "create a case from a JSON file (see the README)");
  case_import->add_option("FILE", file, "case JSON")->required();
  auto* backup = app.add_subcommand("backup", "copy the live record to OUT.db (SQLite online backup)");
  backup->add_option("OUT", out, "the copy to write")->required();
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);

  try {
    if (*user_add) return run_user_add(c.data, name, role, display_name, boards);
    if (*token_create) return run_token_create(c.data, name, label);
    if (*case_import) return run_case_import(c.data, file, c.slides);
    if (*backup) {
      if (!std::filesystem::exists(record_path(c.data))) {
        std::cerr << "reread-server backup: no record at " << record_path(c.data).string() << "\n";
        return 2;
      }
      open_record(c.data)->backup_to(out);
      std::cerr << "record copied to " << out << "\n";
      return 0;
    }
  } catch (const reread::RecordError& e) {
    std::cerr << "reread-server: " << e.error() << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "reread-server: " << e.what() << "\n";
    return 1;
  }
  if (c.slides.empty()) {
    std::cerr << "reread-server: --slides DIR is required to serve\n";
    return 2;
  }

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
    auto record = open_record(c.data);
    boost::asio::thread_pool record_pool(static_cast<std::size_t>(c.record_threads));
    reread::RecordRoutes routes(*record, catalog, {std::string(reread::openapi_document())});
    reread::AccessGate gate(*record, service, routes, record_pool);
    reread::HttpLimits limits;
    limits.request_timeout = std::chrono::seconds(c.request_timeout_s);
    limits.large_body_route = [](std::string_view target) {
      return target.starts_with("/api/cases/") && target.find("/annotations/import") != std::string_view::npos;
    };
    reread::HttpServer server(
        io, host, static_cast<std::uint16_t>(port), limits,
        [&gate](reread::HttpRequest&& req, const reread::RequestContext& ctx, reread::Respond respond) {
          gate.handle(std::move(req), ctx, std::move(respond));
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
    record_pool.join();
    spdlog::info(quoted("stopped"));
  } catch (const std::exception& e) {
    std::cerr << "reread-server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
