// The consult report as a PDF, as its readers get it: a real server, a real slide, a consultant who revises
// the grade, marks the invasion front and signs; the PDF read back with poppler (pdftotext, pdftoppm) and
// its pages looked at pixel by pixel. Set REREAD_REPORT_PDF_OUT=DIR to keep the PDFs and page images.
#include "report_pdf.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "image_codec.h"
#include "record_fixtures.h"
#include "server_process.h"
#include "synthetic_slide_writer.h"
#include "test_environment.h"

namespace reread {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using verb = boost::beast::http::verb;
using Headers = std::map<std::string, std::string>;

constexpr const char* kQuestion = "Is wide local excision appropriate, or should neoadjuvant chemotherapy come first?";
constexpr const char* kRevisedGrade = "G3 (Nottingham 3+3+2 = 8)";
constexpr const char* kAddendum = "Ki-67 index 35 percent, supporting grade 3.";
constexpr const char* kSignerDisplay = "Dr Ada Lovelace-Smith";

json original_report() { return test::sample_original_report(); }

bool have_poppler() { return test::run_command("command -v pdftoppm && command -v pdftotext").exit_code == 0; }

#define REQUIRE_POPPLER()                                                                                 \
  do {                                                                                                    \
    if (!have_poppler())                                                                                  \
      GTEST_SKIP() << "pdftoppm/pdftotext not found: install poppler-utils (scripts/install-deps.sh) to " \
                      "look at the rendered report";                                                      \
  } while (0)

// Whitespace collapsed, so that text wrapped across lines in the PDF still matches.
std::string squeezed(const std::string& s) { return std::regex_replace(s, std::regex(R"(\s+)"), " "); }

// A PDF as poppler reads it: its text, and its pages as images at 50 dpi.
struct ReadBack {
  std::string text;
  std::vector<RgbImage> pages;
};

ReadBack read_back(const std::string& pdf, const std::string& name) {
  test::TempDir dir;
  const fs::path file = dir / (name + ".pdf");
  std::ofstream(file, std::ios::binary) << pdf;
  ReadBack out;
  const auto text = test::run_command("pdftotext -layout " + test::quote(file) + " -");
  EXPECT_EQ(text.exit_code, 0) << "pdftotext: " << text.output;
  out.text = text.output;
  const auto ppm = test::run_command("pdftoppm -r 50 -png " + test::quote(file) + " " + test::quote(dir / "page"));
  EXPECT_EQ(ppm.exit_code, 0) << "pdftoppm: " << ppm.output;
  std::vector<fs::path> pngs;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    if (e.path().extension() == ".png") pngs.push_back(e.path());
  }
  std::sort(pngs.begin(), pngs.end());  // page-1.png, page-2.png ... (zero-padded when there are ten or more)
  for (const auto& p : pngs) {
    std::ifstream in(p, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    out.pages.push_back(decode_png(bytes));
  }
  if (const char* keep = std::getenv("REREAD_REPORT_PDF_OUT"); keep != nullptr && *keep != '\0') {
    fs::create_directories(keep);
    fs::copy_file(file, fs::path(keep) / file.filename(), fs::copy_options::overwrite_existing);
    for (std::size_t i = 0; i < pngs.size(); ++i) {
      fs::copy_file(pngs[i], fs::path(keep) / (name + "-page-" + std::to_string(i + 1) + ".png"),
                    fs::copy_options::overwrite_existing);
    }
  }
  return out;
}

// Pixels of a pure, saturated red (the annotation class colour #ff0000), allowing for antialiasing.
std::size_t red_pixels(const RgbImage& img) {
  std::size_t n = 0;
  for (int y = 0; y < img.height; ++y) {
    const std::uint8_t* p = img.row(y);
    for (int x = 0; x < img.width; ++x, p += 3) n += p[0] >= 220 && p[1] <= 50 && p[2] <= 50;
  }
  return n;
}

// Pixels that are neither white nor grey: ink of some colour (tissue, tints, the outline).
std::size_t coloured_pixels(const RgbImage& img) {
  std::size_t n = 0;
  for (int y = 0; y < img.height; ++y) {
    const std::uint8_t* p = img.row(y);
    for (int x = 0; x < img.width; ++x, p += 3) {
      n += std::max({p[0], p[1], p[2]}) - std::min({p[0], p[1], p[2]}) > 40;
    }
  }
  return n;
}

class ReportPdf : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fs::create_directories(dir_->path() / "slides");
    SyntheticSlideOptions o;
    o.spec = {4000, 3000, 11, 0.25};
    write_synthetic_slide(dir_->path() / "slides/breast-a1.svs", o);
    server_ = new test::ServerProcess({"--listen", "127.0.0.1:0", "--slides", (dir_->path() / "slides").string(),
                                       "--workers", "2", "--log-level", "warn"});
    tokens_["admin"] = server_->admin_token();
    test::default_token().clear();  // every request names its user
    const json slides = parsed(call("admin", verb::get, "/api/slides"))["slides"];
    if (slides.size() != 1) throw std::runtime_error("expected one slide: " + slides.dump());
    slide_id_ = slides[0]["id"];
    tokens_["pdf-cons"] = add_user("pdf-cons", "consultant", kSignerDisplay);
    tokens_["pdf-ref"] = add_user("pdf-ref", "referrer", "Dr Referring Oncologist");
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    tokens_.clear();
  }

  static json parsed(const test::HttpResult& r) { return json::parse(r.body, nullptr, false); }
  static test::HttpResult call(const std::string& user, verb method, const std::string& target,
                               const json& body = nullptr, Headers headers = {}) {
    headers["Authorization"] = "Bearer " + tokens_.at(user);
    if (!body.is_null()) headers["Content-Type"] = "application/json";
    return test::http_request(server_->port(), target, headers, method, body.is_null() ? std::string() : body.dump());
  }
  static json expect(const test::HttpResult& r, int status, const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body.substr(0, 400);
    return parsed(r);
  }
  static std::string add_user(const std::string& name, const std::string& role, const std::string& display) {
    const auto made =
        call("admin", verb::post, "/api/users", {{"name", name}, {"role", role}, {"display_name", display}});
    if (made.status != 201) throw std::runtime_error("POST /api/users " + name + ": " + made.body);
    const auto token = call("admin", verb::post, "/api/users/" + name + "/tokens", {{"label", "tests"}});
    if (token.status != 201) throw std::runtime_error("POST tokens for " + name + ": " + token.body);
    return parsed(token)["token"];
  }
  static std::int64_t make_case(const std::string& accession, bool blinded = false) {
    const json c = {{"accession", accession},
                    {"patient_ref", "anon-" + accession},
                    {"specimen", "Left breast, wide local excision"},
                    {"site", "Breast, left, upper outer quadrant"},
                    {"institution", "County General Hospital"},
                    {"originating_pathologist", "Dr J. Original"},
                    {"clinical_history", "58-year-old woman, screen-detected 24 mm mass, no neoadjuvant therapy."},
                    {"question", kQuestion},
                    {"requested_at", "2024-05-02"},
                    {"due_at", "2024-05-12"},
                    {"original_report", original_report()},
                    {"blinded_first_read", blinded},
                    {"slides", {{{"slide_id", slide_id_}, {"label", "A1 H&E"}}}},
                    {"consultants", {"pdf-cons"}},
                    {"referrer", "pdf-ref"}};
    const auto r = call("admin", verb::post, "/api/cases", c);
    if (r.status != 201) throw std::runtime_error("POST /api/cases: " + r.body);
    return parsed(r)["id"];
  }
  static std::string case_path(std::int64_t id) { return "/api/cases/" + std::to_string(id); }
  static json put_report(std::int64_t case_id, std::int64_t version, const json& body) {
    return expect(call("pdf-cons", verb::put, case_path(case_id) + "/report", body,
                       {{"If-Match", "\"" + std::to_string(version) + "\""}}),
                  200, "PUT report");
  }
  // The PDF as `user` sees it; fails the test unless it is one.
  static std::string pdf_as(const std::string& user, std::int64_t case_id) {
    const auto r = call(user, verb::get, case_path(case_id) + "/report.pdf");
    EXPECT_EQ(r.status, 200) << user << " GET report.pdf: " << r.body.substr(0, 400);
    EXPECT_EQ(r.header("Content-Type"), "application/pdf");
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    EXPECT_TRUE(r.body.starts_with("%PDF-")) << "not a PDF: " << r.body.substr(0, 40);
    return r.body;
  }

  static test::TempDir* dir_;
  static test::ServerProcess* server_;
  static std::map<std::string, std::string> tokens_;
  static std::string slide_id_;
};
test::TempDir* ReportPdf::dir_ = nullptr;
test::ServerProcess* ReportPdf::server_ = nullptr;
std::map<std::string, std::string> ReportPdf::tokens_;
std::string ReportPdf::slide_id_;

