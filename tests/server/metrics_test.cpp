// Metrics exposition: counter and histogram arithmetic, label escaping, and well-formed Prometheus
// text format 0.0.4 (HELP/TYPE before samples, families contiguous).
#include "metrics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace reread {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

// Takes a metric (or, without colons, label) name off the front of s.
std::optional<std::string> take_name(std::string_view& s, bool colons) {
  std::size_t n = 0;
  while (n < s.size() && (n == 0 ? name_start(s[n]) : name_char(s[n])) && (colons || s[n] != ':')) ++n;
  if (n == 0) return std::nullopt;
  std::string name(s.substr(0, n));
  s.remove_prefix(n);
  return name;
}

struct ParsedSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // values unescaped
  std::string value;
};

// Parses one sample line by the text format's grammar (hand-written: GCC 12's <regex> trips
// -Werror=maybe-uninitialized under -O3 and ASan).
std::optional<ParsedSample> parse_sample(std::string_view s) {
  ParsedSample out;
  auto name = take_name(s, true);
  if (!name) return std::nullopt;
  out.name = *name;
  if (!s.empty() && s.front() == '{') {
    s.remove_prefix(1);
    for (;;) {
      auto label = take_name(s, false);
      if (!label || s.substr(0, 2) != "=\"") return std::nullopt;
      s.remove_prefix(2);
      std::string value;
      for (;;) {
        if (s.empty() || s.front() == '\n') return std::nullopt;
        const char c = s.front();
        s.remove_prefix(1);
        if (c == '"') break;
        if (c != '\\') {
          value += c;
          continue;
        }
        if (s.empty()) return std::nullopt;
        const char e = s.front();
        s.remove_prefix(1);
        if (e == 'n') {
          value += '\n';
        } else if (e == '\\' || e == '"') {
          value += e;
        } else {
          return std::nullopt;
        }
      }
      out.labels.emplace_back(*label, value);
      if (!s.empty() && s.front() == ',') {
        s.remove_prefix(1);
        continue;
      }
      if (s.empty() || s.front() != '}') return std::nullopt;
      s.remove_prefix(1);
      break;
    }
  }
  if (s.empty() || s.front() != ' ') return std::nullopt;
  s.remove_prefix(1);
  if (s.empty() || s.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
  out.value = std::string(s);
  return out;
}

// The value of the sample whose name and labels are exactly `series`, e.g. R"(x_total{route="api"})".
std::optional<double> sample(const std::string& text, const std::string& series) {
  for (const auto& line : lines_of(text)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      const std::string value = line.substr(series.size() + 1);
      if (value == "+Inf") return std::numeric_limits<double>::infinity();
      return std::stod(value);
    }
  }
  return std::nullopt;
}

std::string bucket(const std::string& route, const std::string& le) {
  return "reread_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" + le + "\"}";
}

TEST(Metrics, counts_requests_per_route_and_status) {
  Metrics m;
  m.observe("deepzoom_tile", 200, 0.01, 100);
  m.observe("deepzoom_tile", 200, 0.01, 100);
  m.observe("deepzoom_tile", 404, 0.01, 10);
  m.observe("api", 500, 0.01, 10);
  const auto text = m.render({});
  EXPECT_EQ(sample(text, R"(reread_http_requests_total{route="deepzoom_tile",status="200"})"), 2);
  EXPECT_EQ(sample(text, R"(reread_http_requests_total{route="deepzoom_tile",status="404"})"), 1);
  EXPECT_EQ(sample(text, R"(reread_http_requests_total{route="api",status="500"})"), 1);
  EXPECT_FALSE(sample(text, R"(reread_http_requests_total{route="api",status="200"})"));
}

TEST(Metrics, histogram_buckets_are_cumulative) {
  Metrics m;
  for (double s : {0.0005, 0.003, 0.003, 0.2, 20.0}) m.observe("iiif_image", 200, s, 0);
  const auto text = m.render({});
  const std::vector<std::pair<std::string, double>> expected = {
      {"0.001", 1}, {"0.0025", 1}, {"0.005", 3}, {"0.01", 3}, {"0.025", 3}, {"0.05", 3}, {"0.1", 3},
      {"0.25", 4},  {"0.5", 4},    {"1", 4},     {"2.5", 4},  {"5", 4},     {"10", 4},   {"+Inf", 5}};
  double previous = 0;
  for (const auto& [le, count] : expected) {
    auto v = sample(text, bucket("iiif_image", le));
    ASSERT_TRUE(v) << "no bucket le=" << le;
    EXPECT_EQ(*v, count) << "le=" << le;
    EXPECT_GE(*v, previous);
    previous = *v;
  }
  EXPECT_EQ(sample(text, R"(reread_http_request_duration_seconds_count{route="iiif_image"})"), 5);
  EXPECT_NEAR(*sample(text, R"(reread_http_request_duration_seconds_sum{route="iiif_image"})"), 20.2065, 1e-9);
}

