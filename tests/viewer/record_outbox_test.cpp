// The viewer's record outbox against a real reread-server on a loopback port, with real journal files: changes
// arrive in order with the right IDs and versions; changes made while the server is down are sent after the
// viewer is reopened; a create the server took before a crash is not made twice; a version conflict is shown
// with both versions and resolved either way; refused changes are reported; IDs survive a restart and the
// journal's compaction; a torn journal tail is ignored; enqueue never waits on the network. And the API
// client's writes, which give the outbox every status without throwing.
#include "record_outbox.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "api_client.h"
#include "server/record_fixtures.h"
#include "server/server_process.h"
#include "synthetic_slide_writer.h"
#include "test_environment.h"

namespace reread::viewer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using verb = boost::beast::http::verb;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

json rectangle(double x, double y = 100) {
  return {{"type", "Polygon"},
          {"coordinates",
           json::array({json::array({json::array({x, y}), json::array({x + 200, y}), json::array({x + 200, y + 100}),
                                     json::array({x, y + 100}), json::array({x, y})})})}};
}

json annotation_body(double x, const std::string& label) {
  return {{"geometry", rectangle(x)}, {"class", {{"name", "Tumor"}, {"color", "#c80000"}}}, {"label", label}};
}

// A quick outbox: short retries, so that a restarted server is found within a second.
OutboxOptions quick() {
  OutboxOptions o;
  o.retry_initial = 50ms;
  o.retry_max = 400ms;
  o.timeout = 5s;
  return o;
}

// Collects events until `done` says enough came, or `limit` passes.
std::vector<OutboxEvent> events_until(RecordOutbox& outbox,
                                      const std::function<bool(const std::vector<OutboxEvent>&)>& done,
                                      std::chrono::milliseconds limit = 20s) {
  std::vector<OutboxEvent> got;
  const auto until = Clock::now() + limit;
  while (!done(got) && Clock::now() < until) {
    for (auto& e : outbox.take_events()) got.push_back(std::move(e));
    std::this_thread::sleep_for(5ms);
  }
  return got;
}

template <class T>
std::vector<T> only(const std::vector<OutboxEvent>& events) {
  std::vector<T> out;
  for (const auto& e : events) {
    if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
  }
  return out;
}

template <class T>
std::function<bool(const std::vector<OutboxEvent>&)> at_least(std::size_t n) {
  return [n](const std::vector<OutboxEvent>& events) { return only<T>(events).size() >= n; };
}

std::string describe(const std::vector<OutboxEvent>& events) {
  std::string out;
  for (const auto& e : events) {
    if (const auto* a = std::get_if<Acknowledged>(&e)) {
      out += " ack(" + a->item.uid + std::to_string(a->item.case_id) + " id " + std::to_string(a->server_id) + " v" +
             std::to_string(a->version) + (a->deleted ? " deleted" : "") + ")";
    } else if (const auto* c = std::get_if<Conflict>(&e)) {
      out += " conflict(" + c->item.uid + std::to_string(c->item.case_id) + ")";
    } else if (const auto* r = std::get_if<Rejected>(&e)) {
      out += " rejected(" + std::to_string(r->status) + " " + r->message + ")";
    }
  }
  return out.empty() ? " none" : out;
}

