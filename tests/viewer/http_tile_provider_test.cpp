// The viewer's network side against a real reread-server on a loopback port with a synthetic slide: the
// API client's slide layout and its errors, tiles over parallel keep-alive connections identical to the
// server's own, failures retried and reported, and a server that dies mid-stream never blocking the caller.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "api_client.h"
#include "image_codec.h"
#include "server/server_process.h"
#include "synthetic_slide_writer.h"
#include "test_environment.h"
#include "tile_provider.h"

namespace reread::viewer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string tile_url(const std::string& slide, const TileId& t) {
  return "/slides/" + slide + "_files/" + std::to_string(t.level) + "/" + std::to_string(t.col) + "_" +
         std::to_string(t.row) + ".jpeg";
}

class HttpProvider : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fs::create_directories(dir_->path() / "slides");
    SyntheticSlideOptions o;
    o.spec = {3000, 2000, 5, 0.25};
    write_synthetic_slide(dir_->path() / "slides/small.svs", o);
    server_ = start_server();
    token_ = server_->admin_token();
    slide_id_ = slide_id(*server_);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  static test::ServerProcess* start_server() {
    return new test::ServerProcess({"--listen", "127.0.0.1:0", "--slides", (dir_->path() / "slides").string(),
                                    "--workers", "2", "--log-level", "warn"});
  }
  static std::string slide_id(const test::ServerProcess& server) {
    const auto r =
        test::http_request(server.port(), "/api/slides", {{"Authorization", "Bearer " + server.admin_token()}});
    return nlohmann::json::parse(r.body)["slides"].at(0)["id"];
  }
  static std::string base_url(const test::ServerProcess& server) {
    return "http://127.0.0.1:" + std::to_string(server.port());
  }
  static HttpProviderOptions options(const test::ServerProcess& server, const std::string& token) {
    HttpProviderOptions o;
    o.base_url = base_url(server);
    o.token = token;
    o.slide_id = slide_id_;
    o.connections = 3;
    o.decoders = 2;
    o.retry_initial = 50ms;
    o.retry_max = 400ms;
    return o;
  }
  // Takes arrived tiles until `count` have come or `limit` passes.
  static std::map<TileId, ArrivedTile> collect(TileProvider& p, std::size_t count, std::chrono::milliseconds limit) {
    std::map<TileId, ArrivedTile> got;
    const auto until = Clock::now() + limit;
    while (got.size() < count && Clock::now() < until) {
      for (ArrivedTile& a : p.take_arrived()) got[a.id] = std::move(a);
      std::this_thread::sleep_for(5ms);
    }
    return got;
  }

  static test::TempDir* dir_;
  static test::ServerProcess* server_;
  static std::string token_, slide_id_;
};
test::TempDir* HttpProvider::dir_ = nullptr;
test::ServerProcess* HttpProvider::server_ = nullptr;
std::string HttpProvider::token_;
std::string HttpProvider::slide_id_;

TEST_F(HttpProvider, api_client_reads_the_slides_pyramid_and_scale) {
  ApiClient api(base_url(*server_), token_);
  const SlideLayout s = api.slide_layout(slide_id_);
  EXPECT_EQ(s.layout.width, 3000);
  EXPECT_EQ(s.layout.height, 2000);
  EXPECT_EQ(s.layout.tile_size, 254);
  EXPECT_EQ(s.layout.overlap, 1);
  EXPECT_DOUBLE_EQ(s.mpp().value_or(0), 0.25);
  EXPECT_DOUBLE_EQ(s.objective_power.value_or(0), 40.0);
  EXPECT_EQ(api.get("/api/slides")["slides"].size(), 1u);
  const std::string thumb = api.get_bytes("/slides/" + slide_id_ + "/thumbnail?max=64");
  EXPECT_EQ(decode_jpeg(std::span(reinterpret_cast<const std::uint8_t*>(thumb.data()), thumb.size())).width, 64);
}