TEST(Metrics, bucket_bounds_are_inclusive) {
  Metrics m;
  m.observe("dzi", 200, 0.1, 0);
  const auto text = m.render({});
  EXPECT_EQ(sample(text, bucket("dzi", "0.05")), 0);
  EXPECT_EQ(sample(text, bucket("dzi", "0.1")), 1);
}

TEST(Metrics, negative_or_nan_durations_count_as_zero) {
  Metrics m;
  m.observe("dzi", 200, -1.0, 0);
  m.observe("dzi", 200, std::numeric_limits<double>::quiet_NaN(), 0);
  const auto text = m.render({});
  EXPECT_EQ(sample(text, bucket("dzi", "0.001")), 2);
  EXPECT_EQ(sample(text, R"(reread_http_request_duration_seconds_sum{route="dzi"})"), 0);
}

TEST(Metrics, response_bytes_accumulate_per_route) {
  Metrics m;
  m.observe("deepzoom_tile", 200, 0, 1000);
  m.observe("deepzoom_tile", 304, 0, 0);
  m.observe("deepzoom_tile", 200, 0, 2500);
  m.observe("health", 200, 0, 2);
  const auto text = m.render({});
  EXPECT_EQ(sample(text, R"(reread_http_response_bytes_total{route="deepzoom_tile"})"), 3500);
  EXPECT_EQ(sample(text, R"(reread_http_response_bytes_total{route="health"})"), 2);
}

TEST(Metrics, escapes_label_values) {
  Metrics m;
  m.observe("a\"b\\c\nd", 200, 0, 0);
  const auto text = m.render({});
  EXPECT_EQ(sample(text, R"(reread_http_requests_total{route="a\"b\\c\nd",status="200"})"), 1);
  EXPECT_EQ(text.find("a\"b"), std::string::npos);  // no raw quote inside a label value
  int parsed_back = 0;
  for (const auto& line : lines_of(text)) {
    auto parsed = parse_sample(line);
    if (!parsed || parsed->name != "reread_http_requests_total") continue;
    EXPECT_EQ(parsed->labels.at(0).second, "a\"b\\c\nd");
    ++parsed_back;
  }
  EXPECT_EQ(parsed_back, 1);
}

TEST(Metrics, route_labels_are_capped) {
  Metrics m;
  for (std::size_t i = 0; i < Metrics::kMaxRoutes + 20; ++i) m.observe(std::to_string(i) + "_route", 200, 0, 1);
  const auto text = m.render({});
  std::set<std::string> routes;
  for (const auto& line : lines_of(text)) {
    auto parsed = parse_sample(line);
    if (parsed && parsed->name == "reread_http_response_bytes_total") routes.insert(parsed->labels.at(0).second);
  }
  EXPECT_LE(routes.size(), Metrics::kMaxRoutes + 1);
  EXPECT_TRUE(routes.count("other"));
  EXPECT_EQ(sample(text, R"(reread_http_response_bytes_total{route="other"})"), 20);
}

TEST(Metrics, reports_the_tile_cache_snapshot) {
  Metrics m;
  TileCache::Stats s;
  s.hits = 7;
  s.misses = 3;
  s.coalesced = 1;
  s.evictions = 2;
  s.entries = 4;
  s.bytes = 12345;
  s.capacity = 1u << 30;
  const auto text = m.render(s);
  EXPECT_EQ(sample(text, "reread_tile_cache_hits_total"), 7);
  EXPECT_EQ(sample(text, "reread_tile_cache_misses_total"), 3);
  EXPECT_EQ(sample(text, "reread_tile_cache_coalesced_total"), 1);
  EXPECT_EQ(sample(text, "reread_tile_cache_evictions_total"), 2);
  EXPECT_EQ(sample(text, "reread_tile_cache_entries"), 4);
  EXPECT_EQ(sample(text, "reread_tile_cache_bytes"), 12345);
  EXPECT_EQ(sample(text, "reread_tile_cache_capacity_bytes"), 1u << 30);
}

TEST(Metrics, tracks_open_connections) {
  Metrics m;
  m.connection_opened();
  m.connection_opened();
  m.connection_opened();
  m.connection_closed();
  EXPECT_EQ(sample(m.render({}), "reread_http_open_connections"), 2);
}

TEST(Metrics, counts_stored_and_transcoded_tiles) {
  Metrics m;
  EXPECT_EQ(sample(m.render({}), R"(reread_tiles_rendered_total{path="stored"})"), 0);  // present from the start
  m.tile_rendered(true);
  m.tile_rendered(false);
  m.tile_rendered(false);
  const auto text = m.render({});
  EXPECT_EQ(sample(text, R"(reread_tiles_rendered_total{path="stored"})"), 1);
  EXPECT_EQ(sample(text, R"(reread_tiles_rendered_total{path="transcode"})"), 2);
}