// One server on one synthetic slide for the suite, on a data directory of its own so that a test can kill it
// and start it again on the same record. Two consultants of every case made here.
class RecordOutboxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fs::create_directories(dir_->path() / "slides");
    fs::create_directories(data_dir());
    SyntheticSlideOptions o;
    o.spec = {3000, 2000, 7, 0.25};
    write_synthetic_slide(dir_->path() / "slides/outbox.svs", o);
    admin_ = test::add_user_with_token(data_dir(), "admin", "admin");
    cons_a_ = test::add_user_with_token(data_dir(), "cons-a", "consultant");
    cons_b_ = test::add_user_with_token(data_dir(), "cons-b", "consultant");
    test::default_token().clear();  // every request here names its user
    start_server();
    const auto r = call(admin_, verb::get, "/api/slides");
    slide_id_ = json::parse(r.body)["slides"].at(0)["id"].get<std::string>();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
  }

  static fs::path data_dir() { return dir_->path() / "data"; }
  static void start_server() {
    delete server_;
    server_ = new test::ServerProcess({"--listen", "127.0.0.1:0", "--slides", (dir_->path() / "slides").string(),
                                       "--data", data_dir().string(), "--workers", "2", "--log-level", "error"});
  }
  static std::string base_url() { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  static test::HttpResult call(const std::string& token, verb method, const std::string& target,
                               const json& body = nullptr, std::map<std::string, std::string> headers = {}) {
    headers["Authorization"] = "Bearer " + token;
    if (!body.is_null()) headers["Content-Type"] = "application/json";
    return test::http_request(server_->port(), target, headers, method, body.is_null() ? std::string() : body.dump());
  }
  static json expect_json(const test::HttpResult& r, int status, const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body.substr(0, 400);
    return json::parse(r.body, nullptr, false);
  }

  static std::int64_t make_case(const std::string& accession) {
    json c = {{"accession", accession},
              {"patient_ref", "anon-" + accession},
              {"question", "Grade?"},
              {"requested_at", "2024-05-02"},
              {"original_report", test::sample_original_report()},
              {"slides", {{{"slide_id", slide_id_}, {"label", "A1"}}}},
              {"consultants", {"cons-a", "cons-b"}}};
    const auto r = call(admin_, verb::post, "/api/cases", c);
    if (r.status != 201) throw std::runtime_error("POST /api/cases: " + r.body);
    return json::parse(r.body)["id"];
  }
  static std::string annotations_path(std::int64_t case_id) {
    return "/api/cases/" + std::to_string(case_id) + "/slides/" + slide_id_ + "/annotations";
  }
  static std::vector<json> annotations(std::int64_t case_id) {
    const json list = json::parse(call(admin_, verb::get, annotations_path(case_id)).body)["annotations"];
    return {list.begin(), list.end()};
  }
  static json report(std::int64_t case_id) {
    return json::parse(call(admin_, verb::get, "/api/cases/" + std::to_string(case_id) + "/report").body);
  }

  void SetUp() override { journal_ = journal_dir_.path() / "outbox.jsonl"; }

  static test::TempDir* dir_;
  static test::ServerProcess* server_;
  static std::string admin_, cons_a_, cons_b_, slide_id_;
  test::TempDir journal_dir_;
  fs::path journal_;
};
test::TempDir* RecordOutboxTest::dir_ = nullptr;
test::ServerProcess* RecordOutboxTest::server_ = nullptr;
std::string RecordOutboxTest::admin_;
std::string RecordOutboxTest::cons_a_;
std::string RecordOutboxTest::cons_b_;
std::string RecordOutboxTest::slide_id_;

TEST_F(RecordOutboxTest, create_update_delete_arrive_in_order_with_the_server_ids_and_versions) {
  const std::int64_t c = make_case("OB-ORDER");
  RecordOutbox outbox(base_url(), cons_a_, journal_, quick());
  const std::string kept = new_client_uid(), gone = new_client_uid();
  // All queued before the first answer: the update and the delete find the IDs their creates get.
  outbox.enqueue(AnnotationCreate{kept, c, slide_id_, annotation_body(100, "first")});
  outbox.enqueue(AnnotationUpdate{kept, annotation_body(300, "moved")});
  outbox.enqueue(AnnotationCreate{gone, c, slide_id_, annotation_body(900, "mistake")});
  outbox.enqueue(AnnotationDelete{gone});
  ASSERT_TRUE(outbox.drain(20s)) << "the outbox did not empty; last error: " << outbox.status().last_error;

  const auto events = events_until(outbox, at_least<Acknowledged>(4));
  const auto acks = only<Acknowledged>(events);
  ASSERT_EQ(acks.size(), 4u) << "expected four acknowledgements, got" << describe(events);
  EXPECT_EQ(acks[0].item, RecordItem::annotation(kept));
  EXPECT_EQ(acks[0].version, 1);
  EXPECT_EQ(acks[1].item, RecordItem::annotation(kept));
  EXPECT_EQ(acks[1].server_id, acks[0].server_id) << "the update went to the annotation its create made";
  EXPECT_EQ(acks[1].version, 2);
  EXPECT_EQ(acks[1].server["label"], "moved");
  EXPECT_EQ(acks[2].item, RecordItem::annotation(gone));
  EXPECT_EQ(acks[3].item, RecordItem::annotation(gone));
  EXPECT_TRUE(acks[3].deleted);
  EXPECT_EQ(acks[3].server_id, acks[2].server_id);

  const auto list = annotations(c);
  ASSERT_EQ(list.size(), 1u) << "one annotation kept, one deleted";
  EXPECT_EQ(list[0]["id"], acks[0].server_id);
  EXPECT_EQ(list[0]["version"], 2);
  EXPECT_EQ(list[0]["label"], "moved");
  EXPECT_EQ(list[0]["geometry"], rectangle(300));
  const auto known = outbox.annotation(kept);
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ(known->server_id, acks[0].server_id);
  EXPECT_EQ(known->version, 2);
  const OutboxStatus st = outbox.status();
  EXPECT_EQ(st.pending, 0u);
  EXPECT_TRUE(st.online);
  EXPECT_TRUE(st.conflicts.empty());
}

