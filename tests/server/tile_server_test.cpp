// reread-server as clients meet it: a real server process on a loopback port, real slides, a real
// HTTP client. DeepZoom, IIIF, metadata, caching headers, errors, limits and shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/write.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "deepzoom_geometry.h"
#include "image_codec.h"
#include "openslide_source.h"
#include "server_process.h"
#include "synthetic_slide_writer.h"
#include "test_environment.h"
#include "tile_renderer.h"

namespace reread {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::http_request;

class TileServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fs::create_directories(dir_->path() / "slides/nested");
    SyntheticSlideOptions o;
    o.spec = {6000, 4000, 21, 0.25};
    write_synthetic_slide(dir_->path() / "slides/nested/demo.svs", o);
    o.spec = {6050, 4030, 22, 0.25};  // odd sizes: levels are 1513 x 1008 and 379 x 252, downsamples not whole
    write_synthetic_slide(dir_->path() / "slides/odd.svs", o);
    if (test::have_shared_slides()) {
      for (const char* f : {"CMU-1-Small-Region.svs", "unreadable.svs", "boxes.png"}) {
        fs::create_symlink(test::shared_slides() / f, dir_->path() / "slides" / f);
      }
    }
    server_ = new test::ServerProcess({"--listen", "127.0.0.1:0", "--slides", (dir_->path() / "slides").string(),
                                       "--request-timeout", "2", "--workers", "2", "--log-level", "warn"});
    const auto r = http_request(server_->port(), "/api/slides");
    const json list = json::parse(r.body)["slides"];
    for (const auto& s : list) ids_[s["name"]] = s["id"];
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    ids_.clear();
  }
  static unsigned short port() { return server_->port(); }
  static std::string id(const std::string& name) { return ids_.at(name); }
  static test::HttpResult get(const std::string& target, const std::map<std::string, std::string>& h = {}) {
    return http_request(port(), target, h);
  }
  // Every error has a JSON body naming the error and the detail.
  static void expect_json_error(const test::HttpResult& r, int status, const std::string& target) {
    EXPECT_EQ(r.status, status) << target << ": " << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/json") << target;
    const json j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << target << ": body is not JSON: " << r.body;
    EXPECT_TRUE(j.contains("error") && j.contains("detail")) << target << ": " << r.body;
  }

  static test::TempDir* dir_;
  static test::ServerProcess* server_;
  static std::map<std::string, std::string> ids_;
};
test::TempDir* TileServer::dir_ = nullptr;
test::ServerProcess* TileServer::server_ = nullptr;
std::map<std::string, std::string> TileServer::ids_;

TEST_F(TileServer, lists_slides_by_opaque_id_and_unreadable_files_with_their_error) {
  const json list = json::parse(get("/api/slides").body)["slides"];
  ASSERT_GE(list.size(), 1u);
  for (const auto& s : list) {
    const std::string sid = s["id"];
    EXPECT_EQ(sid.size(), 24u);
    EXPECT_EQ(s.dump().find(dir_->path().string()), std::string::npos) << "a path leaked: " << s.dump();
    EXPECT_EQ(s.dump().find("nested"), std::string::npos) << "a path leaked: " << s.dump();
  }
  const json demo = json::parse(get("/api/slides/" + id("demo")).body);
  EXPECT_EQ(demo["status"], "ok");
  EXPECT_EQ(demo["width"], 6000);
  EXPECT_EQ(demo["height"], 4000);
  EXPECT_EQ(demo["mpp_x"], 0.25);
  EXPECT_EQ(demo["objective_power"], 40.0);
  EXPECT_EQ(demo["vendor"], "aperio");
  EXPECT_EQ(demo["associated_images"].size(), 3u);
  if (test::have_shared_slides()) {
    const json png = json::parse(get("/api/slides/" + id("boxes")).body);
    EXPECT_EQ(png["status"], "unreadable");
    EXPECT_NE(png["error"].get<std::string>().find("unsupported format"), std::string::npos);
  }
}

