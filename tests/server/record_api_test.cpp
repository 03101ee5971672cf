// The re-read record as its users meet it over HTTP: a real reread-server on a loopback port, real slides,
// real SQLite files, a real client per user. Rights by role, the audit trail, optimistic concurrency,
// durability across a crash, the consult workflow, blinded first reads, annotation interchange and the CLI.
#include <gtest/gtest.h>

#include <cmath>

#include <array>
#include <atomic>
#include <functional>
#include <latch>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "record_fixtures.h"
#include "server_process.h"
#include "sqlite_db.h"
#include "synthetic_slide_writer.h"
#include "test_environment.h"

namespace reread {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using verb = boost::beast::http::verb;
using Headers = std::map<std::string, std::string>;

constexpr int kOk = 200, kCreated = 201, kDenied = 403;

// The users of the rights matrix, in the order of its expectations.
const std::array<std::string, 6> kUsers = {"admin", "cons-a", "cons-none", "referrer-a", "board-a", "board-other"};
const std::map<std::string, std::string> kRoles = {{"admin", "admin"},          {"cons-a", "consultant"},
                                                   {"cons-none", "consultant"}, {"referrer-a", "referrer"},
                                                   {"board-a", "board"},        {"board-other", "board"}};

json original_report() { return test::sample_original_report(); }

json rectangle(double x, double y, double w, double h) {
  return {{"type", "Polygon"},
          {"coordinates",
           json::array({json::array({json::array({x, y}), json::array({x + w, y}), json::array({x + w, y + h}),
                                     json::array({x, y + h}), json::array({x, y})})})}};
}

json annotation_body(double x, const std::string& label = "tumour") {
  return {{"geometry", rectangle(x, 100, 200, 100)},
          {"class", {{"name", "Tumor"}, {"color", "#c80000"}}},
          {"label", label}};
}

std::string quoted_version(std::int64_t v) { return "\"" + std::to_string(v) + "\""; }

json parsed(const test::HttpResult& r) { return json::parse(r.body, nullptr, false); }
// One member of a JSON answer, by value (so that a range-for over it keeps it alive).
json member(const test::HttpResult& r, const char* key) { return parsed(r)[key]; }

// One server on three synthetic slides for the whole suite; users made through the API.
class RecordApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fs::create_directories(slides_dir());
    SyntheticSlideOptions o;
    std::uint64_t seed = 31;
    for (const char* name : {"case-a-he", "case-b-he", "shared-ihc"}) {
      o.spec = {3000, 2000, seed++, 0.25};
      write_synthetic_slide(slides_dir() / (std::string(name) + ".svs"), o);
    }
    server_ = new test::ServerProcess(
        {"--listen", "127.0.0.1:0", "--slides", slides_dir().string(), "--workers", "2", "--log-level", "warn"});
    tokens_["admin"] = server_->admin_token();
    test::default_token().clear();  // every request here names its user; none means no token
    for (const auto& s : member(call("admin", verb::get, "/api/slides"), "slides")) slide_ids_[s["name"]] = s["id"];
    tokens_["cons-a"] = add_user("cons-a", "consultant");
    tokens_["cons-none"] = add_user("cons-none", "consultant");
    tokens_["referrer-a"] = add_user("referrer-a", "referrer");
    tokens_["board-a"] = add_user("board-a", "board", {"board-one"});
    tokens_["board-other"] = add_user("board-other", "board", {"board-two"});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    tokens_.clear();
    slide_ids_.clear();
  }

  static fs::path slides_dir() { return dir_->path() / "slides"; }
  static std::string slide(const std::string& name) { return slide_ids_.at(name); }
  static json case_slide(const std::string& name) { return {{"slide_id", slide(name)}, {"label", name}}; }

  // A request as `user` (no Authorization header for ""), on a fresh connection.
  static test::HttpResult call(const std::string& user, verb method, const std::string& target,
                               const json& body = nullptr, Headers headers = {}) {
    return call_port(server_->port(), user.empty() ? "" : tokens_.at(user), method, target, body, std::move(headers));
  }
  static test::HttpResult call_port(unsigned short port, const std::string& token, verb method,
                                    const std::string& target, const json& body = nullptr, Headers headers = {}) {
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    if (!body.is_null()) headers["Content-Type"] = "application/json";
    return test::http_request(port, target, headers, method, body.is_null() ? std::string() : body.dump());
  }
  static test::HttpResult send_text(const std::string& user, verb method, const std::string& target,
                                    const std::string& text) {
    return test::http_request(server_->port(), target, {{"Authorization", "Bearer " + tokens_.at(user)}}, method, text);
  }
  // Answers `status` or fails the calling test with what came instead; returns the JSON body.
  static json expect_status(const test::HttpResult& r, int status, const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body.substr(0, 400);
    return parsed(r);
  }

  static std::string add_user(const std::string& name, const std::string& role,
                              const std::vector<std::string>& boards = {}) {
    const auto made = call("admin", verb::post, "/api/users", {{"name", name}, {"role", role}, {"boards", boards}});
    if (made.status != kCreated) throw std::runtime_error("POST /api/users " + name + ": " + made.body);
    const auto token = call("admin", verb::post, "/api/users/" + name + "/tokens", {{"label", "tests"}});
    if (token.status != kCreated) throw std::runtime_error("POST tokens for " + name + ": " + token.body);
    return parsed(token)["token"];
  }

  // Creates a case as the admin: a complete request with `fields` over it. Returns its ID.
  static std::int64_t make_case(const json& fields) {
    json c = {{"patient_ref", "anon-" + fields.value("accession", std::string("x"))},
              {"question", "Is the proposed surgery appropriate, or should neoadjuvant therapy come first?"},
              {"requested_at", "2024-05-02"},
              {"original_report", original_report()}};
    c.update(fields);
    const auto r = call("admin", verb::post, "/api/cases", c);
    if (r.status != kCreated) throw std::runtime_error("POST /api/cases " + c.dump() + ": " + r.body);
    return parsed(r)["id"];
  }
  static std::string case_path(std::int64_t id) { return "/api/cases/" + std::to_string(id); }
  static std::string annotations_path(std::int64_t case_id, const std::string& slide_name) {
    return case_path(case_id) + "/slides/" + slide(slide_name) + "/annotations";
  }

  static std::int64_t report_version(std::int64_t case_id) {
    return parsed(call("admin", verb::get, case_path(case_id) + "/report"))["version"];
  }
  static json put_report(const std::string& user, std::int64_t case_id, std::int64_t version, const json& body,
                         int status = kOk) {
    return expect_status(
        call(user, verb::put, case_path(case_id) + "/report", body, {{"If-Match", quoted_version(version)}}), status,
        user + " PUT report of case " + std::to_string(case_id));
  }
  static std::int64_t create_annotation(const std::string& user, std::int64_t case_id, const std::string& slide_name,
                                        double x = 100) {
    const auto r = call(user, verb::post, annotations_path(case_id, slide_name), annotation_body(x));
    if (r.status != kCreated) throw std::runtime_error("POST annotation: " + r.body);
    return parsed(r)["id"];
  }
  static std::vector<json> annotations(std::int64_t case_id, const std::string& slide_name) {
    const json list = parsed(call("admin", verb::get, annotations_path(case_id, slide_name)))["annotations"];
    return {list.begin(), list.end()};
  }

  // The audit entries a query finds, asked again until `done` says they are all there (the gate writes
  // its entries after answering) or two seconds have passed.
  static json audit_until(const std::string& query, const std::function<bool(const json&)>& done) {
    json entries;
    for (int i = 0; i < 100; ++i) {
      entries = parsed(call("admin", verb::get, "/api/audit?" + query))["entries"];
      if (done(entries)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return entries;
  }
  static bool has_entry(const json& entries, const std::string& user, const std::string& action,
                        const std::string& resource) {
    for (const auto& e : entries) {
      if (e["user"] == (user.empty() ? json(nullptr) : json(user)) && e["action"] == action &&
          e["resource"] == resource) {
        return true;
      }
    }
    return false;
  }

  static test::TempDir* dir_;
  static test::ServerProcess* server_;
  static std::map<std::string, std::string> tokens_;
  static std::map<std::string, std::string> slide_ids_;
};
test::TempDir* RecordApi::dir_ = nullptr;
test::ServerProcess* RecordApi::server_ = nullptr;
std::map<std::string, std::string> RecordApi::tokens_;
std::map<std::string, std::string> RecordApi::slide_ids_;

// ---- Rights -------------------------------------------------------------------------------------------

TEST_F(RecordApi, rights_follow_the_role_and_the_relation_to_the_case) {
  const json related = {{"consultants", {"cons-a"}}, {"referrer", "referrer-a"}, {"boards", {"board-one"}}};
  json a_fields = related;
  a_fields.update({{"accession", "M-A"}, {"slides", {case_slide("case-a-he")}}});
  const std::int64_t a = make_case(a_fields);
  make_case({{"accession", "M-B"}, {"slides", {case_slide("case-b-he")}}, {"boards", {"board-two"}}});
  json s_fields = related;
  s_fields.update({{"accession", "M-S"}, {"slides", {case_slide("shared-ihc")}}});
  const std::int64_t signed_out = make_case(s_fields);
  s_fields["accession"] = "M-SIGN";
  const std::int64_t to_sign = make_case(s_fields);
  put_report("cons-a", signed_out, 0, {{"discrepancy", "concordant"}});
  expect_status(call("cons-a", verb::post, case_path(signed_out) + "/report/sign"), kOk, "sign M-S");
  put_report("cons-a", to_sign, 0, {{"discrepancy", "minor"}});
  const std::int64_t annotation = create_annotation("cons-a", a, "case-a-he");

  const std::string A = case_path(a);
  const std::string s = slide("case-a-he");
  const std::string ann = "/api/annotations/" + std::to_string(annotation);
  struct Probe {
    verb method;
    std::string target;
    json body = nullptr;
    Headers headers = {};
  };
  struct Row {
    std::string endpoint;
    std::function<Probe(const std::string& user)> probe;
    std::array<int, 6> expected;  // by kUsers: admin, cons-a, cons-none, referrer-a, board-a, board-other
  };
  const auto get = [](const std::string& target) {
    return [target](const std::string&) { return Probe{verb::get, target}; };
  };
  const std::vector<Row> rows = {
      {"GET /api/cases", get("/api/cases"), {kOk, kOk, kOk, kOk, kOk, kOk}},
      {"GET /api/cases/{A}", get(A), {kOk, kOk, kDenied, kOk, kOk, kDenied}},
      {"PATCH /api/cases/{A}",
       [&](const std::string&) {
         return Probe{verb::patch, A, {{"status", "in_review"}}};
       },
       {kOk, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"GET /api/cases/{A}/report (draft)", get(A + "/report"), {kOk, kOk, kDenied, kDenied, kDenied, kDenied}},
      {"GET /api/cases/{A}/comparison (draft)", get(A + "/comparison"), {kOk, kOk, kDenied, kDenied, kDenied, kDenied}},
      {"GET /api/cases/{S}/report (signed out)",
       get(case_path(signed_out) + "/report"),
       {kOk, kOk, kDenied, kOk, kOk, kDenied}},
      {"PUT /api/cases/{A}/report",
       [&](const std::string& user) {
         return Probe{verb::put,
                      A + "/report",
                      {{"free_text", "draft by " + user}},
                      {{"If-Match", quoted_version(report_version(a))}}};
       },
       {kDenied, kOk, kDenied, kDenied, kDenied, kDenied}},
      {"POST /api/cases/{SIGN}/report/sign",
       [&](const std::string&) {
         return Probe{verb::post, case_path(to_sign) + "/report/sign"};
       },
       {kDenied, kOk, kDenied, kDenied, kDenied, kDenied}},
      {"POST /api/cases/{A}/slides/{s}/annotations",
       [&](const std::string&) {
         return Probe{verb::post, annotations_path(a, "case-a-he"), annotation_body(300)};
       },
       {kCreated, kCreated, kDenied, kDenied, kDenied, kDenied}},
      {"GET /api/cases/{A}/slides/{s}/annotations",
       get(annotations_path(a, "case-a-he")),
       {kOk, kOk, kDenied, kOk, kOk, kDenied}},
      {"GET /api/annotations/{id}", get(ann), {kOk, kOk, kDenied, kOk, kOk, kDenied}},
      {"PUT /api/annotations/{id}",
       [&](const std::string& user) {
         const std::int64_t v = parsed(call("admin", verb::get, ann))["version"];
         return Probe{verb::put, ann, annotation_body(500, "moved by " + user), {{"If-Match", quoted_version(v)}}};
       },
       {kOk, kOk, kDenied, kDenied, kDenied, kDenied}},
      {"DELETE /api/annotations/{id}",
       [&](const std::string&) {
         const std::int64_t fresh = create_annotation("cons-a", a, "case-a-he", 700);
         return Probe{verb::delete_, "/api/annotations/" + std::to_string(fresh), nullptr, {{"If-Match", "\"1\""}}};
       },
       {kOk, kOk, kDenied, kDenied, kDenied, kDenied}},
      {"GET /slides/{s}_files/0/0_0.jpeg",
       get("/slides/" + s + "_files/0/0_0.jpeg"),
       {kOk, kOk, kDenied, kOk, kOk, kDenied}},
      {"GET /slides/{s}.dzi", get("/slides/" + s + ".dzi"), {kOk, kOk, kDenied, kOk, kOk, kDenied}},
      {"GET /iiif/3/{s}/info.json", get("/iiif/3/" + s + "/info.json"), {kOk, kOk, kDenied, kOk, kOk, kDenied}},
      {"GET /iiif/3/{s}/full/64,/0/default.jpg",
       get("/iiif/3/" + s + "/full/64,/0/default.jpg"),
       {kOk, kOk, kDenied, kOk, kOk, kDenied}},
      {"GET /slides/{s}/thumbnail", get("/slides/" + s + "/thumbnail?max=64"), {kOk, kOk, kDenied, kOk, kOk, kDenied}},
      {"GET /api/slides/{s}", get("/api/slides/" + s), {kOk, kOk, kDenied, kOk, kOk, kDenied}},
      {"GET /slides/{s}/associated/label.jpg",
       get("/slides/" + s + "/associated/label.jpg"),
       {kOk, kOk, kDenied, kDenied, kDenied, kDenied}},
      {"GET /api/audit", get("/api/audit?limit=5"), {kOk, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"GET /api/users", get("/api/users"), {kOk, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"POST /api/users",
       [&](const std::string& user) {
         return Probe{verb::post, "/api/users", {{"name", "made-by-" + user}, {"role", "board"}}};
       },
       {kCreated, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"POST /api/cases/{A}/consultants",
       [&](const std::string&) {
         return Probe{verb::post, A + "/consultants", {{"name", "cons-a"}}};
       },
       {kOk, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"GET /metrics", get("/metrics"), {kOk, kDenied, kDenied, kDenied, kDenied, kDenied}},
  };
  for (const Row& row : rows) {
    for (std::size_t u = 0; u < kUsers.size(); ++u) {
      const std::string& user = kUsers[u];
      const Probe p = row.probe(user);
      const auto r = call(user, p.method, p.target, p.body, p.headers);
      const int want = row.expected[u];
      const bool json_body = r.header("Content-Type") == "application/json";
      EXPECT_EQ(r.status, want) << user << " (" << kRoles.at(user) << ") " << row.endpoint << ": expected " << want
                                << ", got " << r.status << (json_body ? ": " + r.body.substr(0, 300) : "");
      if (r.status == kDenied) {
        const json j = parsed(r);
        EXPECT_TRUE(json_body && j.is_object() && j.contains("error") && j.contains("detail"))
            << user << " " << row.endpoint << ": a denial is a JSON error: " << r.body.substr(0, 300);
      }
    }
  }

  // Each user lists the cases they may see, and only those.
  const std::map<std::string, std::set<std::string>> listed = {{"admin", {"M-A", "M-B"}}, {"cons-a", {"M-A"}},
                                                               {"cons-none", {}},         {"referrer-a", {"M-A"}},
                                                               {"board-a", {"M-A"}},      {"board-other", {"M-B"}}};
  for (const auto& [user, want] : listed) {
    const json cases = parsed(call(user, verb::get, "/api/cases"))["cases"];
    std::set<std::string> got;
    for (const auto& c : cases) {
      if (c["accession"] == "M-A" || c["accession"] == "M-B") got.insert(c["accession"].get<std::string>());
    }
    EXPECT_EQ(got, want) << user << " (" << kRoles.at(user) << ") GET /api/cases lists " << cases.size() << " cases";
  }
  EXPECT_TRUE(parsed(call("cons-none", verb::get, "/api/cases"))["cases"].empty());

  // Denials, by the record's routes and by the gate in front of the tiles, are in the audit log.
  const std::string denied_tile = "/slides/" + s + "_files/0/0_0.jpeg";
  const json denials = audit_until("action=deny&user=cons-none", [&](const json& e) {
    return has_entry(e, "cons-none", "deny", A) && has_entry(e, "cons-none", "deny", denied_tile);
  });
  EXPECT_TRUE(has_entry(denials, "cons-none", "deny", A)) << denials.dump(1);
  EXPECT_TRUE(has_entry(denials, "cons-none", "deny", denied_tile)) << denials.dump(1);
  const json label_denials = audit_until("action=deny&user=referrer-a", [&](const json& e) {
    return has_entry(e, "referrer-a", "deny", "/slides/" + s + "/associated/label.jpg");
  });
  EXPECT_TRUE(has_entry(label_denials, "referrer-a", "deny", "/slides/" + s + "/associated/label.jpg"))
      << label_denials.dump(1);
}

TEST_F(RecordApi, requests_without_a_valid_token_get_401_with_a_json_body) {
  for (const std::string& target :
       std::vector<std::string>{"/api/cases", "/api/me", "/slides/" + slide("case-a-he") + ".dzi", "/metrics"}) {
    const auto r = call("", verb::get, target);
    EXPECT_EQ(r.status, 401) << "no token: " << target;
    EXPECT_EQ(r.header("Content-Type"), "application/json") << target;
    const json j = parsed(r);
    EXPECT_TRUE(j.is_object() && j.contains("error") && j.contains("detail")) << target << ": " << r.body;
    EXPECT_NE(r.header("WWW-Authenticate").find("Bearer"), std::string::npos) << target;
  }
  EXPECT_EQ(call_port(server_->port(), "rr_not-a-token", verb::get, "/api/me").status, 401);
  EXPECT_EQ(call("", verb::get, "/healthz").status, 200) << "the health check needs no token";

  // A revoked token stops working at once.
  const json made = parsed(call("admin", verb::post, "/api/users/cons-none/tokens", {{"label", "to revoke"}}));
  const std::string token = made["token"];
  ASSERT_EQ(call_port(server_->port(), token, verb::get, "/api/me").status, 200);
  expect_status(call("admin", verb::delete_, "/api/tokens/" + std::to_string(made["id"].get<std::int64_t>())), kOk,
                "revoke");
  const auto revoked = call_port(server_->port(), token, verb::get, "/api/me");
  EXPECT_EQ(revoked.status, 401) << revoked.body;
  EXPECT_TRUE(parsed(revoked).contains("error")) << revoked.body;
  EXPECT_EQ(call("cons-none", verb::get, "/api/me").status, 200) << "the user's other token still works";

  const json entries = audit_until("action=deny&resource=/api/me", [](const json& e) {
    int n = 0;
    for (const auto& x : e) n += x["user"].is_null() ? 1 : 0;
    return n >= 3;
  });
  int anonymous = 0;
  for (const auto& e : entries) anonymous += e["user"].is_null() && e["address"] == "127.0.0.1" ? 1 : 0;
  EXPECT_GE(anonymous, 3) << "no token, a bad token and a revoked token are denials: " << entries.dump(1);
}

// ---- Audit --------------------------------------------------------------------------------------------

TEST_F(RecordApi, reads_and_changes_are_audited_with_user_address_action_and_resource) {
  const std::int64_t c = make_case({{"accession", "AUD-1"}, {"slides", {case_slide("case-a-he")}}});
  tokens_["cons-audit"] = add_user("cons-audit", "consultant");
  expect_status(call("admin", verb::post, case_path(c) + "/consultants", {{"name", "cons-audit"}}), kOk, "assign");

  expect_status(call("cons-audit", verb::get, case_path(c)), kOk, "read case");
  expect_status(call("cons-audit", verb::get, case_path(c) + "/report"), kOk, "read report");
  expect_status(call("cons-audit", verb::get, annotations_path(c, "case-a-he")), kOk, "read annotations");
  const auto hour = [] {
    return std::chrono::duration_cast<std::chrono::hours>(std::chrono::system_clock::now().time_since_epoch()).count();
  };
  const auto first_hour = hour();
  int tiles = 0;
  for (int col = 0; col < 6; ++col) {
    for (int row = 0; row < 4 && tiles < 20; ++row, ++tiles) {
      const std::string t =
          "/slides/" + slide("case-a-he") + "_files/11/" + std::to_string(col) + "_" + std::to_string(row) + ".jpeg";
      ASSERT_EQ(call("cons-audit", verb::get, t).status, kOk) << t;
    }
  }
  const bool same_hour = hour() == first_hour;
  const std::int64_t id = create_annotation("cons-audit", c, "case-a-he");
  const std::string ann = "annotation/" + std::to_string(id);
  expect_status(call("cons-audit", verb::put, "/api/annotations/" + std::to_string(id), annotation_body(900),
                     {{"If-Match", "\"1\""}}),
                kOk, "update annotation");
  expect_status(call("cons-audit", verb::get, "/api/annotations/" + std::to_string(id)), kOk, "read annotation");
  expect_status(
      call("cons-audit", verb::delete_, "/api/annotations/" + std::to_string(id), nullptr, {{"If-Match", "\"2\""}}),
      kOk, "delete annotation");
  put_report("cons-audit", c, 0, {{"free_text", "first look"}});

  const std::string tiles_resource = "slide/" + slide("case-a-he") + "/tiles";
  const std::string cp = "case/" + std::to_string(c);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"read", cp},
      {"read", cp + "/report"},
      {"read", cp + "/slide/" + slide("case-a-he") + "/annotations"},
      {"read", tiles_resource},
      {"create", ann},
      {"update", ann},
      {"read", ann},
      {"delete", ann},
      {"update", cp + "/report"}};
  const json entries = audit_until("user=cons-audit", [&](const json& e) {
    for (const auto& [action, resource] : expected) {
      if (!has_entry(e, "cons-audit", action, resource)) return false;
    }
    return true;
  });
  for (const auto& [action, resource] : expected) {
    EXPECT_TRUE(has_entry(entries, "cons-audit", action, resource))
        << "no audit entry " << action << " " << resource << " in " << entries.dump(1);
  }
  for (const auto& e : entries) {
    EXPECT_EQ(e["address"], "127.0.0.1") << e.dump();
    EXPECT_FALSE(e["at"].get<std::string>().empty()) << e.dump();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // any late tile entries would be written by now
  int tile_entries = 0;
  for (const auto& e : member(call("admin", verb::get, "/api/audit?user=cons-audit"), "entries")) {
    tile_entries += e["resource"] == tiles_resource ? 1 : 0;
  }
  EXPECT_EQ(tile_entries, same_hour ? 1 : 2) << "20 tiles of one slide in one hour are one audit entry";
  // Who assigned the consultant is recorded too.
  EXPECT_TRUE(has_entry(parsed(call("admin", verb::get, "/api/audit?user=admin&action=assign"))["entries"], "admin",
                        "assign", cp));
}

// ---- Optimistic concurrency ---------------------------------------------------------------------------

TEST_F(RecordApi, concurrent_edits_of_one_annotation_one_wins_the_other_gets_412_with_the_current_one) {
  const std::int64_t c =
      make_case({{"accession", "CONC-1"}, {"slides", {case_slide("shared-ihc")}}, {"consultants", {"cons-a"}}});
  const std::int64_t id = create_annotation("cons-a", c, "shared-ihc");
  const std::string target = "/api/annotations/" + std::to_string(id);
  for (std::int64_t version = 1; version <= 5; ++version) {
    std::latch start(2);
    std::array<test::HttpResult, 2> results;
    std::array<std::thread, 2> clients;
    for (int i = 0; i < 2; ++i) {
      clients[static_cast<std::size_t>(i)] = std::thread([&, i] {
        start.arrive_and_wait();
        results[static_cast<std::size_t>(i)] =
            call("cons-a", verb::put, target, annotation_body(1000 + 10 * i, "client " + std::to_string(i)),
                 {{"If-Match", quoted_version(version)}});
      });
    }
    for (auto& t : clients) t.join();
    const int wins = (results[0].status == 200) + (results[1].status == 200);
    const int stale = (results[0].status == 412) + (results[1].status == 412);
    ASSERT_EQ(wins, 1) << "round " << version << ": " << results[0].status << " " << results[1].status;
    ASSERT_EQ(stale, 1) << "round " << version << ": " << results[0].body << " / " << results[1].body;
    const test::HttpResult& winner = results[0].status == 200 ? results[0] : results[1];
    const json conflict = parsed(results[0].status == 412 ? results[0] : results[1]);
    ASSERT_TRUE(conflict.contains("current")) << conflict.dump();
    EXPECT_EQ(conflict["current"]["version"], version + 1);
    EXPECT_EQ(conflict["current"]["label"], parsed(winner)["label"]) << "the 412 shows the version that won";
    EXPECT_EQ(conflict["current"]["geometry"], parsed(winner)["geometry"]);
    EXPECT_EQ(winner.header("ETag"), quoted_version(version + 1));
  }
  const auto no_version = call("cons-a", verb::put, target, annotation_body(1200));
  EXPECT_EQ(no_version.status, 428) << no_version.body;
  EXPECT_EQ(call("cons-a", verb::delete_, target).status, 428);
  EXPECT_EQ(parsed(call("cons-a", verb::get, target))["version"], 6) << "refused writes changed nothing";
}

// A record of its own (its own data directory, so the server can be killed and started again on it): an
// admin, a consultant "writer", and one case on slide case-a-he imported from the command line.
struct OwnRecord {
  OwnRecord(const std::string& accession, const fs::path& slides) {
    admin = test::add_user_with_token(data.path(), "admin", "admin");
    writer = test::add_user_with_token(data.path(), "writer", "consultant");
    const fs::path case_file = data / "case.json";
    test::write_text_file(case_file, json{{"accession", accession},
                                          {"patient_ref", "anon-" + accession},
                                          {"question", "Grade?"},
                                          {"requested_at", "2024-06-01"},
                                          {"original_report", {{"diagnosis", "carcinoma"}}},
                                          {"slides", {{{"name", "case-a-he"}, {"label", "A1"}}}},
                                          {"consultants", {"writer"}}}
                                         .dump());
    const auto r = test::run_command(std::string(REREAD_SERVER_BIN) + " case import " + test::quote(case_file) +
                                     " --data " + test::quote(data.path()) + " --slides " +
                                     test::quote(slides));
    imported = r.exit_code == 0;
    import_output = r.output;
    args = {"--listen", "127.0.0.1:0", "--slides", slides.string(), "--data", data.path().string(),
            "--log-level", "error"};
  }
  test::TempDir data;
  std::string admin, writer, import_output;
  bool imported = false;
  std::vector<std::string> args;
};

// ---- Durability ---------------------------------------------------------------------------------------

TEST_F(RecordApi, every_acknowledged_annotation_survives_a_sigkill_mid_burst) {
  OwnRecord own("DUR-1", slides_dir());
  const std::string& admin = own.admin;
  const std::string& writer = own.writer;
  ASSERT_TRUE(own.imported) << own.import_output;
  const std::vector<std::string>& args = own.args;
  auto server = std::make_unique<test::ServerProcess>(args);
  const json cases = parsed(call_port(server->port(), writer, verb::get, "/api/cases"))["cases"];
  ASSERT_EQ(cases.size(), 1u);
  const std::int64_t case_id = cases[0]["id"];
  const std::string target = "/api/cases/" + std::to_string(case_id) + "/slides/" + slide("case-a-he") + "/annotations";

  std::mutex mutex;  // guards acknowledged and unexpected
  std::vector<std::int64_t> acknowledged;
  std::vector<std::string> unexpected;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  const unsigned short port = server->port();
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        test::HttpResult r;
        try {
          r = call_port(port, writer, verb::post, target, annotation_body(10.0 * (i % 200), "t" + std::to_string(t)));
        } catch (const std::exception&) {
          return;  // the server is gone
        }
        std::lock_guard lock(mutex);
        if (r.status == kCreated) {
          acknowledged.push_back(parsed(r)["id"]);
        } else {
          unexpected.push_back(std::to_string(r.status) + " " + r.body);
        }
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    {
      std::lock_guard lock(mutex);
      if (acknowledged.size() >= 200 || std::chrono::steady_clock::now() > deadline) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(server->stop(SIGKILL), 128 + SIGKILL);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " answers other than 201, first: " << unexpected.front();
  ASSERT_GE(acknowledged.size(), 200u) << "the burst was too slow to test anything";

  server = std::make_unique<test::ServerProcess>(args);
  const json list = parsed(call_port(server->port(), admin, verb::get, target))["annotations"];
  std::set<std::int64_t> present;
  for (const auto& a : list) present.insert(a["id"].get<std::int64_t>());
  std::size_t missing = 0;
  for (const std::int64_t id : acknowledged) missing += present.contains(id) ? 0 : 1;
  EXPECT_EQ(missing, 0u) << missing << " of " << acknowledged.size() << " acknowledged annotations were lost";
  EXPECT_GE(present.size(), acknowledged.size());
  EXPECT_EQ(server->stop(SIGTERM), 0);

  const auto check = test::run_command("sqlite3 " + test::quote(own.data / "reread.db") + " 'PRAGMA integrity_check'");
  if (check.exit_code == 127) {  // no sqlite3 CLI: ask SQLite through the record's own connection type
    const Database db((own.data / "reread.db").string());
    Statement s = db.prepare("PRAGMA integrity_check");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.text(0), "ok");
  } else {
    EXPECT_EQ(check.exit_code, 0) << check.output;
    EXPECT_EQ(check.output, "ok\n");
  }
}

// ---- The consult workflow -----------------------------------------------------------------------------

TEST_F(RecordApi, consult_is_drafted_with_versions_signed_once_and_followed_by_addenda) {
  const std::int64_t c = make_case({{"accession", "WF-1"},
                                    {"requested_at", "2024-01-02"},
                                    {"slides", {case_slide("shared-ihc")}},
                                    {"consultants", {"cons-a"}},
                                    {"referrer", "referrer-a"}});
  const std::string report = case_path(c) + "/report";
  const json revised_grade = {
      {"fields", {{"diagnosis", {{"verdict", "confirmed"}}}, {"grade", {{"verdict", "revised"}, {"value", "G3"}}}}},
      {"free_text", "High mitotic count (18/10 HPF) and marked pleomorphism: grade 3."}};
  EXPECT_EQ(put_report("cons-a", c, 0, revised_grade)["version"], 1);
  EXPECT_EQ(put_report("cons-a", c, 1, {{"additional_studies", "Ki-67 recommended"}})["version"], 2);
  const json stale = put_report("cons-a", c, 1, {{"free_text", "based on an old draft"}}, 412);
  EXPECT_TRUE(stale.contains("error")) << stale.dump();
  const auto unversioned = call("cons-a", verb::put, report, {{"free_text", "no version"}});
  EXPECT_EQ(unversioned.status, 428) << unversioned.body;
  EXPECT_EQ(parsed(call("cons-a", verb::get, report))["free_text"], revised_grade["free_text"])
      << "refused drafts changed nothing";
  EXPECT_EQ(call("referrer-a", verb::get, report).status, kDenied) << "the referrer waits for the sign-out";

  const auto no_discrepancy = call("cons-a", verb::post, report + "/sign");
  EXPECT_EQ(no_discrepancy.status, 422) << no_discrepancy.body;
  EXPECT_EQ(put_report("cons-a", c, 2, {{"discrepancy", "major"}})["version"], 3);
  const json signed_report = expect_status(call("cons-a", verb::post, report + "/sign"), kOk, "sign");
  EXPECT_EQ(signed_report["status"], "signed");
  EXPECT_EQ(signed_report["signed_by"], "cons-a");
  EXPECT_TRUE(signed_report["signed_at"].is_string());

  const json kase = parsed(call("cons-a", verb::get, case_path(c)));
  EXPECT_EQ(kase["status"], "signed_out");
  EXPECT_TRUE(kase["signed_out_at"].is_string());
  ASSERT_TRUE(kase["turnaround_days"].is_number()) << kase.dump();
  EXPECT_GT(kase["turnaround_days"].get<double>(), 100.0) << "requested 2024-01-02";
  EXPECT_EQ(kase["overdue"], false);

  const auto after = call("cons-a", verb::put, report, {{"free_text", "changed my mind"}}, {{"If-Match", "\"3\""}});
  EXPECT_EQ(after.status, 409) << after.body;
  EXPECT_EQ(call("cons-a", verb::post, report + "/sign").status, 409) << "signed once";
  EXPECT_EQ(call("cons-a", verb::post, report + "/addenda", {{"text", ""}}).status, 400) << "an empty addendum";
  const json with_addendum =
      expect_status(call("cons-a", verb::post, report + "/addenda", {{"text", "Ki-67: 35%, supports grade 3."}}),
                    kCreated, "addendum");
  ASSERT_EQ(with_addendum["addenda"].size(), 1u);
  EXPECT_EQ(with_addendum["addenda"][0]["author"], "cons-a");
  EXPECT_TRUE(with_addendum["addenda"][0]["signed_at"].is_string());
  EXPECT_EQ(with_addendum["fields"]["grade"]["value"], "G3") << "the signed report is as it was signed";

  const json seen_by_referrer = expect_status(call("referrer-a", verb::get, report), kOk, "referrer after sign-out");
  EXPECT_EQ(seen_by_referrer["addenda"].size(), 1u);
  const json cmp = expect_status(call("referrer-a", verb::get, case_path(c) + "/comparison"), kOk, "comparison");
  EXPECT_EQ(cmp["fields"]["grade"]["original"], "G2");
  EXPECT_EQ(cmp["fields"]["grade"]["revised"], "G3");
  EXPECT_EQ(cmp["fields"]["grade"]["changed"], true);
  EXPECT_EQ(cmp["fields"]["diagnosis"]["changed"], false);
  EXPECT_EQ(cmp["fields"]["stage"]["verdict"], nullptr) << "not reviewed";
  EXPECT_EQ(cmp["proposed_discrepancy"], "major");
  EXPECT_EQ(cmp["discrepancy"], "major");
}

TEST_F(RecordApi, blinded_first_read_hides_the_original_until_the_initial_impression_is_recorded) {
  const std::int64_t c = make_case({{"accession", "BL-1"},
                                    {"blinded_first_read", true},
                                    {"slides", {case_slide("shared-ihc")}},
                                    {"consultants", {"cons-a"}}});
  const auto expect_hidden = [](const json& kase, const std::string& where) {
    const json& r = kase["original_report"];
    for (const char* f : {"diagnosis", "grade", "stage", "full_text"}) {
      EXPECT_TRUE(r[f].is_null()) << where << ": original_report." << f << " shown: " << r[f].dump();
    }
    EXPECT_EQ(kase.value("original_report_hidden", false), true) << where;
  };
  expect_hidden(parsed(call("cons-a", verb::get, case_path(c))), "GET case");
  for (const auto& k : member(call("cons-a", verb::get, "/api/cases"), "cases")) {
    if (k["id"] == c) expect_hidden(k, "GET /api/cases");
  }
  const json admin_view = parsed(call("admin", verb::get, case_path(c)));
  EXPECT_EQ(admin_view["original_report"]["diagnosis"], "Invasive ductal carcinoma") << "only the consultant is blind";
  const auto early = call("cons-a", verb::get, case_path(c) + "/comparison");
  EXPECT_EQ(early.status, 409) << early.body;
  EXPECT_EQ(early.body.find("ductal carcinoma"), std::string::npos) << early.body;

  const json impression = {{"diagnosis", "Invasive carcinoma of no special type"},
                           {"grade", "G3"},
                           {"comment", "before seeing the original"}};
  put_report("cons-a", c, 0, {{"initial_impression", impression}});
  const json seen = parsed(call("cons-a", verb::get, case_path(c)));
  EXPECT_EQ(seen["original_report"]["diagnosis"], "Invasive ductal carcinoma");
  EXPECT_EQ(seen["original_report"]["grade"], "G2");
  EXPECT_EQ(seen["original_report"]["full_text"], original_report()["full_text"]);
  EXPECT_NE(seen.value("original_report_hidden", false), true);

  put_report("cons-a", c, 1, {{"fields", {{"grade", {{"verdict", "revised"}, {"value", "G3"}}}}}});
  const json cmp = expect_status(call("cons-a", verb::get, case_path(c) + "/comparison"), kOk, "comparison");
  EXPECT_EQ(cmp["initial_impression"], impression) << "the first read is kept beside the final one";
  EXPECT_EQ(cmp["fields"]["grade"]["original"], "G2");
  EXPECT_EQ(cmp["blinded_first_read"], true);
  EXPECT_EQ(parsed(call("cons-a", verb::get, case_path(c) + "/report"))["initial_impression"], impression);
}

TEST_F(RecordApi, overdue_lists_cases_past_their_due_date_and_not_signed_out) {
  const std::int64_t late =
      make_case({{"accession", "OD-LATE"}, {"due_at", "2020-01-10"}, {"consultants", {"cons-a"}}});
  const std::int64_t future =
      make_case({{"accession", "OD-FUTURE"}, {"due_at", "2999-01-01"}, {"consultants", {"cons-a"}}});
  const std::int64_t done =
      make_case({{"accession", "OD-DONE"}, {"due_at", "2020-01-10"}, {"consultants", {"cons-a"}}});
  put_report("cons-a", done, 0, {{"discrepancy", "concordant"}});
  expect_status(call("cons-a", verb::post, case_path(done) + "/report/sign"), kOk, "sign OD-DONE");

  for (const std::string user : {"admin", "cons-a"}) {
    std::set<std::int64_t> ids;
    for (const auto& k : member(call(user, verb::get, "/api/cases/overdue"), "cases")) {
      ids.insert(k["id"].get<std::int64_t>());
      EXPECT_EQ(k["overdue"], true) << k.dump();
    }
    EXPECT_TRUE(ids.contains(late)) << user << ": the late case is not listed";
    EXPECT_FALSE(ids.contains(future)) << user << ": a case due in 2999 is listed";
    EXPECT_FALSE(ids.contains(done)) << user << ": a signed-out case is listed";
  }
  EXPECT_TRUE(parsed(call("cons-none", verb::get, "/api/cases/overdue"))["cases"].empty());
}

// ---- Idempotent annotation creates (client_uid) ---------------------------------------------------------

// The viewer's offline queue resends a create after a crash or a lost answer, with the client_uid it chose.
class AnnotationClientUid : public RecordApi {
 protected:
  // As the viewer makes them: a random 128-bit ID in hex.
  static std::string new_uid() {
    static std::mt19937_64 rng{std::random_device{}()};
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()));
    return buf;
  }
  static json with_uid(json body, const json& uid) {
    body["client_uid"] = uid;
    return body;
  }
  static std::size_t audited_creates(std::int64_t annotation_id) {
    return member(call("admin", verb::get,
                       "/api/audit?action=create&resource=annotation/" + std::to_string(annotation_id)),
                  "entries")
        .size();
  }
};

TEST_F(AnnotationClientUid, a_resent_create_answers_200_with_the_stored_annotation_and_creates_nothing) {
  const std::int64_t c =
      make_case({{"accession", "UID-1"}, {"slides", {case_slide("case-a-he")}}, {"consultants", {"cons-a"}}});
  const std::string target = annotations_path(c, "case-a-he");
  const std::string uid = new_uid();
  const json body = with_uid(annotation_body(100, "queued offline"), uid);

  const auto first = call("cons-a", verb::post, target, body);
  const json made = expect_status(first, kCreated, "first send");
  ASSERT_TRUE(made.is_object() && made.contains("id")) << first.body;
  const std::int64_t id = made["id"];
  EXPECT_EQ(made["client_uid"], uid);
  EXPECT_EQ(made["version"], 1);
  EXPECT_EQ(first.header("ETag"), quoted_version(1));

  const auto again = call("cons-a", verb::post, target, body);
  const json replayed = expect_status(again, kOk, "the same create again");
  EXPECT_EQ(replayed, made) << "the replay is the annotation as stored";
  EXPECT_EQ(again.header("ETag"), quoted_version(1));
  const auto listed = annotations(c, "case-a-he");
  ASSERT_EQ(listed.size(), 1u) << "the resend made a second annotation";
  EXPECT_EQ(listed[0]["id"], id);
  EXPECT_EQ(listed[0]["client_uid"], uid);
  EXPECT_EQ(audited_creates(id), 1u) << "the replay was audited as another create";

  // Rights come first: who may not draw on the case learns nothing from a client_uid.
  for (const std::string user : {"cons-none", "referrer-a", "board-a"}) {
    const auto denied = call(user, verb::post, target, body);
    EXPECT_EQ(denied.status, kDenied) << user << ": " << denied.body;
    EXPECT_EQ(denied.body.find("queued offline"), std::string::npos) << user << ": " << denied.body;
  }

  // Edited since: the replay answers the current version, as GET does.
  const std::string ann = "/api/annotations/" + std::to_string(id);
  const json edited = expect_status(
      call("cons-a", verb::put, ann, annotation_body(400, "edited"), {{"If-Match", quoted_version(1)}}), kOk, "edit");
  EXPECT_EQ(edited["client_uid"], uid) << "a PUT without client_uid keeps it";
  EXPECT_EQ(edited["version"], 2);
  const auto after_edit = call("cons-a", verb::post, target, body);
  const json current = expect_status(after_edit, kOk, "replay after the edit");
  EXPECT_EQ(current["id"], id);
  EXPECT_EQ(current["version"], 2);
  EXPECT_EQ(current["label"], "edited");
  EXPECT_EQ(current["geometry"], edited["geometry"]);
  const auto got = call("cons-a", verb::get, ann);
  EXPECT_EQ(parsed(got), current);
  EXPECT_EQ(after_edit.header("ETag"), got.header("ETag"));
  EXPECT_EQ(after_edit.header("ETag"), quoted_version(2));
  EXPECT_EQ(annotations(c, "case-a-he").size(), 1u);
  EXPECT_EQ(audited_creates(id), 1u);

  // A PUT may repeat the client_uid, not change it; the 412's `current` carries it.
  expect_status(call("cons-a", verb::put, ann, with_uid(annotation_body(450, "same uid"), uid),
                     {{"If-Match", quoted_version(2)}}),
                kOk, "PUT repeating the client_uid");
  for (const json& other : {json(new_uid()), json("not valid")}) {
    const auto changed = call("cons-a", verb::put, ann, with_uid(annotation_body(500, "other uid"), other),
                              {{"If-Match", quoted_version(3)}});
    EXPECT_EQ(changed.status, 400) << other << ": " << changed.body;
    EXPECT_NE(parsed(changed).value("detail", std::string()).find("client_uid"), std::string::npos) << changed.body;
  }
  const json stale = expect_status(
      call("cons-a", verb::put, ann, annotation_body(600, "stale"), {{"If-Match", quoted_version(1)}}), 412, "stale");
  EXPECT_EQ(stale["current"]["client_uid"], uid) << stale.dump();
  const json unchanged = parsed(call("cons-a", verb::get, ann));
  EXPECT_EQ(unchanged["version"], 3);
  EXPECT_EQ(unchanged["client_uid"], uid);

  // An annotation made without one says so.
  const json plain = expect_status(call("cons-a", verb::post, target, annotation_body(800)), kCreated, "no uid");
  EXPECT_TRUE(plain.contains("client_uid") && plain["client_uid"].is_null()) << plain.dump();
  const json explicit_null =
      expect_status(call("cons-a", verb::post, target, with_uid(annotation_body(900), nullptr)), kCreated, "null uid");
  EXPECT_TRUE(explicit_null["client_uid"].is_null()) << explicit_null.dump();
  EXPECT_EQ(annotations(c, "case-a-he").size(), 3u);
}

TEST_F(AnnotationClientUid, sends_racing_with_one_client_uid_make_one_annotation) {
  const std::int64_t c =
      make_case({{"accession", "UID-RACE"}, {"slides", {case_slide("shared-ihc")}}, {"consultants", {"cons-a"}}});
  const std::string target = annotations_path(c, "shared-ihc");
  const json body = with_uid(annotation_body(100), new_uid());
  constexpr std::size_t kSenders = 6;
  std::latch start(kSenders);
  std::array<test::HttpResult, kSenders> results;
  std::vector<std::thread> senders;
  for (std::size_t i = 0; i < kSenders; ++i) {
    senders.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = call("cons-a", verb::post, target, body);
    });
  }
  for (auto& t : senders) t.join();
  int created = 0, replayed = 0;
  std::set<std::int64_t> ids;
  for (const auto& r : results) {
    created += r.status == kCreated ? 1 : 0;
    replayed += r.status == kOk ? 1 : 0;
    if (r.status / 100 == 2) ids.insert(parsed(r)["id"].get<std::int64_t>());
    EXPECT_TRUE(r.status == kCreated || r.status == kOk) << r.status << " " << r.body;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(replayed, static_cast<int>(kSenders) - 1);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(annotations(c, "shared-ihc").size(), 1u);
}

TEST_F(AnnotationClientUid, a_client_uid_on_another_slide_or_case_is_409_and_one_deleted_since_is_410) {
  const std::int64_t c = make_case({{"accession", "UID-2"},
                                    {"slides", {case_slide("case-a-he"), case_slide("case-b-he")}},
                                    {"consultants", {"cons-a"}}});
  const std::int64_t other =
      make_case({{"accession", "UID-3"}, {"slides", {case_slide("case-a-he")}}, {"consultants", {"cons-a"}}});
  const std::string uid = new_uid();
  const json body = with_uid(annotation_body(100), uid);
  const json made = expect_status(call("cons-a", verb::post, annotations_path(c, "case-a-he"), body), kCreated, "make");

  for (const auto& [where, target] : std::vector<std::pair<std::string, std::string>>{
           {"another slide of the case", annotations_path(c, "case-b-he")},
           {"another case, same slide", annotations_path(other, "case-a-he")}}) {
    const auto r = call("cons-a", verb::post, target, body);
    EXPECT_EQ(r.status, 409) << where << ": " << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/json") << where;
    const json j = parsed(r);
    EXPECT_TRUE(j.is_object() && j.contains("error") && j.contains("detail")) << where << ": " << r.body;
    EXPECT_NE(j.value("detail", std::string()).find("client_uid"), std::string::npos) << where << ": " << r.body;
  }
  EXPECT_TRUE(annotations(c, "case-b-he").empty());
  EXPECT_TRUE(annotations(other, "case-a-he").empty());

  expect_status(call("cons-a", verb::delete_, "/api/annotations/" + std::to_string(made["id"].get<std::int64_t>()),
                     nullptr, {{"If-Match", quoted_version(1)}}),
                kOk, "delete");
  const auto gone = call("cons-a", verb::post, annotations_path(c, "case-a-he"), body);
  EXPECT_EQ(gone.status, 410) << gone.body;
  EXPECT_EQ(gone.header("Content-Type"), "application/json");
  const json j = parsed(gone);
  EXPECT_EQ(j.value("error", std::string()), "deleted") << gone.body;
  EXPECT_TRUE(j.contains("detail") && j["detail"].is_string()) << gone.body;
  EXPECT_TRUE(annotations(c, "case-a-he").empty()) << "the replay brought a deleted annotation back";
  EXPECT_EQ(call("cons-a", verb::post, annotations_path(c, "case-b-he"), body).status, 409)
      << "a deleted annotation's client_uid stays taken";
  EXPECT_EQ(audited_creates(made["id"]), 1u);
}

TEST_F(AnnotationClientUid, a_malformed_client_uid_is_400_naming_it_and_creates_nothing) {
  const std::int64_t c =
      make_case({{"accession", "UID-4"}, {"slides", {case_slide("case-b-he")}}, {"consultants", {"cons-a"}}});
  const std::string target = annotations_path(c, "case-b-he");
  const std::vector<json> bad = {json(""),
                                 json("0123456789abcde"),  // 15
                                 json(std::string(65, 'a')),
                                 json("0123456789 abcdef"),
                                 json("0123456789/abcdef"),
                                 json("0123456789.abcdef"),
                                 json("0123456789abcdé"),
                                 json(12345678901234567),
                                 json(true),
                                 json::array({new_uid()}),
                                 json{{"uid", new_uid()}}};
  for (const json& uid : bad) {
    const auto r = call("cons-a", verb::post, target, with_uid(annotation_body(100), uid));
    EXPECT_EQ(r.status, 400) << uid.dump() << ": " << r.body;
    const json j = parsed(r);
    EXPECT_TRUE(j.is_object() && j.contains("error")) << r.body;
    EXPECT_NE(j.value("detail", std::string()).find("client_uid"), std::string::npos) << uid.dump() << ": " << r.body;
  }
  EXPECT_TRUE(annotations(c, "case-b-he").empty());
  // The edges of what is allowed.
  for (const std::string& uid : {std::string("0123456789abcdef"), std::string(64, 'Z'), "queue_entry-" + new_uid()}) {
    const json made =
        expect_status(call("cons-a", verb::post, target, with_uid(annotation_body(100), uid)), kCreated, uid);
    EXPECT_EQ(made["client_uid"], uid);
  }
}

TEST_F(AnnotationClientUid, a_client_uid_survives_a_server_restart_and_the_replay_after_it_is_200) {
  OwnRecord own("UID-RESTART", slides_dir());
  const std::string& admin = own.admin;
  const std::string& writer = own.writer;
  ASSERT_TRUE(own.imported) << own.import_output;
  const std::vector<std::string>& args = own.args;
  auto server = std::make_unique<test::ServerProcess>(args);
  const json cases = member(call_port(server->port(), writer, verb::get, "/api/cases"), "cases");
  ASSERT_EQ(cases.size(), 1u);
  const std::string target = "/api/cases/" + std::to_string(cases[0]["id"].get<std::int64_t>()) + "/slides/" +
                             slide("case-a-he") + "/annotations";
  const json body = with_uid(annotation_body(100, "before the crash"), new_uid());
  const auto first = call_port(server->port(), writer, verb::post, target, body);
  const json made = expect_status(first, kCreated, "first send");

  // The viewer crashed before it saw the answer, and so did the server.
  EXPECT_EQ(server->stop(SIGKILL), 128 + SIGKILL);
  server = std::make_unique<test::ServerProcess>(args);
  const auto again = call_port(server->port(), writer, verb::post, target, body);
  EXPECT_EQ(again.status, kOk) << again.body;
  EXPECT_EQ(parsed(again), made);
  EXPECT_EQ(again.header("ETag"), first.header("ETag"));
  const json list = member(call_port(server->port(), admin, verb::get, target), "annotations");
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["id"], made["id"]);
  EXPECT_EQ(list[0]["client_uid"], body["client_uid"]);
  EXPECT_EQ(server->stop(SIGTERM), 0);
}

// ---- Annotation interchange ---------------------------------------------------------------------------

constexpr std::string_view kQuPath = R"({"type": "FeatureCollection", "features": [
  {"type": "Feature", "geometry": {"type": "Polygon",
     "coordinates": [[[100, 100], [600, 100], [600, 500], [100, 500], [100, 100]]]},
   "properties": {"objectType": "annotation", "name": "tumour front",
                  "classification": {"name": "Tumor", "color": [200, 0, 0]}}},
  {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[1000, 1000], [1300, 1400]]},
   "properties": {"objectType": "annotation", "name": "depth"}}]})";