TEST_F(RecordOutboxTest, changes_made_while_the_server_is_down_are_sent_after_the_viewer_is_reopened) {
  const std::int64_t c = make_case("OB-OFFLINE");
  const std::string a = new_client_uid(), b = new_client_uid(), fresh = new_client_uid();
  std::int64_t a_id = 0;
  {
    RecordOutbox outbox(base_url(), cons_a_, journal_, quick());
    outbox.enqueue(AnnotationCreate{a, c, slide_id_, annotation_body(100, "a")});
    outbox.enqueue(AnnotationCreate{b, c, slide_id_, annotation_body(400, "b")});
    ASSERT_TRUE(outbox.drain(20s)) << outbox.status().last_error;
    ASSERT_EQ(annotations(c).size(), 2u);
    a_id = outbox.annotation(a).value().server_id;

    ASSERT_EQ(server_->stop(SIGKILL), 128 + SIGKILL);
    double slowest = 0;
    const auto timed = [&](OutboxEntry e) {
      const auto t0 = Clock::now();
      outbox.enqueue(std::move(e));
      slowest = std::max(slowest, ms_since(t0));
    };
    timed(AnnotationUpdate{a, annotation_body(500, "a moved")});
    timed(AnnotationDelete{b});
    timed(AnnotationCreate{fresh, c, slide_id_, annotation_body(1200, "new")});
    timed(AnnotationUpdate{fresh, annotation_body(1300, "new, final")});
    timed(ReportSave{c, {{"free_text", "Grade 3 on review."}}});
    timed(ReportSave{c, {{"fields", {{"grade", {{"verdict", "revised"}, {"value", "G3"}}}}}}});
    EXPECT_LT(slowest, 50.0) << "enqueue waited on the network (or the disk) for " << slowest << " ms";

    const auto until = Clock::now() + 5s;
    while (outbox.status().online && Clock::now() < until) std::this_thread::sleep_for(10ms);
    const OutboxStatus st = outbox.status();
    EXPECT_FALSE(st.online) << "the status should say the server is unreachable";
    EXPECT_FALSE(st.last_error.empty());
    EXPECT_EQ(st.pending, 6u) << "every change made offline waits";
  }  // the viewer is closed

  start_server();  // the same record, a new port
  RecordOutbox reopened(base_url(), cons_a_, journal_, quick());
  EXPECT_EQ(reopened.status().pending, 6u) << "the journal held the offline changes";
  ASSERT_TRUE(reopened.drain(20s)) << reopened.status().last_error;
  const auto events = events_until(reopened, at_least<Acknowledged>(5));
  EXPECT_TRUE(only<Rejected>(events).empty() && only<Conflict>(events).empty()) << describe(events);

  const auto list = annotations(c);
  ASSERT_EQ(list.size(), 2u) << "a and the new one; b deleted";
  std::map<std::string, json> by_label;
  for (const json& x : list) by_label[x["label"]] = x;
  ASSERT_TRUE(by_label.contains("a moved")) << "a has its final version";
  EXPECT_EQ(by_label["a moved"]["id"], a_id) << "a was updated in place, not created again";
  EXPECT_EQ(by_label["a moved"]["version"], 2);
  EXPECT_EQ(by_label["a moved"]["geometry"], rectangle(500));
  ASSERT_TRUE(by_label.contains("new, final")) << "the annotation made offline is there once, final";
  EXPECT_EQ(by_label["new, final"]["geometry"], rectangle(1300));
  EXPECT_EQ(by_label["new, final"]["version"], 2);

  const json r = report(c);
  EXPECT_EQ(r["free_text"], "Grade 3 on review.");
  EXPECT_EQ(r["fields"]["grade"]["value"], "G3");
  EXPECT_EQ(r["version"], 1) << "the two drafts went as one";
  EXPECT_EQ(reopened.report_version(c), 1);
  EXPECT_EQ(reopened.status().pending, 0u);
  EXPECT_TRUE(reopened.status().online);
}