TEST_F(TileServer, serves_deepzoom_descriptor_and_tiles_as_the_renderer_makes_them) {
  const auto dzi = get("/slides/" + id("demo") + ".dzi");
  ASSERT_EQ(dzi.status, 200);
  EXPECT_NE(dzi.body.find("TileSize=\"254\" Overlap=\"1\" Format=\"jpeg\""), std::string::npos);
  EXPECT_NE(dzi.body.find("Width=\"6000\" Height=\"4000\""), std::string::npos);

  const OpenSlideSource slide((dir_->path() / "slides/nested/demo.svs").string());
  const TileRenderer renderer(slide, {254, 1, false});
  const int top = renderer.geometry().level_count() - 1;
  for (const auto& [l, c, r] :
       std::vector<std::tuple<int, int, int>>{{top, 0, 0}, {top, 23, 15}, {top - 3, 1, 1}, {3, 0, 0}}) {
    const std::string target = "/slides/" + id("demo") + "_files/" + std::to_string(l) + "/" + std::to_string(c) + "_" +
                               std::to_string(r) + ".png";
    const auto res = get(target);
    ASSERT_EQ(res.status, 200) << target << ": " << res.body;
    EXPECT_EQ(res.header("Content-Type"), "image/png");
    const RgbImage got = decode_png(std::span(reinterpret_cast<const std::uint8_t*>(res.body.data()), res.body.size()));
    const RgbImage want = renderer.render(l, c, r);
    EXPECT_EQ(got.width, want.width) << target;
    EXPECT_EQ(got.pixels, want.pixels) << target;
  }
  const auto jpeg = get("/slides/" + id("demo") + "_files/" + std::to_string(top) + "/2_3.jpeg");
  ASSERT_EQ(jpeg.status, 200);
  EXPECT_EQ(jpeg.header("Content-Type"), "image/jpeg");
  EXPECT_EQ(decode_jpeg(std::span(reinterpret_cast<const std::uint8_t*>(jpeg.body.data()), jpeg.body.size())).width,
            256);
}