constexpr std::string_view kAsap = R"(<?xml version="1.0"?>
<ASAP_Annotations>
  <Annotations>
    <Annotation Name="node" Type="Polygon" PartOfGroup="Metastasis" Color="#64FE2E">
      <Coordinates>
        <Coordinate Order="0" X="2000" Y="200" /><Coordinate Order="1" X="2400" Y="200" />
        <Coordinate Order="2" X="2400" Y="600" /><Coordinate Order="3" X="2000" Y="600" />
      </Coordinates>
    </Annotation>
    <Annotation Name="ruler" Type="Measurement" PartOfGroup="None" Color="#F4FA58">
      <Coordinates><Coordinate Order="0" X="100" Y="1500" /><Coordinate Order="1" X="500" Y="1500" /></Coordinates>
    </Annotation>
  </Annotations>
  <AnnotationGroups><Group Name="Metastasis" PartOfGroup="None" Color="#64FE2E"><Attributes /></Group></AnnotationGroups>
</ASAP_Annotations>)";

constexpr std::string_view kImageScope = R"(<?xml version="1.0" encoding="UTF-8"?>
<Annotations MicronsPerPixel="0.250000">
<Annotation Id="1" Name="Necrosis" ReadOnly="0" Type="4" LineColor="255" Visible="1">
  <Regions>
    <Region Id="1" Type="1" Text="necrotic focus" NegativeROA="0">
      <Vertices><Vertex X="1500" Y="1500" Z="0"/><Vertex X="1700" Y="1500" Z="0"/>
                <Vertex X="1700" Y="1800" Z="0"/><Vertex X="1500" Y="1800" Z="0"/></Vertices>
    </Region>
    <Region Id="2" Type="3" Text="margin distance" NegativeROA="0">
      <Vertices><Vertex X="2500" Y="1000" Z="0"/><Vertex X="2500" Y="1800" Z="0"/></Vertices>
    </Region>
  </Regions>