TEST_F(RecordOutboxTest, a_create_the_server_took_before_a_crash_is_not_made_twice) {
  const std::int64_t c = make_case("OB-REPLAY");
  const std::string uid = new_client_uid();
  const json body = annotation_body(700, "sent once");
  {
    // The viewer journals the create, then dies before the answer is recorded: here, a server that is not
    // there, while the create reaches the real one by another way.
    RecordOutbox outbox("http://127.0.0.1:1", cons_a_, journal_, quick());
    outbox.enqueue(AnnotationCreate{uid, c, slide_id_, body});
    outbox.enqueue(AnnotationUpdate{uid, annotation_body(800, "then moved")});
  }
  json sent = body;
  sent["client_uid"] = uid;
  const json first = expect_json(call(cons_a_, verb::post, annotations_path(c), sent), 201, "the create, first time");

  RecordOutbox outbox(base_url(), cons_a_, journal_, quick());
  ASSERT_TRUE(outbox.drain(20s)) << outbox.status().last_error;
  const auto events = events_until(outbox, at_least<Acknowledged>(2));
  const auto acks = only<Acknowledged>(events);
  ASSERT_EQ(acks.size(), 2u) << describe(events);
  EXPECT_EQ(acks[0].server_id, first["id"]) << "the create sent again found the annotation made the first time";
  const auto list = annotations(c);
  ASSERT_EQ(list.size(), 1u) << "no duplicate";
  EXPECT_EQ(list[0]["id"], first["id"]);
  EXPECT_EQ(list[0]["label"], "then moved") << "the update went to it";
}

TEST_F(RecordOutboxTest, an_update_the_server_took_before_a_crash_is_acknowledged_not_a_conflict) {
  const std::int64_t c = make_case("OB-REPLAY-UPDATE");
  const std::string uid = new_client_uid();
  std::int64_t id = 0;
  {
    RecordOutbox outbox(base_url(), cons_a_, journal_, quick());
    outbox.enqueue(AnnotationCreate{uid, c, slide_id_, annotation_body(100, "v1")});
    ASSERT_TRUE(outbox.drain(20s));
    id = outbox.annotation(uid).value().server_id;
  }
  const json update = annotation_body(150, "v2");
  {
    RecordOutbox offline("http://127.0.0.1:1", cons_a_, journal_, quick());
    offline.enqueue(AnnotationUpdate{uid, update});
  }
  // The update arrived, its answer did not.
  expect_json(call(cons_a_, verb::put, "/api/annotations/" + std::to_string(id), update, {{"If-Match", "\"1\""}}), 200,
              "the update, first time");

  RecordOutbox outbox(base_url(), cons_a_, journal_, quick());
  ASSERT_TRUE(outbox.drain(20s));
  const auto events = events_until(outbox, at_least<Acknowledged>(1));
  EXPECT_TRUE(only<Conflict>(events).empty()) << "our own change is not a conflict:" << describe(events);
  ASSERT_EQ(only<Acknowledged>(events).size(), 1u) << describe(events);
  EXPECT_EQ(only<Acknowledged>(events)[0].version, 2);
  EXPECT_EQ(outbox.annotation(uid).value().version, 2);
  EXPECT_EQ(annotations(c).at(0)["version"], 2) << "sent once";
}