// Checks the text format's grammar: every sample line parses, belongs to a family declared by
// HELP then TYPE, and a family's lines are contiguous.
void expect_well_formed(const std::string& text) {
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::set<std::string> finished;
  std::string current, current_type, helped;
  for (const auto& line : lines_of(text)) {
    std::string_view rest = line;
    if (rest.substr(0, 7) == "# HELP ") {
      rest.remove_prefix(7);
      auto name = take_name(rest, true);
      ASSERT_TRUE(name && rest.size() > 1 && rest.front() == ' ') << "bad HELP: " << line;
      EXPECT_FALSE(finished.count(*name)) << "family declared twice: " << line;
      if (!current.empty()) finished.insert(current);
      helped = *name;
      current.clear();
    } else if (rest.substr(0, 7) == "# TYPE ") {
      rest.remove_prefix(7);
      auto name = take_name(rest, true);
      ASSERT_TRUE(name) << "bad TYPE: " << line;
      EXPECT_EQ(*name, helped) << "TYPE without its HELP: " << line;
      EXPECT_TRUE(rest == " counter" || rest == " gauge" || rest == " histogram") << line;
      current = *name;
      current_type = std::string(rest.substr(1));
    } else if (auto parsed = parse_sample(line)) {
      std::string name = parsed->name;
      if (current_type == "histogram") {
        for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
          if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            name.resize(name.size() - suffix.size());
            break;
          }
        }
      }
      EXPECT_EQ(name, current) << "sample outside its family: " << line;
      const std::string& value = parsed->value;
      if (value != "+Inf" && value != "-Inf" && value != "NaN") {
        std::size_t used = 0;
        EXPECT_NO_THROW((void)std::stod(value, &used)) << line;
        EXPECT_EQ(used, value.size()) << line;
      }
    } else {
      ADD_FAILURE() << "not a valid exposition line: " << line;
    }
  }
}

TEST(Metrics, every_family_has_help_and_type_and_is_contiguous) {
  Metrics m;
  expect_well_formed(m.render({}));
  m.observe("deepzoom_tile", 200, 0.004, 5000);
  m.observe("dzi", 200, 0.0001, 300);
  m.observe("deepzoom_tile", 404, 0.2, 12);
  m.observe("metrics", 200, 0.0003, 2000);
  m.connection_opened();
  m.tile_rendered(true);
  TileCache::Stats s;
  s.capacity = 100;
  const auto text = m.render(s);
  expect_well_formed(text);
  for (const char* family : {"reread_http_requests_total counter", "reread_http_request_duration_seconds histogram",
                             "reread_http_response_bytes_total counter", "reread_http_open_connections gauge",
                             "reread_tiles_rendered_total counter", "reread_tile_cache_hits_total counter",
                             "reread_tile_cache_misses_total counter", "reread_tile_cache_evictions_total counter",
                             "reread_tile_cache_bytes gauge", "reread_tile_cache_capacity_bytes gauge"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + family + "\n"), std::string::npos) << family;
  }
}

TEST(Metrics, concurrent_observations_are_all_counted) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 5000;
  Metrics m;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) expect_well_formed(m.render({}));
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      const std::string routes[] = {"deepzoom_tile", "iiif_image", "api"};
      for (int i = 0; i < kPerThread; ++i) {
        m.observe(routes[(i + t) % 3], i % 2 == 0 ? 200 : 304, 0.002, 10);
        m.connection_opened();
        m.connection_closed();
        m.tile_rendered(i % 4 == 0);
      }
    });
  }
  for (auto& th : threads) th.join();
  done = true;
  scraper.join();
  const auto text = m.render({});
  double requests = 0;
  double counts = 0;
  double bytes = 0;
  for (const char* route : {"deepzoom_tile", "iiif_image", "api"}) {
    const std::string r = route;
    requests += *sample(text, "reread_http_requests_total{route=\"" + r + "\",status=\"200\"}");
    requests += *sample(text, "reread_http_requests_total{route=\"" + r + "\",status=\"304\"}");
    counts += *sample(text, "reread_http_request_duration_seconds_count{route=\"" + r + "\"}");
    bytes += *sample(text, "reread_http_response_bytes_total{route=\"" + r + "\"}");
  }
  constexpr double kTotal = kThreads * kPerThread;
  EXPECT_EQ(requests, kTotal);
  EXPECT_EQ(counts, kTotal);
  EXPECT_EQ(bytes, kTotal * 10);
  EXPECT_EQ(sample(text, "reread_http_open_connections"), 0);
  EXPECT_EQ(*sample(text, R"(reread_tiles_rendered_total{path="stored"})") +
                *sample(text, R"(reread_tiles_rendered_total{path="transcode"})"),
            kTotal);
}

}  // namespace
}  // namespace reread