TEST_F(ReportPdf, signed_report_prints_the_case_the_revision_the_signature_the_addendum_and_the_marked_region) {
  const std::int64_t c = make_case("PDF-SIGNED-1");
  // The invasion front, a polygon in level-0 pixels, in a class drawn pure red.
  const json polygon = {{"type", "Polygon"},
                        {"coordinates", {{{1500, 1000}, {2300, 1100}, {2400, 1700}, {1700, 1800}, {1500, 1000}}}}};
  const json made = expect(call("pdf-cons", verb::post, case_path(c) + "/slides/" + slide_id_ + "/annotations",
                                {{"geometry", polygon},
                                 {"class", {{"name", "Tumour"}, {"color", "#ff0000"}}},
                                 {"label", "Invasion front"},
                                 {"comment", "Highest mitotic activity here."}}),
                           201, "POST annotation");
  const std::int64_t annotation_id = made["id"];
  put_report(c, 0,
             {{"fields",
               {{"diagnosis", {{"verdict", "confirmed"}}},
                {"histologic_type", {{"verdict", "confirmed"}}},
                {"grade", {{"verdict", "revised"}, {"value", kRevisedGrade}}},
                {"stage", {{"verdict", "confirmed"}}},
                {"margins", {{"verdict", "confirmed"}}},
                {"lymph_nodes", {{"verdict", "confirmed"}}},
                {"biomarkers", {{"verdict", "confirmed"}}}}},
              {"discrepancy", "major"},
              {"free_text", "Marked nuclear pleomorphism and 18 mitoses per 10 HPF at the invasion front: grade 3."},
              {"additional_studies", "Ki-67; Oncotype DX if ER-positive and node-negative."},
              {"trial_comments", "Eligible for the neoadjuvant arm of a regional trial."},
              {"annotation_refs", {annotation_id}}});
  expect(call("pdf-cons", verb::post, case_path(c) + "/report/sign"), 200, "sign");
  expect(call("pdf-cons", verb::post, case_path(c) + "/report/addenda", {{"text", kAddendum}}), 201, "addendum");

  const std::string pdf = pdf_as("pdf-cons", c);
  // Audited as a read of the report in print.
  bool audited = false;
  for (int i = 0; i < 100 && !audited; ++i) {
    const json entries = parsed(call("admin", verb::get, "/api/audit?user=pdf-cons&action=read"))["entries"];
    for (const auto& e : entries) audited = audited || e["resource"] == "case/" + std::to_string(c) + "/report.pdf";
    if (!audited) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(audited) << "no audit entry 'read case/" << c << "/report.pdf' for pdf-cons";

  REQUIRE_POPPLER();
  const ReadBack seen = read_back(pdf, "signed");
  ASSERT_GE(seen.pages.size(), 1u) << "pdftoppm rendered no page";
  const std::string text = squeezed(seen.text);
  for (const std::string& expected :
       {std::string("PDF-SIGNED-1"), std::string(kQuestion), std::string("Major discrepancy"),
        std::string(kRevisedGrade), std::string(kSignerDisplay), std::string(kAddendum), std::string("REVISED"),
        std::string("Invasion front"), std::string("Electronically signed by"),
        std::string("Eligible for the neoadjuvant"), std::string("Page 1 of " + std::to_string(seen.pages.size()))}) {
    EXPECT_NE(text.find(squeezed(expected)), std::string::npos) << "the PDF's text lacks '" << expected << "':\n"
                                                                << seen.text;
  }
  EXPECT_EQ(text.find("DRAFT"), std::string::npos) << "a signed report is no draft";
  // A4 at 50 dpi: 413 x 585 pixels.
  EXPECT_NEAR(seen.pages[0].width, 413, 2);
  EXPECT_NEAR(seen.pages[0].height, 585, 2);

  // The snapshot: the slide's tissue under the outline in the class colour, on one page.
  std::size_t best_page = 0, most_red = 0;
  for (std::size_t i = 0; i < seen.pages.size(); ++i) {
    const std::size_t red = red_pixels(seen.pages[i]);
    if (red > most_red) {
      most_red = red;
      best_page = i;
    }
  }
  EXPECT_GE(most_red, 40u) << "no page shows the annotation's #ff0000 outline";
  EXPECT_GE(coloured_pixels(seen.pages[best_page]), 5000u) << "the page with the outline shows no tissue under it";
}

TEST_F(ReportPdf, unsigned_report_says_draft_and_reaches_the_referrer_only_once_signed) {
  const std::int64_t c = make_case("PDF-PENDING-1");
  put_report(c, 0, {{"fields", {{"grade", {{"verdict", "revised"}, {"value", "G1"}}}}}, {"discrepancy", "minor"}});

  const auto early = call("pdf-ref", verb::get, case_path(c) + "/report.pdf");
  EXPECT_EQ(early.status, 403) << "the referrer waits for the sign-out: " << early.body.substr(0, 200);
  EXPECT_FALSE(early.body.starts_with("%PDF")) << "a refusal carries no report";
  const std::string draft = pdf_as("pdf-cons", c);

  expect(call("pdf-cons", verb::post, case_path(c) + "/report/sign"), 200, "sign");
  const std::string signed_pdf = pdf_as("pdf-ref", c);

  REQUIRE_POPPLER();
  const ReadBack d = read_back(draft, "draft");
  ASSERT_GE(d.pages.size(), 1u);
  const std::string text = squeezed(d.text);
  EXPECT_NE(text.find("DRAFT"), std::string::npos) << "an unsigned report must say DRAFT:\n" << d.text;
  EXPECT_NE(text.find("not signed"), std::string::npos) << d.text;
  EXPECT_NE(text.find("Minor discrepancy"), std::string::npos) << d.text;
  EXPECT_EQ(red_pixels(d.pages[0]), 0u) << "no annotation is referred to, so no outline is drawn";

  const ReadBack s = read_back(signed_pdf, "signed-for-referrer");
  EXPECT_EQ(squeezed(s.text).find("DRAFT"), std::string::npos) << s.text;
  EXPECT_NE(squeezed(s.text).find(kSignerDisplay), std::string::npos) << s.text;
}

TEST_F(ReportPdf, blinded_consultant_prints_nothing_before_the_initial_impression) {
  const std::int64_t c = make_case("PDF-BLIND-1", true);
  const auto early = call("pdf-cons", verb::get, case_path(c) + "/report.pdf");
  EXPECT_EQ(early.status, 409) << early.body.substr(0, 200);
  EXPECT_EQ(early.body.find("ductal"), std::string::npos) << "the original stays hidden";
  put_report(c, 0, {{"initial_impression", {{"diagnosis", "Invasive carcinoma, no special type"}, {"grade", "G3"}}}});
  const std::string pdf = pdf_as("pdf-cons", c);

  REQUIRE_POPPLER();
  const std::string text = squeezed(read_back(pdf, "blinded").text);
  EXPECT_NE(text.find("Blinded first read"), std::string::npos) << text;
  EXPECT_NE(text.find("Invasive carcinoma, no special type"), std::string::npos) << "the initial impression: " << text;
}

// ---- The renderer alone (pure) ----------------------------------------------------------------------------

TEST(RenderReportPdf, runs_long_text_across_numbered_pages_and_says_when_a_region_cannot_be_shown) {
  ReportDocument doc;
  doc.kase.accession = "PURE-1";
  doc.kase.patient_ref = "anon-pure";
  doc.kase.question = "Grade?";
  doc.kase.original_report = original_report();
  doc.report.free_text = "";
  for (int i = 0; i < 120; ++i) doc.report.free_text += "Sentence " + std::to_string(i) + " of a long comment. ";
  doc.report.trial_comments = std::string(300, 'x');  // one word longer than a line
  doc.comparison = compare_reports(doc.kase.original_report, doc.report);
  doc.generated_at = "2024-06-01T12:00:00.000Z";
  ReportSnapshot point;  // a point on a grey field, drawn in green
  point.annotation_id = 7;
  point.label = "mitosis";
  point.color = {0, 200, 0};
  point.image = RgbImage(200, 200);
  std::fill(point.image.pixels.begin(), point.image.pixels.end(), std::uint8_t{128});
  point.region = {0, 0, 200, 200};
  point.outline = annotation::Point{{100, 100}};
  point.um_per_px = 0.5;
  ReportSnapshot gone;
  gone.annotation_id = 8;
  gone.unavailable = "annotation 8 is no longer part of this case";
  doc.snapshots = {point, gone};

  const std::string pdf = render_report_pdf(doc);
  ASSERT_TRUE(pdf.starts_with("%PDF-"));
  REQUIRE_POPPLER();
  const ReadBack seen = read_back(pdf, "pure");
  ASSERT_GE(seen.pages.size(), 2u) << "120 sentences do not fit one page";
  const std::string text = squeezed(seen.text);
  EXPECT_NE(text.find("Page 2 of " + std::to_string(seen.pages.size())), std::string::npos) << seen.text;
  EXPECT_NE(text.find("Sentence 119 of a long comment."), std::string::npos) << "the comment runs to its end";
  EXPECT_NE(text.find("annotation 8 is no longer part of this case"), std::string::npos) << seen.text;
  EXPECT_NE(text.find("Discrepancy not yet categorised"), std::string::npos) << seen.text;
  std::size_t green = 0;
  for (const auto& page : seen.pages) {
    for (int y = 0; y < page.height; ++y) {
      const std::uint8_t* p = page.row(y);
      for (int x = 0; x < page.width; ++x, p += 3) green += p[0] <= 60 && p[1] >= 160 && p[2] <= 60;
    }
  }
  EXPECT_GE(green, 10u) << "the point's marker is drawn in its class colour";
}

// ---- The region a snapshot shows (pure) -------------------------------------------------------------------

TEST(SnapshotRegion, frames_a_polygon_with_a_margin_and_caps_the_output_at_1024_pixels) {
  const auto r = snapshot_region({10000, 20000, 14000, 22000}, 100000, 80000, 0.25);
  EXPECT_LT(r.region.min_x, 10000);
  EXPECT_GT(r.region.max_x, 14000);
  EXPECT_LT(r.region.min_y, 20000);
  EXPECT_GT(r.region.max_y, 22000);
  EXPECT_EQ(std::max(r.out_width, r.out_height), 1024);
  const double aspect = (r.region.max_x - r.region.min_x) / (r.region.max_y - r.region.min_y);
  EXPECT_NEAR(static_cast<double>(r.out_width) / r.out_height, aspect, 0.01) << "the region keeps its shape";
}

TEST(SnapshotRegion, gives_a_point_a_field_of_250_microns_inside_the_slide_and_never_enlarges) {
  const auto r = snapshot_region({5, 5, 5, 5}, 3000, 2000, 0.5);
  EXPECT_EQ(r.region.min_x, 0) << "kept inside the slide";
  EXPECT_EQ(r.region.min_y, 0);
  EXPECT_NEAR(r.region.max_x - r.region.min_x, 500, 1) << "250 µm at 0.5 µm/px";
  EXPECT_EQ(r.out_width, 500) << "shown at level 0, not enlarged";
  const auto uncalibrated = snapshot_region({1000, 1000, 1000, 1000}, 3000, 2000, std::nullopt);
  EXPECT_NEAR(uncalibrated.region.max_x - uncalibrated.region.min_x, 512, 1);
}

}  // namespace
}  // namespace reread