</Annotation>
</Annotations>)";

TEST_F(RecordApi, annotation_files_import_with_measurements_refuse_bad_features_whole_and_export_round_trip) {
  const std::int64_t c = make_case({{"accession", "IX-1"},
                                    {"slides", {case_slide("shared-ihc"), case_slide("case-b-he")}},
                                    {"consultants", {"cons-a"}}});
  const std::string base = case_path(c) + "/slides/" + slide("shared-ihc") + "/annotations";
  const auto import_file = [&](const std::string& format, std::string_view text, const std::string& slide_name) {
    return send_text("cons-a", verb::post,
                     case_path(c) + "/slides/" + slide(slide_name) + "/annotations/import?format=" + format,
                     std::string(text));
  };
  for (const auto& [format, text] : std::vector<std::pair<std::string, std::string_view>>{
           {"geojson", kQuPath}, {"asap", kAsap}, {"imagescope", kImageScope}}) {
    const auto r = import_file(format, text, "shared-ihc");
    EXPECT_EQ(r.status, kCreated) << format << ": " << r.body;
    EXPECT_EQ(parsed(r)["imported"], 2) << format << ": " << r.body;
  }
  const std::vector<json> imported = annotations(c, "shared-ihc");
  ASSERT_EQ(imported.size(), 6u);
  // label -> {length in µm, area in mm²} at 0.25 µm/px (area null for lines)
  const std::map<std::string, std::pair<double, std::optional<double>>> measured = {
      {"tumour front", {2 * (500 + 400) * 0.25, 500.0 * 400 * 0.0625 / 1e6}},
      {"depth", {500 * 0.25, std::nullopt}},
      {"node", {4 * 400 * 0.25, 400.0 * 400 * 0.0625 / 1e6}},
      {"ruler", {400 * 0.25, std::nullopt}},
      {"necrotic focus", {2 * (200 + 300) * 0.25, 200.0 * 300 * 0.0625 / 1e6}},
      {"margin distance", {800 * 0.25, std::nullopt}}};
  for (const auto& a : imported) {
    const std::string label = a["label"];
    ASSERT_TRUE(measured.contains(label)) << a.dump();
    const auto& [length, area] = measured.at(label);
    ASSERT_TRUE(a["measurements"]["length_um"].is_number()) << a.dump();
    EXPECT_NEAR(a["measurements"]["length_um"].get<double>(), length, 1e-6) << label;
    if (area) {
      ASSERT_TRUE(a["measurements"]["area_mm2"].is_number()) << a.dump();
      EXPECT_NEAR(a["measurements"]["area_mm2"].get<double>(), *area, 1e-12) << label;
    } else {
      EXPECT_TRUE(a["measurements"]["area_mm2"].is_null()) << a.dump();
    }
  }
  const auto by_label = [&](const std::string& label) {
    for (const auto& a : imported) {
      if (a["label"] == label) return a;
    }
    return json();
  };
  EXPECT_EQ(by_label("tumour front")["class"]["name"], "Tumor");
  EXPECT_EQ(by_label("tumour front")["class"]["color"], "#c80000");
  EXPECT_EQ(by_label("node")["class"]["name"], "Metastasis");
  EXPECT_EQ(by_label("necrotic focus")["class"]["name"], "Necrosis");
  EXPECT_EQ(by_label("necrotic focus")["class"]["color"], "#ff0000");

  // Refusals name the feature and import nothing.
  const std::string good_feature =
      R"({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[10, 10], [20, 10], [20, 20], [10, 10]]]},
          "properties": {"objectType": "annotation", "name": "fine"}})";
  const std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> refused = {
      {"geojson", R"({"type": "FeatureCollection", "features": [)", {"malformed JSON"}},
      {"geojson",
       R"({"type": "FeatureCollection", "features": [)" + good_feature +
           R"(, {"type": "Feature", "geometry": {"type": "Polygon",
              "coordinates": [[[100, 100], [200, 100], [200, 200], [100, 200]]]},
              "properties": {"objectType": "annotation", "name": "open ring"}}]})",
       {"feature 1", "open ring", "not closed"}},
      {"geojson",
       R"({"type": "FeatureCollection", "features": [)" + good_feature +
           R"(, {"type": "Feature", "geometry": {"type": "Polygon",
              "coordinates": [[[5000, 5000], [6000, 5000], [6000, 6000], [5000, 5000]]]},
              "properties": {"objectType": "annotation", "name": "far away"}}]})",
       {"feature 1", "far away", "outside"}},
      {"asap", "<ASAP_Annotations><Annotations>", {"malformed XML"}},
      {"imagescope",
       R"(<Annotations><Annotation Name="x"><Regions><Region Type="0" Text="lost">
            <Vertices><Vertex X="9000" Y="9000"/><Vertex X="9100" Y="9000"/><Vertex X="9100" Y="9100"/></Vertices>
          </Region></Regions></Annotation></Annotations>)",
       {"region 0", "outside"}},
  };
  for (const auto& [format, text, fragments] : refused) {
    const auto r = import_file(format, text, "shared-ihc");
    EXPECT_EQ(r.status, 400) << format << ": " << text << " -> " << r.body;
    const std::string detail = parsed(r).value("detail", std::string());
    for (const auto& f : fragments) {
      EXPECT_NE(detail.find(f), std::string::npos) << format << ": expected \"" << f << "\" in: " << detail;
    }
    EXPECT_EQ(annotations(c, "shared-ihc").size(), 6u) << format << ": a refused file imported something";
  }
  EXPECT_EQ(import_file("ndpa", kQuPath, "shared-ihc").status, 400);

  // Export, then import the export into the case's other slide: the same geometries and classes come back.
  const auto key = [](const json& a, bool with_color) {
    return a["geometry"].dump() + "|" + a["class"]["name"].get<std::string>() + "|" +
           (with_color ? a["class"]["color"].get<std::string>() : "");
  };
  for (const std::string format : {"geojson", "asap", "imagescope"}) {
    const auto exported = call("cons-a", verb::get, base + "/export?format=" + format);
    ASSERT_EQ(exported.status, kOk) << format << ": " << exported.body;
    std::set<std::int64_t> before;
    for (const auto& a : annotations(c, "case-b-he")) before.insert(a["id"].get<std::int64_t>());
    const auto r = import_file(format, exported.body, "case-b-he");
    ASSERT_EQ(r.status, kCreated) << format << ": " << r.body << "\n" << exported.body;
    const bool with_color = format != "imagescope";  // ImageScope keeps one colour per class
    std::multiset<std::string> want, got;
    for (const auto& a : imported) want.insert(key(a, with_color));
    for (const auto& a : annotations(c, "case-b-he")) {
      if (!before.contains(a["id"].get<std::int64_t>())) got.insert(key(a, with_color));
    }
    EXPECT_EQ(got, want) << format << " export:\n" << exported.body;
  }
}

