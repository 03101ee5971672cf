// reread-viewer as a user runs it, headless under Xvfb (Mesa llvmpipe): a real reread-server on a loopback
// port with a synthetic slide in a case, the viewer's screenshot of a view compared with the server's own
// IIIF rendering of the same region, the local-file mode, a wrong token, and a script's timing report.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "image_codec.h"
#include "server/server_process.h"
#include "synthetic_slide_writer.h"
#include "test_environment.h"
#include "viewer/viewer_process.h"

namespace reread {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using nlohmann::json;

constexpr std::int64_t kWidth = 12000, kHeight = 9000;
constexpr int kViewW = 1024, kViewH = 768;

// One server holding one synthetic 40x slide in one case, for the whole suite.
class ViewerScreenshot : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fs::create_directories(dir_->path() / "slides");
    SyntheticSlideOptions o;
    o.spec = {kWidth, kHeight, 5, 0.25};
    write_synthetic_slide(slide_path(), o);
    server_ = new test::ServerProcess({"--listen", "127.0.0.1:0", "--slides", (dir_->path() / "slides").string(),
                                       "--workers", "2", "--log-level", "warn"});
    const json slides = json::parse(get("/api/slides").body)["slides"];
    ASSERT_EQ(slides.size(), 1u) << slides.dump();
    slide_id_ = slides[0]["id"];
    const json new_case = {{"accession", "VIEWER-1"},
                           {"patient_ref", "P-1"},
                           {"question", "Grade?"},
                           {"requested_at", "2024-05-02"},
                           {"original_report", {{"diagnosis", "Invasive ductal carcinoma"}}},
                           {"slides", {slide_id_}}};
    const auto c = test::http_request(server_->port(), "/api/cases", {{"Content-Type", "application/json"}},
                                      http::verb::post, new_case.dump());
    ASSERT_EQ(c.status, 201) << c.body;
    case_id_ = std::to_string(json::parse(c.body)["id"].get<std::int64_t>());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    server_ = nullptr;
    dir_ = nullptr;
  }

  static fs::path slide_path() { return dir_->path() / "slides" / "viewer.svs"; }
  static std::string url() { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  static test::HttpResult get(const std::string& target) { return test::http_request(server_->port(), target); }

  static test::CommandResult viewer(const std::string& args) { return test::run_viewer_headless(args); }

  // The server's rendering of the region a kViewW x kViewH view centred on (cx, cy) at `scale` screen
  // pixels per level-0 pixel covers.
  static RgbImage iiif_view(double cx, double cy, double scale) {
    const double w = kViewW / scale, h = kViewH / scale;
    const auto x = static_cast<std::int64_t>(std::lround(cx - w / 2)),
               y = static_cast<std::int64_t>(std::lround(cy - h / 2));
    const std::string target = "/iiif/3/" + slide_id_ + "/" + std::to_string(x) + "," + std::to_string(y) + "," +
                               std::to_string(std::lround(w)) + "," + std::to_string(std::lround(h)) + "/" +
                               std::to_string(kViewW) + "," + std::to_string(kViewH) + "/0/default.png";
    const auto r = get(target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body.substr(0, 300);
    if (r.status != 200) return {};
    return decode_png({reinterpret_cast<const std::uint8_t*>(r.body.data()), r.body.size()});
  }

  static RgbImage read_png(const fs::path& p) {
    const std::string bytes = test::read_text(p);
    return decode_png({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  }

  static test::TempDir* dir_;
  static test::ServerProcess* server_;
  static std::string slide_id_, case_id_;
};

test::TempDir* ViewerScreenshot::dir_ = nullptr;
test::ServerProcess* ViewerScreenshot::server_ = nullptr;
std::string ViewerScreenshot::slide_id_, ViewerScreenshot::case_id_;

// tests/viewer/latency_proxy.py in a child process: a loopback relay to `target_port` adding `delay_ms` each way.
class LatencyProxy {
 public:
  LatencyProxy(unsigned short target_port, int delay_ms) {
    const test::ChildWithLine child = test::spawn_until_first_line(
        {test::reference_python(), (test::source_dir() / "tests/viewer/latency_proxy.py").string(),
         std::to_string(target_port), std::to_string(delay_ms)},
        "the latency proxy");
    pid_ = child.pid;
    ::close(child.stdout_fd);
    const std::string& line = child.first_line;
    const auto space = line.rfind(' ');
    if (line.find("listening on") == std::string::npos || space == std::string::npos) {
      throw std::runtime_error("the latency proxy did not start: '" + line + "'");
    }
    port_ = static_cast<unsigned short>(std::stoi(line.substr(space + 1)));
  }
  ~LatencyProxy() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  LatencyProxy(const LatencyProxy&) = delete;
  LatencyProxy& operator=(const LatencyProxy&) = delete;
  unsigned short port() const { return port_; }

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

// Mean absolute difference over the pixels of the columns `xs` and rows `ys` of two same-size images.
double mean_abs_diff(const RgbImage& a, const RgbImage& b, const std::vector<int>& xs, const std::vector<int>& ys) {
  double sum = 0;
  std::size_t n = 0;
  const auto add = [&](int x, int y) {
    for (int c = 0; c < 3; ++c) {
      sum += std::abs(static_cast<double>(a.row(y)[x * 3 + c]) - static_cast<double>(b.row(y)[x * 3 + c]));
      ++n;
    }
  };
  for (int x : xs) {
    for (int y = 0; y < a.height; ++y) add(x, y);
  }
  for (int y : ys) {
    for (int x = 0; x < a.width; ++x) add(x, y);
  }
  return n == 0 ? 0.0 : sum / static_cast<double>(n);
}

TEST_F(ViewerScreenshot, remote_view_matches_the_servers_iiif_rendering_of_the_same_region_without_seams) {
  REREAD_REQUIRE_XVFB();
  // 40x scan: 10x is 0.25 screen px per level-0 px, 5x is 0.125. Centres put the view on whole pixels of
  // the level drawn, where the GPU's bilinear filter reads texels exactly.
  struct Case {
    double cx, cy, magnification;
  };
  for (const Case& c : {Case{6000, 4500, 10}, Case{5000, 4000, 5}}) {
    SCOPED_TRACE("magnification " + std::to_string(c.magnification));
    const double scale = c.magnification / 40.0;
    const fs::path out = dir_->path() / ("remote-" + std::to_string(static_cast<int>(c.magnification)) + "x.png");
    const auto r =
        viewer("--server " + url() + " --token " + server_->admin_token() + " --case " + case_id_ + " --slide " +
               slide_id_ + " --center " + std::to_string(static_cast<int>(c.cx)) + "," +
               std::to_string(static_cast<int>(c.cy)) + " --magnification " +
               std::to_string(static_cast<int>(c.magnification)) + " --size 1024x768 --screenshot " + test::quote(out));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const RgbImage shot = read_png(out);
    ASSERT_EQ(shot.width, kViewW) << r.output;
    ASSERT_EQ(shot.height, kViewH);
    const RgbImage want = iiif_view(c.cx, c.cy, scale);
    ASSERT_FALSE(want.empty());
    const double psnr = test::psnr(shot, want);
    EXPECT_GE(psnr, 30.0) << "the viewer's screenshot differs from the server's IIIF rendering of the same region";

    // Seams: tile edges of the level drawn (254 level pixels apart) differ from the reference no more than
    // the picture does anywhere.
    const double ds = std::exp2(std::floor(std::log2(1.0 / scale) + 1e-9));
    const double x0 = (c.cx - kViewW / 2.0 / scale) / ds, y0 = (c.cy - kViewH / 2.0 / scale) / ds;
    std::vector<int> xs, ys, all_x, all_y;
    for (int x = 0; x < kViewW; ++x) {
      const auto lx = static_cast<std::int64_t>(std::lround(x0)) + x;
      if (lx % 254 == 0 || lx % 254 == 253) xs.push_back(x);
      if (x % 7 == 0) all_x.push_back(x);
    }
    for (int y = 0; y < kViewH; ++y) {
      const auto ly = static_cast<std::int64_t>(std::lround(y0)) + y;
      if (ly % 254 == 0 || ly % 254 == 253) ys.push_back(y);
      if (y % 7 == 0) all_y.push_back(y);
    }
    ASSERT_FALSE(xs.empty());
    const double at_edges = mean_abs_diff(shot, want, xs, ys), overall = mean_abs_diff(shot, want, all_x, all_y);
    std::printf("at %gx: PSNR %.1f dB against IIIF; tile edges differ by %.2f, the whole picture by %.2f\n",
                c.magnification, psnr, at_edges, overall);
    EXPECT_LE(at_edges, overall * 1.5 + 1.0)
        << "tile edges differ more than the rest: a seam (edges " << at_edges << ", overall " << overall << ")";
  }
}

TEST_F(ViewerScreenshot, local_slide_file_view_matches_the_servers_rendering) {
  REREAD_REQUIRE_XVFB();
  const fs::path out = dir_->path() / "local.png";
  const auto r = viewer(test::quote(slide_path()) +
                        " --center 7000,3000 --magnification 10 --size 1024x768 --screenshot " + test::quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const RgbImage shot = read_png(out);
  const RgbImage want = iiif_view(7000, 3000, 0.25);
  ASSERT_FALSE(want.empty());
  const double psnr = test::psnr(shot, want);
  std::printf("local file at 10x: PSNR %.1f dB against IIIF\n", psnr);
  EXPECT_GE(psnr, 30.0) << "the local view differs from the server's rendering of the same region";
}

TEST_F(ViewerScreenshot, quarter_turn_shows_the_same_pixels_turned_without_seams) {
  REREAD_REQUIRE_XVFB();
  const std::string view = test::quote(slide_path()) + " --center 7000,3000 --magnification 10";
  const fs::path plain_png = dir_->path() / "unturned.png", turned_png = dir_->path() / "turned.png";
  auto r = viewer(view + " --size 1024x768 --screenshot " + test::quote(plain_png));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = viewer(view + " --size 768x1024 --rotation 90 --screenshot " + test::quote(turned_png));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const RgbImage plain = read_png(plain_png), turned = read_png(turned_png);
  ASSERT_EQ(turned.width, 768);
  ASSERT_EQ(turned.height, 1024);
  // Clockwise: the turned view's pixel (x, y) is the unturned view's (y, 767 - x).
  RgbImage want(768, 1024);
  for (int y = 0; y < want.height; ++y) {
    for (int x = 0; x < want.width; ++x) {
      for (int c = 0; c < 3; ++c) want.row(y)[x * 3 + c] = plain.row(767 - x)[y * 3 + c];
    }
  }
  EXPECT_GE(test::psnr(turned, want), 45.0) << "the turned view is not the unturned one turned";
}

double srgb_to_linear(double v) {
  v /= 255.0;
  return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
}

double linear_to_srgb(double c) {
  c = std::clamp(c, 0.0, 1.0);
  return 255.0 * (c <= 0.0031308 ? c * 12.92 : 1.055 * std::pow(c, 1.0 / 2.4) - 0.055);
}

TEST_F(ViewerScreenshot, brightness_contrast_and_gamma_apply_in_linear_light) {
  REREAD_REQUIRE_XVFB();
  const double brightness = 0.05, contrast = 1.5, gamma = 1.3;
  const std::string view = test::quote(slide_path()) + " --center 7000,3000 --magnification 10 --size 1024x768";
  const fs::path plain_png = dir_->path() / "plain.png", adjusted_png = dir_->path() / "adjusted.png";
  auto r = viewer(view + " --screenshot " + test::quote(plain_png));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = viewer(view + " --brightness 0.05 --contrast 1.5 --gamma 1.3 --screenshot " + test::quote(adjusted_png));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const RgbImage plain = read_png(plain_png), adjusted = read_png(adjusted_png);
  ASSERT_EQ(plain.pixels.size(), adjusted.pixels.size());

  // The shader's formula on decoded (linear) values, encoded back; and the same formula applied, wrongly,
  // to the sRGB-encoded values.
  RgbImage linear = plain, naive = plain;
  constexpr double kMid = 0.214;
  for (std::size_t i = 0; i < plain.pixels.size(); ++i) {
    const double c = std::clamp((srgb_to_linear(plain.pixels[i]) - kMid) * contrast + kMid + brightness, 0.0, 1.0);
    linear.pixels[i] = static_cast<std::uint8_t>(std::lround(linear_to_srgb(std::pow(c, 1.0 / gamma))));
    const double e = std::clamp((plain.pixels[i] / 255.0 - 0.5) * contrast + 0.5 + brightness, 0.0, 1.0);
    naive.pixels[i] = static_cast<std::uint8_t>(std::lround(255.0 * std::pow(e, 1.0 / gamma)));
  }
  const double correct = test::psnr(adjusted, linear), wrong = test::psnr(adjusted, naive);
  std::printf("adjusted view: PSNR %.1f dB against the linear-light formula, %.1f dB against sRGB-space maths\n",
              correct, wrong);
  EXPECT_GE(correct, 40.0) << "adjustments are not the linear-light formula";
  EXPECT_LT(wrong, correct - 10.0);
}

TEST_F(ViewerScreenshot, wrong_token_fails_with_a_clear_message_and_a_nonzero_exit) {
  REREAD_REQUIRE_XVFB();
  const fs::path out = dir_->path() / "never.png";
  const auto r = viewer("--server " + url() + " --token not-a-token --case " + case_id_ + " --screenshot " +
                        test::quote(out) + " --timeout 20");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("did not accept the token"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("401"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(ViewerScreenshot, unreadable_slide_file_fails_naming_the_file) {
  REREAD_REQUIRE_XVFB();
  const fs::path bogus = dir_->path() / "bogus.svs";
  test::write_text_file(bogus, "not a slide");
  const auto r = viewer(test::quote(bogus) + " --screenshot " + test::quote(dir_->path() / "bogus.png"));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("bogus.svs"), std::string::npos) << r.output;
}

TEST_F(ViewerScreenshot, script_replays_a_camera_path_and_reports_timings) {
  REREAD_REQUIRE_XVFB();
  const json script = json::array({
      {{"open", {{"case", std::stoll(case_id_)}, {"slide", slide_id_}}}},
      {{"wait", "sharp"}},
      {{"zoom", {{"magnification", 20}, {"center", {3000, 5000}}}}},
      {{"wait", "sharp"}},
      {{"pan", {{"dx", 300}, {"dy", -120}}}},
      {{"wait", "sharp"}},
      {{"wait", 100}},
  });
  const fs::path script_file = dir_->path() / "path.json", report_file = dir_->path() / "report.json";
  test::write_text_file(script_file, script.dump());
  const auto r = viewer("--server " + url() + " --token " + server_->admin_token() + " --size 800x600 --script " +
                        test::quote(script_file) + " --report " + test::quote(report_file));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json report = json::parse(test::read_text(report_file), nullptr, false);
  ASSERT_TRUE(report.is_object()) << test::read_text(report_file);
  EXPECT_TRUE(report["time_to_first_complete_view_ms"].is_number()) << report.dump(2);
  ASSERT_EQ(report["moves"].size(), 2u) << report.dump(2);
  for (const auto& m : report["moves"]) EXPECT_TRUE(m["ms_until_sharp"].is_number()) << report.dump(2);
  EXPECT_GT(report["frame_ms"]["count"].get<int>(), 0);
  EXPECT_GE(report["frame_ms"]["p99"].get<double>(), report["frame_ms"]["p50"].get<double>());
  EXPECT_GT(report["tiles"]["fetched"].get<int>(), 0);
  EXPECT_GT(report["bytes"].get<std::int64_t>(), 0);
  EXPECT_GT(report["peak_texture_bytes"].get<std::int64_t>(), 0);
  EXPECT_GT(report["peak_rss_bytes"].get<std::int64_t>(), 0);
}

TEST_F(ViewerScreenshot, at_100_ms_latency_the_view_is_never_blank_and_never_turns_coarser_while_still) {
  REREAD_REQUIRE_XVFB();
  const LatencyProxy proxy(server_->port(), 50);  // 100 ms round trips
  // Jumps far across the slide, in and out, pans that do not wait, then waits that do.
  const json script = json::array({
      {{"open", {{"case", std::stoll(case_id_)}, {"slide", slide_id_}}}},
      {{"zoom", {{"magnification", 20}, {"center", {2500, 2000}}}}},
      {{"wait", 150}},
      {{"pan", {{"dx", -400}, {"dy", 0}}}},
      {{"wait", 120}},
      {{"pan", {{"dx", 0}, {"dy", -300}}}},
      {{"wait", "sharp"}},
      {{"zoom", {{"magnification", 40}, {"center", {9500, 7000}}}}},
      {{"wait", "sharp"}},
      {{"zoom", {{"magnification", 2}}}},
      {{"wait", "sharp"}},
      {{"zoom", {{"magnification", 10}, {"center", {6000, 4500}}}}},
      {{"wait", "sharp"}},
  });
  const fs::path script_file = dir_->path() / "latency.json", report_file = dir_->path() / "latency-report.json";
  test::write_text_file(script_file, script.dump());
  const auto r =
      viewer("--server http://127.0.0.1:" + std::to_string(proxy.port()) + " --token " + server_->admin_token() +
             " --size 1024x768 --script " + test::quote(script_file) + " --report " + test::quote(report_file));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json report = json::parse(test::read_text(report_file), nullptr, false);
  ASSERT_TRUE(report.is_object()) << test::read_text(report_file);
  std::printf("at 100 ms latency: first complete view %.0f ms, %d frames (p50 %.1f ms, p99 %.1f ms)\n",
              report["time_to_first_complete_view_ms"].get<double>(), report["frame_ms"]["count"].get<int>(),
              report["frame_ms"]["p50"].get<double>(), report["frame_ms"]["p99"].get<double>());
  // Slide metadata, then the coarsest tile, then the view's tiles: at least two round trips.
  EXPECT_GE(report["time_to_first_complete_view_ms"].get<double>(), 200.0) << "the latency was not applied";
  EXPECT_EQ(report["blank_frames"].get<int>(), 0) << "part of the slide in view was blank: " << report.dump(2);
  EXPECT_EQ(report["flicker_samples"].get<int>(), 0)
      << "regions went coarser with the camera still: " << report.dump(2);
}

TEST_F(ViewerScreenshot, script_with_a_bad_step_names_it) {
  REREAD_REQUIRE_XVFB();
  const fs::path script_file = dir_->path() / "bad.json";
  test::write_text_file(script_file, R"([{"wait": "sharp"}, {"jump": {}}])");
  const auto r =
      viewer("--server " + url() + " --token " + server_->admin_token() + " --script " + test::quote(script_file));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("step 2"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace reread