TEST_F(RecordOutboxTest, a_version_conflict_shows_both_versions_and_is_resolved_either_way) {
  const std::int64_t c = make_case("OB-CONFLICT");
  const std::string uid = new_client_uid(), other = new_client_uid();
  auto outbox = std::make_unique<RecordOutbox>(base_url(), cons_a_, journal_, quick());
  outbox->enqueue(AnnotationCreate{uid, c, slide_id_, annotation_body(100, "drawn")});
  outbox->enqueue(AnnotationCreate{other, c, slide_id_, annotation_body(900, "other")});
  ASSERT_TRUE(outbox->drain(20s));
  events_until(*outbox, at_least<Acknowledged>(2));
  const std::int64_t id = outbox->annotation(uid).value().server_id;
  const std::string target = "/api/annotations/" + std::to_string(id);

  // A colleague edits it meanwhile.
  expect_json(call(cons_b_, verb::put, target, annotation_body(200, "theirs"), {{"If-Match", "\"1\""}}), 200,
              "cons-b's edit");
  outbox->enqueue(AnnotationUpdate{uid, annotation_body(300, "mine")});
  outbox->enqueue(AnnotationUpdate{other, annotation_body(950, "other moved")});
  auto events =
      events_until(*outbox, [](const auto& e) { return !only<Conflict>(e).empty() && !only<Acknowledged>(e).empty(); });
  auto conflicts = only<Conflict>(events);
  ASSERT_EQ(conflicts.size(), 1u) << "expected a conflict, got" << describe(events);
  EXPECT_EQ(conflicts[0].item, RecordItem::annotation(uid));
  EXPECT_EQ(conflicts[0].mine["label"], "mine");
  EXPECT_EQ(conflicts[0].theirs["label"], "theirs");
  EXPECT_EQ(conflicts[0].theirs["version"], 2);
  ASSERT_EQ(only<Acknowledged>(events).size(), 1u) << "the other annotation's change went on:" << describe(events);
  EXPECT_EQ(only<Acknowledged>(events)[0].item, RecordItem::annotation(other));
  EXPECT_EQ(outbox->status().conflicts, std::vector<RecordItem>{RecordItem::annotation(uid)});
  EXPECT_EQ(outbox->status().pending, 1u) << "mine waits for the consultant";
  EXPECT_EQ(json::parse(call(admin_, verb::get, target).body)["label"], "theirs") << "nothing overwritten silently";

  // The conflict survives the viewer being closed; keep mine.
  outbox.reset();
  outbox = std::make_unique<RecordOutbox>(base_url(), cons_a_, journal_, quick());
  events = events_until(*outbox, at_least<Conflict>(1), 2s);
  ASSERT_EQ(only<Conflict>(events).size(), 1u) << "the open conflict is reported again after a restart";
  EXPECT_EQ(only<Conflict>(events)[0].theirs["label"], "theirs");
  EXPECT_EQ(only<Conflict>(events)[0].mine["label"], "mine");
  EXPECT_TRUE(outbox->resolve_keep_mine(RecordItem::annotation(uid)));
  ASSERT_TRUE(outbox->drain(20s));
  events = events_until(*outbox, at_least<Acknowledged>(1));
  ASSERT_EQ(only<Acknowledged>(events).size(), 1u) << describe(events);
  EXPECT_EQ(only<Acknowledged>(events)[0].version, 3) << "mine went on top of theirs (version 2)";
  json now = json::parse(call(admin_, verb::get, target).body);
  EXPECT_EQ(now["label"], "mine");
  EXPECT_EQ(now["version"], 3);
  EXPECT_TRUE(outbox->status().conflicts.empty());
  EXPECT_FALSE(outbox->resolve_keep_mine(RecordItem::annotation(uid))) << "nothing left to resolve";

  // Again, and take theirs this time.
  expect_json(call(cons_b_, verb::put, target, annotation_body(250, "theirs again"), {{"If-Match", "\"3\""}}), 200,
              "cons-b's second edit");
  outbox->enqueue(AnnotationUpdate{uid, annotation_body(350, "mine again")});
  events = events_until(*outbox, at_least<Conflict>(1));
  ASSERT_EQ(only<Conflict>(events).size(), 1u) << describe(events);
  EXPECT_EQ(only<Conflict>(events)[0].theirs["version"], 4);
  EXPECT_TRUE(outbox->resolve_take_theirs(RecordItem::annotation(uid)));
  EXPECT_EQ(outbox->status().pending, 0u) << "mine was dropped";
  EXPECT_EQ(json::parse(call(admin_, verb::get, target).body)["label"], "theirs again");
  // The next change is based on theirs.
  outbox->enqueue(AnnotationUpdate{uid, annotation_body(400, "after theirs")});
  ASSERT_TRUE(outbox->drain(20s));
  events = events_until(*outbox, at_least<Acknowledged>(1));
  ASSERT_EQ(only<Acknowledged>(events).size(), 1u) << describe(events);
  EXPECT_EQ(only<Acknowledged>(events)[0].version, 5);

  // A report draft against a colleague's newer draft.
  const std::string report_path = "/api/cases/" + std::to_string(c) + "/report";
  outbox->enqueue(ReportSave{c, {{"free_text", "first draft"}}});
  ASSERT_TRUE(outbox->drain(20s));
  events_until(*outbox, at_least<Acknowledged>(1));
  EXPECT_EQ(outbox->report_version(c), 1);
  expect_json(call(cons_b_, verb::put, report_path, {{"free_text", "cons-b's text"}}, {{"If-Match", "\"1\""}}), 200,
              "cons-b's draft");
  outbox->enqueue(ReportSave{c, {{"free_text", "my second draft"}}});
  events = events_until(*outbox, at_least<Conflict>(1));
  conflicts = only<Conflict>(events);
  ASSERT_EQ(conflicts.size(), 1u) << describe(events);
  EXPECT_EQ(conflicts[0].item, RecordItem::report(c));
  EXPECT_EQ(conflicts[0].mine["free_text"], "my second draft");
  EXPECT_EQ(conflicts[0].theirs["free_text"], "cons-b's text");
  EXPECT_EQ(conflicts[0].theirs["version"], 2);
  EXPECT_EQ(report(c)["free_text"], "cons-b's text") << "nothing overwritten silently";
  EXPECT_TRUE(outbox->resolve_keep_mine(RecordItem::report(c)));
  ASSERT_TRUE(outbox->drain(20s));
  EXPECT_EQ(report(c)["free_text"], "my second draft");
  EXPECT_EQ(report(c)["version"], 3);
}