// ---- The command line ---------------------------------------------------------------------------------

TEST_F(RecordApi, an_annotation_file_larger_than_the_default_body_limit_imports_whole) {
  const std::int64_t c =
      make_case({{"accession", "IX-BIG"}, {"slides", {case_slide("shared-ihc")}}, {"consultants", {"cons-a"}}});
  // 300 outlines of 400 vertices: about 3 MB of GeoJSON, over the 1 MiB other routes take.
  json features = json::array();
  for (int i = 0; i < 300; ++i) {
    json ring = json::array();
    for (int k = 0; k < 399; ++k) {
      const double a = 2 * 3.14159265358979 * k / 399;
      ring.push_back({500.123456 + 300 * std::cos(a) + i % 7, 500.654321 + 300 * std::sin(a) + i % 11});
    }
    ring.push_back(ring[0]);
    features.push_back({{"type", "Feature"},
                        {"geometry", {{"type", "Polygon"}, {"coordinates", {ring}}}},
                        {"properties", {{"name", "outline " + std::to_string(i)}}}});
  }
  const std::string file = json{{"type", "FeatureCollection"}, {"features", features}}.dump();
  ASSERT_GT(file.size(), 2u << 20);
  const auto r = send_text("cons-a", verb::post,
                           case_path(c) + "/slides/" + slide("shared-ihc") + "/annotations/import?format=geojson", file);
  EXPECT_EQ(r.status, kCreated) << r.body.substr(0, 300);
  EXPECT_EQ(parsed(r)["imported"], 300) << r.body.substr(0, 300);
  EXPECT_EQ(annotations(c, "shared-ihc").size(), 300u);
}