TEST_F(HttpProvider, api_client_says_clearly_when_the_token_is_refused_or_the_user_may_not_see_the_slide) {
  try {
    ApiClient(base_url(*server_), "not-a-token").get("/api/slides/" + slide_id_);
    FAIL() << "a bad token was accepted";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 401);
    EXPECT_EQ(e.error, "unauthorized");
    EXPECT_NE(std::string(e.what()).find("did not accept the token"), std::string::npos) << e.what();
  }
  const std::string outsider = test::add_user_with_token(server_->data_dir(), "dr-outsider", "consultant");
  try {
    ApiClient(base_url(*server_), outsider).slide_layout(slide_id_);
    FAIL() << "a consultant without the case saw the slide";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 403);
    EXPECT_NE(std::string(e.what()).find("may not see it"), std::string::npos) << e.what();
  }
}

TEST_F(HttpProvider, api_client_names_the_server_it_cannot_reach) {
  unsigned short closed_port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    closed_port = a.local_endpoint().port();
  }
  const auto t0 = Clock::now();
  try {
    ApiClient("http://127.0.0.1:" + std::to_string(closed_port), token_).get("/api/slides");
    FAIL() << "a closed port answered";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 0);
    EXPECT_EQ(e.error, "unreachable");
    const std::string what = e.what();
    EXPECT_NE(what.find("127.0.0.1:" + std::to_string(closed_port)), std::string::npos) << what;
    EXPECT_NE(what.find("refused"), std::string::npos) << what;
  }
  EXPECT_LT(ms_since(t0), 2000) << "a refused connection is reported at once";
}

TEST_F(HttpProvider, fetches_tiles_identical_to_the_servers_own) {
  const PyramidLayout layout{3000, 2000, 254, 1};
  const int top = layout.top_level();
  const std::vector<TileId> wanted{{layout.coarsest_useful_level(), 0, 0},
                                   {top, 0, 0},
                                   {top, 5, 3},
                                   {top, layout.cols(top) - 1, layout.rows(top) - 1},
                                   {top - 1, 2, 1},
                                   {top - 2, 1, 0}};
  auto provider = make_http_provider(options(*server_, token_));
  const auto t0 = Clock::now();
  provider->want(wanted);
  EXPECT_LT(ms_since(t0), 100) << "want() only queues";
  const auto got = collect(*provider, wanted.size(), 30s);
  ASSERT_EQ(got.size(), wanted.size()) << "last error: " << provider->status().last_error;
  for (const TileId& t : wanted) {
    const ArrivedTile& a = got.at(t);
    const auto res =
        test::http_request(server_->port(), tile_url(slide_id_, t), {{"Authorization", "Bearer " + token_}});
    ASSERT_EQ(res.status, 200);
    const RgbImage want =
        decode_jpeg(std::span(reinterpret_cast<const std::uint8_t*>(res.body.data()), res.body.size()));
    EXPECT_EQ(a.image.width, layout.image_width(t)) << tile_url(slide_id_, t);
    EXPECT_EQ(a.image.height, layout.image_height(t)) << tile_url(slide_id_, t);
    EXPECT_EQ(a.image.width, want.width);
    EXPECT_TRUE(a.image.pixels == want.pixels) << tile_url(slide_id_, t) << ": pixels differ from the server's tile";
    EXPECT_EQ(a.encoded_bytes, res.body.size());
  }
  const ProviderStatus s = provider->status();
  EXPECT_EQ(s.arrived, wanted.size());
  EXPECT_EQ(s.failed, 0u);
  EXPECT_TRUE(s.reachable);
  EXPECT_EQ(s.last_error, "");
  EXPECT_EQ(s.queued + s.in_flight, 0u);
}

