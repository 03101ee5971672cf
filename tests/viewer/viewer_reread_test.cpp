// The re-read as a consultant does it, in the real viewer under Xvfb, driven by a script through the same
// input path as the mouse and keyboard: open the case, draw a polygon and a ruler, write the revised
// diagnosis, sign out; then the server is asked what it holds. And the offline story: the server dies
// mid-session, the consultant keeps drawing, both come back, and every annotation arrives once.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "server/server_process.h"
#include "synthetic_slide_writer.h"
#include "test_environment.h"
#include "viewer/viewer_process.h"

namespace reread {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using nlohmann::json;

class ViewerReread : public ::testing::Test {
 protected:
  void SetUp() override {
    REREAD_REQUIRE_XVFB();
    dir_ = std::make_unique<test::TempDir>();
    fs::create_directories(dir_->path() / "slides");
    fs::create_directories(data());
    SyntheticSlideOptions o;
    o.spec = {12000, 9000, 5, 0.25};
    write_synthetic_slide(dir_->path() / "slides" / "breast.svs", o);
    admin_ = test::add_user_with_token(data(), "admin", "admin");
    consultant_ = test::add_user_with_token(data(), "dr-consult", "consultant");
    test::default_token() = admin_;
    start_server(0);
    const json slides = json::parse(admin_get("/api/slides").body)["slides"];
    ASSERT_EQ(slides.size(), 1u) << slides.dump();
    slide_id_ = slides[0]["id"];
    const json new_case = {
        {"accession", "S24-0042"},
        {"patient_ref", "P-42"},
        {"question", "Lobular or ductal?"},
        {"requested_at", "2024-05-02"},
        {"original_report",
         {{"diagnosis", "Invasive ductal carcinoma"}, {"grade", "2"}, {"stage", "pT1c pN0"}, {"margins", "clear"}}},
        {"annotation_classes", json::array({{{"name", "tumour"}, {"color", "#d62728"}},
                                            {{"name", "measurement"}, {"color", "#1f77b4"}}})},
        {"slides", {slide_id_}}};
    const auto c = admin_post("/api/cases", new_case);
    ASSERT_EQ(c.status, 201) << c.body;
    case_id_ = json::parse(c.body)["id"].get<std::int64_t>();
    const auto a = admin_post("/api/cases/" + std::to_string(case_id_) + "/consultants", {{"name", "dr-consult"}});
    ASSERT_LT(a.status, 300) << a.body;
  }