TEST_F(RecordOutboxTest, a_refused_change_is_reported_and_removed_and_the_changes_behind_it_still_go) {
  const std::int64_t c = make_case("OB-REJECT");
  const std::string bad = new_client_uid(), good = new_client_uid();
  std::uint64_t rejected_id = 0;
  {
    RecordOutbox outbox(base_url(), cons_a_, journal_, quick());
    json nonsense = annotation_body(100, "bad");
    nonsense["geometry"] = {{"type", "Polygon"}, {"coordinates", "not coordinates"}};
    rejected_id = outbox.enqueue(AnnotationCreate{bad, c, slide_id_, nonsense});
    outbox.enqueue(AnnotationUpdate{bad, annotation_body(150, "bad, edited")});
    outbox.enqueue(AnnotationCreate{good, c, slide_id_, annotation_body(600, "good")});
    ASSERT_TRUE(outbox.drain(20s));
    const auto events = events_until(outbox, at_least<Acknowledged>(1));
    const auto rejected = only<Rejected>(events);
    ASSERT_EQ(rejected.size(), 2u) << describe(events);
    EXPECT_EQ(rejected[0].id, rejected_id);
    EXPECT_EQ(rejected[0].status, 400);
    EXPECT_NE(rejected[0].message.find("geometry"), std::string::npos) << rejected[0].message;
    ASSERT_TRUE(std::holds_alternative<AnnotationCreate>(rejected[0].entry));
    EXPECT_EQ(std::get<AnnotationCreate>(rejected[0].entry).uid, bad);
    EXPECT_EQ(rejected[1].status, 0) << "the edit of an annotation the server never had cannot go";
    ASSERT_EQ(only<Acknowledged>(events).size(), 1u) << describe(events);
    EXPECT_EQ(only<Acknowledged>(events)[0].item, RecordItem::annotation(good));
    EXPECT_EQ(outbox.status().pending, 0u);
    EXPECT_EQ(outbox.status().rejected, 2u);
    ASSERT_EQ(annotations(c).size(), 1u);
    EXPECT_EQ(annotations(c)[0]["label"], "good");
  }
  {
    RecordOutbox reopened(base_url(), cons_a_, journal_, quick());
    const auto events = events_until(reopened, at_least<Rejected>(2), 2s);
    ASSERT_EQ(only<Rejected>(events).size(), 2u) << "rejections are reported again until dismissed";
    EXPECT_TRUE(reopened.dismiss_rejected(rejected_id));
    EXPECT_FALSE(reopened.dismiss_rejected(rejected_id));
    EXPECT_EQ(reopened.status().rejected, 1u);
  }
  RecordOutbox again(base_url(), cons_a_, journal_, quick());
  const auto events = events_until(again, at_least<Rejected>(2), 300ms);
  EXPECT_EQ(only<Rejected>(events).size(), 1u) << "the dismissed one stays dismissed:" << describe(events);
}

TEST_F(RecordOutboxTest, a_torn_journal_tail_is_ignored) {
  const std::int64_t c = make_case("OB-TORN");
  const std::string uid = new_client_uid();
  {
    RecordOutbox offline("http://127.0.0.1:1", cons_a_, journal_, quick());
    offline.enqueue(AnnotationCreate{uid, c, slide_id_, annotation_body(100, "before the crash")});
  }
  {
    std::ofstream out(journal_, std::ios::app | std::ios::binary);
    out << R"({"op":"entry","seq":2,"entry":{"type":"annotation_cre)";  // the crash, mid-line
  }
  RecordOutbox outbox(base_url(), cons_a_, journal_, quick());
  EXPECT_EQ(outbox.status().pending, 1u) << "the whole entry is kept, the torn one ignored";
  EXPECT_TRUE(outbox.status().last_error.empty()) << outbox.status().last_error;
  outbox.enqueue(AnnotationUpdate{uid, annotation_body(100, "after the crash")});
  ASSERT_TRUE(outbox.drain(20s)) << outbox.status().last_error;
  ASSERT_EQ(annotations(c).size(), 1u);
  EXPECT_EQ(annotations(c)[0]["label"], "after the crash");
  std::ifstream in(journal_);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << "journal line " << lines << ": " << line;
  }
  EXPECT_GT(lines, 0);
}