TEST_F(TileServer, tiles_are_immutable_with_etags_and_revalidate_with_304) {
  const std::string target = "/slides/" + id("demo") + "_files/12/1_1.jpeg";
  const auto first = get(target);
  ASSERT_EQ(first.status, 200);
  const std::string etag = first.header("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_NE(first.header("Cache-Control").find("immutable"), std::string::npos);
  EXPECT_NE(first.header("Cache-Control").find("max-age="), std::string::npos);
  const auto again = get(target, {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(get(target, {{"If-None-Match", "\"something-else\""}}).status, 200);
}

TEST_F(TileServer, rejects_bad_tile_addresses_with_json_errors) {
  const std::string base = "/slides/" + id("demo");
  const std::vector<std::pair<std::string, int>> cases = {
      {"/slides/000000000000000000000000.dzi", 404},
      {"/slides/not-an-id.dzi", 404},
      {base + "_files/x/0_0.jpeg", 400},
      {base + "_files/-1/0_0.jpeg", 400},
      {base + "_files/12/-1_0.jpeg", 400},
      {base + "_files/12/0_+1.jpeg", 400},
      {base + "_files/99999999999999999999/0_0.jpeg", 400},
      {base + "_files/12/0_99999999999999999999.jpeg", 400},
      {base + "_files/12/999_0.jpeg", 404},
      {base + "_files/40/0_0.jpeg", 404},
      {base + "_files/12/0_0.gif", 400},
      {base + "_files/12/0_0", 400},
      {"/slides/../etc/passwd", 400},
      {"/slides/" + id("demo") + "%2F..%2F..%2Fetc%2Fpasswd.dzi", 400},
      {"/slides/%2e%2e/x.dzi", 400},
      {"/slides//etc/passwd.dzi", 400},
      {"/api/slides/..%2f..%2f", 400},
      {"/nowhere", 404},
  };
  for (const auto& [target, status] : cases) expect_json_error(get(target), status, target);
}

TEST_F(TileServer, iiif_info_and_image_requests_follow_the_spec) {
  const std::string base = "/iiif/3/" + id("demo");
  const auto info = get(base + "/info.json");
  ASSERT_EQ(info.status, 200);
  const json j = json::parse(info.body);
  EXPECT_EQ(j["type"], "ImageService3");
  EXPECT_EQ(j["width"], 6000);
  EXPECT_EQ(j["tiles"][0]["width"], 256);
  EXPECT_TRUE(j.contains("maxWidth") && j.contains("maxArea") && j.contains("sizes"));
  EXPECT_NE(j["id"].get<std::string>().find(base), std::string::npos);

  const auto region = get(base + "/1000,1000,512,512/256,/0/default.jpg");
  ASSERT_EQ(region.status, 200) << region.body;
  const RgbImage img =
      decode_jpeg(std::span(reinterpret_cast<const std::uint8_t*>(region.body.data()), region.body.size()));
  EXPECT_EQ(img.width, 256);
  EXPECT_EQ(img.height, 256);
  EXPECT_EQ(get(base + "/full/600,/0/default.png").status, 200);

  expect_json_error(get(base + "/7000,0,10,10/max/0/default.jpg"), 400, "region outside");
  expect_json_error(get(base + "/0,0,100,100/200,/0/default.jpg"), 400, "upscale without ^");
  // The spec (4.3-4.5): unsupported rotation, quality or format SHOULD be 400.
  expect_json_error(get(base + "/full/max/90/default.jpg"), 400, "rotation 90");
  expect_json_error(get(base + "/full/max/0/gray.jpg"), 400, "gray");
  expect_json_error(get(base + "/full/max/0/default.webp"), 400, "webp");
  expect_json_error(get(base + "/full/max/0/fancy.jpg"), 400, "bad quality");
  expect_json_error(get(base + "/full/99999,/0/default.jpg"), 400, "over maxWidth");
  expect_json_error(get(base + "/a,b,c,d/max/0/default.jpg"), 400, "bad region");
}

TEST_F(TileServer, native_iiif_tiles_are_the_stored_jpeg_bytes) {
  // Level 1 of the synthetic SVS is stored 4x down in 256 px JPEG tiles.
  const OpenSlideSource slide((dir_->path() / "slides/nested/demo.svs").string());
  const auto stored = slide.stored_tiles()->raw_tile(1, 1, 2);
  const auto res = get("/iiif/3/" + id("demo") + "/1024,2048,1024,1024/256,256/0/default.jpg");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(res.body == std::string(stored.begin(), stored.end())) << "expected the file's own JPEG bytes";
  const auto l0 = get("/iiif/3/" + id("demo") + "/512,256,256,256/256,256/0/default.jpg");
  const auto stored0 = slide.stored_tiles()->raw_tile(0, 2, 1);
  EXPECT_TRUE(l0.body == std::string(stored0.begin(), stored0.end()));
  const std::string metrics = get("/metrics").body;
  EXPECT_NE(metrics.find("reread_tiles_rendered_total{path=\"stored\"}"), std::string::npos);
}

TEST_F(TileServer, native_tiles_of_levels_with_rounded_sizes_are_stored_bytes) {
  const OpenSlideSource slide((dir_->path() / "slides/odd.svs").string());
  ASSERT_NE(slide.info().level_downsamples[1], 4.0) << "the test needs a level whose downsample is not whole";
  const auto stored = slide.stored_tiles()->raw_tile(1, 1, 2);
  const auto res = get("/iiif/3/" + id("odd") + "/1024,2048,1024,1024/256,256/0/default.jpg");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(res.body == std::string(stored.begin(), stored.end())) << "expected the file's own JPEG bytes";
  const auto l1 = slide.stored_tiles()->raw_tile(1, 4, 0);  // far right of the level, where rounding adds up
  const auto res2 = get("/iiif/3/" + id("odd") + "/4096,0,1024,1024/256,256/0/default.jpg");
  ASSERT_EQ(res2.status, 200);
  EXPECT_TRUE(res2.body == std::string(l1.begin(), l1.end()));
}

TEST_F(TileServer, serves_thumbnails_and_associated_images) {
  const auto thumb = get("/slides/" + id("demo") + "/thumbnail?max=300");
  ASSERT_EQ(thumb.status, 200);
  const RgbImage t =
      decode_jpeg(std::span(reinterpret_cast<const std::uint8_t*>(thumb.body.data()), thumb.body.size()));
  EXPECT_EQ(t.width, 300);
  EXPECT_EQ(t.height, 200);
  expect_json_error(get("/slides/" + id("demo") + "/thumbnail?max=0"), 400, "max=0");
  expect_json_error(get("/slides/" + id("demo") + "/thumbnail?max=abc"), 400, "max=abc");
  const auto label = get("/slides/" + id("demo") + "/associated/label.jpg");
  ASSERT_EQ(label.status, 200);
  EXPECT_EQ(label.header("Content-Type"), "image/jpeg");
  expect_json_error(get("/slides/" + id("demo") + "/associated/nothing.jpg"), 404, "no such associated image");
}

TEST_F(TileServer, a_corrupt_slide_fails_its_tiles_and_the_others_keep_serving) {
  REREAD_REQUIRE_SHARED_SLIDES();
  for (int i = 0; i < 3; ++i) {
    const auto bad = get("/slides/" + id("unreadable") + "_files/4/0_0.jpeg");
    EXPECT_GE(bad.status, 500);
    expect_json_error(bad, bad.status, "unreadable tile");
    EXPECT_NE(bad.body.find("Bogus"), std::string::npos) << bad.body;
    EXPECT_EQ(get("/slides/" + id("CMU-1-Small-Region") + "_files/11/1_1.jpeg").status, 200);
  }
  EXPECT_TRUE(server_->running());
}

TEST_F(TileServer, metrics_count_requests_cache_and_connections) {
  get("/slides/" + id("demo") + "_files/10/0_0.jpeg");
  get("/slides/" + id("demo") + "_files/10/0_0.jpeg");
  const auto m = get("/metrics");
  ASSERT_EQ(m.status, 200);
  for (const char* family :
       {"reread_http_requests_total{", "reread_http_request_duration_seconds_bucket{", "reread_tile_cache_hits_total",
        "reread_tile_cache_misses_total", "reread_http_response_bytes_total{", "reread_http_open_connections"}) {
    EXPECT_NE(m.body.find(family), std::string::npos) << family;
  }
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(TileServer, oversized_headers_get_431) {
  const auto r = get("/healthz", {{"X-Big", std::string(20000, 'a')}});
  expect_json_error(r, 431, "big header");
}

TEST_F(TileServer, a_slow_client_is_cut_off_and_others_are_unaffected) {
  namespace net = boost::asio;
  net::io_context io;
  net::ip::tcp::socket slow(io);
  slow.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port()));
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  bool cut = false;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < request.size(); ++i) {
    boost::system::error_code ec;
    net::write(slow, net::buffer(&request[i], 1), ec);
    if (ec) {
      cut = true;
      break;
    }
    EXPECT_EQ(get("/healthz").status, 200) << "other clients must be served meanwhile";
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(8)) break;
  }
  if (!cut) {
    // The server closes the socket; a read then ends at once instead of waiting for an answer.
    char c;
    boost::system::error_code ec;
    slow.read_some(net::buffer(&c, 1), ec);
    cut = static_cast<bool>(ec);
  }
  EXPECT_TRUE(cut) << "a client sending one byte every half second was not cut off";
}