TEST_F(RecordApi, backup_of_a_live_servers_record_is_a_valid_database_with_its_cases) {
  const std::int64_t c = make_case({{"accession", "BK-1"}, {"slides", {case_slide("case-a-he")}}});
  const fs::path out = dir_->path() / "backup.db";
  const auto r = test::run_command(std::string(REREAD_SERVER_BIN) + " backup " + test::quote(out) + " --data " +
                                   test::quote(server_->data_dir()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(fs::exists(out));
  const Database db(out.string());
  Statement integrity = db.prepare("PRAGMA integrity_check");
  ASSERT_TRUE(integrity.step());
  EXPECT_EQ(integrity.text(0), "ok");
  Statement found = db.prepare("SELECT id FROM cases WHERE accession = 'BK-1'");
  ASSERT_TRUE(found.step()) << "the copy lacks the case made before it";
  EXPECT_EQ(found.int64(0), c);
  Statement users = db.prepare("SELECT count(*) FROM users");
  ASSERT_TRUE(users.step());
  EXPECT_GE(users.int64(0), 6);
  EXPECT_EQ(call("admin", verb::get, case_path(c)).status, kOk) << "the server kept serving";
}

TEST_F(RecordApi, a_case_imported_from_the_command_line_while_serving_opens_its_slides_to_its_consultant) {
  tokens_["cons-cli"] = add_user("cons-cli", "consultant");
  const std::string dzi = "/slides/" + slide("case-b-he") + ".dzi";
  EXPECT_EQ(call("cons-cli", verb::get, dzi).status, kDenied) << "no case holds the slide for this consultant yet";

  const fs::path file = dir_->path() / "cli-case.json";
  test::write_text_file(file, json{{"accession", "CLI-LIVE"},
                                   {"patient_ref", "anon-cli-live"},
                                   {"question", "Margins?"},
                                   {"requested_at", "2024-06-01"},
                                   {"original_report", {{"diagnosis", "carcinoma"}}},
                                   {"slides", {{{"name", "case-b-he"}, {"label", "B1"}}}},
                                   {"consultants", {"cons-cli"}}}
                                  .dump());
  const auto r = test::run_command(std::string(REREAD_SERVER_BIN) + " case import " + test::quote(file) + " --data " +
                                   test::quote(server_->data_dir()) + " --slides " + test::quote(slides_dir()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json cases = member(call("cons-cli", verb::get, "/api/cases"), "cases");
  ASSERT_EQ(cases.size(), 1u) << "the consultant sees the imported case";
  const std::string annotations = case_path(cases[0]["id"]) + "/slides/" + slide("case-b-he") + "/annotations";
  EXPECT_EQ(call("cons-cli", verb::get, annotations).status, kOk);
  // The case is theirs, so are its slides: the rights the server remembered from before the import are
  // stale, and the server notices another process's commit within a moment (it looks every 50 ms).
  auto after = call("cons-cli", verb::get, dzi);
  for (int i = 0; i < 40 && after.status != kOk; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    after = call("cons-cli", verb::get, dzi);
  }
  EXPECT_EQ(after.status, kOk) << "the consultant of a case imported while the server runs is denied its slide: "
                               << after.body;
}

// stdout alone (stderr dropped) and the exit status.
test::CommandResult stdout_of(const std::string& command) {
  test::CommandResult r;
  FILE* p = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string server_command(const std::string& args, const test::TempDir& data) {
  return std::string(REREAD_SERVER_BIN) + " " + args + " --data " + test::quote(data.path());
}

TEST(RecordCli, token_create_prints_the_token_alone_on_stdout) {
  test::TempDir data;
  ASSERT_EQ(test::run_command(server_command("user add ana --role consultant", data)).exit_code, 0);
  const auto r = stdout_of(server_command("token create ana --label laptop", data));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(std::regex_match(r.output, std::regex("rr_[A-Za-z0-9_-]{43}\n"))) << "stdout: '" << r.output << "'";
  const auto unknown = test::run_command(server_command("token create nobody", data));
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("nobody"), std::string::npos) << unknown.output;
}

TEST(RecordCli, user_add_with_a_bad_role_fails_with_a_message) {
  test::TempDir data;
  const auto r = test::run_command(server_command("user add bob --role wizard", data));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--role"), std::string::npos) << r.output;
  EXPECT_NE(test::run_command(server_command("token create bob", data)).exit_code, 0) << "bob was added anyway";
}

TEST(RecordCli, case_import_of_a_bad_file_fails_naming_the_field) {
  test::TempDir data;
  const json good = {{"accession", "CLI-1"},
                     {"patient_ref", "anon-cli"},
                     {"question", "Grade?"},
                     {"requested_at", "2024-06-01"},
                     {"original_report", {{"diagnosis", "carcinoma"}}}};
  json no_question = good;
  no_question.erase("question");
  json numeric_grade = good;
  numeric_grade["original_report"]["grade"] = 2;
  json bad_date = good;
  bad_date["requested_at"] = "01/06/2024";
  const std::vector<std::pair<std::string, std::string>> files = {{no_question.dump(), "question"},
                                                                  {numeric_grade.dump(), "original_report.grade"},
                                                                  {bad_date.dump(), "requested_at"},
                                                                  {"{\"accession\": ", "not valid JSON"}};
  for (const auto& [text, field] : files) {
    const fs::path file = data / "case.json";
    test::write_text_file(file, text);
    const auto r = test::run_command(server_command("case import " + test::quote(file), data));
    EXPECT_NE(r.exit_code, 0) << text;
    EXPECT_NE(r.output.find(field), std::string::npos) << "expected '" << field << "' in: " << r.output;
  }
  const fs::path file = data / "case.json";
  test::write_text_file(file, good.dump());
  const auto r = stdout_of(server_command("case import " + test::quote(file), data));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "1\n") << "the bad files left no case behind";
}

}  // namespace
}  // namespace reread