TEST_F(RecordOutboxTest, ids_remembered_and_acknowledged_survive_a_restart_and_the_journal_is_compacted) {
  const std::int64_t c = make_case("OB-COMPACT");
  // An annotation someone else drew, loaded by the app under a uid of its own.
  const json theirs = expect_json(call(cons_b_, verb::post, annotations_path(c), annotation_body(50, "cons-b's")), 201,
                                  "cons-b's annotation");
  const std::string loaded = "server-" + std::to_string(theirs["id"].get<std::int64_t>());
  std::vector<std::string> uids;
  {
    RecordOutbox outbox(base_url(), cons_a_, journal_, quick());
    outbox.remember(loaded, theirs["id"], theirs["version"]);
    for (int i = 0; i < 40; ++i) {
      uids.push_back(new_client_uid());
      outbox.enqueue(AnnotationCreate{uids.back(), c, slide_id_, annotation_body(100 + 20.0 * i, "n")});
      outbox.enqueue(AnnotationUpdate{uids.back(), annotation_body(100 + 20.0 * i, "n, labelled")});
    }
    ASSERT_TRUE(outbox.drain(60s)) << outbox.status().last_error;
  }
  std::ifstream in(journal_);
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_LT(lines, 120u) << "80 entries, 80 acknowledgements and 80 IDs were written; the journal should have been "
                            "rewritten without the history";

  RecordOutbox reopened(base_url(), cons_a_, journal_, quick());
  const auto known = reopened.annotation(uids.back());
  ASSERT_TRUE(known.has_value()) << "the ID the create got was kept";
  EXPECT_EQ(known->version, 2);
  ASSERT_TRUE(reopened.annotation(loaded).has_value()) << "the remembered annotation was kept";
  reopened.enqueue(AnnotationUpdate{uids.back(), annotation_body(2000, "last, moved")});
  reopened.enqueue(AnnotationUpdate{loaded, annotation_body(60, "cons-b's, relabelled by cons-a")});
  ASSERT_TRUE(reopened.drain(20s)) << reopened.status().last_error;
  const auto events = events_until(reopened, at_least<Acknowledged>(2));
  EXPECT_EQ(only<Acknowledged>(events).size(), 2u) << describe(events);
  const auto list = annotations(c);
  EXPECT_EQ(list.size(), 41u);
  std::map<std::string, json> by_label;
  for (const json& x : list) by_label[x["label"]] = x;
  EXPECT_EQ(by_label["last, moved"]["id"], known->server_id);
  EXPECT_EQ(by_label["last, moved"]["version"], 3);
  EXPECT_EQ(by_label["cons-b's, relabelled by cons-a"]["id"], theirs["id"]);
  EXPECT_EQ(by_label["cons-b's, relabelled by cons-a"]["version"], 2);
}

TEST_F(RecordOutboxTest, an_annotation_from_elsewhere_is_edited_deleted_and_recreated_under_the_apps_own_uid) {
  const std::int64_t c = make_case("OB-ELSEWHERE");
  const json theirs = expect_json(call(cons_b_, verb::post, annotations_path(c), annotation_body(50, "cons-b's")), 201,
                                  "an annotation made by another client, without a client_uid");
  const std::int64_t old_id = theirs["id"];
  const std::string uid = "srv-" + std::to_string(old_id);  // the app's key for it
  RecordOutbox outbox(base_url(), cons_a_, journal_, quick());
  outbox.remember(uid, old_id, 1);
  json edited = annotation_body(60, "relabelled");
  edited["client_uid"] = uid;  // the app's body names its uid; the server must not see it
  outbox.enqueue(AnnotationUpdate{uid, edited});
  outbox.enqueue(AnnotationDelete{uid});
  json undone = annotation_body(60, "back after an undo");
  undone["client_uid"] = uid;
  outbox.enqueue(AnnotationCreate{uid, c, slide_id_, undone});
  ASSERT_TRUE(outbox.drain(20s)) << outbox.status().last_error;
  const auto events = events_until(outbox, at_least<Acknowledged>(3));
  const auto acks = only<Acknowledged>(events);
  ASSERT_EQ(acks.size(), 3u) << "edit, delete and re-creation taken, got" << describe(events);
  EXPECT_EQ(acks[0].version, 2);
  EXPECT_TRUE(acks[1].deleted);
  EXPECT_NE(acks[2].server_id, old_id) << "re-created as a new annotation";
  EXPECT_EQ(acks[2].server.value("client_uid", std::string()).size(), 32u)
      << "a fresh client_uid stands in for the made-up uid: " << acks[2].server.dump();
  EXPECT_EQ(outbox.annotation(uid).value().server_id, acks[2].server_id) << "the app's uid follows the new one";
  const auto list = annotations(c);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["label"], "back after an undo");
}