TEST(TileServerLifecycle, sigterm_drains_and_exits_cleanly) {
  test::TempDir dir;
  SyntheticSlideOptions o;
  o.spec = {2000, 1500, 2, 0.25};
  write_synthetic_slide(dir / "s.svs", o);
  test::ServerProcess server({"--listen", "127.0.0.1:0", "--slides", dir.path().string(), "--log-level", "warn"});
  EXPECT_EQ(http_request(server.port(), "/healthz").status, 200);
  EXPECT_EQ(server.stop(SIGTERM), 0);
}

TEST(TileServerLifecycle, refuses_bad_configuration_with_a_message) {
  for (const std::string args :
       {"--slides /no/such/dir", "--listen nonsense --slides /tmp", "--listen 127.0.0.1:99999 --slides /tmp",
        "--slides /tmp --cache-mb -5", "--slides /tmp --frobnicate"}) {
    const auto r = test::run_command(std::string(REREAD_SERVER_BIN) + " " + args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_LT(r.exit_code, 128) << args << ": " << r.output;
    EXPECT_FALSE(r.output.empty()) << args;
  }
}

}  // namespace
}  // namespace reread

namespace reread {
namespace {

long peak_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(TileServerLoad, two_hundred_fifty_six_connections_for_ten_seconds_without_errors) {
  test::TempDir dir;
  SyntheticSlideOptions o;
  o.spec = {16000, 12000, 5, 0.25};
  write_synthetic_slide(dir / "load.svs", o);
  // A small cache, so that memory staying bounded is a property of the server, not of the run.
  test::ServerProcess server(
      {"--listen", "127.0.0.1:0", "--slides", dir.path().string(), "--cache-mb", "32", "--log-level", "warn"});
  const auto list = json::parse(http_request(server.port(), "/api/slides").body);
  const std::string id = list["slides"][0]["id"];
  const OpenSlideSource slide((dir / "load.svs").string());
  const DeepZoomGeometry g(slide.info().geometry(), {254, 1, false});

  namespace net = boost::asio;
  namespace http = boost::beast::http;
  std::atomic<long> ok{0}, failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 256; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c));
      try {
        net::io_context io;
        boost::beast::tcp_stream stream(io);
        stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
        boost::beast::flat_buffer buffer;
        while (!stop) {
          // Mostly the three finest levels, like a pathologist panning at high power.
          const int top = g.level_count() - 1;
          const int level = rng() % 10 < 9 ? top - static_cast<int>(rng() % 3) : static_cast<int>(rng() % top);
          const Size t = g.level_tiles(level);
          const auto col = static_cast<std::int64_t>(rng() % static_cast<unsigned>(t.width));
          const auto row = static_cast<std::int64_t>(rng() % static_cast<unsigned>(t.height));
          http::request<http::empty_body> req{http::verb::get,
                                              "/slides/" + id + "_files/" + std::to_string(level) + "/" +
                                                  std::to_string(col) + "_" + std::to_string(row) + ".jpeg",
                                              11};
          req.set(http::field::host, "127.0.0.1");
          req.set(http::field::authorization, "Bearer " + test::default_token());
          stream.expires_after(std::chrono::seconds(30));
          http::write(stream, req);
          http::response<http::string_body> res;
          http::read(stream, buffer, res);
          (res.result() == http::status::ok && !res.body().empty() ? ok : failed)++;
        }
      } catch (const std::exception&) {
        failed++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(10));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0) << ok.load() << " tiles served, " << failed.load() << " failures";
  EXPECT_GT(ok.load(), 1000);
  EXPECT_TRUE(server.running()) << "the server died under load";
  const long peak = peak_rss_kib(server.pid());
  std::cout << "[ load ] " << ok.load() << " tiles in 10 s over 256 connections; server peak RSS " << peak / 1024
            << " MiB\n";
  // 32 MiB of cache plus the slide's handles, decoders and 256 connections' buffers.
  EXPECT_LT(peak, 400 * 1024) << "server memory grew past its bounds";
  EXPECT_EQ(http_request(server.port(), "/healthz").status, 200);
}

}  // namespace
}  // namespace reread