TEST_F(HttpProvider, pipelined_requests_on_pooled_connections_bring_every_tile_and_the_connections_go_back) {
  const PyramidLayout layout{3000, 2000, 254, 1};
  const int top = layout.top_level();
  std::vector<TileId> wanted;
  for (std::int64_t row = 0; row < layout.rows(top); ++row) {
    for (std::int64_t col = 0; col < layout.cols(top); ++col) wanted.push_back({top, col, row});
  }
  auto pool = std::make_shared<ConnectionPool>(parse_base_url(base_url(*server_)), 3s, 15s);
  pool->prewarm(2);
  for (int i = 0; i < 200 && pool->idle() < 2; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(pool->idle(), 2u) << "the pool opens its connections ahead of use";

  HttpProviderOptions o = options(*server_, token_);
  o.connections = 2;
  o.pipeline_depth = 8;
  o.pool = pool;
  auto provider = make_http_provider(o);
  EXPECT_EQ(pool->idle(), 0u) << "the provider took the open connections";
  provider->want(wanted);
  const auto got = collect(*provider, wanted.size(), 30s);
  ASSERT_EQ(got.size(), wanted.size()) << "last error: " << provider->status().last_error;
  for (std::size_t i = 0; i < wanted.size(); i += 17) {  // answers matched to their requests, in order
    const TileId& t = wanted[i];
    const auto res =
        test::http_request(server_->port(), tile_url(slide_id_, t), {{"Authorization", "Bearer " + token_}});
    ASSERT_EQ(res.status, 200);
    EXPECT_EQ(got.at(t).encoded_bytes, res.body.size()) << tile_url(slide_id_, t);
    const RgbImage want =
        decode_jpeg(std::span(reinterpret_cast<const std::uint8_t*>(res.body.data()), res.body.size()));
    EXPECT_TRUE(got.at(t).image.pixels == want.pixels) << tile_url(slide_id_, t);
  }
  const ProviderStatus s = provider->status();
  EXPECT_EQ(s.requested, wanted.size()) << "each tile asked once";
  EXPECT_EQ(s.failed, 0u);
  provider.reset();
  EXPECT_EQ(pool->idle(), 2u) << "idle connections go back to the pool for the next view";
}

TEST_F(HttpProvider, a_refused_token_is_reported_and_retried_while_wanted) {
  auto provider = make_http_provider(options(*server_, "not-a-token"));
  provider->want({{5, 0, 0}, {6, 0, 0}});
  std::this_thread::sleep_for(1500ms);
  ProviderStatus s = provider->status();
  // Backoff 50, 100, 200, 400, 400 ms...: about 7 tries per tile in 1.5 s, not hundreds.
  EXPECT_GE(s.failed, 6u) << "failed tiles are tried again";
  EXPECT_LE(s.failed, 30u) << "failed tiles are retried with backoff, not hammered";
  EXPECT_TRUE(s.reachable) << "the server answered";
  EXPECT_NE(s.last_error.find("401"), std::string::npos) << s.last_error;
  EXPECT_NE(s.last_error.find("token"), std::string::npos) << s.last_error;
  EXPECT_TRUE(provider->take_arrived().empty());
  provider->want({});
  std::this_thread::sleep_for(100ms);
  const std::uint64_t after = provider->status().requested;
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(provider->status().requested, after) << "tiles no longer wanted are not retried";
}

TEST_F(HttpProvider, a_server_that_dies_mid_stream_is_reported_unreachable_and_never_blocks_the_caller) {
  std::unique_ptr<test::ServerProcess> server(start_server());
  const PyramidLayout layout{3000, 2000, 254, 1};
  std::vector<TileId> wanted;
  for (int level = layout.top_level(); level >= layout.top_level() - 1; --level) {
    for (std::int64_t row = 0; row < layout.rows(level); ++row) {
      for (std::int64_t col = 0; col < layout.cols(level); ++col) wanted.push_back({level, col, row});
    }
  }
  auto provider = make_http_provider(options(*server, server->admin_token()));
  provider->want(wanted);
  std::size_t arrived = collect(*provider, 3, 30s).size();
  ASSERT_GE(arrived, 3u) << provider->status().last_error;
  server->stop(SIGKILL);

  double slowest_ms = 0;
  ProviderStatus s;
  const auto until = Clock::now() + 15s;
  while (Clock::now() < until) {
    auto t0 = Clock::now();
    provider->want(wanted);
    arrived += provider->take_arrived().size();
    s = provider->status();
    slowest_ms = std::max(slowest_ms, ms_since(t0));
    if (!s.reachable) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_FALSE(s.reachable) << "the dead server is reported";
  EXPECT_NE(s.last_error.find("unreachable"), std::string::npos) << s.last_error;
  EXPECT_NE(s.last_error.find("127.0.0.1:" + std::to_string(server->port())), std::string::npos) << s.last_error;
  EXPECT_LT(arrived, wanted.size());
  EXPECT_GT(s.queued, 0u) << "what is still wanted stays queued for when the server is back";
  EXPECT_LT(slowest_ms, 200) << "want/take_arrived/status must never wait on the network";
  const auto t0 = Clock::now();
  provider.reset();
  EXPECT_LT(ms_since(t0), 2000) << "closing the provider does not wait on the network";
}

}  // namespace
}  // namespace reread::viewer