TEST_F(RecordOutboxTest, api_client_writes_give_the_status_body_and_etag_without_throwing) {
  const std::int64_t c = make_case("OB-API");
  ApiClient api(base_url(), cons_a_);
  const HttpReply created = api.post_json(annotations_path(c), annotation_body(100, "api"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.etag, version_tag(1));
  EXPECT_EQ(created.content_type.rfind("application/json", 0), 0u) << created.content_type;
  const std::string target = "/api/annotations/" + std::to_string(json::parse(created.body)["id"].get<std::int64_t>());
  EXPECT_EQ(api.put_json(target, annotation_body(200, "api")).status, 428) << "no If-Match: refused, not thrown";
  const HttpReply updated = api.put_json(target, annotation_body(200, "api 2"), version_tag(1));
  EXPECT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.etag, version_tag(2));
  const HttpReply stale = api.put_json(target, annotation_body(300, "api 3"), version_tag(1));
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(json::parse(stale.body)["current"]["label"], "api 2") << stale.body;
  EXPECT_EQ(api.delete_(target, version_tag(2)).status, 200);
  EXPECT_EQ(api.delete_(target, version_tag(3)).status, 404);
  try {
    ApiClient("http://127.0.0.1:1", cons_a_).post_json(annotations_path(c), annotation_body(100, "x"));
    FAIL() << "an unreachable server must throw";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 0);
    EXPECT_NE(std::string(e.what()).find("unreachable"), std::string::npos) << e.what();
  }
}

TEST_F(RecordOutboxTest, a_journal_serves_one_viewer_at_a_time) {
  auto first = std::make_unique<RecordOutbox>(base_url(), cons_a_, journal_, quick());
  EXPECT_THROW(RecordOutbox(base_url(), cons_a_, journal_, quick()), std::runtime_error)
      << "a second outbox on the same journal would interleave its records";
  first.reset();
  EXPECT_NO_THROW(RecordOutbox(base_url(), cons_a_, journal_, quick())) << "the journal is free once closed";
}

TEST_F(RecordOutboxTest, enqueue_never_waits_on_a_server_that_does_not_answer_and_closing_is_prompt) {
  // A server that accepts connections (the kernel's backlog) and never answers.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const std::string url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  const std::int64_t c = make_case("OB-SILENT");
  auto outbox = std::make_unique<RecordOutbox>(url, cons_a_, journal_, OutboxOptions{});  // 10 s timeout
  outbox->enqueue(AnnotationCreate{new_client_uid(), c, slide_id_, annotation_body(100, "first")});
  std::this_thread::sleep_for(200ms);  // the worker is now waiting for an answer
  double slowest = 0;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = Clock::now();
    outbox->enqueue(AnnotationCreate{new_client_uid(), c, slide_id_, annotation_body(100 + 10.0 * i, "more")});
    slowest = std::max(slowest, ms_since(t0));
  }
  EXPECT_LT(slowest, 50.0) << "enqueue took " << slowest << " ms while a request hung";
  EXPECT_EQ(outbox->status().pending, 21u);
  const auto t0 = Clock::now();
  outbox.reset();
  EXPECT_LT(ms_since(t0), 1000.0) << "closing waited for the hung request";

  // Nothing was lost: the real server gets all 21.
  RecordOutbox real(base_url(), cons_a_, journal_, quick());
  ASSERT_TRUE(real.drain(30s)) << real.status().last_error;
  EXPECT_EQ(annotations(c).size(), 21u);
}

}  // namespace
}  // namespace reread::viewer