namespace reread {
namespace {

TEST(TileServerLifecycle, sigterm_lets_a_request_in_hand_finish) {
  test::TempDir dir;
  SyntheticSlideOptions o;
  o.spec = {16000, 12000, 8, 0.25};
  write_synthetic_slide(dir / "big.svs", o);
  test::ServerProcess server({"--listen", "127.0.0.1:0", "--slides", dir.path().string(), "--log-level", "warn"});
  const std::string id = json::parse(http_request(server.port(), "/api/slides").body)["slides"][0]["id"];
  // A large PNG takes a while to render and encode: long enough to be in hand when SIGTERM arrives.
  test::HttpResult slow;
  std::thread client([&] { slow = http_request(server.port(), "/iiif/3/" + id + "/full/4000,/0/default.png"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  const int exit_code = server.stop(SIGTERM);
  client.join();
  EXPECT_EQ(slow.status, 200) << "the request in hand was dropped";
  EXPECT_GT(slow.body.size(), 100000u);
  EXPECT_EQ(exit_code, 0);
}

}  // namespace
}  // namespace reread

namespace reread {
namespace {

TEST(TileServerLifecycle, reads_its_options_from_a_config_file) {
  test::TempDir dir;
  fs::create_directories(dir / "slides");
  SyntheticSlideOptions o;
  o.spec = {1500, 1000, 3, 0.25};
  write_synthetic_slide(dir / "slides/a.svs", o);
  test::write_text_file(dir / "reread.toml", "listen = \"127.0.0.1:0\"\nslides = [\"" + (dir / "slides").string() +
                                                 "\"]\ncache-mb = 16\nlog-level = \"warn\"\n");
  test::ServerProcess server({"--config", (dir / "reread.toml").string()});
  const json list = json::parse(http_request(server.port(), "/api/slides").body);
  ASSERT_EQ(list["slides"].size(), 1u);
  EXPECT_EQ(list["slides"][0]["name"], "a");
  EXPECT_NE(http_request(server.port(), "/metrics").body.find("reread_tile_cache_capacity_bytes 16777216"),
            std::string::npos);
}

}  // namespace
}  // namespace reread

namespace reread {
namespace {

TEST(TileServerLifecycle, rescan_finds_new_slides_and_oversized_bodies_get_413) {
  test::TempDir dir;
  SyntheticSlideOptions o;
  o.spec = {1500, 1000, 3, 0.25};
  write_synthetic_slide(dir / "first.svs", o);
  test::ServerProcess server({"--listen", "127.0.0.1:0", "--slides", dir.path().string(), "--log-level", "warn"});
  EXPECT_EQ(json::parse(http_request(server.port(), "/api/slides").body)["slides"].size(), 1u);
  write_synthetic_slide(dir / "second.svs", o);
  const auto rescan = http_request(server.port(), "/api/slides/rescan", {}, boost::beast::http::verb::post);
  EXPECT_EQ(rescan.status, 200) << rescan.body;
  EXPECT_EQ(json::parse(http_request(server.port(), "/api/slides").body)["slides"].size(), 2u);
  EXPECT_EQ(http_request(server.port(), "/api/slides/rescan").status, 405);

  // A body over the limit (1 MiB) is refused before it is read whole.
  namespace net = boost::asio;
  namespace http = boost::beast::http;
  net::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  http::request<http::string_body> req{http::verb::post, "/api/slides/rescan", 11};
  req.set(http::field::host, "x");
  req.body() = std::string(2 << 20, 'x');
  req.prepare_payload();
  boost::system::error_code ec;
  http::write(stream, req, ec);  // the server may hang up before all of it is sent
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  EXPECT_EQ(res.result_int(), 413u) << ec.message() << " " << res.body();
  EXPECT_TRUE(server.running());
}

}  // namespace
}  // namespace reread