  fs::path data() const { return dir_->path() / "data"; }
  void start_server(unsigned short port) {
    server_ = std::make_unique<test::ServerProcess>(std::vector<std::string>{
        "--listen", "127.0.0.1:" + std::to_string(port), "--slides", (dir_->path() / "slides").string(), "--data",
        data().string(), "--workers", "2", "--log-level", "warn"});
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  test::HttpResult admin_get(const std::string& target) const {
    return test::http_request(server_->port(), target, {{"Authorization", "Bearer " + admin_}});
  }
  test::HttpResult admin_post(const std::string& target, const json& body) const {
    return test::http_request(server_->port(), target,
                              {{"Authorization", "Bearer " + admin_}, {"Content-Type", "application/json"}},
                              http::verb::post, body.dump());
  }
  json annotations() const {
    const auto r = admin_get("/api/cases/" + std::to_string(case_id_) + "/slides/" + slide_id_ + "/annotations");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["annotations"];
  }
  // The viewer as the consultant, with its outbox journal in the test's directory.
  test::CommandResult run_script(const json& script, const std::string& name) const {
    const fs::path file = dir_->path() / (name + ".json");
    test::write_text_file(file, script.dump(1));
    return test::run_viewer_headless("--server " + url() + " --token " + consultant_ + " --size 1280x800 --state-dir " +
                                     test::quote(dir_->path() / "state") + " --timeout 60 --script " +
                                     test::quote(file) + " --report " + test::quote(dir_->path() / (name + "-report.json")));
  }
  json open_case() const {
    return {{"open", {{"case", case_id_}, {"slide", slide_id_}}}};
  }

  std::unique_ptr<test::TempDir> dir_;
  std::unique_ptr<test::ServerProcess> server_;
  std::string admin_, consultant_, slide_id_;
  std::int64_t case_id_ = 0;
};

// The positions of a GeoJSON ring or line.
std::vector<std::pair<double, double>> positions(const json& coordinates) {
  std::vector<std::pair<double, double>> out;
  for (const auto& p : coordinates) out.emplace_back(p[0].get<double>(), p[1].get<double>());
  return out;
}

const json* labelled(const json& list, const std::string& label) {
  for (const auto& a : list) {
    if (a.value("label", "") == label) return &a;
  }
  return nullptr;
}

TEST_F(ViewerReread, a_consultant_draws_measures_revises_and_signs_out_and_the_server_holds_exactly_that) {
  test::write_text_file(dir_->path() / "colleague.xml", R"(<?xml version="1.0"?>
<ASAP_Annotations>
  <Annotations>
    <Annotation Name="second opinion" Type="Polygon" PartOfGroup="tumour" Color="#d62728">
      <Coordinates>
        <Coordinate Order="0" X="8000" Y="3000" />
        <Coordinate Order="1" X="9000" Y="3000" />
        <Coordinate Order="2" X="9000" Y="3500" />
      </Coordinates>
    </Annotation>
  </Annotations>
  <AnnotationGroups><Group Name="tumour" PartOfGroup="None" Color="#d62728"><Attributes /></Group></AnnotationGroups>
</ASAP_Annotations>
)");
  const json script = json::array({
      open_case(),
      {{"zoom", {{"magnification", 5}, {"center", {6000, 4500}}}}},
      {{"wait", "sharp"}},
      {{"wait", "saved"}},  // the case's annotations and report are loaded
      {{"tool", "polygon"}},
      {{"click", {5000, 4000}}},
      {{"click", {7000, 4000}}},
      {{"click", {7000, 5000}}},
      {{"double_click", {5000, 5000}}},
      {{"label", "tumour front"}},
      {{"tool", "ruler"}},
      {{"drag", {{"from", {5200, 4200}}, {"to", {6200, 4200}}}}},
      {{"label", "depth"}},
      {{"wait", "saved"}},
      // The annotation files, through the server: a colleague's ASAP file in, the slide's as QuPath out.
      {{"import", (dir_->path() / "colleague.xml").string()}},
      {{"wait", "saved"}},
      {{"export", {{"format", "geojson"}, {"path", (dir_->path() / "exported.geojson").string()}}}},
      {{"wait", "saved"}},
      {{"report", "show"}},
      {{"report", {{"revise", {{"field", "diagnosis"}, {"text", "Invasive lobular carcinoma"}}}}}},
      {{"report", {{"revise", {{"field", "histologic_type"}, {"text", "classic lobular"}}}}}},
      {{"report", {{"confirm", "grade"}}}},
      {{"report", {{"confirm", "stage"}}}},
      {{"report", {{"confirm", "margins"}}}},
      {{"report", {{"confirm", "lymph_nodes"}}}},
      {{"report", {{"confirm", "biomarkers"}}}},
      {{"report", {{"discrepancy", "major"}}}},
      {{"report", {{"reference", "tumour front"}}}},
      {{"wait", "saved"}},
      {{"report", "sign"}},
      {{"wait", "saved"}},
      {{"report", {{"export_pdf", (dir_->path() / "consult.pdf").string()}}}},
      {{"wait", "saved"}},
  });
  const auto r = run_script(script, "reread");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const json list = annotations();
  ASSERT_EQ(list.size(), 3u) << "two drawn, one imported: " << list.dump();
  const json* imported = labelled(list, "second opinion");
  ASSERT_NE(imported, nullptr) << list.dump();
  EXPECT_EQ((*imported)["class"]["name"], "tumour");
  const json exported = json::parse(test::read_text(dir_->path() / "exported.geojson"));
  ASSERT_EQ(exported["features"].size(), 3u) << exported.dump().substr(0, 500);
  const json* polygon = labelled(list, "tumour front");
  const json* ruler = labelled(list, "depth");
  ASSERT_NE(polygon, nullptr) << list.dump();
  ASSERT_NE(ruler, nullptr) << list.dump();
  // Coordinates at level 0 within 2 px of where the consultant clicked.
  ASSERT_EQ((*polygon)["geometry"]["type"], "Polygon");
  const auto ring = positions((*polygon)["geometry"]["coordinates"][0]);
  const std::vector<std::pair<double, double>> want{{5000, 4000}, {7000, 4000}, {7000, 5000}, {5000, 5000}, {5000, 4000}};
  ASSERT_EQ(ring.size(), want.size()) << (*polygon)["geometry"].dump();
  for (std::size_t k = 0; k < want.size(); ++k) {
    EXPECT_NEAR(ring[k].first, want[k].first, 2.0) << "vertex " << k;
    EXPECT_NEAR(ring[k].second, want[k].second, 2.0) << "vertex " << k;
  }
  EXPECT_EQ((*polygon)["class"]["name"], "") << "no class chosen";
  // 2000 x 1000 px at 0.25 µm/px: 0.125 mm², perimeter 1500 µm.
  EXPECT_NEAR((*polygon)["measurements"]["area_mm2"].get<double>(), 0.125, 0.001);
  EXPECT_NEAR((*polygon)["measurements"]["length_um"].get<double>(), 1500.0, 2.0);
  ASSERT_EQ((*ruler)["geometry"]["type"], "LineString");
  const auto line = positions((*ruler)["geometry"]["coordinates"]);
  ASSERT_EQ(line.size(), 2u);
  EXPECT_NEAR(line[0].first, 5200, 2.0);
  EXPECT_NEAR(line[0].second, 4200, 2.0);
  EXPECT_NEAR(line[1].first, 6200, 2.0);
  EXPECT_NEAR(line[1].second, 4200, 2.0);
  EXPECT_NEAR((*ruler)["measurements"]["length_um"].get<double>(), 250.0, 1.0) << "1000 px at 0.25 µm/px";

  // The signed report: what was written, the discrepancy chosen, the reference to the polygon.
  const auto rep = admin_get("/api/cases/" + std::to_string(case_id_) + "/report");
  ASSERT_EQ(rep.status, 200) << rep.body;
  const json report = json::parse(rep.body);
  EXPECT_EQ(report["status"], "signed") << report.dump();
  EXPECT_EQ(report["signed_by"], "dr-consult");
  EXPECT_EQ(report["fields"]["diagnosis"]["verdict"], "revised");
  EXPECT_EQ(report["fields"]["diagnosis"]["value"], "Invasive lobular carcinoma");
  EXPECT_EQ(report["fields"]["grade"]["verdict"], "confirmed");
  EXPECT_EQ(report["discrepancy"], "major");
  ASSERT_EQ(report["annotation_refs"].size(), 1u) << report.dump();
  EXPECT_EQ(report["annotation_refs"][0], (*polygon)["id"]);
  EXPECT_NE(report["free_text"].get<std::string>().find("[#" + std::to_string((*polygon)["id"].get<std::int64_t>()) + "]"),
            std::string::npos);

  // The export button's PDF: the signed report as the server renders it.
  const std::string pdf = test::read_text(dir_->path() / "consult.pdf");
  ASSERT_GT(pdf.size(), 1000u);
  EXPECT_EQ(pdf.substr(0, 5), "%PDF-");
  const auto text = test::run_command("pdftotext " + test::quote(dir_->path() / "consult.pdf") + " -");
  if (text.exit_code == 0) {
    EXPECT_NE(text.output.find("Invasive lobular carcinoma"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("dr-consult"), std::string::npos) << text.output;
  }

  // Signed means read-only: the server refuses a further draft from the consultant.
  const auto put = test::http_request(
      server_->port(), "/api/cases/" + std::to_string(case_id_) + "/report",
      {{"Authorization", "Bearer " + consultant_}, {"Content-Type", "application/json"}, {"If-Match", "\"" +
       std::to_string(report["version"].get<std::int64_t>()) + "\""}},
      http::verb::put, json{{"free_text", "changed after sign-out"}}.dump());
  EXPECT_EQ(put.status, 409) << put.body;
  // ... and the viewer will not edit it either: a script that tries is refused, naming why.
  const auto again = run_script(json::array({open_case(), {{"wait", "saved"}}, {{"report", "show"}},
                                             {{"report", {{"confirm", "grade"}}}}}),
                                "edit-signed");
  EXPECT_NE(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("refused"), std::string::npos) << again.output;
}

TEST_F(ViewerReread, a_blinded_first_read_records_the_impression_before_the_original_is_shown) {
  // The same slide in a case set to a blinded first read.
  json blinded = {{"accession", "S24-0043"},
                  {"patient_ref", "P-43"},
                  {"question", "Second opinion, blinded"},
                  {"requested_at", "2024-05-03"},
                  {"blinded_first_read", true},
                  {"original_report", {{"diagnosis", "Invasive ductal carcinoma"}, {"grade", "2"}}},
                  {"consultants", {"dr-consult"}},
                  {"slides", {slide_id_}}};
  const auto c = admin_post("/api/cases", blinded);
  ASSERT_EQ(c.status, 201) << c.body;
  const std::int64_t case_id = json::parse(c.body)["id"];
  const auto case_as_consultant = [&] {
    const auto r = test::http_request(server_->port(), "/api/cases/" + std::to_string(case_id),
                                      {{"Authorization", "Bearer " + consultant_}});
    return json::parse(r.body);
  };
  EXPECT_TRUE(case_as_consultant()["original_report"]["diagnosis"].is_null()) << "hidden before the impression";

  // A revision is refused while the original is hidden; the impression is what may be written first.
  const auto refused = run_script(json::array({{{"open", {{"case", case_id}, {"slide", slide_id_}}}},
                                               {{"wait", "saved"}},
                                               {{"report", {{"revise", {{"field", "diagnosis"}, {"text", "x"}}}}}}}),
                                  "blinded-refused");
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  const auto r = run_script(
      json::array({{{"open", {{"case", case_id}, {"slide", slide_id_}}}},
                   {{"wait", "saved"}},
                   {{"report", "show"}},
                   {{"report", {{"impression", {{"key", "diagnosis"}, {"text", "Invasive lobular carcinoma"}}}}}},
                   {{"report", {{"impression", {{"key", "grade"}, {"text", "2"}}}}}},
                   {{"report", "record_impression"}},
                   {{"wait", "saved"}},
                   {{"wait", 500}},
                   {{"wait", "saved"}},
                   // Now the original is shown, and the consult is written beside it.
                   {{"report", {{"revise", {{"field", "diagnosis"}, {"text", "Invasive lobular carcinoma"}}}}}},
                   {{"wait", "saved"}}}),
      "blinded");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(case_as_consultant()["original_report"]["diagnosis"], "Invasive ductal carcinoma")
      << "revealed once the impression is recorded";
  const auto rep = test::http_request(server_->port(), "/api/cases/" + std::to_string(case_id) + "/report",
                                      {{"Authorization", "Bearer " + consultant_}});
  const json report = json::parse(rep.body);
  EXPECT_EQ(report["initial_impression"]["diagnosis"], "Invasive lobular carcinoma") << report.dump();
  EXPECT_EQ(report["fields"]["diagnosis"]["verdict"], "revised") << report.dump();
}

TEST_F(ViewerReread, annotations_drawn_while_the_server_is_down_arrive_once_after_both_restart) {
  // Session 1: one point saved, then the server dies; two more drawn while it is down, and the viewer closes.
  const json session1 = json::array({
      open_case(),
      {{"zoom", {{"magnification", 2.5}, {"center", {6000, 4500}}}}},
      {{"wait", "sharp"}},
      {{"tool", "point"}},
      {{"click", {3000, 3000}}},
      {{"label", "before"}},
      {{"wait", 6000}},  // the test kills the server once it holds "before" (whether or not its answer came back)
      {{"tool", "rectangle"}},
      {{"drag", {{"from", {4000, 4000}}, {"to", {5000, 4600}}}}},
      {{"label", "offline rect"}},
      {{"tool", "ruler"}},
      {{"drag", {{"from", {7000, 6000}}, {"to", {8000, 6000}}}}},
      {{"label", "offline ruler"}},
      {{"wait", 1500}},
  });
  const unsigned short port = server_->port();
  auto first = std::async(std::launch::async, [&] { return run_script(session1, "session1"); });
  // Wait until the first annotation is on the server with its label, then kill it.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until && labelled(annotations(), "before") == nullptr) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(labelled(annotations(), "before"), nullptr) << "the first annotation never reached the server";
  server_->stop(SIGKILL);
  const auto r1 = first.get();
  ASSERT_EQ(r1.exit_code, 0) << r1.output;

  // Both come back: the server on the same address and data, the viewer with the same state directory.
  start_server(port);
  const auto r2 = run_script(json::array({open_case(), {{"wait", "saved"}}}), "session2");
  ASSERT_EQ(r2.exit_code, 0) << r2.output;

  const json list = annotations();
  ASSERT_EQ(list.size(), 3u) << "every annotation exactly once: " << list.dump();
  ASSERT_NE(labelled(list, "before"), nullptr) << list.dump();
  const json* rect = labelled(list, "offline rect");
  const json* ruler = labelled(list, "offline ruler");
  ASSERT_NE(rect, nullptr) << list.dump();
  ASSERT_NE(ruler, nullptr) << list.dump();
  // 1000 x 600 px at 0.25 µm/px.
  EXPECT_NEAR((*rect)["measurements"]["area_mm2"].get<double>(), 0.0375, 0.0005);
  EXPECT_NEAR((*ruler)["measurements"]["length_um"].get<double>(), 250.0, 1.0);
}

}  // namespace
}  // namespace reread
